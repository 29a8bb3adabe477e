/**
 * `condor_store_cred list[-type]`: what is stored (README "list"), in-process for those who may
 * read the store, else through the local daemon, or a remote one with `-n`.
 */

import { ConfigError } from "../../config/mod.ts";
import { StoreError } from "../../errors.ts";
import type { Result } from "../../output/result.ts";
import type { CredType, ListRequest } from "../../request.ts";
import { LIST_FIELD_LIMIT, LIST_READ_LIMIT } from "../../store/list.ts";
import { createStoreContext, type ListReply, performList } from "../../store/service.ts";
import { type Command, UsageError } from "../command.ts";
import { matchTypeSuffix, optionsOf, PROGRAM_NAME, sharedValues } from "../grammar.ts";
import { shownWord } from "../parse.ts";
import { chooseRoute } from "../route.ts";
import { send } from "../send.ts";
import { unknownType } from "./action.ts";

/** A parsed `list[-type]` command line. */
export interface ListCommand {
  readonly type: CredType | null;
  readonly user: string | null;
  readonly name: string | null;
  readonly tokenFile: string | null;
}

const refuse = (shown: string) =>
  `ERROR: list does not take '${shown}'; it takes -u, -n, --token-file, --json and -d\n`;

/** `list[-type] [-u user@domain] [-n host[:port]] [--token-file F] [--json] [-d] [-h]`. */
export const command: Command<ListCommand, { word: string | null }> = {
  options: optionsOf("user", "name", "tokenFile", "json", "debug", "help"),
  usage: () =>
    [
      `Usage: ${PROGRAM_NAME} list[-type] [-u user@domain] [-n host[:port]] [--token-file FILE]`,
      `${" ".repeat(PROGRAM_NAME.length + 8)}[--json] [-d]`,
      "  Lists stored credentials without any secret: type, user, name, files, size, time,",
      "  scopes and audience, and an access token's claims and expiry. -type is -pwd, -krb or",
      "  -oauth (default: all). Without -u: your own, or everyone's for root and",
      "  CRED_SUPER_USERS. An account that must be refused is a REFUSED row with the fix.",
      "  Exit 0 when something is listed and nothing refused, else 1.",
      "",
    ].join("\n"),
  refuse,
  reader: {
    start: () => ({ word: null }),
    word(state, word) {
      if (state.word !== null) throw new UsageError(refuse(shownWord(word)));
      state.word = word.text.toLowerCase();
    },
    finish(state, given) {
      const suffix = (state.word ?? "list").slice("list".length);
      const type = suffix === "" ? null : matchTypeSuffix(suffix);
      if (suffix !== "" && type === null) throw unknownType(suffix);
      const { user, name, tokenFile } = sharedValues(given);
      return { type, user, name, tokenFile };
    },
  },
  details: [
    "One row per credential: type, user, name, files, size, time, and scopes, audience and an",
    "access token's claims and expiry; never a secret byte. Without -u, your own credentials, or",
    "everyone's for root and CRED_SUPER_USERS. An account whose directory or file must be refused",
    "is a row saying REFUSED, why and the fix, and the others are listed. Exit 0 when something",
    "is listed and nothing refused; 1 when nothing is listed or an account was refused.",
    `It reads at most the first ${LIST_READ_LIMIT / 1024} KiB of each .top and .use, whatever is`,
    `stored, and shows at most ${LIST_FIELD_LIMIT} characters of a field; a field of an unexpected`,
    "type is shown as none, and the row's problem names it and its JSON type.",
  ],
  async run(session, line): Promise<Result> {
    const { type, user } = line;
    let config;
    try {
      config = session.config();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return { kind: "config", message: error.message, about: { command: "list", type, user } };
    }
    const request: ListRequest = { action: "list", type, user };
    let reply: ListReply;
    try {
      const route = await chooseRoute(line, config, { type: type ?? "oauth", user }, session.uid);
      reply = await send(session, route, {
        call: (client) => client.listCall(request),
        local: () =>
          performList(
            createStoreContext(config, {
              euid: session.uid,
              debug: session.debug,
              accounts: session.accounts,
            }),
            session.caller(),
            request,
          ),
        tokenFile: line.tokenFile,
      });
    } catch (error) {
      const failure = error instanceof ConfigError
        ? new StoreError("config", error.message)
        : error;
      if (!(failure instanceof StoreError)) throw failure;
      const caller = line.name === null ? session.account() : null;
      return { kind: "list", type, user, rows: [], warnings: [], error: failure, caller };
    }
    const caller = reply.caller ?? null;
    if (!reply.ok) {
      return { kind: "list", type, user, rows: [], warnings: [], error: reply.error, caller };
    }
    session.debug(`list done: ${reply.rows.length} credential(s)`);
    return {
      kind: "list",
      type,
      user: reply.user,
      rows: reply.rows,
      warnings: reply.warnings,
      caller,
    };
  },
};
