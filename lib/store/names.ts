/**
 * Name rules (SPEC §5 "Names", deviation 11): user, service and handle names match
 * `[A-Za-z0-9+=_.-]+`, are not `.` or `..`, and are at most 255 bytes. Pure functions.
 */

import { quote, StoreError } from "../errors.ts";

const NAME = /^[A-Za-z0-9+=_.-]+$/;
const MAX_NAME_BYTES = 255;

/** The user name HTCondor reserves for the pool password. */
export const POOL_USER = "condor_pool";

/** True when `value` is an acceptable user, service or handle name. */
export function isValidName(value: string): boolean {
  return NAME.test(value) && value !== "." && value !== ".." && value.length <= MAX_NAME_BYTES;
}

/**
 * Returns `value` if it is a valid name of the given kind, else throws StoreError("bad-args")
 * whose message says what is allowed.
 */
export function checkName(kind: "user" | "service" | "handle" | "domain", value: string): string {
  if (isValidName(value)) return value;
  const why = value.length > MAX_NAME_BYTES
    ? `is longer than ${MAX_NAME_BYTES} bytes`
    : value === "." || value === ".."
    ? "is not allowed"
    : "contains characters other than letters, digits and + = _ . -";
  throw new StoreError("bad-args", `the ${kind} name ${quote(value)} ${why}`);
}

/** Splits `user@domain` at its last `@` (ref §3.3 step 5); no `@` gives an empty domain. */
export function splitAccount(account: string): { user: string; domain: string } {
  const at = account.lastIndexOf("@");
  if (at < 0) return { user: account, domain: "" };
  return { user: account.slice(0, at), domain: account.slice(at + 1) };
}

/** The OAuth file stem: `<service>` or `<service>_<handle>` (ref §5.4). */
export function oauthName(service: string, handle: string | null): string {
  return handle ? `${service}_${handle}` : service;
}
