/**
 * Name rules (docs/storage.md "Names", deviation 11; docs/storage.md): user, service and handle
 * names match `[A-Za-z0-9+=_.-]+` and do not begin with `.`; a user name does not collide with the
 * store's own files; and no file an operation creates from a name may exceed 255 bytes. Pure.
 */

import { quote, StoreError } from "../errors.ts";
import { TEMP_NAME_EXTRA } from "../fs/files.ts";
import { LOCK_NAME_EXTRA } from "../fs/lock.ts";
import { NAME_MAX, nameBytes } from "../fs/paths.ts";

/** True for a character of `[A-Za-z0-9+=_-]`, and `.` too when `dot`. */
function isNameChar(c: number, dot: boolean): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2b || c === 0x3d || c === 0x5f || c === 0x2d || (dot && c === 0x2e);
}

/** Names the store's own files use at a store root (credmons, the web flow). */
const RESERVED_USERS = new Set([
  "pid",
  "CREDMON_COMPLETE",
  "wsgi_session_key",
  "README.credentials",
]);
const RESERVED_SUFFIXES = [".mark", ".cred", ".cc"];

/** The kinds of checked name. */
export type NameKind = "user" | "service" | "handle" | "domain";

/**
 * True when `value` has the allowed characters and does not begin with `.` (so not `.`/`..`):
 * `^[A-Za-z0-9+=_-][A-Za-z0-9+=_.-]*$`, tested with a loop (a regular expression is compiled on
 * first use, and every command checks its names).
 */
export function isValidName(value: string): boolean {
  if (value === "" || !isNameChar(value.charCodeAt(0), false)) return false;
  for (let i = 1; i < value.length; i++) if (!isNameChar(value.charCodeAt(i), true)) return false;
  return true;
}

function refuse(kind: NameKind, value: string, why: string): StoreError {
  return new StoreError("bad-args", `the ${kind} name ${quote(value)} ${why}`);
}

/**
 * Returns `value` if it is a valid name of the given kind, else throws StoreError("bad-args")
 * saying what is allowed.
 */
export function checkName(kind: NameKind, value: string): string {
  if (value === "") throw refuse(kind, value, "is empty");
  if (value.startsWith(".")) {
    throw refuse(kind, value, "begins with a dot, which is reserved for the store's own files");
  }
  if (!isValidName(value)) {
    throw refuse(kind, value, "contains characters other than letters, digits and + = _ . -");
  }
  if (kind === "user") {
    if (RESERVED_USERS.has(value) || RESERVED_SUFFIXES.some((s) => value.endsWith(s))) {
      throw refuse(kind, value, "collides with a file the credential store itself uses");
    }
  }
  return value;
}

/**
 * Refuses a name from which an operation would create a file name over 255 bytes: `name` plus
 * `extra` bytes of suffix, and its temporary and lock names.
 */
export function checkNameLength(kind: NameKind, value: string, extra: number): void {
  const longest = nameBytes(value) + extra + Math.max(TEMP_NAME_EXTRA, LOCK_NAME_EXTRA);
  if (longest > NAME_MAX) {
    const most = NAME_MAX - extra - Math.max(TEMP_NAME_EXTRA, LOCK_NAME_EXTRA);
    throw refuse(
      kind,
      value.length > 40 ? `${value.slice(0, 40)}…` : value,
      `is ${nameBytes(value)} bytes long; at most ${most} bytes fit in the file names this ` +
        "operation creates",
    );
  }
}

/** The OAuth file stem: `<service>` or `<service>_<handle>` (handle ignored without a service). */
export function oauthName(service: string, handle: string | null): string {
  return handle ? `${service}_${handle}` : service;
}
