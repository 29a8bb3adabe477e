/**
 * JSON Web Tokens as far as this program reads them: base64url, the header and claims of an
 * access token (for `--min-ttl`, `list` and the expiry in `Credential info`), and JSON parsing
 * that never throws. Pure functions; no signature checks here (IDTOKENS: lib/auth/idtoken.ts).
 */

import { decodeScalar, findMembers, jsonType, type MemberSpan, scanObject } from "./json_scan.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes base64url (padding optional); null when it is not base64url. */
export function base64UrlDecode(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) return null;
  const unpadded = text.replace(/=+$/, "");
  if (unpadded.length % 4 === 1) return null;
  try {
    // The engine's decoder: a megabyte takes milliseconds, not the second a string round trip takes.
    return fromBase64(unpadded, { alphabet: "base64url", lastChunkHandling: "loose" });
  } catch {
    return null;
  }
}

/** `Uint8Array.fromBase64` (V8 15; not yet in TypeScript's library). */
const fromBase64 = (Uint8Array as unknown as {
  fromBase64(
    text: string,
    options: { alphabet: "base64url"; lastChunkHandling: "loose" },
  ): Uint8Array;
}).fromBase64;

/** Encodes bytes as base64url without padding. */
export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Parses UTF-8 bytes or text as JSON. Returns undefined when it is not JSON, including JSON
 * nested too deeply for the engine (which would otherwise throw a RangeError).
 */
export function parseJson(input: Uint8Array | string): unknown {
  let text: string;
  try {
    text = typeof input === "string" ? input : decoder.decode(input);
  } catch {
    return undefined;
  }
  // Only text that can be JSON is parsed: a thrown SyntaxError costs far more than these tests,
  // and most tokens (a JWT, an opaque string) are not JSON.
  if (!mayBeJson(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** JSON's white space (RFC 8259): space, tab, line feed, carriage return. */
function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * False when `JSON.parse(text)` certainly throws: the text between JSON white space must be an
 * object, array or string with its closing character, a literal, or a number. True does not
 * promise valid JSON.
 */
function mayBeJson(text: string): boolean {
  let start = 0;
  let end = text.length;
  while (start < end && isJsonSpace(text.charCodeAt(start))) start++;
  while (end > start && isJsonSpace(text.charCodeAt(end - 1))) end--;
  if (start === end) return false;
  const first = text[start];
  const last = text[end - 1];
  if (first === "{") return last === "}";
  if (first === "[") return last === "]";
  if (first === '"') return end - start >= 2 && last === '"';
  const value = text.slice(start, end);
  if (first === "t" || first === "f" || first === "n") {
    return value === "true" || value === "false" || value === "null";
  }
  return (first === "-" || (first >= "0" && first <= "9")) && JSON_NUMBER.test(value);
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The decoded header and claims of a JWT; null when `token` is not a three-part JWT of objects. */
export function decodeJwt(
  token: string,
): { header: Record<string, unknown>; claims: Record<string, unknown> } | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3) return null;
  const header = base64UrlDecode(parts[0]);
  const payload = base64UrlDecode(parts[1]);
  if (header === null || payload === null) return null;
  const h = parseJson(header);
  const c = parseJson(payload);
  return isObject(h) && isObject(c) ? { header: h, claims: c } : null;
}

/** Seconds since the epoch that a `Date` can represent (±8.64e12), as a sane claim range. */
const MAX_TIME = 8.64e12;

/** A numeric date claim (`exp`, `iat`, `nbf`) as whole Unix seconds, or null when absent or absurd.
 */
export function timeClaim(claims: Record<string, unknown>, name: string): number | null {
  const value = claims[name];
  if (typeof value !== "number" || !Number.isFinite(value)) return null;
  if (value < -MAX_TIME || value > MAX_TIME) return null;
  return Math.floor(value);
}

/** Options of the readers of stored tokens. */
export interface StoredTokenOptions {
  /** The content is the start of a longer file (a bounded read); see `ScanOptions.partial`. */
  readonly partial?: boolean;
}

/**
 * The access token in a `.use` file's content: the `access_token` string of credmon JSON, else
 * the trimmed text. Returns null when the content is not UTF-8. Reads the JSON without building
 * it (lib/json_scan.ts), so content of any shape costs its size.
 */
export function accessTokenOf(
  content: Uint8Array,
  options: StoredTokenOptions = {},
): string | null {
  const { result, found } = findMembers(content, ["access_token"], options);
  const span = found.get("access_token");
  if (
    result !== "invalid" && span !== undefined && jsonType(content, span.valueStart) === "string"
  ) {
    return decodeScalar(content, span.valueStart, span.valueEnd) as string;
  }
  try {
    return decoder.decode(content).trim();
  } catch {
    return null;
  }
}

/**
 * The claims of a JWT as JSON bytes: `token` must be three base64url parts whose first two are
 * JSON objects (the signature is not looked at, so a cut one is fine). Null when it is not one.
 */
export function jwtClaims(token: string): Uint8Array | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3) return null;
  const header = base64UrlDecode(parts[0]);
  const claims = base64UrlDecode(parts[1]);
  if (header === null || claims === null) return null;
  const isJsonObject = (bytes: Uint8Array) => scanObject(bytes, () => {}) === "object";
  return isJsonObject(header) && isJsonObject(claims) ? claims : null;
}

/** The value of a numeric date claim at `span` of `claims`, as `timeClaim` reads it. */
export function timeAt(claims: Uint8Array, span: MemberSpan): number | null {
  if (jsonType(claims, span.valueStart) !== "number") return null;
  return timeClaim({ t: decodeScalar(claims, span.valueStart, span.valueEnd) }, "t");
}

/** The `exp` of the access token in `.use` content, or null when it is not a JWT with one. */
export function accessTokenExpiry(
  content: Uint8Array,
  options: StoredTokenOptions = {},
): number | null {
  const token = accessTokenOf(content, options);
  const claims = token === null ? null : jwtClaims(token);
  if (claims === null) return null;
  const exp = findMembers(claims, ["exp"]).found.get("exp");
  return exp === undefined ? null : timeAt(claims, exp);
}
