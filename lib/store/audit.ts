/**
 * The audit log (SPEC §7, knob CRED_AUDIT_LOG): one JSON line per add or delete, saying who did
 * what, when, and how it ended. Never secret bytes: only names, codes and times.
 *
 * Permissions: --allow-read and --allow-write on the log file.
 */

import { quote, StoreError } from "../errors.ts";
import { openCredentialFile, osError } from "../fs/secure_file.ts";
import type { StoreContext } from "./context.ts";

/** One audit record. */
export interface AuditRecord {
  readonly action: "add" | "delete";
  readonly type: "password" | "kerberos" | "oauth";
  /** The account acted on (`user@domain` or the local user name). */
  readonly user: string;
  readonly pool: boolean;
  readonly service: string | null;
  readonly handle: string | null;
  /** `success`, `pending`, or the StoreError code. */
  readonly result: string;
}

const encoder = new TextEncoder();

/**
 * Appends a record to CRED_AUDIT_LOG when it is set. The log must be a regular file owned by
 * the caller with no group/other bits (created 0600 when missing). Throws StoreError when it
 * cannot be written; the caller reports that without changing the operation's result.
 */
export function appendAudit(ctx: StoreContext, record: AuditRecord): void {
  const path = ctx.config.get("CRED_AUDIT_LOG");
  if (path === undefined) return;
  if (!path.startsWith("/")) {
    throw new StoreError("config", `ERROR: CRED_AUDIT_LOG ${quote(path)} is not an absolute path`);
  }
  const line = JSON.stringify({
    time: new Date().toISOString(),
    by: `${ctx.caller.name}@${ctx.uidDomain}`,
    uid: ctx.caller.uid,
    pid: Deno.pid,
    ...record,
  }) + "\n";
  const file = openCredentialFile(path, ctx.trust, {
    append: true,
    create: true,
    mode: 0o600,
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
