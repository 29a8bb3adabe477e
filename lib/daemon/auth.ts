/**
 * Who is calling (docs/daemon.md "How the daemon knows who is calling", "What the daemon checks in
 * a token"): on the Unix socket, the file-ownership challenge of lib/daemon/challenge.ts; over TLS,
 * an IDTOKEN. Each connection keeps what it proved (a session), so that a keep-alive connection
 * pays for its proof once; a token is checked again only when it changes, after a minute, or once
 * it expires.
 *
 * A proof may come in a request's head (`Authorization`), which lets the daemon know the caller
 * before it reads the body, or, on the socket, in the body's `challenge` field (docs/protocol.md
 * "Proving identity").
 *
 * Failed token verifications are limited per token (its signed part: a peer cannot spend the
 * failures of a token it does not hold), and in total: once the daemon has seen too many failures
 * in a minute, only tokens verified in that minute are verified again (FailureLimiter).
 *
 * Permissions: --allow-read (the passwd file, the challenge directory, the signing keys).
 */

import { AccountDb } from "../accounts.ts";
import { TokenError, verifyToken } from "../auth/idtoken.ts";
import { readSigningKey } from "../auth/keys.ts";
import type { Config } from "../config/mod.ts";
import { constantTimeEqual } from "../crypto/equal.ts";
import { StoreError } from "../errors.ts";
import type { Owners } from "../fs/owners.ts";
import { isObject } from "../jwt.ts";
import { type Caller, callerAccount } from "../request.ts";
import { Challenges } from "./challenge.ts";
import { ProtocolError } from "./protocol.ts";

/** The two ways in. */
export type Transport = "unix" | "tls";

/** A proven caller. */
export interface Identity {
  readonly caller: Caller;
  /** The account the caller's share of the daemon is counted under (`user@domain`). */
  readonly account: string;
  /** Root on the socket: held to the daemon's caps only, not to a caller's. */
  readonly exempt: boolean;
  /** A token's `exp` (Unix seconds), or null (the socket, or a token that does not expire). */
  readonly expires: number | null;
}

/** What one connection keeps between its requests. */
export interface Session {
  /** The peer's address (TLS), or "local". */
  readonly peer: string;
  /** Challenges issued on this connection and not yet answered (the socket). */
  readonly challenges: Set<string>;
  /** The token this connection proved with, and until when that proof is kept (TLS). */
  token: { readonly text: string; readonly identity: Identity; readonly until: number } | null;
}

/** How the daemon proves the caller of a request on one listener. */
export interface Authenticator {
  readonly transport: Transport;
  /** The challenge table (the socket), or null. */
  readonly challenges: Challenges | null;
  /** The proof in a request's head, or null when it carries none. Throws ProtocolError. */
  fromHead(headers: ReadonlyMap<string, string>, session: Session): Promise<Identity | null>;
  /** The proof in a request's body, or null when it carries none. Throws ProtocolError. */
  fromBody(body: Record<string, unknown>, session: Session): Identity | null;
  /** The refusal of a request that needs a caller and has none. */
  missing(): ProtocolError;
}

function refuse(message: string, detail?: string): ProtocolError {
  return new ProtocolError(401, "not-secure", message, detail);
}

/** The caller behind a uid, from the passwd file, with this node's UID_DOMAIN. */
export function localCaller(config: Config, uid: number): Caller {
  const name = new AccountDb().byUid(uid)?.name;
  if (name === undefined) throw refuse(`uid ${uid} has no name in the passwd file`);
  return { uid, name, domain: config.get("UID_DOMAIN") ?? "", inProcess: false };
}

function identityOf(caller: Caller, expires: number | null): Identity {
  return { caller, account: callerAccount(caller), exempt: caller.uid === 0, expires };
}

/** `Authorization: Challenge <id> <nonce>`: a challenge answer in the head (the socket). */
const CHALLENGE_HEADER = /^Challenge ([0-9a-f]{32}) ([A-Za-z0-9_-]{43})$/;

/** The Unix socket's authenticator: the file-ownership challenge. */
export function socketAuthenticator(config: Config, challenges: Challenges): Authenticator {
  const prove = (id: unknown, nonce: unknown, session: Session) => {
    // A challenge the request names is no longer this connection's to answer, whatever follows.
    if (typeof id === "string") session.challenges.delete(id);
    return identityOf(localCaller(config, challenges.verify(id, nonce)), null);
  };
  return {
    transport: "unix",
    challenges,
    fromHead(headers, session) {
      // Another kind of Authorization (a token) is not a proof here, and is ignored.
      const match = CHALLENGE_HEADER.exec(headers.get("authorization") ?? "");
      return Promise.resolve(match === null ? null : prove(match[1], match[2], session));
    },
    fromBody(body, session) {
      if (body.challenge === undefined) return null;
      const answer = isObject(body.challenge) ? body.challenge : {};
      return prove(answer.id, answer.nonce, session);
    },
    missing: () => refuse("the request carries no identity challenge"),
  };
}

/** Options of FailureLimiter. */
export interface FailureLimits {
  /** Failures of one token per window before it is refused unverified; 0: no limit. */
  readonly perToken: number;
  /** Failures in all per window before unknown tokens are refused unverified; 0: no limit. */
  readonly total: number;
  readonly windowMs: number;
  /** Tokens remembered (failed or verified); the oldest are forgotten beyond it. */
  readonly maxKeys: number;
}

/**
 * Failed token verifications in a sliding window, keyed by token (`tokenKey`), and in total. A
 * token is refused without being verified when it failed `perToken` times in the window, or when
 * the daemon saw `total` failures in the window and this token was not verified in it. So a
 * valid token is never refused for failures of tokens other than its own from the same address
 * (or any address), unless the whole daemon is being flooded and the token is new; rotating
 * addresses changes nothing, since no key holds an address.
 */
export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #verified = new Map<string, number>();
  #all: number[] = [];

  constructor(readonly limits: FailureLimits) {}

  #recent(times: number[], now: number): number[] {
    let i = 0;
    while (i < times.length && now - times[i] >= this.limits.windowMs) i++;
    return i === 0 ? times : times.slice(i);
  }

  #remember<T>(map: Map<string, T>, key: string, value: T): void {
    map.delete(key);
    if (map.size >= this.limits.maxKeys) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(key, value);
  }

  /** Whether the token `key` may be verified now; else which limit refuses it. */
  check(key: string, now: number = Date.now()): "ok" | "token" | "total" {
    if (this.limits.perToken > 0) {
      const times = this.#recent(this.#failures.get(key) ?? [], now);
      if (times.length === 0) this.#failures.delete(key);
      else this.#failures.set(key, times);
      if (times.length >= this.limits.perToken) return "token";
    }
    if (this.limits.total > 0) {
      this.#all = this.#recent(this.#all, now);
      const known = now - (this.#verified.get(key) ?? -Infinity) < this.limits.windowMs;
      if (this.#all.length >= this.limits.total && !known) return "total";
    }
    return "ok";
  }

  /** Records a failed verification of token `key`. */
  failed(key: string, now: number = Date.now()): void {
    if (this.limits.perToken > 0) {
      this.#remember(this.#failures, key, [
        ...this.#recent(this.#failures.get(key) ?? [], now),
        now,
      ]);
    }
    if (this.limits.total > 0) this.#all.push(now);
  }

  /** Records a successful verification of token `key`. */
  verified(key: string, now: number = Date.now()): void {
    if (this.limits.total > 0) this.#remember(this.#verified, key, now);
  }
}

/**
 * The key a token's failures are counted under: a digest of its signed part (header and claims),
 * so that a wrong signature on someone's claims counts against those claims, while a peer who
 * does not hold a token cannot make it fail.
 */
export async function tokenKey(token: string): Promise<string> {
  const signed = token.slice(0, Math.max(0, token.lastIndexOf(".")));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(signed || token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** How long a connection keeps a verified token without verifying it again. */
const TOKEN_KEPT_MS = 60_000;

/** What a peer is told when the signing key is missing, unusable, or does not match (item 8). */
const KEY_REFUSAL = "unknown or unusable signing key (or a signature that does not match it)";

/** Options of `tokenAuthenticator`. */
export interface TokenAuthOptions {
  /** The trusted owners of the signing keys' files, for each verification. */
  readonly owners: () => Owners;
  /** The daemon's failed verifications so far. */
  readonly limiter: FailureLimiter;
}

/** The TLS listener's authenticator: `Authorization: Bearer <IDTOKEN>`. */
export function tokenAuthenticator(
  config: Config,
  { owners, limiter }: TokenAuthOptions,
): Authenticator {
  const trustDomain = config.get("TRUST_DOMAIN") ?? "";
  const maxAge = config.get("SEC_TOKEN_MAX_AGE") === undefined
    ? null
    : config.getInt("SEC_TOKEN_MAX_AGE", 0);
  const missing = () => refuse("the request carries no IDTOKEN (Authorization: Bearer)");
  const verify = async (token: string): Promise<Identity> => {
    const key = await tokenKey(token);
    const limited = limiter.check(key);
    if (limited !== "ok") {
      throw new ProtocolError(
        429,
        "not-secure",
        limited === "token"
          ? "this IDTOKEN failed verification too often in the last minute; wait a minute"
          : "too many failed authentications at this daemon in the last minute; retry later",
      );
    }
    try {
      const verified = await verifyToken(token, {
        keyMaterial: (kid) => readSigningKey(config, owners(), kid),
        trustDomain,
        now: Math.floor(Date.now() / 1000),
        maxAge,
      });
      limiter.verified(key);
      const caller = { uid: null, name: verified.user, domain: verified.domain, inProcess: false };
      return identityOf(caller, verified.expires);
    } catch (error) {
      if (!(error instanceof TokenError) && !(error instanceof StoreError)) throw error;
      limiter.failed(key);
      // Whether a key exists, where it is and what is wrong with it is for the daemon's log only.
      const hidden = error instanceof StoreError || error.reason === "no-key" ||
        error.reason === "signature";
      throw refuse(
        `the IDTOKEN was refused: ${hidden ? KEY_REFUSAL : error.message}`,
        `the IDTOKEN was refused: ${error.message}`,
      );
    }
  };
  return {
    transport: "tls",
    challenges: null,
    async fromHead(headers, session) {
      const header = headers.get("authorization");
      if (header === undefined) return null;
      const match = /^Bearer ([A-Za-z0-9_.-]{1,8192})$/.exec(header);
      if (!match) throw missing();
      const token = match[1];
      const kept = session.token;
      const now = Date.now();
      if (kept !== null && now < kept.until && constantTimeEqual(kept.text, token)) {
        return kept.identity;
      }
      session.token = null;
      const identity = await verify(token);
      const expires = identity.expires === null ? Infinity : identity.expires * 1000;
      session.token = { text: token, identity, until: Math.min(now + TOKEN_KEPT_MS, expires) };
      return identity;
    },
    fromBody(body) {
      // A challenge is not a proof over TLS: without a token, the request is refused.
      if (body.challenge !== undefined) throw missing();
      return null;
    },
    missing,
  };
}
