/**
 * The daemon's remote side (README "Remote daemons"): a TLS listener at CREDD_TLS_ADDRESS with
 * the certificate and key of AUTH_SSL_SERVER_CERTFILE/KEYFILE, callers identified by IDTOKENS
 * signed with this pool's keys, and failed authentications rate-limited per source address.
 * There is no plain-TCP listener and no fallback.
 *
 * Permissions: --allow-net (the listener), --allow-read (certificate, key, signing keys).
 */

import type { Config } from "../config/mod.ts";
import { TokenError, verifyToken } from "../auth/idtoken.ts";
import { readSigningKey } from "../auth/keys.ts";
import { quote, StoreError } from "../errors.ts";
import type { Caller } from "../request.ts";
import { trustedOwners } from "../store/context.ts";
import { ProtocolError } from "./protocol.ts";
import type { Authenticator } from "./server.ts";

/** The default port of the daemon's TLS listener. */
export const DEFAULT_TLS_PORT = 9620;

/** Parses `host:port`, `:port`, `[v6]:port` or `host`. Null for anything else. */
export function parseAddress(
  value: string,
  defaultPort = DEFAULT_TLS_PORT,
): { hostname: string; port: number } | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*))(?::(\d{1,5}))?$/.exec(value.trim());
  if (!match) return null;
  const hostname = match[1] ?? match[2] ?? "";
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (port > 65535) return null;
  return { hostname, port };
}

/** CREDD_TLS_ADDRESS, or null when the daemon listens on the Unix socket only. */
export function tlsAddress(config: Config): { hostname: string; port: number } | null {
  const value = config.get("CREDD_TLS_ADDRESS");
  if (value === undefined) return null;
  const address = parseAddress(value);
  if (address === null) {
    throw new StoreError(
      "config",
      `CREDD_TLS_ADDRESS is ${quote(value)}; it must be host:port, :port or host`,
    );
  }
  return { hostname: address.hostname || "0.0.0.0", port: address.port };
}

function readPem(path: string, what: string, key: boolean): string {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    throw new StoreError(
      "config",
      `the TLS ${what} ${quote(path)} cannot be read: ${(error as Error).message}`,
    );
  }
  if (!info.isFile) throw new StoreError("config", `the TLS ${what} ${quote(path)} is not a file`);
  if (key && (info.mode! & 0o004) !== 0) {
    throw new StoreError(
      "insecure",
      `the TLS private key ${quote(path)} is readable by every user (mode 0${
        (info.mode! & 0o777).toString(8)
      })`,
      { remedy: `run "chmod o-r ${path}"` },
    );
  }
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new StoreError(
      "config",
      `the TLS ${what} ${quote(path)} cannot be read: ${(error as Error).message}`,
    );
  }
}

/**
 * The server's certificate and key (AUTH_SSL_SERVER_CERTFILE and AUTH_SSL_SERVER_KEYFILE, lists
 * walked in parallel; the last pair that both exist wins, as upstream). Throws StoreError when
 * there is none, or the key may be read by every user.
 */
export function serverCertificate(config: Config): { cert: string; key: string } {
  const certs = (config.get("AUTH_SSL_SERVER_CERTFILE") ?? "").split(",").map((s) => s.trim());
  const keys = (config.get("AUTH_SSL_SERVER_KEYFILE") ?? "").split(",").map((s) => s.trim());
  const exists = (p: string) => {
    try {
      return p !== "" && Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  };
  let chosen: [string, string] | null = null;
  for (let i = 0; i < Math.min(certs.length, keys.length); i++) {
    if (exists(certs[i]) && exists(keys[i])) chosen = [certs[i], keys[i]];
  }
  if (chosen === null) {
    throw new StoreError(
      "config",
      "CREDD_TLS_ADDRESS is set, but AUTH_SSL_SERVER_CERTFILE and AUTH_SSL_SERVER_KEYFILE name " +
        "no certificate and key that exist",
      { remedy: "set both to PEM files (the key readable by root only)" },
    );
  }
  return {
    cert: readPem(chosen[0], "certificate", false),
    key: readPem(chosen[1], "private key", true),
  };
}

/** Failed authentications per source address, in a sliding window. */
export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(readonly limit = 10, readonly windowMs = 60_000, readonly maxAddresses = 10_000) {}

  #recent(address: string, now: number): number[] {
    const times = (this.#failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
    if (times.length === 0) this.#failures.delete(address);
    else this.#failures.set(address, times);
    return times;
  }

  /** True when `address` may try to authenticate now. */
  allowed(address: string, now = Date.now()): boolean {
    if (this.limit <= 0) return true; // CREDD_AUTH_FAILURE_LIMIT = 0: no limit.
    return this.#recent(address, now).length < this.limit;
  }

  /** Records a failed authentication from `address`. */
  failed(address: string, now = Date.now()): void {
    if (this.limit <= 0) return;
    if (!this.#failures.has(address) && this.#failures.size >= this.maxAddresses) {
      // Forget the oldest address: memory stays bounded whatever the number of sources.
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    this.#failures.set(address, [...this.#recent(address, now), now]);
  }
}

/** The TLS listener's authenticator: `Authorization: Bearer <IDTOKEN>`. */
export function tokenAuthenticator(config: Config, euid: number): Authenticator {
  const limiter = new FailureLimiter(config.getInt("CREDD_AUTH_FAILURE_LIMIT", 10));
  const trustDomain = config.get("TRUST_DOMAIN") ?? "";
  const maxAge = config.get("SEC_TOKEN_MAX_AGE") === undefined
    ? null
    : config.getInt("SEC_TOKEN_MAX_AGE", 0);
  return {
    transport: "tls",
    challenges: null,
    async authenticate(request, _body, peer): Promise<Caller> {
      if (!limiter.allowed(peer)) {
        throw new ProtocolError(
          429,
          "not-secure",
          "too many failed authentications from this address; wait a minute",
        );
      }
      const header = request.headers.get("authorization") ?? "";
      const match = /^Bearer ([A-Za-z0-9_.-]{1,8192})$/.exec(header);
      if (!match) {
        limiter.failed(peer);
        throw new ProtocolError(
          401,
          "not-secure",
          "the request carries no IDTOKEN (Authorization: Bearer)",
        );
      }
      const owners = trustedOwners(config, { euid });
      try {
        const verified = await verifyToken(match[1], {
          keyMaterial: (kid) => readSigningKey(config, owners, kid),
          trustDomain,
          now: Math.floor(Date.now() / 1000),
          maxAge,
        });
        return { uid: null, name: verified.user, domain: verified.domain, inProcess: false };
      } catch (error) {
        limiter.failed(peer);
        if (error instanceof TokenError) {
          throw new ProtocolError(401, "not-secure", `the IDTOKEN was refused: ${error.message}`);
        }
        if (error instanceof StoreError) {
          throw new ProtocolError(401, "not-secure", `the IDTOKEN was refused: ${error.message}`);
        }
        throw error;
      }
    },
  };
}

/** Starts the TLS listener. Throws StoreError when it cannot. */
export function listenTls(
  config: Config,
  address: { hostname: string; port: number },
): Deno.TlsListener {
  const { cert, key } = serverCertificate(config);
  try {
    return Deno.listenTls({ hostname: address.hostname, port: address.port, cert, key });
  } catch (error) {
    throw new StoreError(
      "config",
      `cannot listen for TLS on ${address.hostname}:${address.port}: ${(error as Error).message}`,
    );
  }
}
