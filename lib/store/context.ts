/**
 * What every store operation needs (one per request, never shared between requests): the
 * configuration, the trusted owners of this process, a debug channel, the warnings collected
 * for the caller, the caller's limits, and the process's audit limiter, file facts and checked
 * roots (the state a request shares, passed in). Also the outcome type of a successful operation.
 */

import { AccountDb, CondorIdsError, findCondorIds } from "../accounts.ts";
import { type Config, ConfigError } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import type { CheckedRoots } from "../fs/directories.ts";
import type { FileFacts } from "../fs/facts.ts";
import type { Owners } from "../fs/owners.ts";
import type { RefusalLimiter } from "./audit.ts";

/** A reply ClassAd: printed as `Credential info:` (docs/upstream.md "Output"). */
export type Ad = Record<string, string | number>;

/**
 * The attributes of a reply ad that name the result itself, not a stored file: who asked
 * (upstream's `fully_qualified_user`) and an access token's expiry (`TokenExpires`, deviation
 * 18). ClassAd names are case-insensitive.
 */
export const RESULT_AD_NAMES: readonly string[] = ["fully_qualified_user", "TokenExpires"];

/**
 * Sets `ad[name]` as an own attribute, whatever the name (`__proto__` is a valid service name:
 * a plain assignment would change the object's prototype and drop the attribute).
 */
export function setAttribute(ad: Ad, name: string, value: string | number): void {
  Object.defineProperty(ad, name, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The attribute naming a service's access token (`<stem>` upstream, whose value is the `.use`
 * file's time). A service named like a result attribute would hide or overwrite it, so that one
 * is named after its file instead, as `query-oauth` without `-s` names it: `TokenExpires.use`.
 */
export function useAttribute(stem: string): string {
  const lower = stem.toLowerCase();
  return RESULT_AD_NAMES.some((n) => n.toLowerCase() === lower) ? `${stem}.use` : stem;
}

/** A successful (or pending) result of a store operation. */
export interface Outcome {
  readonly status: "success" | "pending";
  /** Unix seconds of the relevant file, printed as "stored on <T>". */
  readonly time?: number;
  readonly ad?: Ad;
  /** For adds: false when the stored bytes were already identical (deviation 16). */
  readonly changed?: boolean;
  /** For an OAuth access token (`.use`) that is a JWT: its `exp` claim (deviation 18). */
  readonly expires?: number;
}

/** Everything a store operation needs, for one request. */
export interface StoreContext {
  readonly config: Config;
  readonly owners: Owners;
  /** Writes a debug line when -d was given (or to the daemon's log); never secret bytes. */
  readonly debug: (line: string) => void;
  /** One-line warnings for the caller: what did and did not happen (deviation 17). */
  readonly warnings: string[];
  /**
   * Checks a write against the caller's per-user limits (lib/store/quota.ts): set by `perform`
   * for the callers the limits bind, called by `writeCredential` under the user's lock before
   * anything of the user's is written, with the target's path and the bytes to be written.
   */
  readonly checkWrite?: (target: { readonly path: string; readonly size: number }) => void;
  /**
   * Bounds the audit lines of refused requests per caller (lib/store/audit.ts). One per process
   * (a daemon worker holds one for all its requests); absent, every refusal is written.
   */
  readonly auditLimiter?: RefusalLimiter;
  /**
   * Facts of unchanged files the process already read (lib/fs/facts.ts): a daemon thread keeps
   * one for all its requests, so a repeated query does not read the same file again. Absent,
   * every file is read.
   */
  readonly facts?: FileFacts;
  /**
   * Store roots whose ancestors passed lately (lib/fs/directories.ts `CheckedRoots`): a daemon
   * thread keeps one. Absent, every request walks each root's chain from `/`.
   */
  readonly roots?: CheckedRoots;
}

/** Unix seconds of a file's mtime. */
export function seconds(info: Deno.FileInfo): number {
  return Math.floor((info.mtime?.getTime() ?? 0) / 1000);
}

/** The knobs naming the store's paths, with the hint that sets each. */
const PATH_KNOBS = {
  krb: { knob: "SEC_CREDENTIAL_DIRECTORY_KRB", hint: 'add "use feature:KRB"' },
  oauth: { knob: "SEC_CREDENTIAL_DIRECTORY_OAUTH", hint: 'add "use feature:OAUTH"' },
  pwd: { knob: "SEC_CREDENTIAL_DIRECTORY_PWD", hint: "set SEC_CREDENTIAL_DIRECTORY_PWD" },
  pool: { knob: "SEC_PASSWORD_FILE", hint: "set SEC_PASSWORD_FILE" },
} as const;

/** The store paths a configuration names. */
export type StorePath = keyof typeof PATH_KNOBS;

/** The knob naming a store path. */
export function pathKnob(which: StorePath): (typeof PATH_KNOBS)[StorePath]["knob"] {
  return PATH_KNOBS[which].knob;
}

/** Returns a configured store path, or throws StoreError("config") naming the knob and the fix. */
export function configuredPath(ctx: StoreContext, which: StorePath): string {
  const { knob, hint } = PATH_KNOBS[which];
  const value = ctx.config.get(knob);
  if (value === undefined) {
    throw new StoreError(
      "config",
      `${knob} is not set; ${hint} to the HTCondor configuration ` +
        `(or set the environment variable _CONDOR_${knob})`,
    );
  }
  if (!value.startsWith("/")) {
    throw new StoreError(
      "config",
      `${knob} is ${quote(value)} (from ${ctx.config.origin(knob)}); it must be an absolute path`,
    );
  }
  return value;
}

/** Seconds to wait for a per-user lock (knob CRED_LOCK_TIMEOUT). */
export function lockTimeout(ctx: Pick<StoreContext, "config">): number {
  return ctx.config.integer("CRED_LOCK_TIMEOUT");
}

/**
 * The trusted owners of this process's file operations (docs/storage.md "Trusted owners"): root,
 * the condor account (CONDOR_IDS, else the passwd file, read anew each time) and `euid`.
 * Throws StoreError("config") for a malformed CONDOR_IDS or configuration.
 */
export function trustedOwners(
  config: Config,
  options: { readonly euid: number; readonly accounts?: AccountDb },
): Owners {
  const accounts = options.accounts ?? new AccountDb();
  try {
    return {
      self: options.euid,
      condor: findCondorIds(config.get("CONDOR_IDS"), accounts),
      accounts,
    };
  } catch (error) {
    if (error instanceof CondorIdsError || error instanceof ConfigError) {
      throw new StoreError("config", error.message);
    }
    throw error;
  }
}
