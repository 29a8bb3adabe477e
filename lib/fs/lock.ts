/**
 * Per-user writer locks (SPEC §5 "Lock"): an advisory `flock` on `<dir>/.locks/<key>.lock`,
 * taken with a bounded wait. The lock file doubles as a journal naming the temporary file the
 * holder is writing, so the next holder removes what a killed writer left behind without
 * listing the (possibly huge) directory.
 *
 * Permissions: --allow-read and --allow-write on the lock directory.
 */

import { quote, StoreError } from "../errors.ts";
import { secureDirectory } from "./directories.ts";
import {
  join,
  openCredentialFile,
  osError,
  removeIfPresent,
  TEMP_NAME,
  type Trust,
} from "./secure_file.ts";

/** The directory, inside a store directory, that holds its lock files. */
export const LOCK_DIRECTORY = ".locks";

/** A held lock. */
export interface HeldLock {
  /** Records the temporary file about to be created, so a crash leaves a trail. */
  journal(tempPath: string): void;
  /** Releases the lock (also clears the journal). */
  release(): void;
}

/** Options of `acquireLock`. */
export interface LockOptions {
  /** Seconds to wait before giving up with StoreError("locked"). */
  readonly timeoutSeconds: number;
  /** Poll interval in milliseconds (default 10). */
  readonly pollMs?: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Takes the writer lock `key` of store directory `dir`, waiting at most `timeoutSeconds`.
 * Removes a temporary file recorded by a previous holder that died. Throws StoreError
 * ("locked" on timeout, "insecure", "permission", "io").
 */
export async function acquireLock(
  dir: string,
  key: string,
  trust: Trust,
  options: LockOptions,
): Promise<HeldLock> {
  const lockDir = join(dir, LOCK_DIRECTORY);
  secureDirectory(lockDir, trust, { create: true });
  const path = join(lockDir, `${key}.lock`);
  const file = openCredentialFile(path, trust, {
    read: true,
    write: true,
    create: true,
    mode: 0o600,
    verb: "open the lock file",
  })!;
  try {
    const deadline = Date.now() + options.timeoutSeconds * 1000;
    while (!file.tryLockSync(true)) {
      if (Date.now() >= deadline) {
        throw new StoreError(
          "locked",
          `ERROR: timed out after ${options.timeoutSeconds} seconds waiting for the lock ` +
            `${quote(path)}; another condor_store_cred is still writing these credentials. ` +
            "Retry later, or raise CRED_LOCK_TIMEOUT",
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 10));
    }
    cleanUpAfterCrash(file, dir);
  } catch (error) {
    file.close();
    throw error;
  }
  let released = false;
  let journaled = false;
  return {
    journal(tempPath: string) {
      if (!tempPath.startsWith(`${dir}/`)) throw new Error(`${tempPath} is not inside ${dir}`);
      journaled = true;
      try {
        file.truncateSync(0);
        file.seekSync(0, Deno.SeekMode.Start);
        file.writeSync(encoder.encode(tempPath.slice(dir.length + 1)));
      } catch (error) {
        throw osError(error, "write the lock journal", path);
      }
    },
    release() {
      if (released) return;
      released = true;
      try {
        // Only a holder that wrote the journal touches the file, so a refusal changes nothing.
        if (journaled) file.truncateSync(0);
      } catch {
        // Clearing the journal is best effort: a stale entry only names a temp file that is
        // already gone, and the next holder ignores it.
      } finally {
        file.close();
      }
    },
  };
}

const SAFE_COMPONENT = /^[A-Za-z0-9+=_.-]+$/;

/**
 * Removes the temporary file a dead holder recorded in the journal. The entry is a path relative
 * to the store directory, `<temp>` or `<user>/<temp>`; anything else is ignored, so a tampered
 * journal cannot make us remove other files.
 */
function cleanUpAfterCrash(file: Deno.FsFile, dir: string): void {
  const buffer = new Uint8Array(1024);
  file.seekSync(0, Deno.SeekMode.Start);
  const n = file.readSync(buffer);
  if (!n) return;
  const parts = decoder.decode(buffer.subarray(0, n)).split("/");
  const temp = parts.at(-1)!;
  const subdirs = parts.slice(0, -1);
  const valid = parts.length <= 2 && TEMP_NAME.test(temp) &&
    subdirs.every((p) => SAFE_COMPONENT.test(p) && p !== "." && p !== "..");
  if (valid) removeIfPresent(join(dir, ...parts));
  file.truncateSync(0);
}

/** Runs `fn` while holding the lock, releasing it however `fn` ends. */
export async function withLock<T>(
  dir: string,
  key: string,
  trust: Trust,
  options: LockOptions & { readonly fn: (lock: HeldLock) => T | Promise<T> },
): Promise<T> {
  const lock = await acquireLock(dir, key, trust, options);
  try {
    return await options.fn(lock);
  } finally {
    lock.release();
  }
}
