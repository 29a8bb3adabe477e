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
  /** query-oauth --min-ttl: the access token expires too soon, or its expiry is unknown. */
  | "expiring"
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
}

/**
 * A failure after parsing. `message` is a plain sentence that never contains secret bytes. For
 * codes that map onto an upstream result (not-found, mismatch, json-parse, bad-args, config, ...)
 * it is the explanatory detail printed after upstream's own line.
 */
export class StoreError extends Error {
  readonly path?: string;
  readonly remedy?: string;

  constructor(readonly code: StoreErrorCode, message: string, details: StoreErrorDetails = {}) {
    super(message);
    this.name = "StoreError";
    if (details.path !== undefined) this.path = details.path;
    if (details.remedy !== undefined) this.remedy = details.remedy;
  }
}

/**
 * What `printable` escapes: control characters (C0, DEL, C1), the line and paragraph separators,
 * the invisible format characters (Unicode category Cf: the bidirectional overrides and
 * isolates such as U+202E, zero-width characters, the byte order mark), and lone surrogates.
 */
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\p{Cf}\p{Cs}]/gu;

/**
 * Escapes the characters a terminal would act on or hide, so that a user-supplied string printed
 * on a terminal cannot move the cursor, forge a line, change colours or reorder what is shown
 * (a right-to-left override). Printable text, including non-ASCII letters, is kept.
 */
export function printable(value: string): string {
  if (!hasControl(value)) return value;
  return value.replace(UNPRINTABLE, (c) => {
    const code = c.codePointAt(0)!;
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    if (code > 0xffff) return `\\u{${code.toString(16)}}`;
    return code > 0xff
      ? `\\u${code.toString(16).padStart(4, "0")}`
      : `\\x${code.toString(16).padStart(2, "0")}`;
  });
}

/**
 * True when `value` may have a character `printable` escapes. A loop, so that the common ASCII
 * string costs no regular expression (compiled on first use); any other character is looked at
 * by the expression.
 */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x1f || c >= 0x7f) return true;
  }
  return false;
}

/** Quotes a user-supplied value for a message: double quotes, control characters escaped. */
export function quote(value: string): string {
  return `"${printable(value.replace(/\\/g, "\\\\").replace(/"/g, '\\"'))}"`;
}
