/**
 * HTCondor IDTOKENS (docs/upstream.md "IDTOKENS"): the signing-key bytes that feed the key
 * derivation, HKDF to the JWT HMAC key, minting byte-identical to `condor_token_create`, and the
 * verification the credd applies to a caller's token (README "The daemon": stricter than upstream,
 * `iss` must equal TRUST_DOMAIN and a `kid` may not name a path).
 *
 * Pure logic plus WebCrypto: no file I/O here. Key bytes are handed in by the caller, and every
 * key buffer this module creates is zeroed once it has been used.
 */

import { quote } from "../errors.ts";
import { base64UrlDecode, base64UrlEncode, isObject, parseJson } from "../jwt.ts";
import { constantTimeEqual } from "../crypto/equal.ts";
import { scramblePoolPassword, truncateAtNul } from "../crypto/scramble.ts";

/** Why a token was refused: a closed set of stable codes. */
export type TokenRefusal =
  /** Not three base64url parts of JSON objects, or a claim of the wrong type. */
  | "malformed"
  /** The header's `alg` is not HS256, HS384 or HS512. */
  | "alg"
  /** The `kid` is missing, empty, or could name a path outside the key directory. */
  | "kid"
  /** No signing key is available for the `kid` (or the key is empty). */
  | "no-key"
  /** The signature does not match. */
  | "signature"
  /** `exp` has passed. */
  | "expired"
  /** `nbf` or `iat` lies in the future. */
  | "not-yet-valid"
  /** `iat` is older than SEC_TOKEN_MAX_AGE allows. */
  | "too-old"
  /** `iss` is missing or differs from the trust domain (or, minting, is not a valid issuer). */
  | "issuer"
  /** No `sub` claim (a capability token, which needs a tokens database). */
  | "no-subject"
  /** No `jti` claim. */
  | "no-jti"
  /** The token's `condor:/` scopes do not include WRITE, DAEMON or ADMINISTRATOR. */
  | "scope";

/**
 * A refused token (or refused minting input). `message` is a plain sentence that never contains
 * the token, its signature or key bytes; it may name the kid, issuer or subject, quoted and
 * escaped.
 */
export class TokenError extends Error {
  constructor(readonly reason: TokenRefusal, message: string) {
    super(message);
    this.name = "TokenError";
  }
}

/** HKDF salt and info of the JWT key (docs/upstream.md "IDTOKENS"). */
const HKDF_SALT = new TextEncoder().encode("htcondor");
const HKDF_INFO = new TextEncoder().encode("master jwt");
/** AUTH_PW_KEY_STRENGTH: the JWT HMAC key length in bytes. */
const JWT_KEY_BYTES = 32;

/** The hash WebCrypto uses for each accepted `alg` (docs/upstream.md "IDTOKENS": the same 32-byte
 * key for all). */
const HASH_OF_ALG: Readonly<Record<string, string>> = {
  HS256: "SHA-256",
  HS384: "SHA-384",
  HS512: "SHA-512",
};

/** Permissions that imply WRITE, the level of STORE_CRED (docs/upstream.md "IDTOKENS"). */
const STORE_PERMISSIONS: ReadonlySet<string> = new Set(["WRITE", "DAEMON", "ADMINISTRATOR"]);

/** Tokens are a few hundred bytes; anything this long is refused before decoding. */
const MAX_TOKEN_LENGTH = 65536;

/** A value named in a message: cut to a sane length, then quoted and escaped. */
function named(value: string): string {
  return quote(value.length > 128 ? `${value.slice(0, 128)}...` : value);
}

/**
 * Refuses a kid that is empty, contains "/", ".." or NUL, or starts with "." (upstream joins the
 * kid to SEC_PASSWORD_DIRECTORY without checking it, docs/upstream.md "IDTOKENS"). Returns the kid
 * unchanged. Throws TokenError "kid".
 */
export function checkKeyId(kid: string): string {
  if (kid === "") throw new TokenError("kid", "The token's key ID is empty.");
  if (kid.includes("/") || kid.includes("..") || kid.includes("\0") || kid.startsWith(".")) {
    throw new TokenError(
      "kid",
      `The key ID ${named(kid)} is not a plain key name (it contains "/", ".." or NUL, ` +
        `or starts with ".").`,
    );
  }
  return kid;
}

/**
 * The HKDF input keying material from a signing-key file's bytes (docs/upstream.md "IDTOKENS"): the
 * whole file unscrambled, and for the POOL key (`pool`) doubled to K||K. With `truncateAtNul`
 * (SEC_TOKEN_POOL_SIGNING_KEY_IS_PASSWORD; honoured for the POOL key only, as upstream) the
 * scrambled bytes are cut at their first NUL, and the plaintext again at its first NUL. Returns new
 * bytes the caller owns; keeps no reference to either buffer. Throws TokenError "no-key" when the
 * key comes out empty (anyone could sign with it).
 */
export function signingKeyMaterial(
  fileBytes: Uint8Array,
  options: { pool: boolean; truncateAtNul?: boolean },
): Uint8Array {
  const legacy = options.pool && options.truncateAtNul === true;
  const plain = scramblePoolPassword(legacy ? truncateAtNul(fileBytes) : fileBytes);
  try {
    const key = legacy ? truncateAtNul(plain) : plain;
    if (key.length === 0) {
      throw new TokenError("no-key", "The signing key is empty.");
    }
    if (!options.pool) return key.slice();
    const doubled = new Uint8Array(key.length * 2);
    doubled.set(key, 0);
    doubled.set(key, key.length);
    return doubled;
  } finally {
    plain.fill(0);
  }
}

/**
 * The 32-byte JWT HMAC key: HKDF-SHA256(ikm, salt "htcondor", info "master jwt") (docs/upstream.md
 * "IDTOKENS"). Returns new bytes the caller owns and should zero after use; `ikm` is not modified.
 * Throws TokenError "no-key" for an empty `ikm`.
 */
export async function deriveJwtKey(ikm: Uint8Array): Promise<Uint8Array> {
  if (ikm.length === 0) throw new TokenError("no-key", "The signing key is empty.");
  const base = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: HKDF_INFO },
    base,
    JWT_KEY_BYTES * 8,
  );
  return new Uint8Array(bits);
}

/** HMAC over `signingInput` with the key derived from `ikm`; the raw derived key is zeroed. */
async function hmac(ikm: Uint8Array, hash: string, signingInput: string): Promise<Uint8Array> {
  const raw = await deriveJwtKey(ikm);
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("raw", raw as BufferSource, { name: "HMAC", hash }, false, [
      "sign",
    ]);
  } finally {
    raw.fill(0);
  }
  const data = new TextEncoder().encode(signingInput);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
}

/** The characters picojson escapes. */
// deno-lint-ignore no-control-regex
const PICOJSON_ESCAPED = /["\\/\u0000-\u001f\u007f]/g;

/**
 * A JSON string as picojson writes it (docs/upstream.md "IDTOKENS"): `"`, `\`, `/` and \b \f \n \r
 * \t escaped, other C0 bytes and DEL as lowercase `\u00xx`, everything else (UTF-8) raw.
 */
function picojsonString(value: string): string {
  if (!value.isWellFormed()) {
    throw new RangeError("A token claim holds an unpaired UTF-16 surrogate.");
  }
  return `"${
    value.replace(PICOJSON_ESCAPED, (c) => {
      switch (c) {
        case '"':
          return '\\"';
        case "\\":
          return "\\\\";
        case "/":
          return "\\/";
        case "\b":
          return "\\b";
        case "\f":
          return "\\f";
        case "\n":
          return "\\n";
        case "\r":
          return "\\r";
        case "\t":
          return "\\t";
        default:
          return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
      }
    })
  }"`;
}

/** A JSON object with keys sorted by byte value and no whitespace, as picojson writes it. */
function picojsonObject(members: Record<string, string | number>): string {
  const keys = Object.keys(members).sort(); // the claim names are ASCII: UTF-16 order = byte order
  return `{${
    keys.map((k) => {
      const v = members[k];
      return `${picojsonString(k)}:${typeof v === "number" ? String(v) : picojsonString(v)}`;
    }).join(",")
  }}`;
}

/** Sixteen random bytes as 32 lowercase hex characters, as upstream's `jti`. */
function randomJti(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Mints a token byte-identical to `condor_token_create`'s for the same inputs (docs/upstream.md
 * "IDTOKENS"): header `{"alg":"HS256","kid":KID}`, payload keys sorted (`exp, iat, iss, jti, scope,
 * sub`) with picojson's escapes (`/` as `\/`), base64url without padding, HS256 under the key
 * derived from `ikm` (`ikm` is not modified). `authz` names give the scope `condor:/A condor:/B`
 * (none or an empty list: no scope); `exp` = issuedAt + lifetime only when lifetime >= 0 (default
 * -1: none); `jti` defaults to 16 random bytes in lowercase hex. Throws TokenError "kid" (see
 * {@link checkKeyId}), "issuer" (empty, or holds a space, tab or comma, as upstream), "no-subject"
 * (empty), "no-jti" (empty), "no-key" (empty ikm); RangeError for a non-integer time or lifetime or
 * a string with an unpaired surrogate.
 */
export async function mintToken(
  ikm: Uint8Array,
  options: {
    kid: string;
    issuer: string;
    subject: string;
    issuedAt: number;
    lifetime?: number;
    authz?: string[];
    jti?: string;
  },
): Promise<string> {
  const kid = checkKeyId(options.kid);
  if (options.issuer === "") throw new TokenError("issuer", "The issuer (TRUST_DOMAIN) is empty.");
  if (/[ \t,]/.test(options.issuer)) {
    throw new TokenError(
      "issuer",
      `The issuer ${named(options.issuer)} contains a space, tab or comma.`,
    );
  }
  if (options.subject === "") throw new TokenError("no-subject", "The token subject is empty.");
  const jti = options.jti ?? randomJti();
  if (jti === "") throw new TokenError("no-jti", "The token ID (jti) is empty.");
  const lifetime = options.lifetime ?? -1;
  if (!Number.isSafeInteger(options.issuedAt) || !Number.isSafeInteger(lifetime)) {
    throw new RangeError("The issue time and lifetime of a token must be whole seconds.");
  }
  const claims: Record<string, string | number> = {
    iat: options.issuedAt,
    iss: options.issuer,
    jti,
    sub: options.subject,
  };
  if (lifetime >= 0) claims.exp = options.issuedAt + lifetime;
  if (options.authz !== undefined && options.authz.length > 0) {
    claims.scope = options.authz.map((name) => `condor:/${name}`).join(" ");
  }
  const encoder = new TextEncoder();
  const signingInput = `${base64UrlEncode(encoder.encode(picojsonObject({ alg: "HS256", kid })))}.${
    base64UrlEncode(encoder.encode(picojsonObject(claims)))
  }`;
  const signature = await hmac(ikm, "SHA-256", signingInput);
  return `${signingInput}.${base64UrlEncode(signature)}`;
}

/** The verified identity of a token. */
export interface VerifiedToken {
  /** The `sub` claim, verbatim. */
  subject: string;
  /** `sub` before its last `@` (all of it when there is no `@`). */
  user: string;
  /** `sub` after its last `@`; empty when there is no `@` (upstream: a NULL domain). */
  domain: string;
  /** The header's key ID. */
  kid: string;
  /** Every payload claim, as parsed. */
  claims: Record<string, unknown>;
  /** The `exp` claim in Unix seconds, or null when the token does not expire. */
  expires: number | null;
}

/** Options of {@link verifyToken}. */
export interface VerifyTokenOptions {
  /**
   * The HKDF input keying material for a kid (see {@link signingKeyMaterial}), or null when there
   * is no such key. Called only with a kid that passed {@link checkKeyId}. The returned bytes are
   * handed over: verifyToken zeroes them once the key is derived, so return a fresh buffer.
   */
  keyMaterial: (kid: string) => Uint8Array | null | Promise<Uint8Array | null>;
  /** TRUST_DOMAIN; `iss` must equal it exactly. */
  trustDomain: string;
  /** The current time in Unix seconds. */
  now: number;
  /** Clock skew allowed on `exp`, `nbf`, `iat` and the maximum age, in seconds (default 60). */
  skewSeconds?: number;
  /** SEC_TOKEN_MAX_AGE in seconds; undefined, null, 0 or -1 mean no limit. */
  maxAge?: number | null;
}

/** Splits a token into its three parts and decodes the two JSON objects; throws "malformed". */
function decodeParts(token: string): {
  signingInput: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signature: Uint8Array;
} {
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new TokenError("malformed", `The token is longer than ${MAX_TOKEN_LENGTH} characters.`);
  }
  const parts = token.split(".");
  if (parts.length !== 3) {
    throw new TokenError("malformed", "The token does not have three dot-separated parts.");
  }
  // Padding is refused as upstream's decoder (jwt-cpp) refuses it.
  if (!parts.every((part) => /^[A-Za-z0-9_-]*$/.test(part))) {
    throw new TokenError("malformed", "The token is not base64url text.");
  }
  const headerBytes = base64UrlDecode(parts[0]);
  const payloadBytes = base64UrlDecode(parts[1]);
  const signature = base64UrlDecode(parts[2]);
  if (headerBytes === null || payloadBytes === null || signature === null) {
    throw new TokenError("malformed", "The token is not valid base64url.");
  }
  // One encoding per signature: stray low bits in the last character are not ignored.
  if (base64UrlEncode(signature) !== parts[2]) {
    throw new TokenError("malformed", "The token's signature is not canonical base64url.");
  }
  const header = parseJson(headerBytes);
  if (!isObject(header)) {
    throw new TokenError("malformed", "The token header is not a JSON object.");
  }
  const claims = parseJson(payloadBytes);
  if (!isObject(claims)) {
    throw new TokenError("malformed", "The token payload is not a JSON object.");
  }
  return { signingInput: `${parts[0]}.${parts[1]}`, header, claims, signature };
}

/** An optional time claim: null when absent, else whole seconds; throws "malformed". */
function timeClaim(claims: Record<string, unknown>, name: string): number | null {
  const value = claims[name];
  if (value === undefined) return null;
  // Upstream reads dates as int64 and fails on anything else (docs/upstream.md "IDTOKENS":
  // integers).
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TokenError("malformed", `The token's "${name}" claim is not a whole number.`);
  }
  return value;
}

/** A string claim that must be present and non-empty; throws `reason` otherwise. */
function requiredString(
  claims: Record<string, unknown>,
  name: string,
  reason: TokenRefusal,
  what: string,
): string {
  const value = claims[name];
  if (typeof value !== "string" || value === "") {
    throw new TokenError(reason, `The token has no ${what} ("${name}" claim).`);
  }
  return value;
}

/**
 * The authorization names of a `scope` claim (docs/upstream.md "IDTOKENS"): entries starting
 * `condor:/`, upper-cased; null when there are none (the token is then not limited).
 */
function condorScopes(scope: string): Set<string> | null {
  const names = scope.split(/[ ,\t\n]+/)
    .filter((entry) => entry.startsWith("condor:/"))
    .map((entry) => entry.slice("condor:/".length).toUpperCase());
  return names.length === 0 ? null : new Set(names);
}

/**
 * Verifies an IDTOKEN for a WRITE-level command such as STORE_CRED (docs/upstream.md "IDTOKENS",
 * README "The daemon"), in order: three base64url parts of JSON objects; `alg` HS256, HS384 or
 * HS512; a `kid` that passes {@link checkKeyId}; the key from `keyMaterial(kid)`; the signature,
 * compared in constant time; `exp` (refused when now > exp + skew), `nbf` (now + skew < nbf) and
 * `iat` (more than skew in the future); the maximum age (now > iat + maxAge + skew); `iss` equal to
 * `trustDomain`; a `sub` (capability tokens are refused); a `jti`; and, when `scope` holds
 * `condor:/` entries, one of WRITE, DAEMON or ADMINISTRATOR among them (case-insensitive). `sub` is
 * split at its last `@`. Throws TokenError with the reason of the first check that fails; rethrows
 * what `keyMaterial` throws.
 */
export async function verifyToken(
  token: string,
  options: VerifyTokenOptions,
): Promise<VerifiedToken> {
  const { signingInput, header, claims, signature } = decodeParts(token);

  const alg = header.alg;
  const hash = typeof alg === "string" && Object.hasOwn(HASH_OF_ALG, alg)
    ? HASH_OF_ALG[alg]
    : undefined;
  if (hash === undefined) {
    const shown = typeof alg === "string" ? ` ${named(alg)}` : "";
    throw new TokenError(
      "alg",
      `The token's algorithm${shown} is not accepted (HS256, HS384 or HS512 only).`,
    );
  }

  // An empty or absent kid is refused, not read as POOL (docs/upstream.md "IDTOKENS").
  if (typeof header.kid !== "string") {
    throw new TokenError("kid", "The token has no key ID (kid).");
  }
  const kid = checkKeyId(header.kid);

  const ikm = await options.keyMaterial(kid);
  if (ikm === null || ikm.length === 0) {
    throw new TokenError("no-key", `No signing key named ${named(kid)} is available.`);
  }
  let expected: Uint8Array;
  try {
    expected = await hmac(ikm, hash, signingInput);
  } finally {
    ikm.fill(0);
  }
  if (!constantTimeEqual(expected, signature)) {
    throw new TokenError("signature", `The token's signature does not match key ${named(kid)}.`);
  }

  // Only signed claims are examined from here on.
  const skew = options.skewSeconds ?? 60;
  const now = options.now;
  const exp = timeClaim(claims, "exp");
  const nbf = timeClaim(claims, "nbf");
  const iat = timeClaim(claims, "iat");
  if (exp !== null && now > exp + skew) {
    throw new TokenError("expired", "The token has expired.");
  }
  if (nbf !== null && now + skew < nbf) {
    throw new TokenError("not-yet-valid", "The token is not valid yet (nbf is in the future).");
  }
  if (iat !== null && iat > now + skew) {
    throw new TokenError("not-yet-valid", "The token was issued in the future (iat).");
  }
  const maxAge = options.maxAge;
  if (
    iat !== null && maxAge !== undefined && maxAge !== null && maxAge !== 0 && maxAge !== -1 &&
    now > iat + maxAge + skew
  ) {
    throw new TokenError(
      "too-old",
      `The token was issued more than ${maxAge} seconds ago (SEC_TOKEN_MAX_AGE).`,
    );
  }

  const iss = requiredString(claims, "iss", "issuer", "issuer");
  if (iss !== options.trustDomain) {
    throw new TokenError(
      "issuer",
      `The token's issuer ${named(iss)} is not the trust domain ${named(options.trustDomain)}.`,
    );
  }
  if (claims.cap === true) {
    throw new TokenError("no-subject", "Capability tokens are not accepted.");
  }
  const subject = requiredString(claims, "sub", "no-subject", "subject");
  requiredString(claims, "jti", "no-jti", "token ID");

  if (claims.scope !== undefined) {
    if (typeof claims.scope !== "string") {
      throw new TokenError("malformed", `The token's "scope" claim is not a string.`);
    }
    const scopes = condorScopes(claims.scope);
    if (scopes !== null && !Array.from(STORE_PERMISSIONS).some((p) => scopes.has(p))) {
      throw new TokenError(
        "scope",
        `The token of ${named(subject)} is limited to scopes that do not include WRITE.`,
      );
    }
  }

  const at = subject.lastIndexOf("@");
  return {
    subject,
    user: at < 0 ? subject : subject.slice(0, at),
    domain: at < 0 ? "" : subject.slice(at + 1),
    kid,
    claims,
    expires: exp,
  };
}
