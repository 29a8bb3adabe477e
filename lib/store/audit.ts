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
import { openFile } from "../fs/files.ts";
import { basename, dirname } from "../fs/paths.ts";
import { type Caller, callerAccount } from "../request.ts";
import type { StoreContext } from "./context.ts";

/** One audit record. */
export interface AuditRecord {
  readonly action: "add" | "delete";
  readonly type: "password" | "kerberos" | "oauth";
  /** The account acted on, as `user@domain`. */
  readonly user: string;
  readonly pool: boolean;
  readonly service: string | null;
  readonly handle: string | null;
  /** `success`, `pending`, or the StoreError code. */
  readonly result: string;
}

const encoder = new TextEncoder();

/**
 * Appends a record to CRED_AUDIT_LOG when it is set. Throws StoreError when it cannot be written
 * safely; nothing is written then.
 */
export function appendAudit(ctx: StoreContext, caller: Caller, record: AuditRecord): void {
  const path = ctx.config.get("CRED_AUDIT_LOG");
  if (path === undefined) return;
  if (!path.startsWith("/")) {
    throw new StoreError("config", `CRED_AUDIT_LOG ${quote(path)} is not an absolute path`);
  }
  const line = JSON.stringify({
    time: new Date().toISOString(),
    by: callerAccount(caller),
    uid: caller.uid,
    pid: Deno.pid,
    ...record,
  }) + "\n";
  const dir = storeDirectory(dirname(path), ctx.owners);
  if (dir === null) {
    throw new StoreError("io", `the directory of ${quote(path)} does not exist`, { path });
  }
  const file = openFile(dir, basename(path), ctx.owners, {
    role: "shared",
    append: true,
    createMode: 0o600,
    verb: "open the audit log",
  })!;
  try {
    // One write call per line: O_APPEND keeps concurrent writers' lines whole.
    file.writeSync(encoder.encode(line));
  } catch (error) {
    throw osError(error, "append to the audit log", path);
  } finally {
    file.close();
  }
}
