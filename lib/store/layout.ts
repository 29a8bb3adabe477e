/**
 * The store's directories and how missing ones are created (docs/storage.md table,
 * docs/storage.md): as root with a condor account, the OAuth directory root:condor 2770 and each
 * user's OAuth directory condor 0700 (so the credd and the OAuth web flow, which run as condor, can
 * write into them); the Kerberos directory 0755; everything else, and everything a non-root user
 * creates in a personal spool, 0700 owned by the caller.
 */

import {
  childDirectory,
  type Directory,
  type DirectorySpec,
  storeDirectory,
} from "../fs/directories.ts";
import { dirname } from "../fs/paths.ts";
import { configuredPath, type StoreContext, type StorePath } from "./context.ts";

/** True when this process lays the store out as HTCondor's packages do (root, not a personal
 * spool). */
function systemLayout(ctx: StoreContext): boolean {
  return ctx.owners.self === 0 && ctx.config.personalSpool === null;
}

const PRIVATE: DirectorySpec = { mode: 0o700 };

/** The creation spec of a store root. */
function rootSpec(ctx: StoreContext, which: StorePath): DirectorySpec {
  if (!systemLayout(ctx)) return PRIVATE;
  const condor = ctx.owners.condor;
  if (which === "oauth") {
    return condor === null ? PRIVATE : { uid: 0, gid: condor.gid, mode: 0o2770 };
  }
  if (which === "krb") return { mode: 0o755 };
  return PRIVATE;
}

/**
 * Checks (and with `create`, makes) the directory of one part of the store: the OAuth or
 * Kerberos directory, the sealed-password directory, or the pool file's directory. The personal
 * spool root is checked (and created 0700) first. Returns null when missing and not created.
 */
export function storeRoot(ctx: StoreContext, which: StorePath, create: boolean): Directory | null {
  const configured = configuredPath(ctx, which);
  const path = which === "pool" ? dirname(configured) : configured;
  const spool = ctx.config.personalSpool;
  if (spool !== null && path.startsWith(`${spool}/`)) {
    if (storeDirectory(spool, ctx.owners, { create: create ? PRIVATE : null }) === null) {
      return null;
    }
  }
  return storeDirectory(path, ctx.owners, {
    create: create ? rootSpec(ctx, which) : null,
    checked: ctx.roots,
  });
}

/**
 * Checks (and with `create`, makes) a user's OAuth directory `<oauth>/<user>`: created owned by
 * condor (0700, the setgid group inherited) on a packaged node, else 0700 by this process.
 */
export function oauthUserDirectory(
  ctx: StoreContext,
  store: Directory,
  user: string,
  create: boolean,
): Directory | null {
  const condor = ctx.owners.condor;
  const spec: DirectorySpec = systemLayout(ctx) && condor !== null
    ? { uid: condor.uid, mode: 0o700 }
    : PRIVATE;
  return childDirectory(store, user, ctx.owners, { create: create ? spec : null });
}
