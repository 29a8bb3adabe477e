/**
 * The store's one write path: lock the user, remove the user's mark, make the target's directory,
 * check what is there, journal the temp name, replace the file durably. Every credential the
 * store writes (pool password, sealed password, Kerberos, OAuth) goes through `writeCredential`.
 */

import type { Directory } from "../fs/directories.ts";
import { inspectFile, readFile, replaceFile, tempNameFor } from "../fs/files.ts";
import { withLock } from "../fs/lock.ts";
import { lockTimeout, type StoreContext } from "./context.ts";
import { removeMark } from "./credmon.ts";

/** What to write, where. */
export interface CredentialWrite {
  /** The checked store directory: it holds the lock and the user's mark. */
  readonly store: Directory;
  /** The lock key: the user (or account, or pool file) whose writers are serialised. */
  readonly lockKey: string;
  /** The user whose `<user>.mark` is removed before the write; null for passwords. */
  readonly user: string | null;
  /** The target's directory, made or checked while the lock is held. */
  readonly directory: () => Directory;
  /** The target's directory relative to `store` (for the crash journal); absent for `store`. */
  readonly subdir?: string;
  /** The target's file name in that directory. */
  readonly name: string;
  /** The bytes to store. The caller zeroes them. */
  readonly data: Uint8Array;
  /** Tells whether `old` holds the same credential as `data` (default: byte equality). */
  readonly same?: (old: Uint8Array) => boolean | Promise<boolean>;
  /** Extra checks in the target's directory, under the lock, before anything is written. */
  readonly inspect?: (dir: Directory) => void;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Writes one credential under the user's lock. Returns the written file's info and whether the
 * stored bytes changed. Throws StoreError; on any failure the old credential is untouched.
 */
export async function writeCredential(
  ctx: StoreContext,
  write: CredentialWrite,
): Promise<{ written: Deno.FileInfo; changed: boolean }> {
  return await withLock(write.store, write.lockKey, ctx.owners, {
    timeoutSeconds: lockTimeout(ctx),
    fn: async (lock) => {
      // The mark goes first: a sweep running between the write and its removal would take
      // the fresh credential.
      if (write.user !== null) removeMark(write.store, write.user);
      const dir = write.directory();
      const before = inspectFile(dir, write.name, ctx.owners, "secret");
      let changed = true;
      // Only a file of the same size can hold the same credential: compare those.
      if (before !== null && before.size === write.data.length) {
        const old = readFile(dir, write.name, ctx.owners, {
          role: "secret",
          maxBytes: write.data.length,
        });
        if (old !== null) {
          try {
            changed = !(await (write.same ?? ((o) => equalBytes(o, write.data)))(old));
          } finally {
            old.fill(0);
          }
        }
      }
      write.inspect?.(dir);
      const temp = tempNameFor(write.name);
      lock.journal(temp, write.subdir);
      replaceFile(dir, write.name, write.data, { tempName: temp });
      return { written: inspectFile(dir, write.name, ctx.owners, "secret")!, changed };
    },
  });
}
