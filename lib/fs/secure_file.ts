/**
 * Secure file primitives (SPEC §5): checked reads, durable atomic writes, checked removal and
 * directory-chain checks. These are the only functions that touch credential files.
 *
 * Permissions: --allow-read and --allow-write on the paths involved.
 */

import { quote, StoreError } from "../errors.ts";

/** Who may own what: files must belong to `fileOwner`; directories to one of `dirOwners`. */
export interface Trust {
  /** The uid every credential file must belong to (the caller). */
  readonly fileOwner: number;
  /** The uids that may own directories of the store (root, the caller, the condor user). */
  readonly dirOwners: readonly number[];
}

const IS_WINDOWS = Deno.build.os === "windows";

/** Formats a mode as four octal digits, e.g. `0644`. */
export function octal(mode: number): string {
  return "0" + (mode & 0o7777).toString(8).padStart(3, "0");
}

/** The directory part of a path (`.` for a bare name). */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

/** The last component of a path. */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Joins path components with `/`. */
export function join(...parts: string[]): string {
  return parts.join("/").replace(/\/{2,}/g, "/");
}

function insecure(path: string, why: string, fix: string): StoreError {
  return new StoreError("insecure", `ERROR: refusing to use ${quote(path)}: ${why}; ${fix}`);
}

/**
 * Turns an operating-system error about `path` into a StoreError with a message that says what
 * failed and what to do. Unknown errors are rethrown.
 */
export function osError(error: unknown, verb: string, path: string): StoreError {
  if (error instanceof StoreError) return error;
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return new StoreError(
      "permission",
      `ERROR: permission denied to ${verb} ${quote(path)}; run as root or as the owner of the ` +
        "credential store, or point CONDOR_CONFIG at a configuration whose credential " +
        "directories you may write",
    );
  }
  if (error instanceof Error) {
    const reason = error.message.replace(/: \w+ '.*'$/, "");
    return new StoreError(
      "io",
      `ERROR: could not ${verb} ${quote(path)}: ${reason}; nothing was changed`,
    );
  }
  throw error;
}

/** `lstat` that returns null for a missing path. */
export function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw osError(error, "inspect", path);
  }
}

/**
 * Checks that `info` describes a credential file we may trust: a regular file (not a symlink,
 * FIFO or directory), one link, owned by the caller, no group or other permission bits.
 * Throws StoreError("insecure").
 */
export function checkCredentialFile(path: string, info: Deno.FileInfo, trust: Trust): void {
  const fix = "remove it or repair it by hand, then run the command again";
  if (info.isSymlink) throw insecure(path, "it is a symbolic link", fix);
  if (!info.isFile) throw insecure(path, "it is not a regular file", fix);
  if (IS_WINDOWS) return;
  if ((info.nlink ?? 1) > 1) {
    throw insecure(
      path,
      `it has ${info.nlink} hard links (a credential must have exactly one)`,
      fix,
    );
  }
  if (info.uid !== trust.fileOwner) {
    throw insecure(path, `it is owned by uid ${info.uid}, not by uid ${trust.fileOwner}`, fix);
  }
  if ((info.mode! & 0o077) !== 0) {
    throw insecure(
      path,
      `its mode ${octal(info.mode!)} gives access to group or others`,
      `run "chmod 600 ${path}" if you trust its content, or remove it`,
    );
  }
}

/** `lstat` plus `checkCredentialFile`; null when the file does not exist. */
export function inspectCredentialFile(
  path: string,
  trust: Trust,
): Deno.FileInfo | null {
  const info = lstatOrNull(path);
  if (info !== null) checkCredentialFile(path, info, trust);
  return info;
}

function readAll(file: Deno.FsFile, limit: number, path: string): Uint8Array {
  let buffer = new Uint8Array(Math.min(limit + 1, 64 * 1024));
  let length = 0;
  while (true) {
    if (length === buffer.length) {
      if (length > limit) break;
      const bigger = new Uint8Array(Math.min(buffer.length * 2, limit + 1));
      bigger.set(buffer);
      buffer.fill(0);
      buffer = bigger;
    }
    const n = file.readSync(buffer.subarray(length));
    if (n === null) break;
    length += n;
  }
  if (length > limit) {
    buffer.fill(0);
    throw new StoreError(
      "too-large",
      `ERROR: ${quote(path)} is larger than ${limit} bytes; it is not a credential this ` +
        "program stores",
    );
  }
  const out = buffer.slice(0, length);
  buffer.fill(0);
  return out;
}

/**
 * Opens a credential file (or the lock file or audit log) securely: `lstat`, check, open, then
 * compare the open handle's `fstat` with the `lstat` (dev, ino) and check it again, so a file
 * swapped in between is refused. Returns null when the file does not exist and `options` does
 * not create it. `verb` says what failed in error messages ("open", "open the lock file"). Throws StoreError (insecure, io, ...).
 */
export function openCredentialFile(
  path: string,
  trust: Trust,
  options: Deno.OpenOptions & { readonly verb: string },
): Deno.FsFile | null {
  const before = inspectCredentialFile(path, trust);
  if (before === null && !options.create) return null;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, options);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !options.create) return null;
    throw osError(error, options.verb, path);
  }
  try {
    const after = file.statSync();
    // fstat after open closes the lstat race: the handle must be the very file we checked.
    if (
      before !== null && !IS_WINDOWS && (after.dev !== before.dev || after.ino !== before.ino)
    ) {
      throw insecure(path, "it was replaced while being opened", "run the command again");
    }
    checkCredentialFile(path, after, trust);
    return file;
  } catch (error) {
    file.close();
    throw osError(error, options.verb, path);
  }
}

/**
 * Reads a credential file securely (see `openCredentialFile`), refusing more than `maxBytes`.
 * Returns null when the file does not exist. Throws StoreError (insecure, too-large, io).
 */
export function readFileSecurely(
  path: string,
  trust: Trust,
  maxBytes: number,
): Uint8Array | null {
  const file = openCredentialFile(path, trust, { read: true, verb: "open" });
  if (file === null) return null;
  try {
    return readAll(file, maxBytes, path);
  } catch (error) {
    throw osError(error, "read", path);
  } finally {
    file.close();
  }
}

function randomHex(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The name pattern of this program's temporary files: `.<target>.<16 hex>.tmp`. */
export const TEMP_NAME = /^\.(.+)\.[0-9a-f]{16}\.tmp$/;

/** Picks an unpredictable temporary name beside `path`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomHex(8)}.tmp`);
}

/** Flushes a directory's entries to disk (no-op on Windows, which cannot open directories). */
export function syncDirectory(dir: string): void {
  if (IS_WINDOWS) return;
  const handle = Deno.openSync(dir, { read: true });
  try {
    handle.syncSync();
  } finally {
    handle.close();
  }
}

function writeAllTo(file: Deno.FsFile, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) written += file.writeSync(data.subarray(written));
}

/** Options of `writeFileDurably`. */
export interface WriteOptions {
  /** Final mode of the file, set in the create call (default 0600). */
  readonly mode?: number;
  /** The temporary path to use (default: a fresh `tempPathFor(path)`). */
  readonly tempPath?: string;
}

/**
 * Durable atomic write: create a temp file with an unpredictable name exclusively and with its
 * final mode, write, fsync, rename over `path`, fsync the directory. On failure the temp file is
 * removed and `path` is untouched. Throws StoreError (io, permission).
 */
export function writeFileDurably(
  path: string,
  data: Uint8Array,
  options: WriteOptions = {},
): void {
  const temp = options.tempPath ?? tempPathFor(path);
  let file: Deno.FsFile;
  try {
    // createNew: a pre-existing file, symlink or FIFO at the temp name is an error, never reused.
    file = Deno.openSync(temp, { write: true, createNew: true, mode: options.mode ?? 0o600 });
  } catch (error) {
    throw osError(error, "create a temporary file beside", path);
  }
  let renamed = false;
  try {
    try {
      writeAllTo(file, data);
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(temp, path);
    renamed = true;
    syncDirectory(dirname(path));
  } catch (error) {
    if (!renamed) removeQuietly(temp);
    throw osError(error, "write", path);
  }
}

/**
 * Removes a credential file after checking it (a symlink, hard link or foreign file is refused,
 * and nothing is removed). Returns false when it did not exist.
 */
export function removeCredentialFile(path: string, trust: Trust): boolean {
  const info = inspectCredentialFile(path, trust);
  if (info === null) return false;
  try {
    Deno.removeSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw osError(error, "remove", path);
  }
}

/** Removes a path, ignoring every error (for best-effort cleanup of our own temp files). */
export function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Best effort: the path may already be gone.
  }
}

/** Removes a path if present, ignoring a missing one (used for mark files and stale temps). */
export function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw osError(error, "remove", path);
  }
}
