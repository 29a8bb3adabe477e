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
import type { Directory } from "../fs/directories.ts";
import type { CredType } from "../request.ts";
import { lockTimeout, pathKnob, type StoreContext } from "../store/context.ts";
import { removeKerberosFiles } from "../store/kerberos.ts";
import { storeRoot } from "../store/layout.ts";
import { removeUserDirectory } from "../store/oauth.ts";
import { isValidName } from "../store/names.ts";
import { CRED_TYPES, credentialType } from "../store/types/mod.ts";

/** The types a sweep removes credentials of. */
type SweptType = "kerberos" | "oauth";

/** What one sweep removed: the users swept, by type. */
export type SweepResult = { readonly [T in SweptType]: string[] };

/** How a type's marked users are swept. */
interface Sweeper {
  /** True when a mark of this age (seconds, `info` its lstat) is due for `delay`. */
  due(info: Deno.FileInfo, age: number, delay: number): boolean;
  /** Removes the user's credentials and its mark `name`, under the user's lock. */
  remove(ctx: StoreContext, store: Directory, user: string, name: string): void;
}

/** Each type's sweep; null for a type without marks (passwords). */
const SWEEPERS = {
  password: null,
  kerberos: {
    // Strictly older than the delay.
    due: (_info, age, delay) => age > delay,
    remove: (ctx, store, user, name) => {
      removeKerberosFiles(ctx, store, user);
      removeEntry(store, name);
    },
  },
  oauth: {
    // At least as old, and not a directory.
    due: (info, age, delay) => age >= delay && !info.isDirectory,
    remove: (ctx, store, user, name) => {
      removeEntry(store, name);
      removeUserDirectory(ctx, store, user);
    },
  },
} as const satisfies { readonly [T in CredType]: (T extends SweptType ? Sweeper : null) };

function markAge(info: Deno.FileInfo, now: number): number {
  return (now - (info.mtime?.getTime() ?? now)) / 1000;
}

/** Runs one sweep of both credential directories. Errors of one user do not stop the others. */
export async function sweep(ctx: StoreContext, now: number = Date.now()): Promise<SweepResult> {
  const delay = ctx.config.getInt("SEC_CREDENTIAL_SWEEP_DELAY", 3600);
  const result: SweepResult = { kerberos: [], oauth: [] };
  for (const type of CRED_TYPES) {
    const sweeper: Sweeper | null = SWEEPERS[type];
    if (sweeper === null) continue;
    const which = credentialType(type).directory;
    let store;
    try {
      store = ctx.config.get(pathKnob(which)) === undefined ? null : storeRoot(ctx, which, false);
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
        if (!sweeper.due(info, markAge(info, now), delay)) continue;
        await withLock(store, user, ctx.owners, {
          timeoutSeconds: lockTimeout(ctx),
          fn: () => {
            // A request for the user may have removed the mark meanwhile: then nothing goes.
            if (inspectFile(store, name, ctx.owners, "shared") === null) return;
            sweeper.remove(ctx, store, user, name);
            result[type as SweptType].push(user);
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
