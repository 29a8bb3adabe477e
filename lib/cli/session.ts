/**
 * What every command-line run shares: the configuration loaded for this user, the login name,
 * and the in-process caller.
 */

import { AccountDb } from "../accounts.ts";
import { type Config, loadConfig } from "../config/mod.ts";
import type { Io } from "../io.ts";
import type { Caller } from "../request.ts";

/** One run's identity and configuration. */
export interface Session {
  readonly uid: number;
  readonly accounts: AccountDb;
  /** The login name (passwd, else USER/LOGNAME), or null. */
  readonly login: string | null;
  readonly config: Config;
  /** The caller of an in-process operation. */
  readonly caller: Caller;
}

/** Loads the configuration for this user. Throws ConfigError. */
export function openSession(io: Io): Session {
  const uid = io.uid();
  const accounts = new AccountDb();
  const login = accounts.byUid(uid)?.name ?? io.env.USER ?? io.env.LOGNAME ?? null;
  const config = loadConfig({
    env: { ...io.env },
    uid,
    hostname: io.hostname(),
    home: accounts.byUid(uid)?.home,
  });
  return {
    uid,
    accounts,
    login,
    config,
    caller: {
      uid,
      name: login ?? `uid${uid}`,
      domain: config.get("UID_DOMAIN") ?? "",
      inProcess: true,
    },
  };
}
