/**
 * The product's error classes. A usage error is reported by the parser as a value; everything
 * that goes wrong after parsing is a `StoreError` with a code from a closed set, mapped to output
 * and exit status in one place (`lib/output.ts`).
 */

/** The closed set of store error codes. */
export type StoreErrorCode =
  /** Nothing is stored under that name. */
  | "not-found"
  /** query-oauth: scopes or audience differ (exit 2). */
  | "mismatch"
  /** The credential or a stored `.top` is not the JSON that was required. */
  | "json-parse"
  /** A Vault token names a host outside TRUSTED_VAULT_HOSTS. */
  | "untrusted-host"
  /** A stored password cannot be decrypted. */
  | "bad-password"
  /** Missing or invalid arguments (bad names, a type not allowed with -c, ...). */
  | "bad-args"
  /** A required configuration knob is missing or invalid. */
  | "config"
  /** The caller may not do this. */
  | "not-allowed"
  /** The credmon did not produce its file in time. */
  | "credmon-timeout"
  /** A file or directory fails the ownership, mode or type checks. */
  | "insecure"
  /** The operating system refused access. */
  | "permission"
  /** The credential exceeds its size limit. */
  | "too-large"
  /** The credential is empty. */
  | "empty"
  /** The per-user lock could not be taken in time. */
  | "locked"
  /** The credential could not be read from its source (-i FILE, stdin). */
  | "input"
  /** Any other I/O failure (disk full, read-only filesystem, ...). */
  | "io"
  /** The request needs a feature this build does not provide. */
  | "unsupported"
  /** query-oauth --min-ttl: the access token expires too soon, or its expiry is unknown. */
  | "expiring";

/**
 * A failure after parsing. `message` never contains secret bytes. For codes that map onto an
 * upstream result (not-found, mismatch, json-parse, bad-args, config, ...), `message` is the
 * explanatory detail printed after upstream's own line; for the others it is the whole message.
 */
export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/** Quotes a user-supplied value for an error message (escapes control characters). */
export function quote(value: string): string {
  return JSON.stringify(value);
}
