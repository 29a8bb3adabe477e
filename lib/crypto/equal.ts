/**
 * The program's one constant-time comparison, for secrets compared with what a peer sent (a token's
 * signature, a challenge's nonce) and with what was typed or stored (the prompt's confirmation, an
 * unchanged credential). Pure; no I/O.
 */

/**
 * True when `a` and `b` hold the same bytes, or the same UTF-16 code units for two strings. The
 * time taken depends on the lengths only, never on where the first difference is; values of
 * different lengths are unequal at once (no caller compares values whose length is secret).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean;
export function constantTimeEqual(a: string, b: string): boolean;
export function constantTimeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  if (typeof a === "string" && typeof b === "string") {
    for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  } else if (typeof a !== "string" && typeof b !== "string") {
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  } else {
    return false;
  }
  return diff === 0;
}
