/**
 * Directory checks (SPEC §5 "Directories"): every directory of the store must be owned by root or
 * a trusted owner and must not be writable by group or others; every ancestor up to `/` must be
 * owned by a trusted user and be writable by others only when sticky (like /tmp). Missing store
 * directories are created with their final mode 0700.
 *
 * Permissions: --allow-read on the chain, --allow-write where directories are created.
 */

import { quote, StoreError } from "../errors.ts";
import { dirname, join, lstatOrNull, octal, osError, type Trust } from "./secure_file.ts";

const IS_WINDOWS = Deno.build.os === "windows";
const STICKY = 0o1000;
const SETGID = 0o2000;

/** Options of `secureDirectory`. */
export interface DirectoryOptions {
  /** Create the directory (and missing parents) with mode 0700 when it is missing. */
  readonly create: boolean;
  /**
   * Allow the HTCondor-documented shared OAuth directory: owned by root, group-writable with
   * the setgid bit (e.g. `root:condor` 2770), never writable by others.
   */
  readonly sharedGroup?: boolean;
  /**
   * The parent is the shared OAuth directory: allow it to be group-writable as `sharedGroup`
   * describes, although it is checked as an ancestor.
   */
  readonly sharedParent?: boolean;
  /**
   * Check the directory itself with the loose ancestor rule (sticky world-writable allowed), for
   * a directory the user merely names, such as the one of `-f FILE`.
   */
  readonly loose?: boolean;
}

function refuse(path: string, why: string, fix: string): StoreError {
  return new StoreError(
    "insecure",
    `ERROR: refusing to use the directory ${quote(path)}: ${why}; ${fix}`,
  );
}

function checkOwner(path: string, info: Deno.FileInfo, trust: Trust): void {
  if (!trust.dirOwners.includes(info.uid!)) {
    throw refuse(
      path,
      `it is owned by uid ${info.uid}, which is neither root nor uid ${trust.fileOwner}`,
      `run "chown ${trust.fileOwner} ${path}" as root if that is correct`,
    );
  }
}

/** HTCondor's shared OAuth directory: root-owned, setgid, group-writable, not other-writable. */
function isSharedGroupDirectory(info: Deno.FileInfo): boolean {
  const mode = info.mode!;
  return info.uid === 0 && (mode & SETGID) !== 0 && (mode & 0o002) === 0;
}

/** The loose rule for ancestors: trusted owner; group/other-writable only if sticky. */
function checkAncestor(path: string, info: Deno.FileInfo, trust: Trust, shared = false): void {
  if (!info.isDirectory) throw refuse(path, "it is not a directory", "fix the configured path");
  checkOwner(path, info, trust);
  const mode = info.mode!;
  if ((mode & 0o022) !== 0 && (mode & STICKY) === 0 && !(shared && isSharedGroupDirectory(info))) {
    throw refuse(
      path,
      `its mode ${octal(mode)} lets group or others replace what it contains`,
      `run "chmod go-w ${path}"`,
    );
  }
}

/** The strict rule for the store's own directories. */
function checkStoreDirectory(
  path: string,
  info: Deno.FileInfo,
  trust: Trust,
  options: DirectoryOptions,
): void {
  if (info.isSymlink) throw refuse(path, "it is a symbolic link", "use the real path instead");
  if (options.loose) return checkAncestor(path, info, trust);
  if (!info.isDirectory) throw refuse(path, "it is not a directory", "fix the configured path");
  checkOwner(path, info, trust);
  const mode = info.mode!;
  const shared = options.sharedGroup === true && isSharedGroupDirectory(info);
  if ((mode & 0o022) !== 0 && !shared) {
    throw refuse(
      path,
      `its mode ${octal(mode)} makes it writable by group or others`,
      `run "chmod 700 ${path}"`,
    );
  }
}

function components(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const out = ["/"];
  let current = "";
  for (const part of parts) {
    current = `${current}/${part}`;
    out.push(current);
  }
  return out;
}

/** Ancestors that passed the loose check in this process, with whether each is a symlink. */
const ancestorsChecked = new Map<string, boolean>();

/**
 * Checks each ancestor with the loose rule, each path at most once per process. Returns true
 * when one of them is a symlink, so the caller must also check the chain of the real location.
 */
function checkChain(paths: string[], trust: Trust, shared?: string): boolean {
  let sawSymlink = false;
  for (const p of paths) {
    const key = p === shared ? `${p}\0shared` : p;
    let isSymlink = ancestorsChecked.get(key);
    if (isSymlink === undefined) {
      let info: Deno.FileInfo;
      let shown = p;
      try {
        info = Deno.lstatSync(p);
        isSymlink = info.isSymlink;
        if (isSymlink) {
          // A symlinked ancestor (say /var/run -> /run) is judged, and named, by its target.
          info = Deno.statSync(p);
          shown = Deno.realPathSync(p);
        }
      } catch (error) {
        throw osError(error, "inspect", p);
      }
      checkAncestor(shown, info, trust, p === shared);
      ancestorsChecked.set(key, isSymlink);
    }
    sawSymlink ||= isSymlink;
  }
  return sawSymlink;
}

function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  return join(Deno.cwd(), path);
}

/** Memo of directories already checked in this process, so no path is checked twice. */
const checked = new Map<string, boolean>();

/**
 * Checks a store directory and its ancestors, creating it (mode 0700) when asked. Returns true
 * when the directory exists afterwards, false when it is missing and `create` is false.
 * Throws StoreError("insecure") naming the offending directory, or ("permission"/"io").
 */
export function secureDirectory(
  path: string,
  trust: Trust,
  options: DirectoryOptions,
): boolean {
  if (IS_WINDOWS) return windowsDirectory(path, options);
  const abs = absolute(path).replace(/\/+$/, "") || "/";
  const key = JSON.stringify([abs, options]);
  const memo = checked.get(key);
  if (memo !== undefined) return memo;

  const chain = components(abs);
  // Find the deepest existing component.
  let existing = chain.length - 1;
  let info: Deno.FileInfo | null = null;
  for (; existing >= 0; existing--) {
    info = lstatOrNull(chain[existing]);
    if (info !== null) break;
  }
  const ancestors = chain.slice(0, existing === chain.length - 1 ? existing : existing + 1);
  const sharedParent = options.sharedParent ? chain.at(-2) : undefined;
  if (checkChain(ancestors, trust, sharedParent)) {
    // A symlink among the ancestors: the chain of its real location must be safe too.
    const deepest = chain[Math.max(existing, 0)];
    const real = realPathOf(deepest);
    if (real !== deepest) checkChain(components(real).slice(0, -1), trust);
  }

  if (existing === chain.length - 1) {
    checkStoreDirectory(abs, info!, trust, options);
    checked.set(key, true);
    return true;
  }
  if (!options.create) {
    checked.set(key, false);
    return false;
  }
  for (const p of chain.slice(existing + 1)) {
    try {
      Deno.mkdirSync(p, { mode: 0o700 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw osError(error, "create", p);
    }
    // Whoever created it, it must now pass the strict check.
    const created = lstatOrNull(p);
    if (created === null) throw refuse(p, "it vanished while being created", "run again");
    checkStoreDirectory(p, created, trust, p === abs ? options : { create: true });
  }
  checked.set(key, true);
  return true;
}

function realPathOf(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch (error) {
    throw osError(error, "resolve", path);
  }
}

function windowsDirectory(path: string, options: DirectoryOptions): boolean {
  const info = lstatOrNull(path);
  if (info !== null) {
    if (!info.isDirectory) throw refuse(path, "it is not a directory", "fix the configured path");
    return true;
  }
  if (!options.create) return false;
  try {
    Deno.mkdirSync(path, { recursive: true });
  } catch (error) {
    throw osError(error, "create", path);
  }
  return true;
}

/** Checks the parent directory of `file` with the loose rule (for `-f FILE`). */
export function secureParent(file: string, trust: Trust): void {
  if (!secureDirectory(dirname(absolute(file)), trust, { create: false, loose: true })) {
    throw new StoreError(
      "io",
      `ERROR: the directory of ${quote(file)} does not exist; create it first`,
    );
  }
}
