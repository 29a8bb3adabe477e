/**
 * Directory checks and creation (docs/storage.md "Directories").
 *
 * A path is resolved by hand, one component at a time from `/`: every directory passed through
 * is `lstat`ed and checked, and a symbolic link is followed only when a trusted owner owns it.
 * The result is a `Directory`: a real path (no links left) whose every component has passed. No
 * untrusted user can write any directory on that path (only sticky directories, where nobody may
 * replace another's entry, are exempt), so later operations on the path cannot be redirected.
 * A daemon thread may trust a root's ancestors for a second after a walk (`CheckedRoots`,
 * docs/storage.md "What the daemon remembers"); the root itself is checked every time.
 *
 * Permissions: --allow-read on the chain, --allow-write where directories are created.
 */

import { insecure, osError } from "./errors.ts";
import { describeTrusted, isCondorGroupDirectory, isTrustedOwner, type Owners } from "./owners.ts";
import { components, dirname, join, octal } from "./paths.ts";

const STICKY = 0o1000;
const SETGID = 0o2000;
/** Symbolic links followed in one resolution before giving up (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/** A checked directory: its real path and what `lstat` said when it was checked. */
export interface Directory {
  readonly path: string;
  readonly info: Deno.FileInfo;
}

/** How to create a missing directory: final owner, group and mode. */
export interface DirectorySpec {
  /** The owner (default: this process's uid). */
  readonly uid?: number;
  /** The group (default: inherited from the parent or the process). */
  readonly gid?: number;
  /** The exact mode, set with chmod after creation (so the umask does not matter). */
  readonly mode: number;
}

function refuse(path: string, why: string, remedy: string) {
  return insecure("the directory ", path, why, remedy);
}

/** `lstat` that returns null for a missing path. Throws StoreError. */
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

function checkOwner(path: string, info: Deno.FileInfo, owners: Owners): void {
  if (isTrustedOwner(owners, info.uid)) return;
  throw refuse(
    path,
    `it is owned by ${owners.accounts.describeUid(info.uid!)}; only ${describeTrusted(owners)} ` +
      "may own the directories of the credential store",
    "give it a trusted owner if its content is trusted, or configure another directory",
  );
}

/**
 * The rule for every directory a path passes through (ancestors): a trusted owner; writable by
 * others only when sticky (like /tmp); writable by its group only when sticky or condor's setgid
 * directory.
 */
export function checkAncestor(path: string, info: Deno.FileInfo, owners: Owners): void {
  if (!info.isDirectory) throw refuse(path, "it is not a directory", "fix the configured path");
  checkOwner(path, info, owners);
  const mode = info.mode!;
  if ((mode & STICKY) !== 0) return;
  if ((mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && !isCondorGroupDirectory(owners, info))) {
    throw refuse(
      path,
      `its mode ${octal(mode)} lets group or others replace what it contains`,
      `run "chmod go-w ${path}"`,
    );
  }
}

/**
 * The rule for the store's own directories: a trusted owner, never writable by others, writable
 * by its group only when it is condor's setgid directory (the packaged root:condor 2770).
 */
export function checkStoreDirectory(path: string, info: Deno.FileInfo, owners: Owners): void {
  if (!info.isDirectory) throw refuse(path, "it is not a directory", "fix the configured path");
  checkOwner(path, info, owners);
  const mode = info.mode!;
  if ((mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && !isCondorGroupDirectory(owners, info))) {
    throw refuse(
      path,
      `its mode ${octal(mode)} makes it writable by group or others`,
      `run "chmod 700 ${path}"` +
        (owners.condor === null
          ? ""
          : ', or for the OAuth directory "chmod 2770" with group condor'),
    );
  }
}

/** What a walk decides about each directory and link it meets. */
export interface WalkPolicy {
  /** Checks a directory passed through. */
  directory(path: string, info: Deno.FileInfo): void;
  /** Checks the last directory of the path instead of `directory`, when given. */
  final?(path: string, info: Deno.FileInfo): void;
  /** Checks a symbolic link before it is followed; `parent` is the directory that holds it. */
  symlink(path: string, info: Deno.FileInfo, parent: Deno.FileInfo): void;
}

/** Where a walk stopped. */
export interface WalkEnd {
  /** The real path of the deepest existing component. */
  readonly path: string;
  readonly info: Deno.FileInfo;
  /** The real path of the directory holding `path`, and its info (for `/`: itself). */
  readonly parent: Directory;
  /** The components after `path` that do not exist (empty when the whole path exists). */
  readonly missing: readonly string[];
}

/**
 * Resolves `path` (absolute) one component at a time under `policy`. Stops at the first missing
 * component, or at a non-directory (which must then be the last component).
 * Throws StoreError ("insecure", "permission", "io").
 */
export function walk(path: string, policy: WalkPolicy): WalkEnd {
  if (!path.startsWith("/")) {
    throw refuse(path, "it is not an absolute path", "use an absolute path");
  }
  let current = "/";
  let info = lstatOrNull("/")!;
  policy.directory("/", info);
  let parent: Directory = { path: "/", info };
  const queue = components(path);
  let links = 0;
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (name === "..") {
      // `current` is real and was checked on the way down, so its parent was too.
      if (current !== "/") {
        current = dirname(current);
        info = lstatOrNull(current)!;
        parent = { path: dirname(current), info: lstatOrNull(dirname(current))! };
      }
      continue;
    }
    const next = join(current, name);
    const nextInfo = lstatOrNull(next);
    if (nextInfo === null) return { path: current, info, parent, missing: [name, ...queue] };
    if (nextInfo.isSymlink) {
      policy.symlink(next, nextInfo, info);
      if (++links > MAX_LINKS) {
        throw refuse(next, "it leads through too many symbolic links", "fix the configured path");
      }
      let target: string;
      try {
        target = Deno.readLinkSync(next);
      } catch (error) {
        throw osError(error, "read the link", next);
      }
      if (target.startsWith("/")) {
        current = "/";
        info = lstatOrNull("/")!;
        parent = { path: "/", info };
      }
      queue.unshift(...components(target));
      continue;
    }
    parent = { path: current, info };
    if (!nextInfo.isDirectory) {
      if (queue.length === 0) return { path: next, info: nextInfo, parent, missing: [] };
      throw refuse(next, "it is not a directory", "fix the configured path");
    }
    if (queue.length === 0 && policy.final) policy.final(next, nextInfo);
    else policy.directory(next, nextInfo);
    current = next;
    info = nextInfo;
  }
  return { path: current, info, parent, missing: [] };
}

/** The policy for store paths: ancestor rule, links followed only when a trusted owner owns them.
 */
export function storePolicy(owners: Owners): WalkPolicy {
  return {
    directory: (path, info) => checkAncestor(path, info, owners),
    symlink(path, info) {
      if (isTrustedOwner(owners, info.uid)) return;
      throw insecure(
        "the symbolic link ",
        path,
        `it is owned by ${owners.accounts.describeUid(info.uid!)}; links are followed only ` +
          `when ${describeTrusted(owners)} owns them`,
        "replace it with the real path",
      );
    },
  };
}

/**
 * Store roots whose chain from `/` passed its checks lately, by configured path: a daemon thread
 * keeps one, so that its requests do not walk the same ancestors again and again. Within `ttlMs`
 * of a full walk, `storeDirectory` only `lstat`s the root itself and checks it under the store
 * rule, as every walk does; the ancestors are taken as checked. That holds against every user the
 * store does not trust: an ancestor that passed is owned by a trusted owner and writable by nobody
 * else (or sticky, or condor's setgid directory, whose group the store already lets write there),
 * so only they can change it or what its entries lead to. What a
 * trusted owner changes in an ancestor (a chmod that makes it unsafe) is seen by the next full
 * walk, at most `ttlMs` later. The root itself, every user directory and every file are still
 * checked by every request.
 */
export class CheckedRoots {
  readonly #entries = new Map<string, { readonly dir: Directory; readonly at: number }>();

  constructor(
    readonly ttlMs = 1000,
    readonly now: () => number = Date.now,
  ) {}

  /** The root that `key` led to within the last `ttlMs`, or undefined. */
  recent(key: string): Directory | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const age = this.now() - entry.at;
    if (age >= 0 && age < this.ttlMs) return entry.dir;
    this.#entries.delete(key);
    return undefined;
  }

  /** Records that `key` led to `dir` after a full walk, just now. */
  record(key: string, dir: Directory): void {
    // Few distinct roots exist (the store's configured paths); bound them all the same.
    if (this.#entries.size >= 64) this.#entries.clear();
    this.#entries.set(key, { dir, at: this.now() });
  }

  /** Forgets `key`, after its root failed a check. */
  forget(key: string): void {
    this.#entries.delete(key);
  }
}

/** Options of `storeDirectory` and `childDirectory`. */
export interface OpenDirectoryOptions {
  /** Create the directory when missing, with this owner and mode; null or absent: do not. */
  readonly create?: DirectorySpec | null;
  /**
   * Check the directory itself with the ancestor rule (a sticky /tmp-like directory passes), for
   * a directory the caller merely names, such as the one of `-f FILE`.
   */
  readonly loose?: boolean;
  /** Roots whose ancestors passed lately (a daemon thread's); absent, every call walks. */
  readonly checked?: CheckedRoots;
}

/** Creates `name` in the checked directory `parent` as `spec` says, then checks it. */
function makeDirectory(parent: Directory, name: string, spec: DirectorySpec, owners: Owners) {
  const path = join(parent.path, name);
  try {
    Deno.mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    // Another process may have created it meanwhile: then it is checked like any other.
    if (!(error instanceof Deno.errors.AlreadyExists)) throw osError(error, "create", path);
    return;
  }
  try {
    if (spec.uid !== undefined && spec.uid !== owners.self || spec.gid !== undefined) {
      Deno.chownSync(path, spec.uid ?? null, spec.gid ?? null);
    }
    Deno.chmodSync(path, spec.mode);
  } catch (error) {
    throw osError(error, "set the owner and mode of", path);
  }
}

/**
 * Checks a store directory (the configured path; its ancestors under the ancestor rule, itself
 * under the store rule), creating it when missing and `options.create` is given. Missing parents
 * are created 0700, owned by this process. Returns null when missing and not created.
 * Throws StoreError ("insecure", "permission", "io").
 */
export function storeDirectory(
  path: string,
  owners: Owners,
  options: OpenDirectoryOptions = {},
): Directory | null {
  const policy: WalkPolicy = {
    ...storePolicy(owners),
    final: (p, info) =>
      options.loose ? checkAncestor(p, info, owners) : checkStoreDirectory(p, info, owners),
  };
  const key = [
    options.loose ? "loose" : "store",
    owners.self,
    owners.condor?.uid,
    owners.condor?.gid,
    path,
  ].join("\0");
  const recent = options.checked?.recent(key);
  if (recent !== undefined) {
    // The same directory as at the last walk (not a link, not another one put in its place),
    // checked again under its own rule.
    const info = lstatOrNull(recent.path);
    if (
      info !== null && info.isDirectory && info.dev === recent.info.dev &&
      info.ino === recent.info.ino
    ) {
      try {
        policy.final!(recent.path, info);
      } catch (error) {
        options.checked!.forget(key);
        throw error;
      }
      return { path: recent.path, info };
    }
    options.checked!.forget(key);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const end = walk(path, policy);
    if (end.missing.length === 0) {
      if (!end.info.isDirectory) {
        throw refuse(end.path, "it is not a directory", "fix the configured path");
      }
      if (end.path === "/") policy.final!("/", end.info);
      const dir = { path: end.path, info: end.info };
      options.checked?.record(key, dir);
      return dir;
    }
    if (!options.create) return null;
    if (end.missing.includes("..")) {
      throw refuse(path, "it names a missing directory followed by ..", "fix the configured path");
    }
    let dir: Directory = { path: end.path, info: end.info };
    for (const [i, name] of end.missing.entries()) {
      const last = i === end.missing.length - 1;
      makeDirectory(dir, name, last ? options.create : { mode: 0o700 }, owners);
      const next = join(dir.path, name);
      const info = lstatOrNull(next);
      if (info === null || info.isSymlink) break; // changed under us: walk again
      if (last) checkStoreDirectory(next, info, owners);
      else checkAncestor(next, info, owners);
      dir = { path: next, info };
      if (last) return dir;
    }
  }
  throw refuse(path, "it keeps changing while it is being checked", "run the command again");
}

/**
 * Checks (or creates, as `options.create` says) the directory `name` inside the checked store
 * directory `parent`, under the store rule. A link there is followed only when a trusted owner
 * owns it. Returns null when missing and not created.
 */
export function childDirectory(
  parent: Directory,
  name: string,
  owners: Owners,
  options: OpenDirectoryOptions = {},
): Directory | null {
  const path = join(parent.path, name);
  let info = lstatOrNull(path);
  if (info === null) {
    if (!options.create) return null;
    const inheritSetgid = (parent.info.mode! & SETGID) !== 0;
    makeDirectory(parent, name, {
      ...options.create,
      mode: options.create.mode | (inheritSetgid ? SETGID : 0),
    }, owners);
    info = lstatOrNull(path);
    if (info === null) throw refuse(path, "it vanished while being created", "run again");
  }
  if (info.isSymlink) return storeDirectory(path, owners, options);
  checkStoreDirectory(path, info, owners);
  return { path, info };
}
