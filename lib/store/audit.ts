/**
 * The audit log (README "Configuration", knob CRED_AUDIT_LOG): one JSON line per add or delete,
 * saying who did what, when, and how it ended. Never secret bytes: only names, codes and times.
 *
 * The log's directory gets the store's directory rules; a new log is created exclusively (never
 * through a link), an existing one must be a regular file whose open handle matches its `lstat`.
 *
 * Permissions: --allow-read and --allow-write on the log and its directory.
 */

import { quote, StoreError } from "../errors.ts";
import { storeDirectory } from "../fs/directories.ts";
import { osError } from "../fs/errors.ts";
import { checkFile, openFile } from "../fs/files.ts";
import { basename, dirname } from "../fs/paths.ts";
import { type Caller, callerAccount, type CredType } from "../request.ts";
import type { StoreContext } from "./context.ts";

/** One audit record. */
export interface AuditRecord {
  readonly action: "add" | "delete";
  readonly type: CredType;
  /** The account acted on, as `user@domain`. */
  readonly user: string;
  readonly pool: boolean;
  readonly service: string | null;
  readonly handle: string | null;
  /** `success`, `pending`, or the StoreError code. */
  readonly result: string;
}

/** Refused requests of one caller whose audit lines one limiter writes per window. */
export const AUDIT_REFUSALS_PER_WINDOW = 10;

/** The window of `RefusalLimiter`, in milliseconds. */
export const AUDIT_WINDOW_MS = 60_000;

/** A caller's refusals in the current window. */
interface Window {
  readonly caller: Caller;
  readonly start: number;
  written: number;
  suppressed: number;
}

/** A summary line owed: `suppressed` refusals of `caller` not written since `start`. */
export interface Suppressed {
  readonly caller: Caller;
  readonly start: number;
  readonly suppressed: number;
}

/**
 * Bounds the audit lines of refused (failed) adds and deletes per caller, so that a caller
 * repeating a refused request cannot grow the log without bound: per window of AUDIT_WINDOW_MS
 * from a caller's first refusal, the first AUDIT_REFUSALS_PER_WINDOW are written, the rest
 * counted, and once the window has passed one summary line says how many were not written. The
 * state is one process's (a daemon worker's), passed to each request in its StoreContext; it
 * holds only callers refused within the last window.
 */
export class RefusalLimiter {
  readonly #windows = new Map<string, Window>();

  constructor(
    readonly perWindow: number = AUDIT_REFUSALS_PER_WINDOW,
    readonly windowMs: number = AUDIT_WINDOW_MS,
  ) {}

  /**
   * Decides for one audited request of `caller` at `now` (ms): the summaries due (windows that
   * have ended with refusals not written; their state is dropped), and whether the request's own
   * line is written (a success always; a refusal while its caller's window has room).
   */
  decide(
    caller: Caller,
    now: number,
    refused: boolean,
  ): { readonly summaries: Suppressed[]; readonly write: boolean } {
    const summaries: Suppressed[] = [];
    for (const [key, window] of this.#windows) {
      if (now - window.start < this.windowMs) continue;
      this.#windows.delete(key);
      if (window.suppressed > 0) summaries.push(window);
    }
    if (!refused) return { summaries, write: true };
    const key = `${caller.uid}:${callerAccount(caller)}`;
    let window = this.#windows.get(key);
    if (window === undefined) {
      window = { caller, start: now, written: 0, suppressed: 0 };
      this.#windows.set(key, window);
    }
    if (window.written < this.perWindow) {
      window.written++;
      return { summaries, write: true };
    }
    window.suppressed++;
    return { summaries, write: false };
  }
}

const encoder = new TextEncoder();

/** CRED_AUDIT_LOG, or null when it is unset. Throws StoreError("config") for a relative path. */
function auditPath(ctx: StoreContext): string | null {
  const path = ctx.config.get("CRED_AUDIT_LOG");
  if (path === undefined) return null;
  if (!path.startsWith("/")) {
    throw new StoreError("config", `CRED_AUDIT_LOG ${quote(path)} is not an absolute path`, {
      remedy: "set CRED_AUDIT_LOG to an absolute path, such as /var/log/condor/cred_audit.log",
    });
  }
  return path;
}

/**
 * The audit log's directory, checked by the store's directory rules. Throws StoreError: "io"
 * when it does not exist, "insecure" for a wrong owner or mode, each with the fix.
 */
function auditDirectory(ctx: StoreContext, path: string) {
  const dir = storeDirectory(dirname(path), ctx.owners, { checked: ctx.roots });
  if (dir === null) {
    throw new StoreError("io", `the directory of the audit log ${quote(path)} does not exist`, {
      path,
      remedy: `create it (mkdir -m 700 ${dirname(path)}, owned by root), or set CRED_AUDIT_LOG ` +
        "to a file in a directory that exists",
    });
  }
  return dir;
}

/**
 * Checks, without writing anything, that the audit log could be written safely when
 * CRED_AUDIT_LOG is set: an absolute path, its directory there and by the store's rules, the
 * file (when there is one) a regular file of a trusted owner and a safe mode. For `doctor` and
 * the daemon's start. Throws StoreError with the fix.
 */
export function checkAuditLog(ctx: StoreContext): void {
  const path = auditPath(ctx);
  if (path === null) return;
  auditDirectory(ctx, path);
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw osError(error, "inspect the audit log", path);
  }
  checkFile(path, info, ctx.owners, "shared");
}

/**
 * Appends a record to CRED_AUDIT_LOG when it is set: a refusal (any result but `success` or
 * `pending`) only when `ctx.auditLimiter` admits it, and before it the summary lines the limiter
 * owes. Throws StoreError when the log cannot be written safely; nothing is written then.
 */
export function appendAudit(ctx: StoreContext, caller: Caller, record: AuditRecord): void {
  const path = auditPath(ctx);
  if (path === null) return;
  const now = Date.now();
  const line = (who: Caller, fields: object) =>
    JSON.stringify({
      time: new Date(now).toISOString(),
      by: callerAccount(who),
      uid: who.uid,
      pid: Deno.pid,
      ...fields,
    }) + "\n";
  const refused = record.result !== "success" && record.result !== "pending";
  const { summaries, write } = ctx.auditLimiter?.decide(caller, now, refused) ??
    { summaries: [], write: true };
  // Summaries first: they are about refusals made before this request.
  let text = summaries.map((s) =>
    line(s.caller, {
      result: "suppressed",
      suppressed: s.suppressed,
      since: new Date(s.start).toISOString(),
    })
  ).join("");
  if (write) text += line(caller, record);
  if (text === "") return;
  const dir = auditDirectory(ctx, path);
  const file = openFile(dir, basename(path), ctx.owners, {
    role: "shared",
    append: true,
    createMode: 0o600,
    verb: "open the audit log",
  })!;
  try {
    // One write call: O_APPEND keeps concurrent writers' lines whole.
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
  } catch (error) {
    throw osError(error, "append to the audit log", path);
  } finally {
    file.close();
  }
}
