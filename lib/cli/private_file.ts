/**
 * A file of the caller's choosing written as a credential is (docs/storage.md "Writing"): through
 * the store's one write path, atomically and durably, mode 0600, replacing whatever regular file
 * was there unread; a link or anything but a regular file at the path is refused, and so is a
 * directory chain that fails the ancestor rule. For `-f FILE` (the pool password) and
 * `token create -o FILE`.
 */

import { findCondorIds } from "../accounts.ts";
import { quote, StoreError } from "../errors.ts";
import { storeDirectory } from "../fs/directories.ts";
import { basename, dirname, join } from "../fs/paths.ts";
import { writeCredential } from "../store/write.ts";
import type { Session } from "./session.ts";

/**
 * Writes `data` to `path` (relative to the current directory) as this process, mode 0600. Returns
 * the absolute path written. The caller zeroes `data`. Throws StoreError.
 */
export async function writePrivateFile(
  session: Session,
  path: string,
  data: Uint8Array,
): Promise<string> {
  const absolute = path.startsWith("/") ? path : join(session.io.cwd(), path);
  // No configuration: the condor account comes from the passwd file alone.
  const accounts = session.accounts;
  const owners = { self: session.uid, condor: findCondorIds(undefined, accounts), accounts };
  const name = basename(absolute);
  const dir = storeDirectory(dirname(absolute), owners, { loose: true });
  if (dir === null) {
    throw new StoreError("io", `the directory of ${quote(path)} does not exist`, {
      path,
      remedy: "create it first",
    });
  }
  await writeCredential({ owners, config: null }, {
    store: dir,
    lockKey: null,
    user: null,
    directory: () => dir,
    name,
    data,
    previous: "replace",
  });
  return join(dir.path, name);
}
