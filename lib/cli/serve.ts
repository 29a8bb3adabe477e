/**
 * `condor_store_cred serve`: loads the configuration (as the CREDD subsystem), starts the daemon
 * (lib/daemon/server.ts) in the foreground, and stops it on SIGTERM or SIGINT.
 */

import { AccountDb } from "../accounts.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { serve } from "../daemon/server.ts";
import { printable, StoreError } from "../errors.ts";
import type { Io } from "../io.ts";
import { errorText } from "../output/text.ts";

/** The help text of `serve`. */
export function serveHelp(program = "condor_store_cred"): string {
  return [
    `Usage: ${program} serve [-d]`,
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
  ].join("\n");
}

/** Runs the daemon until SIGTERM or SIGINT. Returns the exit status. */
export async function runServe(io: Io, options: { debug: boolean }): Promise<number> {
  const uid = io.uid();
  const time = () => new Date().toISOString();
  const log = (line: string) => io.writeErr(`${time()} ${line}\n`);
  const debug = options.debug
    ? (line: string) => io.writeErr(`${time()} debug: ${printable(line)}\n`)
    : null;
  const configOptions = {
    env: { ...io.env },
    uid,
    hostname: io.hostname(),
    subsystem: "CREDD",
    home: new AccountDb().byUid(uid)?.home,
  };
  let config;
  try {
    config = loadConfig(configOptions);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.writeErr(`${error.message}\n`);
    return 1;
  }
  let release = () => {};
  const stop = new Promise<void>((resolve) => {
    release = io.onInterrupt(() => resolve());
  });
  try {
    return await serve({ config, configOptions, euid: uid, log, debug, stop });
  } catch (error) {
    const failure = error instanceof ConfigError ? new StoreError("config", error.message) : error;
    if (!(failure instanceof StoreError)) throw failure;
    io.writeErr(`ERROR: condor_store_cred serve cannot start: ${errorText(failure)}\n`);
    return 1;
  } finally {
    release();
  }
}
