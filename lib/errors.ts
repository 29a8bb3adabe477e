/**
 * The product's error class and the escaping every printed user-supplied value goes through.
 *
 * A usage error is reported by the parser as a value; everything that goes wrong after parsing
 * is a `StoreError` with a code from a closed set. Layers own their words: a StoreError carries a
 * plain sentence (no `ERROR: ` prefix) and, separately, a local remedy; only the output layer
 * (`lib/output/`) adds the prefix and the remedy, and decides what a remote caller may see.
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
  /** The request needs a feature this build or platform does not provide. */
  | "unsupported"
  /** query-oauth --min-ttl: the access token expires too soon, or is not there yet. */
  | "expiring"
  /** query-oauth --min-ttl: the access token's expiry cannot be read (not a JWT with `exp`). */
  | "expiry-unknown"
  /** A daemon could not be reached or answered badly (client side of serve). */
  | "unreachable"
  /** The channel to a daemon is not secure, or the caller could not be authenticated. */
  | "not-secure";

/** Structured details of a StoreError. */
export interface StoreErrorDetails {
  /** The file or directory the error is about. */
  readonly path?: string;
  /** What the local operator can do about it (`run "chmod 600 PATH"`); never sent remotely. */
  readonly remedy?: string;
  /** For `expiring`: the access token's `exp` (Unix seconds), so the result says what is left. */
  readonly expires?: number;
}

/**
 * A failure after parsing. `message` is a plain sentence that never contains secret bytes. For
 * codes that map onto an upstream result (not-found, mismatch, json-parse, bad-args, config, ...)
 * it is the explanatory detail printed after upstream's own line.
 */
export class StoreError extends Error {
  readonly path?: string;
  readonly remedy?: string;
  readonly expires?: number;

  constructor(readonly code: StoreErrorCode, message: string, details: StoreErrorDetails = {}) {
    super(message);
    this.name = "StoreError";
    if (details.path !== undefined) this.path = details.path;
    if (details.remedy !== undefined) this.remedy = details.remedy;
    if (details.expires !== undefined) this.expires = details.expires;
  }
}

/**
 * Every character that prints nothing, or changes how what follows prints: controls (C0, DEL,
 * C1), format characters (the bidirectional embeddings, overrides and isolates U+202A-U+202E and
 * U+2066-U+2069, the marks U+200E/U+200F, zero-width characters, the soft hyphen, tags), the line
 * and paragraph separators, and lone surrogates.
 */
const NON_PRINTING = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * Escapes every non-printing character (NON_PRINTING) so that a user-supplied string printed on a
 * terminal or in a log cannot move the cursor, forge a line, change colours or reorder what is
 * shown. Printable text, including non-ASCII letters, is kept.
 */
export function printable(value: string): string {
  if (!hasControl(value)) return value;
  return value.replace(NON_PRINTING, (c) => {
    const code = c.codePointAt(0)!;
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return code > 0xffff
      ? `\\u{${code.toString(16)}}`
      : code > 0xff
      ? `\\u${code.toString(16).padStart(4, "0")}`
      : `\\x${code.toString(16).padStart(2, "0")}`;
  });
}

/**
 * True when `value` may have a character `printable` escapes. A loop, so that the common clean
 * ASCII string costs no regular expression.
 */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x1f || c >= 0x7f) {
      NON_PRINTING.lastIndex = 0;
      return NON_PRINTING.test(value);
    }
  }
  return false;
}

/** Quotes a user-supplied value for a message: double quotes, control characters escaped. */
export function quote(value: string): string {
  return `"${printable(value.replace(/\\/g, "\\\\").replace(/"/g, '\\"'))}"`;
}
