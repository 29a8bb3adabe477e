/**
 * The daemon's wire format (docs/protocol.md): versioned JSON over HTTP/1.1, the
 * same on the Unix socket and on TLS. This module turns requests and replies into JSON and back,
 * checking every field of what arrives; it does no I/O.
 *
 *   POST /v1/challenge   [{ version }] → { version, id, path, nonce, expires }  (Unix socket only)
 *   POST /v1/request     { version, challenge?: { id, nonce }, request } → { version, reply }
 *   POST /v1/list        { version, challenge?: { id, nonce }, list } → { version, reply }
 *   POST /v1/whoami      { version, challenge?: { id, nonce } } → { version, whoami }
 *   GET  /v1/health      → { version, ok, trustDomain, problem? }
 *
 * On the socket the caller creates the file at `path` to prove who it is, and names the
 * challenge in `Authorization: Challenge <id> <nonce>` (or the body's `challenge`); over TLS it
 * authenticates with `Authorization: Bearer <IDTOKEN>` instead. Every field is described in
 * docs/protocol.md.
 */

import { StoreError, type StoreErrorCode } from "../errors.ts";
import { base64UrlDecode, base64UrlEncode, isObject } from "../jwt.ts";
import type { Caller, CredRequest } from "../request.ts";
import { type Outcome, setAttribute } from "../store/context.ts";
import type { ListReply, Reply, Target } from "../store/service.ts";
import type { CredentialRow } from "../store/list.ts";
import type { CredType, ListRequest } from "../request.ts";

/** The protocol version this program speaks. */
export const PROTOCOL_VERSION = 1;

/** Largest request body: a 1 MiB credential in base64 plus its JSON. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * A protocol-level refusal, sent with an HTTP status. `detail`, when given, is what the daemon's
 * log says instead of the message (what the peer must not learn: paths, which keys exist).
 */
export class ProtocolError extends Error {
  constructor(
    readonly status: number,
    readonly code: StoreErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

function bad(message: string): ProtocolError {
  return new ProtocolError(400, "bad-args", message);
}

function optionalString(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || v.length > 4096) throw bad(`"${key}" must be a string`);
  return v;
}

function flag(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw bad(`"${key}" must be true or false`);
  return v;
}

/** A request as JSON (the credential of an add as base64url). */
export function encodeRequest(request: CredRequest): Record<string, unknown> {
  const out: Record<string, unknown> = { ...request };
  if (request.action === "add") out.credential = base64UrlEncode(request.credential);
  return out;
}

/** Options of `decodeRequest`. */
export interface DecodeRequestOptions {
  /** The credential size limit of a type (the daemon's; the store checks it again). */
  readonly limit?: (type: CredType) => number;
}

/**
 * Reads a request sent by a client, checking every field. The credential of an add comes back as
 * bytes. A credential whose base64url text is already longer than any credential within
 * `options.limit` is not decoded: it comes back as zero bytes, one more than the limit, which the
 * store refuses (and audits) as too large. Throws ProtocolError for anything malformed.
 */
export function decodeRequest(value: unknown, options: DecodeRequestOptions = {}): CredRequest {
  if (!isObject(value)) throw bad('"request" must be an object');
  const action = value.action;
  const type = value.type;
  if (action !== "add" && action !== "delete" && action !== "query") {
    throw bad('"action" must be add, delete or query');
  }
  if (type !== "password" && type !== "kerberos" && type !== "oauth") {
    throw bad('"type" must be password, kerberos or oauth');
  }
  const user = optionalString(value, "user");
  let subject;
  if (type === "password") {
    subject = { type, pool: flag(value, "pool"), user } as const;
  } else if (type === "kerberos") {
    subject = { type, user } as const;
  } else {
    subject = {
      type,
      user,
      service: optionalString(value, "service"),
      handle: optionalString(value, "handle"),
      scopes: optionalString(value, "scopes"),
      audience: optionalString(value, "audience"),
      accessToken: flag(value, "accessToken"),
    } as const;
  }
  if (action === "add") {
    const encoded = value.credential;
    if (typeof encoded !== "string") throw bad('"credential" must be base64url');
    const limit = options.limit?.(type);
    if (limit !== undefined && encoded.length > 4 * Math.ceil(limit / 3)) {
      // Decoding it would take time and memory for nothing (a 2 MiB "password"); its encoded
      // length alone proves it is over the limit.
      return { ...subject, action, credential: new Uint8Array(limit + 1) };
    }
    const bytes = base64UrlDecode(encoded);
    if (bytes === null) throw bad('"credential" must be base64url');
    return { ...subject, action, credential: bytes };
  }
  if (action === "query") {
    const minTtl = value.minTtl;
    if (minTtl !== undefined && minTtl !== null) {
      if (typeof minTtl !== "number" || !Number.isSafeInteger(minTtl) || minTtl < 0) {
        throw bad('"minTtl" must be a whole number of seconds');
      }
    }
    return { ...subject, action, minTtl: (minTtl as number | null | undefined) ?? null };
  }
  return { ...subject, action };
}

const ERROR_CODES: readonly StoreErrorCode[] = [
  "not-found",
  "mismatch",
  "json-parse",
  "untrusted-host",
  "bad-password",
  "bad-args",
  "config",
  "not-allowed",
  "credmon-timeout",
  "insecure",
  "permission",
  "too-large",
  "empty",
  "locked",
  "input",
  "io",
  "unsupported",
  "expiring",
  "expiry-unknown",
  "unreachable",
  "not-secure",
];

/**
 * A reply as JSON for a remote caller: an error carries its code and plain message, never the
 * local remedy (which is for the daemon's operator).
 */
export function encodeReply(reply: Reply): Record<string, unknown> {
  const base = { warnings: reply.warnings, target: reply.target, caller: reply.caller };
  if (reply.ok) return { ...base, ok: true, outcome: reply.outcome };
  const { code, message, expires } = reply.error;
  return {
    ...base,
    ok: false,
    error: { code, message, ...(expires === undefined ? {} : { expires }) },
  };
}

function decodeTarget(value: unknown): Target | null {
  if (value === null || value === undefined) return null;
  if (!isObject(value)) throw bad("the reply's target is malformed");
  const { account, user, domain, pool } = value;
  if (
    typeof account !== "string" || typeof user !== "string" || typeof domain !== "string" ||
    typeof pool !== "boolean"
  ) throw bad("the reply's target is malformed");
  return { account, user, domain, pool };
}

/** Who the daemon served, as `user@domain`; null when the reply does not say. */
function decodeCaller(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length > 1024) {
    throw bad("the reply's caller is malformed");
  }
  return value;
}

/** A reply's error: a known code, a message, and for `expiring` the token's `exp`. */
function decodeError(error: unknown): StoreError {
  if (
    !isObject(error) || typeof error.message !== "string" ||
    !ERROR_CODES.includes(error.code as StoreErrorCode) ||
    !(error.expires === undefined || Number.isSafeInteger(error.expires))
  ) throw bad("the reply's error is malformed");
  const expires = error.expires as number | undefined;
  return new StoreError(
    error.code as StoreErrorCode,
    error.message,
    expires === undefined ? {} : { expires },
  );
}

function decodeOutcome(value: unknown): Outcome {
  if (!isObject(value) || (value.status !== "success" && value.status !== "pending")) {
    throw bad("the reply's outcome is malformed");
  }
  const number = (key: string) => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) throw bad(`the reply's ${key} is malformed`);
    return v;
  };
  const ad: Record<string, string | number> = {};
  if (value.ad !== undefined) {
    if (!isObject(value.ad)) throw bad("the reply's ad is malformed");
    for (const [k, v] of Object.entries(value.ad)) {
      if (typeof v !== "string" && typeof v !== "number") throw bad("the reply's ad is malformed");
      setAttribute(ad, k, v);
    }
  }
  const changed = value.changed;
  if (changed !== undefined && typeof changed !== "boolean") throw bad("malformed changed");
  return {
    status: value.status,
    ...(number("time") === undefined ? {} : { time: number("time") }),
    ...(value.ad === undefined ? {} : { ad }),
    ...(changed === undefined ? {} : { changed }),
    ...(number("expires") === undefined ? {} : { expires: number("expires") }),
  };
}

/** Reads a reply from a daemon, checking every field. Throws ProtocolError. */
export function decodeReply(value: unknown): Reply {
  if (!isObject(value)) throw bad("the reply is not an object");
  const warnings = value.warnings;
  if (!Array.isArray(warnings) || !warnings.every((w) => typeof w === "string")) {
    throw bad("the reply's warnings are malformed");
  }
  const target = decodeTarget(value.target);
  const caller = decodeCaller(value.caller);
  if (value.ok === true) {
    return { ok: true, outcome: decodeOutcome(value.outcome), warnings, target, caller };
  }
  return {
    ok: false,
    error: decodeError(value.error),
    warnings,
    target,
    caller,
  };
}

/** A challenge the daemon issues: a path in the challenge directory, valid once, briefly. */
export interface Challenge {
  readonly id: string;
  readonly path: string;
  readonly nonce: string;
  /** Unix milliseconds after which it is refused. */
  readonly expires: number;
}

/** Reads a challenge sent by the daemon. Throws ProtocolError. */
export function decodeChallenge(value: unknown): Challenge {
  if (!isObject(value)) throw bad("the challenge is not an object");
  const { id, path, nonce, expires } = value;
  if (
    typeof id !== "string" || !/^[0-9a-f]{32}$/.test(id) || typeof path !== "string" ||
    typeof nonce !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(nonce) ||
    typeof expires !== "number"
  ) throw bad("the challenge is malformed");
  return { id, path, nonce, expires };
}

/** Reads a listing request sent by a client. Throws ProtocolError. */
export function decodeListRequest(value: unknown): ListRequest {
  if (!isObject(value)) throw bad('"list" must be an object');
  const type = value.type ?? null;
  if (type !== null && type !== "password" && type !== "kerberos" && type !== "oauth") {
    throw bad('"type" must be password, kerberos, oauth or null');
  }
  return { action: "list", type: type as CredType | null, user: optionalString(value, "user") };
}

/** A listing reply as JSON (rows hold no secret bytes by construction). */
export function encodeListReply(reply: ListReply): Record<string, unknown> {
  const base = { warnings: reply.warnings, user: reply.user, caller: reply.caller };
  if (reply.ok) return { ...base, ok: true, rows: reply.rows };
  return { ...base, ok: false, error: { code: reply.error.code, message: reply.error.message } };
}

/** Reads a listing reply from a daemon. Throws ProtocolError. */
export function decodeListReply(value: unknown): ListReply {
  if (!isObject(value)) throw bad("the reply is not an object");
  const warnings = value.warnings;
  if (!Array.isArray(warnings) || !warnings.every((w) => typeof w === "string")) {
    throw bad("the reply's warnings are malformed");
  }
  const user = typeof value.user === "string" ? value.user : null;
  const caller = decodeCaller(value.caller);
  if (value.ok === true) {
    if (!Array.isArray(value.rows) || !value.rows.every((r) => isObject(r) && isObject(r.files))) {
      throw bad("the reply's rows are malformed");
    }
    return { ok: true, rows: value.rows as CredentialRow[], warnings, user, caller };
  }
  return {
    ok: false,
    error: decodeError(value.error),
    warnings,
    user,
    caller,
  };
}

/** Who the daemon takes the caller to be (`POST /v1/whoami`). */
export interface Whoami {
  /** `user@domain`. */
  readonly account: string;
  readonly user: string;
  readonly domain: string;
  /** The caller's uid on the daemon's host (the socket), or null (a token). */
  readonly uid: number | null;
  readonly transport: "unix" | "tls";
  /** Until when the caller's token is valid (`exp`, Unix seconds); null: the socket, or no exp. */
  readonly expires: number | null;
}

/** A proven caller as JSON. */
export function encodeWhoami(identity: {
  readonly caller: Caller;
  readonly account: string;
  readonly expires: number | null;
  readonly transport: "unix" | "tls";
}): Record<string, unknown> {
  return {
    account: identity.account,
    user: identity.caller.name,
    domain: identity.caller.domain,
    uid: identity.caller.uid,
    transport: identity.transport,
    expires: identity.expires,
  } satisfies Whoami;
}

/** Reads a whoami answer from a daemon, checking every field. Throws ProtocolError. */
export function decodeWhoami(value: unknown): Whoami {
  if (!isObject(value)) throw bad("the whoami answer is not an object");
  const { account, user, domain, uid, transport, expires } = value;
  const whole = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v);
  if (
    typeof account !== "string" || typeof user !== "string" || typeof domain !== "string" ||
    account !== `${user}@${domain}` || !(uid === null || (whole(uid) && (uid as number) >= 0)) ||
    (transport !== "unix" && transport !== "tls") || !(expires === null || whole(expires))
  ) throw bad("the whoami answer is malformed");
  return {
    account,
    user,
    domain,
    uid: uid as number | null,
    transport,
    expires: expires as number | null,
  };
}

/**
 * A store message without the paths of the daemon's host in it, for a remote caller
 * (docs/protocol.md "Errors"): every absolute path, quoted or not, becomes `<path on the daemon>`.
 */
export function hidePaths(message: string): string {
  return message
    .replace(/"\/(?:[^"\\]|\\.)*"|'\/[^']*'/g, "<path on the daemon>")
    .replace(/(^|[\s(=])\/[^\s"',;)]+/g, "$1<path on the daemon>");
}
