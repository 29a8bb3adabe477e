/**
 * Output formatting (ref §2.3, §2.7, §0.3 and SPEC §7 `--json`): the one place that maps
 * outcomes and StoreErrors to stdout, stderr and the exit status. Pure functions.
 */

import type { Action, CredType } from "./cli/grammar.ts";
import type { StoreError } from "./errors.ts";
import { RESULT_LINES, RESULT_MESSAGES, type ResultCode, ResultCode as Code } from "./messages.ts";
import type { Ad, Outcome } from "./store/context.ts";

/** What to print and how to exit. */
export interface Report {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** What the report is about. */
export interface Subject {
  readonly action: Action;
  readonly type: CredType;
  /** The account as shown in the header (may be `<current> (name)`). */
  readonly account: string;
  /** A pool-password operation (changes upstream's failure hint). */
  readonly pool: boolean;
}

/** The `Account:`/`CredType:` header (ref §2.3). */
export function formatHeader(account: string, type: CredType): string {
  return `Account: ${account}\nCredType: ${type}\n\n`;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Formats Unix seconds as local time `YYYY-MM-DD HH:MM:SS` (ref §2.7). */
export function formatLocalTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function classAdValue(value: string | number): string {
  if (typeof value === "number") return String(value);
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Prints an ad in old ClassAd form, attributes sorted by byte order (ref §2.7). */
export function formatAd(ad: Ad): string {
  return Object.keys(ad)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${k} = ${classAdValue(ad[k])}\n`)
    .join("");
}

/** The result line of a success or pending outcome (ref §2.7). */
export function outcomeLine(action: Action, outcome: Outcome): string {
  const time = outcome.time === undefined ? undefined : formatLocalTime(outcome.time);
  const pending = outcome.status === "pending";
  if (action === "query") {
    if (pending) return time ? RESULT_LINES.queryPendingAt(time) : RESULT_LINES.queryPending;
    return time ? RESULT_LINES.queryValidAt(time) : RESULT_LINES.queryValid;
  }
  if (pending) return RESULT_LINES.succeededPending;
  return action === "add" && time ? RESULT_LINES.storedAt(time) : RESULT_LINES.succeeded;
}

/** The report for a successful (or pending) outcome: exit 0. */
export function reportOutcome(subject: Subject, outcome: Outcome): Report {
  let stdout = `${outcomeLine(subject.action, outcome)}\n`;
  if (outcome.ad && Object.keys(outcome.ad).length > 0) {
    stdout += `\nCredential info:\n${formatAd(outcome.ad)}\n`;
  }
  return { stdout, stderr: "", exitCode: 0 };
}

/** The upstream result code a StoreError stands for (ref §0.2). */
export function resultCodeOf(error: StoreError): ResultCode {
  switch (error.code) {
    case "not-found":
      return Code.FAILURE_NOT_FOUND;
    case "mismatch":
      return Code.FAILURE_CRED_MISMATCH;
    case "json-parse":
      return Code.FAILURE_JSON_PARSE;
    case "untrusted-host":
      return Code.FAILURE_UNTRUSTED_HOST;
    case "bad-password":
      return Code.FAILURE_BAD_PASSWORD;
    case "bad-args":
      return Code.FAILURE_BAD_ARGS;
    case "config":
      return Code.FAILURE_CONFIG_ERROR;
    case "not-allowed":
      return Code.FAILURE_NOT_ALLOWED;
    case "credmon-timeout":
      return Code.FAILURE_CREDMON_TIMEOUT;
    default:
      return Code.FAILURE;
  }
}

function detail(error: StoreError): string {
  return error.message ? `    ${error.message}\n` : "";
}

/** The report for a failure: upstream's line for upstream codes, else our message; exit 1 or 2. */
export function reportError(subject: Subject, error: StoreError): Report {
  const query = subject.action === "query";
  const code = resultCodeOf(error);
  switch (error.code) {
    case "not-found":
      return {
        stdout: `${query ? RESULT_LINES.queryNotFound : RESULT_LINES.userNotFound}\n`,
        stderr: "",
        exitCode: 1,
      };
    case "bad-password":
      return {
        stdout: `${query ? RESULT_LINES.queryBadPassword : RESULT_LINES.badPassword}\n`,
        stderr: detail(error),
        exitCode: 1,
      };
    case "mismatch":
    case "json-parse":
    case "untrusted-host":
    case "bad-args":
    case "config":
    case "not-allowed":
    case "credmon-timeout":
      return {
        stdout: "",
        stderr: `${RESULT_MESSAGES[code]}\n${detail(error)}`,
        exitCode: code === Code.FAILURE_CRED_MISMATCH ? 2 : 1,
      };
    default:
      return { stdout: "", stderr: `${error.message}\n`, exitCode: 1 };
  }
}

/** The stable JSON object of `--json` (SPEC §7). */
export interface JsonResult {
  readonly ok: boolean;
  readonly action: Action | null;
  readonly type: CredType | null;
  readonly user: string | null;
  readonly status: "success" | "pending" | "not-found" | "mismatch" | "error" | "usage";
  readonly code: number;
  readonly message: string;
  readonly info: Ad;
}

/** Renders a JsonResult as one line. */
export function formatJson(result: JsonResult): string {
  return `${JSON.stringify(result)}\n`;
}

/** The JSON form of an outcome. */
export function jsonOutcome(subject: Subject, user: string, outcome: Outcome): JsonResult {
  const info: Ad = { ...outcome.ad };
  if (outcome.time !== undefined) info.stored = formatLocalTime(outcome.time);
  if (outcome.time !== undefined) info.stored_unix = outcome.time;
  return {
    ok: true,
    action: subject.action,
    type: subject.type,
    user,
    status: outcome.status,
    code: outcome.status === "pending" ? Code.SUCCESS_PENDING : Code.SUCCESS,
    message: outcomeLine(subject.action, outcome),
    info,
  };
}

/** The JSON form of a failure; the report gives the exit code and human text. */
export function jsonError(subject: Subject, user: string | null, error: StoreError): JsonResult {
  const report = reportError(subject, error);
  const status = error.code === "not-found"
    ? "not-found"
    : error.code === "mismatch"
    ? "mismatch"
    : "error";
  return {
    ok: false,
    action: subject.action,
    type: subject.type,
    user,
    status,
    code: resultCodeOf(error),
    message: (report.stdout + report.stderr).trimEnd(),
    info: {},
  };
}
