/**
 * Facts derived from a file's content, remembered by the file's version, so that a long-running
 * process (the daemon) answering the same question again does not open and read a file that has
 * not changed: an access token's expiry, a refresh token's scopes and audience, a name missing from
 * a directory (by the directory's version). lib/accounts.ts keeps the passwd file's entries by the
 * same versions. A fact is never the content itself (no secret is kept), only what a reply may show.
 *
 * A file's version is what a write or a replacement changes: device, inode, size, mode, owner,
 * link count, mtime and ctime. A version is trusted only when the file's mtime was `SETTLED_MS`
 * old when it was read: a write in the same tick of the file system's clock as the last one could
 * leave every field as it was, but a write after the read falls in a later tick, so its mtime
 * differs (Linux file systems keep times to a few milliseconds at worst; Deno gives mtime to the
 * millisecond, ctime to the second, so ctime is part of the version but cannot date a change).
 * Only a trusted owner could write a file and set its times back, and such a file is trusted
 * anyway. Facts of a file changed more recently than that are not remembered: it is read each time.
 */

/** How old a file's mtime must be when it is read for its version to be trusted. */
export const SETTLED_MS = 1000;

/**
 * True when `info`'s mtime is at least SETTLED_MS before `now` (milliseconds), so that any later
 * write shows in its version. A file without an mtime never is.
 */
export function settled(info: Deno.FileInfo, now: number): boolean {
  const mtime = info.mtime?.getTime();
  return mtime !== undefined && now - mtime >= SETTLED_MS;
}

/** What a write or a replacement changes in a file: the fields of `Deno.FileInfo` kept. */
export interface Version {
  readonly dev: number;
  readonly ino: number | null;
  readonly size: number;
  readonly mode: number | null;
  readonly uid: number | null;
  readonly nlink: number | null;
  readonly mtime: number | undefined;
  readonly ctime: number | undefined;
}

/** The version `info` shows (eight numbers: a kept fact holds no whole `FileInfo`). */
export function versionOf(info: Deno.FileInfo): Version {
  return {
    dev: info.dev,
    ino: info.ino,
    size: info.size,
    mode: info.mode,
    uid: info.uid,
    nlink: info.nlink,
    mtime: info.mtime?.getTime(),
    ctime: info.ctime?.getTime(),
  };
}

/** True when `info` shows the version `version` (compared field by field). */
export function sameVersion(version: Version, info: Deno.FileInfo): boolean {
  return version.ino === info.ino && version.dev === info.dev && version.size === info.size &&
    version.mode === info.mode && version.uid === info.uid && version.nlink === info.nlink &&
    version.mtime === info.mtime?.getTime() && version.ctime === info.ctime?.getTime();
}

/**
 * Facts by file: each kind of fact of each path, with the version of the file it was derived
 * from. At most `capacity` are kept (each well under a kilobyte); the oldest goes first.
 */
export class FileFacts {
  readonly #entries = new Map<string, { readonly version: Version; readonly value: unknown }>();

  constructor(
    readonly capacity = 16384,
    /** The clock (milliseconds): read it before the read or lookup whose result is remembered. */
    readonly now: () => number = Date.now,
  ) {}

  /**
   * The fact `kind` of `path`, when it was derived from the very version `info` (a fresh `lstat`
   * of `path`) shows; else undefined.
   */
  get<T>(kind: string, path: string, info: Deno.FileInfo): T | undefined {
    const entry = this.#entries.get(`${kind}\0${path}`);
    if (entry === undefined || !sameVersion(entry.version, info)) return undefined;
    return entry.value as T;
  }

  /**
   * Remembers `value` as the fact `kind` of `path`, derived from what a read or lookup begun at
   * `began` (this clock, read before it) found, with `info` taken before that; unless that version
   * is too recent at `began` to be told from a later one (`settled`).
   */
  remember(kind: string, path: string, info: Deno.FileInfo, value: unknown, began: number): void {
    const key = `${kind}\0${path}`;
    this.#entries.delete(key);
    if (!settled(info, began)) return;
    if (this.#entries.size >= this.capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(key, { version: versionOf(info), value });
  }

  /** How many facts are kept. */
  get size(): number {
    return this.#entries.size;
  }
}
