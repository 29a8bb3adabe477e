/**
 * Per-user writer locks (docs/storage.md "Lock"): an advisory `flock` on
 * `<store>/.locks/<key>.lock`, taken with a bounded wait. The lock file doubles as a journal
 * naming the temporary file the holder is writing, so the next holder removes what a killed
 * writer left behind without listing the (possibly huge) directory.
 *
 * Permissions: --allow-read and --allow-write on the lock directory.
 */

import { quote, StoreError } from "../errors.ts";
import { childDirectory, type Directory } from "./directories.ts";
import { osError } from "./errors.ts";
import { openFile, removeEntry, TEMP_NAME } from "./files.ts";
import type { Owners } from "./owners.ts";
import { join } from "./paths.ts";

/** The directory, inside a store directory, that holds its lock files. */
export const LOCK_DIRECTORY = ".locks";

/** Bytes a lock file name adds to its key (`.lock`). */
export const LOCK_NAME_EXTRA = 5;

/** A held lock. */
export interface HeldLock {
  /**
   * Records the temporary file about to be created in the store directory, or in its
   * subdirectory `subdir` (a user's OAuth directory), so a crash leaves a trail. Throws
   * StoreError("io") when it cannot.
   */
  journal(tempName: string, subdir?: string): void;
}

/** Options of `withLock`. */
export interface LockOptions {
  /** Seconds to wait before giving up with StoreError("locked"). */
  readonly timeoutSeconds: number;
  /** Poll interval in milliseconds (default 10). */
  readonly pollMs?: number;
  /** Debug lines (when the lock is held and how long the wait may last); default: dropped. */
  readonly debug?: (line: string) => void;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const SAFE_COMPONENT = /^[A-Za-z0-9+=_-][A-Za-z0-9+=_.-]*$/;

/**
 * Removes the temporary file a dead holder recorded in the journal. The entry is a path relative
 * to the store directory, `<temp>` or `<user>/<temp>`; anything else is ignored, so a tampered
 * journal cannot make us remove other files.
 */
function cleanUpAfterCrash(file: Deno.FsFile, store: Directory): void {
  const buffer = new Uint8Array(1024);
  file.seekSync(0, Deno.SeekMode.Start);
  const n = file.readSync(buffer);
  if (!n) return;
  const parts = decoder.decode(buffer.subarray(0, n)).split("/");
  const temp = parts.at(-1)!;
  const subdirs = parts.slice(0, -1);
  const valid = parts.length <= 2 && TEMP_NAME.test(temp) &&
    subdirs.every((p) => SAFE_COMPONENT.test(p));
  if (valid) {
    const dir = subdirs.length === 0
      ? store
      : { path: join(store.path, subdirs[0]), info: store.info };
    removeEntry(dir, temp);
  }
  file.truncateSync(0);
}

/**
 * Runs `fn` while holding the writer lock `key` of the checked store directory `store`, waiting
 * at most `timeoutSeconds` for it, and releases it however `fn` ends. Removes a temporary file
 * recorded by a previous holder that died. Throws StoreError ("locked" on timeout, "insecure",
 * "permission", "io") or what `fn` throws.
 */
export async function withLock<T>(
  store: Directory,
  key: string,
  owners: Owners,
  options: LockOptions & { readonly fn: (lock: HeldLock) => T | Promise<T> },
): Promise<T> {
  const lockDir = childDirectory(store, LOCK_DIRECTORY, owners, { create: { mode: 0o700 } })!;
  const name = `${key}.lock`;
  const path = join(lockDir.path, name);
  const file = openFile(lockDir, name, owners, {
    role: "shared",
    read: true,
    write: true,
    createMode: 0o600,
    verb: "open the lock file",
  })!;
  let journaled = false;
  try {
    const deadline = Date.now() + options.timeoutSeconds * 1000;
    let waiting = false;
    while (!file.tryLockSync(true)) {
      if (!waiting) {
        waiting = true;
        // The wait as the deadline sets it, so that -d shows (and the tests check) its length;
        // never below 0.
        options.debug?.(
          `the lock ${quote(path)} is held; waiting for it at most ${
            Math.max(0, deadline - Date.now())
          } ms`,
        );
      }
      if (Date.now() >= deadline) {
        throw new StoreError(
          "locked",
          `timed out after ${options.timeoutSeconds} seconds waiting for the lock ` +
            `${quote(path)}; another condor_store_cred is still writing these credentials`,
          { path, remedy: "retry later, or raise CRED_LOCK_TIMEOUT" },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 10));
    }
    cleanUpAfterCrash(file, store);
    return await options.fn({
      journal(tempName: string, subdir?: string) {
        const relative = subdir === undefined ? tempName : `${subdir}/${tempName}`;
        journaled = true;
        try {
          file.truncateSync(0);
          file.seekSync(0, Deno.SeekMode.Start);
          file.writeSync(encoder.encode(relative));
        } catch (error) {
          throw osError(error, "write the lock journal", path);
        }
      },
    });
  } finally {
    try {
      // Only a holder that wrote the journal touches the file, so a refusal changes nothing.
      if (journaled) file.truncateSync(0);
    } catch {
      // Clearing the journal is best effort: a stale entry only names a temp file that is
      // already gone, and the next holder ignores it.
    } finally {
      file.close();
    }
  }
}
