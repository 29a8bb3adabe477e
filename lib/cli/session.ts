/**
 * What every command of one run shares, set up once: the caller's uid and passwd entry, the
 * `-d` channel (the same trace for every command), and the configuration, loaded by one call
 * when a command first asks for it (`-f`, `completions` and `--version` never do).
 */

import { AccountDb } from "../accounts.ts";
import { type Config, ConfigError, loadConfig, type LoadConfigOptions } from "../config/mod.ts";
import type { Owners } from "../fs/owners.ts";
import type { Io } from "../io.ts";
import { formatDebugLine } from "../output/text.ts";
import { type Caller, callerAccount } from "../request.ts";
import { trustedOwners } from "../store/context.ts";

/** One run's identity, configuration and debug channel. */
export interface Session {
  readonly io: Io;
  /** The effective uid. */
  readonly uid: number;
  /** `--json` was given. */
  readonly json: boolean;
  /** `-d` was given. */
  readonly traced: boolean;
  /** The -d channel: a line on stderr with the time since start; dropped without -d. */
  readonly debug: (line: string) => void;
  /** The passwd database, read once. */
  readonly accounts: AccountDb;
  /** The login name (passwd, else USER/LOGNAME), or null. */
  readonly login: string | null;
  /**
   * The configuration, loaded on first use (as `subsystem`, default TOOL; the daemon is CREDD).
   * Throws ConfigError.
   */
  config(subsystem?: string): Config;
  /** What loading the configuration takes (the daemon's workers load it again with it). */
  configOptions(subsystem?: string): LoadConfigOptions;
  /** The caller of an in-process operation. Throws ConfigError. */
  caller(): Caller;
  /**
   * This caller as `user@domain` (results' `caller`), or null when the configuration that names
   * the domain cannot be loaded.
   */
  account(): string | null;
  /** The trusted owners of this process's file operations. Throws StoreError("config"). */
  owners(): Owners;
}

/** Options of `openSession`. */
export interface SessionOptions {
  readonly debug: boolean;
  readonly json: boolean;
}

/** Sets up the session of one run. Reads the passwd database; loads nothing else yet. */
export function openSession(io: Io, options: SessionOptions): Session {
  const uid = io.uid();
  const accounts = new AccountDb();
  const login = accounts.byUid(uid)?.name ?? io.env.USER ?? io.env.LOGNAME ?? null;
  const debug = options.debug
    ? (line: string) => io.writeErr(formatDebugLine(line, performance.now()))
    : () => {};
  const loaded = new Map<string, Config>();
  const session: Session = {
    io,
    uid,
    json: options.json,
    traced: options.debug,
    debug,
    accounts,
    login,
    configOptions: (subsystem = "TOOL") => ({
      env: { ...io.env },
      uid,
      hostname: io.hostname(),
      subsystem,
      home: accounts.byUid(uid)?.home,
    }),
    config(subsystem = "TOOL") {
      let config = loaded.get(subsystem);
      if (config === undefined) {
        config = loadConfig(session.configOptions(subsystem));
        loaded.set(subsystem, config);
        debug(
          `configuration loaded: ${config.rootFile ?? (config.embedded ? "embedded" : "none")}`,
        );
        for (const warning of config.warnings) debug(`warning: ${warning}`);
      }
      return config;
    },
    caller: () => ({
      uid,
      name: login ?? `uid${uid}`,
      domain: session.config().get("UID_DOMAIN") ?? "",
      inProcess: true,
    }),
    account() {
      try {
        return callerAccount(session.caller());
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return null;
      }
    },
    owners: () => trustedOwners(session.config(), { euid: uid, accounts }),
  };
  return session;
}
