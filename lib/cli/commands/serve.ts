/**
 * `condor_store_cred serve`: loads the configuration (as the CREDD subsystem), starts the daemon
 * (lib/daemon/server.ts) in the foreground, and stops it on SIGTERM or SIGINT.
 */

import { ConfigError } from "../../config/mod.ts";
import { serve } from "../../daemon/server.ts";
import { printable, StoreError } from "../../errors.ts";
import type { Result } from "../../output/result.ts";
import type { Command } from "../command.ts";
import { optionsOf, PROGRAM_NAME } from "../grammar.ts";
import { ownWordOnly } from "../parse.ts";

const refuse = (shown: string) =>
  `ERROR: serve takes only -d (--debug) and -h (--help), not '${shown}'; it is configured ` +
  "through HTCondor's configuration (CREDD_SOCKET, CREDD_CHALLENGE_DIRECTORY, " +
  "CREDD_TLS_ADDRESS, ...)\n";

/** `serve [-d|--debug] [-h|--help]`: everything else is configuration (CREDD_SOCKET, ...). */
export const command: Command<null, { seen: boolean }> = {
  options: optionsOf("debug", "help"),
  usage: () =>
    [
      `Usage: ${PROGRAM_NAME} serve [-d]`,
      "  Runs the credd role in the foreground: owns the credential store and serves add,",
      "  delete and query of every type to the users of this machine over a Unix socket (and,",
      "  with CREDD_TLS_ADDRESS, to remote callers over TLS with IDTOKENS). Logs one line per",
      "  request on stderr; stops on SIGTERM or SIGINT.",
      "",
      "    -d, --debug       Also log debugging messages",
      "    -h, --help        Display this message",
      "",
      "  Configured through HTCondor's configuration:",
      "    CREDD_SOCKET                 the socket (default $(RUN)/credd.sock, /run/condor/credd.sock)",
      "    CREDD_CHALLENGE_DIRECTORY    where callers prove who they are (default /tmp)",
      "    CREDD_TLS_ADDRESS            host:port for TLS (unset: no TCP listener)",
      "    CRED_SUPER_USERS             who may act for other users",
      "    SEC_CREDENTIAL_SWEEP_INTERVAL, SEC_CREDENTIAL_SWEEP_DELAY   mark and sweep",
      "",
    ].join("\n"),
  refuse,
  reader: ownWordOnly(refuse),
  details: [
    "Runs in the foreground as root (systemctl start condor_store_cred). It owns the store and",
    "serves local users over CREDD_SOCKET and, with CREDD_TLS_ADDRESS, remote callers over TLS.",
    "One log line per request on stderr; SIGTERM stops it after the requests in flight.",
  ],
  async run(session): Promise<Result> {
    const { io } = session;
    const time = () => new Date().toISOString();
    const log = (line: string) => io.writeErr(`${time()} ${line}\n`);
    const debug = session.traced
      ? (line: string) => io.writeErr(`${time()} debug: ${printable(line)}\n`)
      : null;
    let config;
    try {
      config = session.config("CREDD");
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return { kind: "config", message: error.message, about: { command: "other" } };
    }
    let release = () => {};
    const stop = new Promise<void>((resolve) => {
      release = io.onInterrupt(() => resolve());
    });
    try {
      const configOptions = session.configOptions("CREDD");
      const code = await serve({ config, configOptions, euid: session.uid, log, debug, stop });
      return { kind: "exit", code };
    } catch (error) {
      const failure = error instanceof ConfigError
        ? new StoreError("config", error.message)
        : error;
      if (!(failure instanceof StoreError)) throw failure;
      return { kind: "failure", error: failure, doing: `${PROGRAM_NAME} serve cannot start` };
    } finally {
      release();
    }
  },
};
