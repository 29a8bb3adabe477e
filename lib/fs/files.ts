/**
 * Files inside checked directories (docs/storage.md "Reading", "Writing"): checked
 * reads, durable atomic replacement, exclusive creation and checked removal. Every credential,
 * lock, pid, key and audit file the program touches goes through these functions.
 *
 * Reading: `lstat`, check, open, then compare the open handle's `fstat` (dev, ino) with the
 * `lstat` and check again. Writing: a temp file with an unpredictable name, created exclusively
 * with its final mode, written, fsynced, renamed over the target, directory fsynced.
 *
 * Permissions: --allow-read and --allow-write on the directories involved.
 */

import { quote, StoreError } from "../errors.ts";
import type { Directory } from "./directories.ts";
import { type FileFacts, sameVersion, settled, versionOf } from "./facts.ts";
import { insecure, osError } from "./errors.ts";
import { describeTrusted, isTrustedOwner, type Owners } from "./owners.ts";
import { join, octal } from "./paths.ts";

/**
 * How strictly a file's mode is checked: a `secret` (credentials, the pool file, keys) may give
 * group and others no access at all; a `shared` file (credmon pid, lock, audit log) may be
 * readable by them but never writable.
 */
export type FileRole = "secret" | "shared";

/**
 * Checks that `info` is a file the store may trust: a regular file (not a link, FIFO or
 * directory), one link, a trusted owner, and a mode `role` allows. Throws StoreError("insecure").
 */
export function checkFile(path: string, info: Deno.FileInfo, owners: Owners, role: FileRole) {
  const fix = "remove it or repair it by hand, then run the command again";
  if (info.isSymlink) throw insecure("", path, "it is a symbolic link", fix);
  if (!info.isFile) throw insecure("", path, "it is not a regular file", fix);
  if ((info.nlink ?? 1) > 1) {
    throw insecure(
      "",
      path,
      `it has ${info.nlink} hard links (a credential must have exactly one)`,
      fix,
    );
  }
  if (!isTrustedOwner(owners, info.uid)) {
    throw insecure(
      "",
      path,
      `it is owned by ${owners.accounts.describeUid(info.uid!)}; only ` +
        `${describeTrusted(owners)} may own the files of the credential store`,
      fix,
    );
  }
  const mode = info.mode!;
  if (role === "secret" && (mode & 0o077) !== 0) {
    throw insecure(
      "",
      path,
      `its mode ${octal(mode)} gives access to group or others`,
      `run "chmod 600 ${path}" if you trust its content, or remove it`,
    );
  }
  if (role === "shared" && (mode & 0o022) !== 0) {
    throw insecure(
      "",
      path,
      `its mode ${octal(mode)} lets group or others change it`,
      `run "chmod go-w ${path}" if you trust its content, or remove it`,
    );
  }
}

function lstatIn(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw osError(error, "inspect", path);
  }
}

/**
 * True when `name` (at `path`) was found missing from `dir` at the version `dir.info` shows
 * (lib/fs/facts.ts): a directory's mtime moves whenever an entry is created, removed or renamed in
 * it, so while its version stands, what was missing still is. Looking costs no system call, where
 * a missing file's `lstat` costs an exception.
 */
function knownAbsent(dir: Directory, path: string, facts: FileFacts | undefined): boolean {
  return facts?.get<boolean>("absent", path, dir.info) === true;
}

/**
 * Remembers that `path` was missing from `dir` at a lookup begun at `began`, if `dir` is still
 * the very version it was before the lookup: a lookup by path also fails while the directory
 * itself is moved away and back, which leaves its version as it was.
 */
function rememberAbsent(dir: Directory, path: string, facts: FileFacts, began: number): void {
  // A directory changed too lately would not be remembered anyway: no second lstat for it.
  if (!settled(dir.info, began)) return;
  let again: Deno.FileInfo;
  try {
    again = Deno.lstatSync(dir.path);
  } catch {
    return;
  }
  if (sameVersion(versionOf(dir.info), again)) {
    facts.remember("absent", path, dir.info, true, began);
  }
}

/**
 * `lstat` plus `checkFile` for `name` in `dir`; null when it does not exist. With `facts` (a
 * daemon thread's), a name found missing is not looked for again while `dir` is unchanged.
 */
export function inspectFile(
  dir: Directory,
  name: string,
  owners: Owners,
  role: FileRole,
  facts?: FileFacts,
): Deno.FileInfo | null {
  const path = join(dir.path, name);
  if (knownAbsent(dir, path, facts)) return null;
  const began = facts?.now() ?? 0;
  const info = lstatIn(path);
  if (info !== null) checkFile(path, info, owners, role);
  else if (facts !== undefined) rememberAbsent(dir, path, facts, began);
  return info;
}

/** Options of `openFile`. */
export interface OpenFileOptions {
  readonly role: FileRole;
  readonly read?: boolean;
  readonly write?: boolean;
  readonly append?: boolean;
  /** Create the file (exclusively, never through a link) with this mode when it is missing. */
  readonly createMode?: number;
  /** What failed, for messages: "open", "open the lock file". */
  readonly verb?: string;
}

/**
 * Opens `name` in `dir` securely. An existing file is `lstat`ed and checked, opened, and the
 * handle's `fstat` compared with the `lstat`, so a file swapped in between is refused. A missing
 * file is created exclusively when `createMode` is given (a link or FIFO planted meanwhile makes
 * the create fail and is then refused as it is). Returns null when missing and not created.
 * Throws StoreError ("insecure", "permission", "io").
 */
export function openFile(
  dir: Directory,
  name: string,
  owners: Owners,
  options: OpenFileOptions,
): Deno.FsFile | null {
  const path = join(dir.path, name);
  const verb = options.verb ?? "open";
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = inspectFile(dir, name, owners, options.role);
    if (before === null) {
      if (options.createMode === undefined) return null;
      try {
        return Deno.openSync(path, {
          read: options.read,
          write: options.write || options.append,
          append: options.append,
          createNew: true,
          mode: options.createMode,
        });
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) continue; // look again at what is there
        throw osError(error, verb, path);
      }
    }
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, {
        read: options.read,
        write: options.write,
        append: options.append,
      });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw osError(error, verb, path);
    }
    try {
      const after = file.statSync();
      // fstat after open closes the lstat race: the handle must be the very file we checked.
      if (after.dev !== before.dev || after.ino !== before.ino) {
        throw insecure("", path, "it was replaced while being opened", "run the command again");
      }
      checkFile(path, after, owners, options.role);
      return file;
    } catch (error) {
      file.close();
      throw osError(error, verb, path);
    }
  }
  throw insecure("", path, "it keeps changing while it is being opened", "run the command again");
}

/** The first buffer of `readUpTo`: a credential is most often a few hundred bytes. */
const FIRST_READ_BYTES = 4096;

/**
 * Reads at most `limit + 1` bytes of `file` (one more tells whether the file goes on). The buffer
 * starts small and doubles: every buffer is zeroed when dropped, so a large first one would cost
 * more than the read itself for the small files most reads are.
 */
export function readUpTo(file: Deno.FsFile, limit: number): Uint8Array {
  let buffer = new Uint8Array(Math.min(limit + 1, FIRST_READ_BYTES));
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
  const out = buffer.slice(0, length);
  buffer.fill(0);
  return out;
}

function readAll(file: Deno.FsFile, limit: number, path: string): Uint8Array {
  const bytes = readUpTo(file, limit);
  if (bytes.length > limit) {
    bytes.fill(0);
    throw new StoreError(
      "too-large",
      `${quote(path)} is larger than ${limit} bytes; it is not a credential this program stores`,
      { path },
    );
  }
  return bytes;
}

/**
 * Reads `name` in `dir` securely (see `openFile`), refusing more than `maxBytes`. Returns null
 * when it does not exist. Throws StoreError ("insecure", "too-large", "io").
 */
export function readFile(
  dir: Directory,
  name: string,
  owners: Owners,
  options: { readonly role: FileRole; readonly maxBytes: number },
): Uint8Array | null {
  const file = openFile(dir, name, owners, { role: options.role, read: true });
  if (file === null) return null;
  const path = join(dir.path, name);
  try {
    return readAll(file, options.maxBytes, path);
  } catch (error) {
    throw osError(error, "read", path);
  } finally {
    file.close();
  }
}

/**
 * Reads at most the first `bytes` bytes of `name` in `dir` securely (see `openFile`): a bounded
 * look at a file of any size. `whole` says whether that was all of it. Returns null when it does
 * not exist. Throws StoreError ("insecure", "io").
 */
export function readFileStart(
  dir: Directory,
  name: string,
  owners: Owners,
  options: { readonly role: FileRole; readonly bytes: number },
): { readonly content: Uint8Array; readonly whole: boolean } | null {
  const file = openFile(dir, name, owners, { role: options.role, read: true });
  if (file === null) return null;
  const path = join(dir.path, name);
  try {
    const read = readUpTo(file, options.bytes);
    if (read.length <= options.bytes) return { content: read, whole: true };
    const content = read.slice(0, options.bytes);
    read.fill(0);
    return { content, whole: false };
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

/** Bytes a temporary name adds to its target's name (`.` + `.` + 16 hex + `.tmp`). */
export const TEMP_NAME_EXTRA = 22;

/** Picks an unpredictable temporary name beside `name`. */
export function tempNameFor(name: string): string {
  return `.${name}.${randomHex(8)}.tmp`;
}

/**
 * Flushes a directory's entries to disk. The fsync runs off this thread (Deno's blocking pool), as
 * in `replaceFile`.
 */
export async function syncDirectory(dir: Directory): Promise<void> {
  const handle = Deno.openSync(dir.path, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

function writeAllTo(file: Deno.FsFile, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) written += file.writeSync(data.subarray(written));
}

/** Removes `name` from `dir`, ignoring every error (cleanup of our own temp files). */
export function removeQuietly(dir: Directory, name: string): void {
  try {
    Deno.removeSync(join(dir.path, name));
  } catch {
    // Best effort: the file may already be gone.
  }
}

/** Options of `replaceFile`. */
export interface ReplaceOptions {
  /** Final mode, set in the create call (default 0600). */
  readonly mode?: number;
  /** The temporary name to use (default: a fresh `tempNameFor(name)`). */
  readonly tempName?: string;
}

/**
 * Durable atomic replacement of `name` in `dir`: a temp file with an unpredictable name created
 * exclusively with its final mode, written, fsynced, renamed over `name`, directory fsynced; it
 * resolves only once both fsyncs are done. On failure the temp file is removed and `name` is
 * untouched. The old file's mode, owner and content never matter. Throws StoreError
 * ("permission", "io").
 *
 * The two fsyncs are awaited, not blocking: they run in Deno's blocking pool while this thread
 * goes on with other requests, so the fsyncs of concurrent writes reach the file system together
 * and its journal commits them as a group (one commit for many writes, each still synced before
 * it is answered), where blocking calls would make each thread's writes wait for one another.
 */
export async function replaceFile(
  dir: Directory,
  name: string,
  data: Uint8Array,
  options: ReplaceOptions = {},
): Promise<void> {
  const temp = options.tempName ?? tempNameFor(name);
  const tempPath = join(dir.path, temp);
  const path = join(dir.path, name);
  let file: Deno.FsFile;
  try {
    // createNew: a file, link or FIFO already at the temp name is an error, never reused.
    file = Deno.openSync(tempPath, { write: true, createNew: true, mode: options.mode ?? 0o600 });
  } catch (error) {
    throw osError(error, "create a temporary file beside", path);
  }
  let renamed = false;
  try {
    try {
      writeAllTo(file, data);
      await file.sync();
    } finally {
      file.close();
    }
    Deno.renameSync(tempPath, path);
    renamed = true;
    await syncDirectory(dir);
  } catch (error) {
    if (!renamed) removeQuietly(dir, temp);
    throw osError(error, "write", path);
  }
}

/**
 * Creates `name` in `dir` with `data` only if it does not exist yet, never visible half-written:
 * written under a temp name, then hard-linked into place (the link fails when another process
 * won the race). Returns false when `name` already existed.
 */
export async function createFileOnce(
  dir: Directory,
  name: string,
  data: Uint8Array,
  mode: number,
): Promise<boolean> {
  const temp = tempNameFor(name);
  const tempPath = join(dir.path, temp);
  const path = join(dir.path, name);
  try {
    const file = Deno.openSync(tempPath, { write: true, createNew: true, mode });
    try {
      writeAllTo(file, data);
      file.syncSync();
    } finally {
      file.close();
    }
    try {
      Deno.linkSync(tempPath, path);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return false;
      throw error;
    }
    await syncDirectory(dir);
    return true;
  } catch (error) {
    throw osError(error, "create", path);
  } finally {
    removeQuietly(dir, temp);
  }
}

/**
 * Removes `name` from `dir` after checking it (a link, hard link or foreign file is refused and
 * nothing is removed). Returns false when it did not exist.
 */
export function removeFile(dir: Directory, name: string, owners: Owners, role: FileRole): boolean {
  if (inspectFile(dir, name, owners, role) === null) return false;
  return removeEntry(dir, name);
}

/**
 * Unlinks `name` from `dir` whatever it is (an unlink never follows a link). Returns false when
 * it did not exist; any other failure throws StoreError. With `facts`, as `inspectFile`.
 */
export function removeEntry(dir: Directory, name: string, facts?: FileFacts): boolean {
  const path = join(dir.path, name);
  if (knownAbsent(dir, path, facts)) return false;
  const began = facts?.now() ?? 0;
  try {
    Deno.removeSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      if (facts !== undefined) rememberAbsent(dir, path, facts, began);
      return false;
    }
    throw osError(error, "remove", path);
  }
}

/** The names in `dir`, sorted. Throws StoreError. */
export function listNames(dir: Directory): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir.path)) names.push(entry.name);
  } catch (error) {
    throw osError(error, "list", dir.path);
  }
  return names.sort();
}
