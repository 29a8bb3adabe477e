/**
 * `condor_store_cred whoami`: asks the daemon who it takes the caller to be (`POST /v1/whoami`,
 * docs/protocol.md), over the local socket with the identity challenge, or over TLS with the
 * IDTOKEN a remote request would use, and until when that token is valid. It stores nothing: a
 * CI job checks its setup with it before storing (README "Recipes").
 */

import { ConfigError } from "../../config/mod.ts";
import { quote, StoreError } from "../../errors.ts";
import type { Result } from "../../output/result.ts";
import type { Command } from "../command.ts";
import { optionsOf, PROGRAM_NAME, sharedValues } from "../grammar.ts";
import { ownWordOnly } from "../parse.ts";
import { daemonAddress, daemonRoute, type RouteOptions } from "../route.ts";
import { send } from "../send.ts";

const refuse = (shown: string) =>
  `ERROR: whoami does not take '${shown}'; it takes -n, --token-file, --json and -d\n`;

/** `whoami [-n host[:port]] [--token-file F] [--json] [-d] [-h]`. */
export const command: Command<RouteOptions, { seen: boolean }> = {
  options: optionsOf("name", "tokenFile", "json", "debug", "help"),
  usage: () =>
    [
      `Usage: ${PROGRAM_NAME} whoami [-n host[:port]] [--token-file FILE] [--json] [-d]`,
      "  Asks the daemon who it takes you to be: the local one on its socket, or the remote",
      "  one -n or CREDD_HOST names, with the IDTOKEN a request would use (and until when it",
      "  is valid). It stores nothing. Exit 0 when the daemon knows you, else 1.",
      "",
    ].join("\n"),
  refuse,
  reader: {
    ...ownWordOnly(refuse),
    finish(_state, given) {
      const { name, tokenFile } = sharedValues(given);
      return { name, tokenFile };
    },
  },
  details: [
    "Asks the daemon who it takes the caller to be, and changes nothing: the local daemon on",
    "its socket (CREDD_SOCKET; the identity challenge proves the uid), or the remote daemon -n",
    "or CREDD_HOST names, over TLS with the IDTOKEN a request would use (--token-file, the",
    "environment variable, the token directory); then until when that token is valid. A CI",
    "job runs it before storing anything. Exit 0 when the daemon knows the caller, else 1.",
  ],
  async run(session, line): Promise<Result> {
    try {
      if (line.name !== null && await daemonAddress(line.name) === null) {
        throw new StoreError(
          "bad-args",
          `${quote(line.name)} is not a valid daemon name: use host, host:port, [v6]:port, ` +
            "name@host[:port] or <host:port>",
        );
      }
      const route = await daemonRoute(line, session.config());
      const daemon = route.kind === "remote"
        ? route.shown
        : route.kind === "socket"
        ? route.socket
        : "";
      const answer = await send(session, route, {
        call: (client) => client.whoamiCall(),
        tokenFile: line.tokenFile,
      });
      session.debug(`whoami done: ${answer.account} (${answer.transport})`);
      return { kind: "whoami", answer: { daemon, whoami: answer } };
    } catch (error) {
      const failure = error instanceof ConfigError
        ? new StoreError("config", error.message)
        : error;
      if (!(failure instanceof StoreError)) throw failure;
      return { kind: "whoami", answer: null, error: failure };
    }
  },
};
