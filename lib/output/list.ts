/**
 * Rendering `list` (README "list"): an aligned table for people, JSON for scripts. Pure.
 */

import { printable } from "../errors.ts";
import { ResultCode as Code } from "../messages.ts";
import type { CredType } from "../request.ts";
import type { CredentialRow } from "../store/list.ts";
import { emptyInfo, ERROR_STATUS, JSON_SCHEMA_VERSION, type JsonResult } from "./json.ts";
import { formatLocalTime } from "./text.ts";

/** "in 59 min", "3 h ago": a coarse duration for a table. */
export function relative(seconds: number): string {
  const abs = Math.abs(seconds);
  const text = abs < 120
    ? `${abs} s`
    : abs < 7200
    ? `${Math.round(abs / 60)} min`
    : abs < 172800
    ? `${Math.round(abs / 3600)} h`
    : `${Math.round(abs / 86400)} days`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

function newest(row: CredentialRow): number | null {
  const times = Object.values(row.files).map((f) => f.mtime);
  return times.length === 0 ? null : Math.max(...times);
}

function mainSize(row: CredentialRow): number | null {
  const file = row.files[".use"] ?? row.files[".top"] ?? row.files[".cred"] ?? row.files[".pwd"] ??
    Object.values(row.files)[0];
  return file?.size ?? null;
}

function details(row: CredentialRow, now: number): string {
  const parts: string[] = [];
  if (row.scopes) parts.push(`scopes ${JSON.stringify(row.scopes)}`);
  if (row.audience) parts.push(`audience ${JSON.stringify(row.audience)}`);
  if (row.type === "oauth" && row.files[".top"] && !row.files[".use"]) {
    parts.push("waiting for the credmon");
  }
  if (row.type === "kerberos" && row.files[".cred"] && !row.files[".cc"]) {
    parts.push("waiting for the credmon");
  }
  const t = row.token;
  if (t !== null) {
    const claims = [
      t.sub === null ? null : `sub ${JSON.stringify(t.sub)}`,
      t.iss === null ? null : `iss ${JSON.stringify(t.iss)}`,
      t.aud === null ? null : `aud ${JSON.stringify(t.aud)}`,
      t.scope === null ? null : `scope ${JSON.stringify(t.scope)}`,
    ].filter(Boolean);
    const exp = t.exp === null
      ? "no expiry"
      : `${t.exp < now ? "expired" : "expires"} ${formatLocalTime(t.exp)} (${
        relative(t.exp - now)
      })`;
    parts.push(`access token ${[...claims, exp].join(", ")}`);
  }
  if (row.problem !== null) parts.push(`REFUSED: ${row.problem}`);
  return printable(parts.join("; "));
}

/** The table of `list`, columns aligned; a header line, one line per credential. */
export function formatList(rows: readonly CredentialRow[], now: number): string {
  const table = [
    ["TYPE", "USER", "NAME", "FILES", "SIZE", "MODIFIED", "DETAILS"],
    ...rows.map((row) => {
      const mtime = newest(row);
      return [
        row.type,
        printable(row.user),
        printable(row.name ?? "-"),
        Object.keys(row.files).join(" ") || "-",
        String(mainSize(row) ?? "-"),
        mtime === null ? "-" : formatLocalTime(mtime),
        details(row, now),
      ];
    }),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return table.map((r) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd() +
    "\n"
  ).join("");
}

/**
 * The line saying which accounts could not be read (rows with `refused`), for stderr and the
 * JSON message; empty when none.
 */
export function refusedSummary(rows: readonly CredentialRow[]): string {
  const refused = rows.filter((row) => row.refused !== undefined);
  if (refused.length === 0) return "";
  const listed = rows.length - refused.length;
  const which = refused.map((row) => `${row.type} ${JSON.stringify(row.user)}`).join(", ");
  return printable(
    `${refused.length} account${refused.length === 1 ? "" : "s"} could not be read (` +
      `REFUSED in the list, with why and the fix): ${which}; ${listed} credential${
        listed === 1 ? "" : "s"
      } listed`,
  );
}

/** The JSON result of `list`: the usual fields, and the rows as `credentials`. */
export function jsonList(
  type: CredType | null,
  user: string | null,
  rows: readonly CredentialRow[],
  warnings: readonly string[],
  now: number,
): JsonResult & { credentials: unknown[] } {
  const found = rows.length > 0;
  const refused = rows.find((row) => row.refused !== undefined)?.refused;
  return {
    schema: JSON_SCHEMA_VERSION,
    ok: found && refused === undefined,
    action: "list",
    type,
    user,
    status: refused !== undefined ? ERROR_STATUS[refused] : found ? "listed" : "not-found",
    reason: refused !== undefined ? "refused" : found ? "listed" : "not-found",
    code: refused !== undefined ? Code.FAILURE : found ? Code.SUCCESS : Code.FAILURE_NOT_FOUND,
    message: refused !== undefined
      ? refusedSummary(rows)
      : found
      ? `${rows.length} credential${rows.length === 1 ? "" : "s"}`
      : "No credential is stored.",
    changed: null,
    warnings,
    info: emptyInfo(),
    credentials: rows.map((row) => ({
      ...row,
      refused: row.refused ?? null,
      token: row.token === null
        ? null
        : { ...row.token, expires_in: row.token.exp === null ? null : row.token.exp - now },
    })),
  };
}
