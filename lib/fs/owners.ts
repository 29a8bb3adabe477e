/**
 * Who may own the store's files and directories (docs/storage.md "Trusted owners"):
 * root, the condor account, and this process's own user (which, for a non-root user, is the
 * owner of a personal spool). Decided from the process identity, never from a request: a daemon
 * running as root trusts root and condor, whoever its callers are.
 */

import type { AccountDb, CondorIds } from "../accounts.ts";

/** The trusted owners of one request's file operations. */
export interface Owners {
  /** The effective uid of this process: the owner of everything it creates. */
  readonly self: number;
  /** The condor account, or null when the node has none. */
  readonly condor: CondorIds | null;
  /** For naming uids in messages. */
  readonly accounts: AccountDb;
}

/** True when `uid` may own a store file or directory. */
export function isTrustedOwner(owners: Owners, uid: number | null): boolean {
  return uid === 0 || uid === owners.self || (owners.condor !== null && uid === owners.condor.uid);
}

/** The trusted owners in words, e.g. `root, condor (uid 990) or alice (uid 1000)`. */
export function describeTrusted(owners: Owners): string {
  const names = ["root"];
  if (owners.condor !== null) names.push(owners.accounts.describeUid(owners.condor.uid));
  if (owners.self !== 0 && owners.self !== owners.condor?.uid) {
    names.push(owners.accounts.describeUid(owners.self));
  }
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

/** True when `info` is condor's shared setgid directory (root:condor 2770 and the like). */
export function isCondorGroupDirectory(owners: Owners, info: Deno.FileInfo): boolean {
  return owners.condor !== null && info.gid === owners.condor.gid &&
    (info.mode! & 0o2000) !== 0 && (info.mode! & 0o002) === 0;
}
