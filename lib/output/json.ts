/**
 * The `--json` result (README "--json"; schema in docs/result.schema.json, described in
 * the README): one object per run with a schema version, a status per kind of outcome, a stable
 * reason code, whether an add changed anything, the warnings, and `info` with fixed keys. Exit
 * codes stay upstream's. Pure functions.
 */

import type { StoreError, StoreErrorCode } from "../errors.ts";
import { ResultCode as Code } from "../messages.ts";
import type { Action, CredType } from "../request.ts";
import type { Ad, Outcome } from "../store/context.ts";
import { formatLocalTime, outcomeLine, reportError, resultCodeOf, type Subject } from "./text.ts";

/** The version of the JSON result's schema; raised on any incompatible change. */
export const JSON_SCHEMA_VERSION = 1;

/** Every status a result can have. */
export const JSON_STATUSES = [
  "stored",
  "pending",
  "deleted",
  "valid",
  "not-found",
  "mismatch",
  "expiring",
  "expiry-unknown",
  "denied",
  "insecure",
  "config",
  "usage",
  "invalid",
  "input",
  "locked",
  "io",
  "permission",
  "timeout",
  "unsupported",
  "unreachable",
  "not-secure",
  "listed",
  "healthy",
  "findings",
  "identified",
] as const;

/** The status of a result: what kind of outcome it is. */
export type JsonStatus = typeof JSON_STATUSES[number];

/** The status each StoreError code reports. */
export const ERROR_STATUS: Readonly<Record<StoreErrorCode, JsonStatus>> = {
  "not-found": "not-found",
  "mismatch": "mismatch",
  "expiring": "expiring",
  "expiry-unknown": "expiry-unknown",
  "not-allowed": "denied",
  "untrusted-host": "denied",
  "insecure": "insecure",
  "config": "config",
  "bad-args": "invalid",
  "json-parse": "invalid",
  "bad-password": "invalid",
  "too-large": "input",
  "empty": "input",
  "input": "input",
  "locked": "locked",
  "io": "io",
  "permission": "permission",
  "credmon-timeout": "timeout",
  "unsupported": "unsupported",
  "unreachable": "unreachable",
  "not-secure": "not-secure",
};

/** `info`: always these keys, null when they do not apply. */
export interface JsonInfo {
  /** Who asked, as `user@domain` (upstream's `fully_qualified_user`). */
  readonly caller: string | null;
  /** The result's timestamp (a file's modification time), local time and Unix seconds. */
  readonly stored: string | null;
  readonly stored_unix: number | null;
  /** The `exp` of a JWT access token, local time, Unix seconds, and seconds left (negative: past).
   */
  readonly expires: string | null;
  readonly expires_unix: number | null;
  readonly expires_in: number | null;
  /** The other attributes upstream's reply ad carries (file times, `CredTime`, ...). */
  readonly ad: Ad;
}

/** The JSON result of one run. */
export interface JsonResult {
  readonly schema: typeof JSON_SCHEMA_VERSION;
  readonly ok: boolean;
  readonly action: Action | "list" | "doctor" | "whoami" | null;
  readonly type: CredType | null;
  /** The account acted on, always `user@domain`; null when it was never resolved. */
  readonly user: string | null;
  readonly status: JsonStatus;
  /** A stable code: the error code for failures, the kind of success otherwise. */
  readonly reason: string;
  /** Upstream's numeric result code. */
  readonly code: number;
  /** The text a human would have read (result line, or the error). */
  readonly message: string;
  /** For adds: whether the stored bytes changed; null otherwise. */
  readonly changed: boolean | null;
  readonly warnings: readonly string[];
  readonly info: JsonInfo;
}

/** Renders a JsonResult as one line. */
export function formatJson(result: JsonResult): string {
  return `${JSON.stringify(result)}\n`;
}

/** `info` with every key null: for results that are about no one credential. */
export function emptyInfo(): JsonInfo {
  return {
    caller: null,
    stored: null,
    stored_unix: null,
    expires: null,
    expires_unix: null,
    expires_in: null,
    ad: {},
  };
}

/** The JSON form of an outcome. */
export function jsonOutcome(
  subject: Subject,
  user: string | null,
  outcome: Outcome,
  warnings: readonly string[],
  now: number = Math.floor(Date.now() / 1000),
): JsonResult {
  const { fully_qualified_user: caller, ...ad } = outcome.ad ?? {};
  const pending = outcome.status === "pending";
  const status: JsonStatus = pending
    ? "pending"
    : subject.action === "add"
    ? "stored"
    : subject.action === "delete"
    ? "deleted"
    : "valid";
  const reason = pending
    ? "awaiting-credmon"
    : subject.action === "add" && outcome.changed === false
    ? "unchanged"
    : status;
  return {
    schema: JSON_SCHEMA_VERSION,
    ok: true,
    action: subject.action,
    type: subject.type,
    user,
    status,
    reason,
    code: pending ? Code.SUCCESS_PENDING : Code.SUCCESS,
    message: outcomeLine(subject.action, outcome),
    changed: subject.action === "add" ? outcome.changed ?? true : null,
    warnings,
    info: {
      caller: typeof caller === "string" ? caller : null,
      stored: outcome.time === undefined ? null : formatLocalTime(outcome.time),
      stored_unix: outcome.time ?? null,
      expires: outcome.expires === undefined ? null : formatLocalTime(outcome.expires),
      expires_unix: outcome.expires ?? null,
      expires_in: outcome.expires === undefined ? null : outcome.expires - now,
      ad,
    },
  };
}

/** The JSON form of a failure. */
export function jsonError(
  subject: Subject,
  user: string | null,
  error: StoreError,
  warnings: readonly string[],
): JsonResult {
  const report = reportError(subject, error);
  const now = Math.floor(Date.now() / 1000);
  const expires = error.expires;
  return {
    schema: JSON_SCHEMA_VERSION,
    ok: false,
    action: subject.action,
    type: subject.type,
    user,
    status: ERROR_STATUS[error.code],
    reason: error.code,
    code: resultCodeOf(error),
    message: (report.stdout + report.stderr).trimEnd(),
    changed: subject.action === "add" ? false : null,
    warnings,
    // An access token that expires too soon (--min-ttl) says how long it has left.
    info: expires === undefined ? emptyInfo() : {
      ...emptyInfo(),
      expires: formatLocalTime(expires),
      expires_unix: expires,
      expires_in: expires - now,
    },
  };
}

/** The JSON form of a usage error (the parser's message, without the usage text). */
export function jsonUsage(
  message: string,
  action: Action | null,
  type: CredType | null,
): JsonResult {
  return {
    schema: JSON_SCHEMA_VERSION,
    ok: false,
    action,
    type,
    user: null,
    status: "usage",
    reason: "usage",
    code: Code.FAILURE_BAD_ARGS,
    message: message.trim() || "an action is required",
    changed: null,
    warnings: [],
    info: emptyInfo(),
  };
}
