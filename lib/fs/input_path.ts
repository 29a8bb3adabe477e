/**
 * Opening `-i FILE` (docs/storage.md "Inputs from paths"): the kernel's
 * `protected_symlinks`, `protected_fifos` and `protected_regular` rules, applied whatever the
 * sysctls say, so a file planted in /tmp by another user cannot feed root another file's content
 * or hang it on a FIFO. `/dev/stdin`, `/dev/fd/N` and `/proc/self/fd/N` (what `<(command)`
 * expands to) are the caller's own descriptors and always work.
 *
 * Permissions: --allow-read on the path.
 */

import { printable, StoreError } from "../errors.ts";
import { UPSTREAM } from "../messages.ts";
import { walk, type WalkPolicy } from "./directories.ts";
import { join } from "./paths.ts";

const STICKY = 0o1000;

/** Where `-i PATH` reads from: standard input, or a file to open. */
export type InputPath = { readonly kind: "stdin" } | {
  readonly kind: "path";
  readonly path: string;
};

const STDIN_PATHS = new Set(["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]);
const OWN_DESCRIPTOR = /^\/(?:dev|proc\/self)\/fd\/\d+$/;

/** Classifies `-i PATH`: the names of file descriptor 0 mean standard input. */
export function classifyInput(path: string): InputPath {
  return STDIN_PATHS.has(path) ? { kind: "stdin" } : { kind: "path", path };
}

function failure(path: string, why: string): StoreError {
  return new StoreError("input", `${UPSTREAM.readCredentialFailed(printable(path))}\n    ${why}`);
}

function isStickyShared(info: Deno.FileInfo): boolean {
  return (info.mode! & STICKY) !== 0 && (info.mode! & 0o002) !== 0;
}

/** The walk policy of input paths for a caller with effective uid `euid`. */
function inputPolicy(original: string, euid: number): WalkPolicy {
  return {
    directory(path, info) {
      if ((info.mode! & 0o002) !== 0 && (info.mode! & STICKY) === 0) {
        throw failure(
          original,
          `the directory ${printable(path)} is writable by everyone without the sticky bit, so ` +
            "anyone could swap the file; move the credential to a private directory",
        );
      }
    },
    symlink(path, info, parent) {
      // protected_symlinks: in a sticky world-writable directory, follow only links owned by
      // the follower or by the directory's owner.
      if (isStickyShared(parent) && info.uid !== euid && info.uid !== parent.uid) {
        throw failure(
          original,
          `the symbolic link ${printable(path)} in a shared sticky directory belongs to uid ` +
            `${info.uid}, neither you nor the directory's owner; it is not followed`,
        );
      }
    },
  };
}

/**
 * Opens the file `-i PATH` names for reading, after checking the path as the kernel's protected_*
 * rules would for a caller with effective uid `euid`. Throws StoreError("input") with upstream's
 * "Could not read credential from PATH" line and the reason.
 */
export function openInputFile(path: string, euid: number, cwd: string): Deno.FsFile {
  if (OWN_DESCRIPTOR.test(path)) return open(path, path);
  const absolute = path.startsWith("/") ? path : join(cwd, path);
  let end;
  try {
    end = walk(absolute, inputPolicy(path, euid));
  } catch (error) {
    if (error instanceof StoreError && error.code === "input") throw error;
    throw failure(path, error instanceof Error ? error.message : String(error));
  }
  if (end.missing.length > 0) throw failure(path, "No such file or directory");
  const info = end.info;
  if (info.isDirectory) throw failure(path, "it is a directory");
  const parent = end.parent.info;
  // protected_fifos and protected_regular: in a sticky world-writable directory, use only what
  // the caller or the directory's owner owns.
  if (isStickyShared(parent) && info.uid !== euid && info.uid !== parent.uid) {
    throw failure(
      path,
      `it is in a shared sticky directory and belongs to uid ${info.uid}, neither you nor the ` +
        "directory's owner; copy it to a private directory first",
    );
  }
  if (info.isFifo && info.uid !== euid && info.uid !== 0) {
    throw failure(path, `it is a FIFO that belongs to uid ${info.uid}, not to you`);
  }
  const file = open(end.path, path);
  if (info.isFile) {
    const opened = file.statSync();
    if (opened.dev !== info.dev || opened.ino !== info.ino) {
      file.close();
      throw failure(path, "it was replaced while being opened");
    }
  }
  return file;
}

function open(real: string, shown: string): Deno.FsFile {
  try {
    return Deno.openSync(real, { read: true });
  } catch (error) {
    throw failure(shown, error instanceof Error ? error.message.replace(/: \w+ '.*'$/, "") : "");
  }
}
