/**
 * What every store operation needs: the configuration, who the caller is, whom to trust, and
 * the result shape (an outcome on success, a StoreError otherwise).
 */

import type { Config } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import { secureDirectory } from "../fs/directories.ts";
import type { Trust } from "../fs/secure_file.ts";

/** A reply ClassAd: printed as `Credential info:` (ref §2.7). */
export type Ad = Record<string, string | number>;

/** A successful (or pending) result of a store operation. */
export interface Outcome {
  readonly status: "success" | "pending";
  /** Unix seconds of the relevant file, printed as "stored on <T>" (ref §0.2 overloading). */
  readonly time?: number;
  readonly ad?: Ad;
}

/** The caller of an in-process operation. */
export interface Caller {
  readonly uid: number;
  /** Login name from the passwd database. */
  readonly name: string;
}

/** Everything a store operation needs. */
export interface StoreContext {
  readonly config: Config;
  readonly caller: Caller;
  readonly trust: Trust;
  /** UID_DOMAIN: the domain of `fully_qualified_user`. */
  readonly uidDomain: string;
  /** Prints a debug line when -d was given; never pass secret bytes. */
  readonly debug: (line: string) => Promise<void>;
}

/** Unix seconds of a file's mtime. */
export function seconds(info: Deno.FileInfo): number {
  return Math.floor((info.mtime?.getTime() ?? 0) / 1000);
}

/** The reply ad every Kerberos or OAuth operation carries (ref §2.7, §3.3 step 3). */
export function baseAd(ctx: StoreContext): Ad {
  return { fully_qualified_user: `${ctx.caller.name}@${ctx.uidDomain}` };
}

/** The knob naming a credential directory, with the hint that sets it. */
const DIRECTORY_KNOBS = {
  krb: { knob: "SEC_CREDENTIAL_DIRECTORY_KRB", hint: 'add "use feature:KRB"' },
  oauth: { knob: "SEC_CREDENTIAL_DIRECTORY_OAUTH", hint: 'add "use feature:OAUTH"' },
  pwd: { knob: "SEC_CREDENTIAL_DIRECTORY_PWD", hint: "set SEC_CREDENTIAL_DIRECTORY_PWD" },
  pool: { knob: "SEC_PASSWORD_FILE", hint: "set SEC_PASSWORD_FILE" },
} as const;

/** Returns a configured path knob, or throws StoreError("config") naming it and the fix. */
export function configuredPath(ctx: StoreContext, which: keyof typeof DIRECTORY_KNOBS): string {
  const { knob, hint } = DIRECTORY_KNOBS[which];
  const value = ctx.config.get(knob);
  if (value === undefined) {
    throw new StoreError(
      "config",
      `${knob} is not set; ${hint} to the HTCondor configuration ` +
        `(or set the environment variable _CONDOR_${knob})`,
    );
  }
  if (!value.startsWith("/") && Deno.build.os !== "windows") {
    throw new StoreError(
      "config",
      `${knob} is ${quote(value)} (from ${ctx.config.origin(knob)}); it must be an absolute path`,
    );
  }
  return value;
}

/**
 * Checks (and with `create`, makes) a store directory; the personal spool root first, so it is
 * created 0700 on first use. Returns false when missing and not created.
 */
export function storeDirectory(
  ctx: StoreContext,
  path: string,
  options: { readonly create: boolean; readonly sharedGroup?: boolean },
): boolean {
  const spool = ctx.config.personalSpool;
  if (spool !== null && path.startsWith(`${spool}/`)) {
    if (!(secureDirectory(spool, ctx.trust, { create: options.create }))) return false;
  }
  return secureDirectory(path, ctx.trust, options);
}

/** Seconds to wait for a per-user lock (knob CRED_LOCK_TIMEOUT). */
export function lockTimeout(ctx: StoreContext): number {
  return ctx.config.getInt("CRED_LOCK_TIMEOUT", 10);
}
