/**
 * `condor_store_cred list[-type]`: what is stored (README "list"), in-process for those who may
 * read the store, else through the local daemon, or a remote one with `-n`.
 */

import { ConfigError } from "../config/mod.ts";
import { listCall, sendLocal, sendRemote } from "../daemon/client.ts";
import { StoreError } from "../errors.ts";
import type { Io } from "../io.ts";
import { formatJson } from "../output/json.ts";
import { formatList, jsonList } from "../output/list.ts";
import { errorText, formatWarnings } from "../output/text.ts";
import type { ListRequest } from "../request.ts";
import { createStoreContext, type ListReply, performList } from "../store/service.ts";
import type { ListCommand } from "./parse.ts";
import { caCertificates, tokenChooser } from "./remote.ts";
import { chooseRoute } from "./route.ts";
import { openSession } from "./session.ts";
import { PROGRAM_NAME } from "./grammar.ts";

/** The help text of `list`. */
export function listHelp(program = PROGRAM_NAME): string {
  return [
    `Usage: ${program} list[-type] [-u user@domain] [-n host[:port]] [--token-file FILE]`,
    `${" ".repeat(program.length + 8)}[--json] [-d]`,
    "  Lists stored credentials without any secret: type, user, name, files, size, time,",
    "  scopes and audience, and an access token's claims and expiry. -type is -pwd, -krb or",
    "  -oauth (default: all). Without -u: your own, or everyone's for root and",
    "  CRED_SUPER_USERS. Exit 0 when something is listed, 1 when nothing is.",
    "",
  ].join("\n");
}

/** Runs `list`. Returns the exit status. */
export async function runList(io: Io, command: ListCommand): Promise<number> {
  const fail = (error: StoreError) => {
    if (command.json) {
      io.writeOut(formatJson({
        ...jsonList(command.type, command.user, [], [], 0),
        ok: false,
        status: "config",
        reason: error.code,
        message: `ERROR: ${errorText(error)}`,
      }));
    }
    io.writeErr(`ERROR: ${errorText(error)}\n`);
    return 1;
  };
  let session;
  try {
    session = openSession(io);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.writeErr(`${error.message}\n`);
    return 1;
  }
  const request: ListRequest = { action: "list", type: command.type, user: command.user };
  let reply: ListReply;
  try {
    const route = chooseRoute(
      { name: command.name, tokenFile: command.tokenFile },
      session.config,
      { type: command.type ?? "oauth", user: command.user },
      session.uid,
    );
    if (route.kind === "socket") {
      reply = await sendLocal(route.socket, route.challengeDir, listCall(request));
    } else if (route.kind === "remote") {
      const owners = createStoreContext(session.config, { euid: session.uid }).owners;
      reply = await sendRemote({
        host: route.host,
        port: route.port,
        caCerts: caCertificates(session.config),
        token: tokenChooser({
          config: session.config,
          owners,
          accounts: session.accounts,
          euid: session.uid,
          cwd: io.cwd(),
          tokenFile: command.tokenFile,
          shown: route.shown,
        }),
      }, listCall(request));
    } else {
      reply = performList(
        createStoreContext(session.config, { euid: session.uid }),
        session.caller,
        request,
      );
    }
  } catch (error) {
    const failure = error instanceof ConfigError ? new StoreError("config", error.message) : error;
    if (!(failure instanceof StoreError)) throw failure;
    return fail(failure);
  }
  if (!reply.ok) return fail(reply.error);
  const now = Math.floor(Date.now() / 1000);
  if (command.json) {
    io.writeOut(formatJson(jsonList(command.type, reply.user, reply.rows, reply.warnings, now)));
  } else if (reply.rows.length > 0) {
    io.writeOut(formatList(reply.rows, now));
  } else {
    io.writeOut("No credential is stored.\n");
  }
  io.writeErr(formatWarnings(reply.warnings));
  return reply.rows.length > 0 ? 0 : 1;
}
