/**
 * Text output (docs/upstream.md "Output", deviations 16–18): the header, the result lines,
 * the `Credential info:` block, and the one place that maps StoreErrors to stdout, stderr and
 * the exit status, adding `ERROR: `, local remedies and escaping. Pure functions.
 */

import { printable, type StoreError } from "../errors.ts";
import { RESULT_LINES, RESULT_MESSAGES, type ResultCode, ResultCode as Code } from "../messages.ts";
import type { Action, CredType } from "../request.ts";
import type { Ad, Outcome } from "../store/context.ts";

/** What to print and how to exit. */
export interface Report {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** What a report is about. */
export interface Subject {
  readonly action: Action;
  readonly type: CredType;
  /** The account as shown in the header (may be `<current> (name)`). */
  readonly account: string;
  /** A pool-password operation. */
  readonly pool: boolean;
}

/** The `Account:`/`CredType:` header, the account's control characters escaped. */
export function formatHeader(account: string, type: CredType): string {
  return `Account: ${printable(account)}\nCredType: ${type}\n\n`;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Formats Unix seconds as local time `YYYY-MM-DD HH:MM:SS`. */
export function formatLocalTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  if (Number.isNaN(d.getTime())) return String(unixSeconds);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function classAdValue(value: string | number): string {
  if (typeof value === "number") return String(value);
  const escaped = value.includes("\\") || value.includes('"')
    ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')
    : value;
  return `"${printable(escaped)}"`;
}

/** Prints an ad in old ClassAd form, attributes sorted by byte order. */
export function formatAd(ad: Ad): string {
  return Object.keys(ad)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${printable(k)} = ${classAdValue(ad[k])}\n`)
    .join("");
}

/** The result line of a success or pending outcome. */
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

/** The ad shown as `Credential info:`, with the access token's expiry (deviation 18). */
export function infoAd(outcome: Outcome): Ad {
  const ad: Ad = { ...outcome.ad };
  if (outcome.expires !== undefined) ad.TokenExpires = outcome.expires;
  return ad;
}

/**
 * The report for a successful (or pending) outcome: exit 0. With `minTtl` (the query's
 * `--min-ttl`, met), a line after the result says how long the access token has left.
 */
export function reportOutcome(
  subject: Subject,
  outcome: Outcome,
  options: { readonly minTtl?: number | null; readonly now?: number } = {},
): Report {
  let stdout = `${outcomeLine(subject.action, outcome)}\n`;
  if (subject.action === "add" && outcome.changed === false) {
    stdout += `${RESULT_LINES.unchanged}\n`;
  }
  if (options.minTtl != null && outcome.expires !== undefined) {
    const now = options.now ?? Math.floor(Date.now() / 1000);
    stdout += `${
      RESULT_LINES.lifetime(formatLocalTime(outcome.expires), outcome.expires - now, options.minTtl)
    }\n`;
  }
  const ad = infoAd(outcome);
  if (Object.keys(ad).length > 0) stdout += `\nCredential info:\n${formatAd(ad)}\n`;
  return { stdout, stderr: "", exitCode: 0 };
}

/** The upstream result code a StoreError stands for. */
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
    case "not-secure":
      return Code.FAILURE_NOT_SECURE;
    default:
      return Code.FAILURE;
  }
}

/** Where an error is shown: on this machine (with local remedies) or sent to a remote caller. */
export type Audience = "local" | "remote";

/** An error's message as this product words it: the sentence, then the local remedy. */
export function errorText(error: StoreError, audience: Audience = "local"): string {
  const remedy = audience === "local" && error.remedy ? `; ${error.remedy}` : "";
  return printable(`${error.message}${remedy}`);
}

function detail(error: StoreError, audience: Audience): string {
  return error.message ? `    ${errorText(error, audience)}\n` : "";
}

/** The report for a failure: upstream's line for upstream codes, else our message; exit 1 or 2. */
export function reportError(
  subject: Subject,
  error: StoreError,
  audience: Audience = "local",
): Report {
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
        stderr: detail(error, audience),
        exitCode: 1,
      };
    case "mismatch":
    case "json-parse":
    case "untrusted-host":
    case "bad-args":
    case "config":
    case "not-allowed":
    case "credmon-timeout":
    case "not-secure":
      return {
        stdout: "",
        stderr: `${RESULT_MESSAGES[code]}\n${detail(error, audience)}`,
        exitCode: code === Code.FAILURE_CRED_MISMATCH ? 2 : 1,
      };
    case "input":
    case "empty":
    case "too-large":
      // Complete lines from lib/messages.ts (upstream's, or ours with their ERROR: prefix),
      // whose user-supplied parts lib/input.ts has already escaped.
      if (error.path === undefined) {
        return { stdout: "", stderr: `${error.message}\n`, exitCode: 1 };
      }
      return { stdout: "", stderr: `ERROR: ${errorText(error, audience)}\n`, exitCode: 1 };
    default:
      return { stdout: "", stderr: `ERROR: ${errorText(error, audience)}\n`, exitCode: 1 };
  }
}

/** Warnings for stderr, one line each. */
export function formatWarnings(warnings: readonly string[]): string {
  return warnings.map((w) => `WARNING: ${printable(w)}\n`).join("");
}

/**
 * One `-d` line: local time, then milliseconds since the process started (so a debug run is also
 * a coarse profile of where the time goes), then the message, escaped. Never secret bytes.
 */
export function formatDebugLine(line: string, sinceStartMs: number): string {
  return `${formatLocalTime(Math.floor(Date.now() / 1000))} +${sinceStartMs.toFixed(1)}ms ${
    printable(line)
  }\n`;
}
