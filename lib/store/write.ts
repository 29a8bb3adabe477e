/**
 * The store's one write path: lock the user, check the caller's limits, remove the user's mark,
 * make the target's directory, check what is there, journal the temp name, replace the file
 * durably. Every credential the store writes (pool password, sealed password, Kerberos, OAuth)
 * goes through `writeCredential`.
 */

import type { Config } from "../config/mod.ts";
import { constantTimeEqual } from "../crypto/equal.ts";
import { quote, StoreError } from "../errors.ts";
import type { Directory } from "../fs/directories.ts";
import { inspectFile, readFile, replaceFile, tempNameFor } from "../fs/files.ts";
import { type HeldLock, withLock } from "../fs/lock.ts";
import type { Owners } from "../fs/owners.ts";
import { join } from "../fs/paths.ts";
import { lockTimeout } from "./context.ts";
import { removeMark } from "./credmon.ts";

/** What a write needs of its request's context: the trusted owners, and the configuration for
 * the lock's wait (null for a write without a lock). A StoreContext is one. */
export interface WriteContext {
  readonly owners: Owners;
  readonly config: Config | null;
  /** Debug lines (a held lock, how long the wait may last); default: dropped. */
  readonly debug?: (line: string) => void;
  /** The caller's per-user limits (StoreContext.checkWrite); absent: none. */
  readonly checkWrite?: (target: { readonly path: string; readonly size: number }) => void;
}

/** What to write, where. */
export interface CredentialWrite {
  /** The checked store directory: it holds the lock and the user's mark. */
  readonly store: Directory;
  /**
   * The lock key: the user (or account, or pool file) whose writers are serialised; null writes
   * without a lock (`-f FILE`, outside any store, where a lock would leave a `.locks` directory
   * wherever the file goes).
   */
  readonly lockKey: string | null;
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
  /**
   * What is at the target now: a credential, checked and compared (the default); or, for `-f`,
   * any regular file, replaced unread whatever its mode (deviation 8). A link or anything but a
   * regular file is refused either way.
   */
  readonly previous?: "credential" | "replace";
}

/**
 * Writes one credential under the user's lock. Returns the written file's info and whether the
 * stored bytes changed. Throws StoreError; on any failure the old credential is untouched.
 */
export async function writeCredential(
  ctx: WriteContext,
  write: CredentialWrite,
): Promise<{ written: Deno.FileInfo; changed: boolean }> {
  if (write.lockKey === null) return await writeHeld(ctx, write, null);
  if (ctx.config === null) throw new Error("a locked write needs the configuration");
  return await withLock(write.store, write.lockKey, ctx.owners, {
    timeoutSeconds: lockTimeout({ config: ctx.config }),
    debug: ctx.debug,
    fn: (lock) => writeHeld(ctx, write, lock),
  });
}

/** Refuses a link or anything but a regular file at `name` (a `-f` target); reads nothing. */
function refuseNonRegular(dir: Directory, name: string): void {
  const target = join(dir.path, name);
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(target);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (info.isFile) return;
  throw new StoreError(
    "insecure",
    `refusing to use ${quote(target)}: it is ${
      info.isSymlink ? "a symbolic link" : "not a regular file"
    }`,
    { path: target, remedy: "remove it, then run the command again" },
  );
}

/** The write itself, with the user's lock held (or none for a write without one). */
async function writeHeld(
  ctx: WriteContext,
  write: CredentialWrite,
  lock: HeldLock | null,
): Promise<{ written: Deno.FileInfo; changed: boolean }> {
  // The caller's limits first, before anything of the user's is written (lib/store/quota.ts).
  ctx.checkWrite?.({
    path: join(write.store.path, write.subdir ?? "", write.name),
    size: write.data.length,
  });
  // The mark goes first: a sweep running between the write and its removal would take the
  // fresh credential.
  if (write.user !== null) removeMark(write.store, write.user);
  const dir = write.directory();
  let changed = true;
  if (write.previous === "replace") {
    refuseNonRegular(dir, write.name);
  } else {
    const before = inspectFile(dir, write.name, ctx.owners, "secret");
    // Only a file of the same size can hold the same credential: compare those.
    if (before !== null && before.size === write.data.length) {
      const old = readFile(dir, write.name, ctx.owners, {
        role: "secret",
        maxBytes: write.data.length,
      });
      if (old !== null) {
        try {
          changed = !(await (write.same ?? ((o) => constantTimeEqual(o, write.data)))(old));
        } finally {
          old.fill(0);
        }
      }
    }
  }
  write.inspect?.(dir);
  const temp = tempNameFor(write.name);
  lock?.journal(temp, write.subdir);
  await replaceFile(dir, write.name, write.data, { tempName: temp });
  return { written: inspectFile(dir, write.name, ctx.owners, "secret")!, changed };
}
