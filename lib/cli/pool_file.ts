/**
 * `-f FILE` (docs/upstream.md "The -f branch", deviation 13): write a pool-password file at a
 * path of the caller's choosing, in the pool file's format, durably and atomically with mode
 * 0600. No header, no configuration, nothing on stdout on success. Whatever was at FILE (a 0644
 * file, say) is replaced, never read; a link at FILE is refused.
 */

import { AccountDb, findCondorIds } from "../accounts.ts";
import { scramblePoolPassword } from "../crypto/scramble.ts";
import { quote, StoreError } from "../errors.ts";
import { storeDirectory } from "../fs/directories.ts";
import { replaceFile } from "../fs/files.ts";
import type { Owners } from "../fs/owners.ts";
import { basename, dirname, join } from "../fs/paths.ts";
import { poolBytes } from "../store/password.ts";

/**
 * Writes `password` scrambled to `path` (relative to `cwd`), as this process (uid `euid`).
 * The directory and its ancestors must pass the ancestor rule of the store's directory checks.
 * Zeroes `password`. Throws StoreError.
 */
export function writePoolPasswordFile(
  path: string,
  password: Uint8Array,
  options: { readonly euid: number; readonly cwd: string },
): void {
  const absolute = path.startsWith("/") ? path : join(options.cwd, path);
  const accounts = new AccountDb();
  const owners: Owners = {
    self: options.euid,
    condor: findCondorIds(undefined, accounts),
    accounts,
  };
  const name = basename(absolute);
  const dir = storeDirectory(dirname(absolute), owners, { loose: true });
  if (dir === null) {
    throw new StoreError("io", `the directory of ${quote(path)} does not exist`, {
      path,
      remedy: "create it first",
    });
  }
  const target = join(dir.path, name);
  let info: Deno.FileInfo | null = null;
  try {
    info = Deno.lstatSync(target);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (info !== null && !info.isFile) {
    throw new StoreError(
      "insecure",
      `refusing to use ${quote(target)}: it is ${
        info.isSymlink ? "a symbolic link" : "not a regular file"
      }`,
      { path: target, remedy: "remove it, then run the command again" },
    );
  }
  const scrambled = scramblePoolPassword(poolBytes(password));
  password.fill(0);
  try {
    replaceFile(dir, name, scrambled);
  } finally {
    scrambled.fill(0);
  }
}
