/**
 * Mark and sweep (docs/upstream.md "Mark and sweep"), as upstream's credd runs it: every
 * SEC_CREDENTIAL_SWEEP_INTERVAL seconds, a Kerberos mark older than SEC_CREDENTIAL_SWEEP_DELAY
 * removes the user's `.cred`, `.cc` and the mark; an OAuth mark at least that old (and not a
 * directory) is removed, then the user's OAuth directory. Each user is swept under its lock and
 * the mark is checked again there, so a request that removed the mark meanwhile wins.
 */

import { StoreError } from "../errors.ts";
import { lstatOrNull } from "../fs/directories.ts";
import { inspectFile, listNames, removeEntry } from "../fs/files.ts";
import { withLock } from "../fs/lock.ts";
import { join } from "../fs/paths.ts";
import { lockTimeout, type StoreContext } from "../store/context.ts";
import { removeKerberosFiles } from "../store/kerberos.ts";
import { storeRoot } from "../store/layout.ts";
import { removeUserDirectory } from "../store/oauth.ts";
import { isValidName } from "../store/names.ts";

/** What one sweep removed. */
export interface SweepResult {
  readonly kerberos: string[];
  readonly oauth: string[];
}

function markAge(info: Deno.FileInfo, now: number): number {
  return (now - (info.mtime?.getTime() ?? now)) / 1000;
}

/** Runs one sweep of both credential directories. Errors of one user do not stop the others. */
export async function sweep(ctx: StoreContext, now: number = Date.now()): Promise<SweepResult> {
  const delay = ctx.config.getInt("SEC_CREDENTIAL_SWEEP_DELAY", 3600);
  const result: SweepResult = { kerberos: [], oauth: [] };
  for (const which of ["krb", "oauth"] as const) {
    const knob = which === "krb"
      ? "SEC_CREDENTIAL_DIRECTORY_KRB"
      : "SEC_CREDENTIAL_DIRECTORY_OAUTH";
    let store;
    try {
      store = ctx.config.get(knob) === undefined ? null : storeRoot(ctx, which, false);
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      ctx.debug(`sweep: ${error.message}`);
      continue;
    }
    if (store === null) continue;
    for (const name of listNames(store)) {
      if (!name.endsWith(".mark")) continue;
      const user = name.slice(0, -".mark".length);
      if (!isValidName(user)) continue;
      try {
        const info = lstatOrNull(join(store.path, name));
        // Gone since the listing (a request for the user removed it): nothing to sweep.
        if (info === null) continue;
        // Kerberos: strictly older than the delay; OAuth: at least as old, and not a directory.
        const old = which === "krb"
          ? markAge(info, now) > delay
          : markAge(info, now) >= delay && !info.isDirectory;
        if (!old) continue;
        await withLock(store, user, ctx.owners, {
          timeoutSeconds: lockTimeout(ctx),
          fn: () => {
            // A request for the user may have removed the mark meanwhile: then nothing goes.
            if (inspectFile(store, name, ctx.owners, "shared") === null) return;
            if (which === "krb") {
              removeKerberosFiles(ctx, store, user);
              removeEntry(store, name);
              result.kerberos.push(user);
              return;
            }
            removeEntry(store, name);
            removeUserDirectory(ctx, store, user);
            result.oauth.push(user);
          },
        });
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        ctx.debug(`sweep: ${user}: ${(error as Error).message}`);
      }
    }
  }
  return result;
}
