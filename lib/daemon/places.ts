/**
 * Where the daemon is (docs/daemon.md "Knobs"): its socket and challenge directory, and its TLS
 * address, as the configuration names them. Shared by `serve` and by the command line's routing,
 * which needs nothing else of the daemon's code. Reads no file except `isSocket`'s stat.
 */

import type { Config } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";

/** The default port of the daemon's TLS listener. */
export const DEFAULT_TLS_PORT = 9620;

/** The socket path the configuration names (CREDD_SOCKET). Throws StoreError("config"). */
export function socketPath(config: Config): string {
  const path = config.get("CREDD_SOCKET");
  if (path === undefined || !path.startsWith("/")) {
    throw new StoreError(
      "config",
      `CREDD_SOCKET is ${
        path === undefined ? "not set" : quote(path)
      }; it must be an absolute path`,
    );
  }
  return path;
}

/** The challenge directory the configuration names (CREDD_CHALLENGE_DIRECTORY, default /tmp). */
export function challengeDirectory(config: Config): string {
  return config.get("CREDD_CHALLENGE_DIRECTORY") ?? "/tmp";
}

/** True when `path` is a socket (a daemon may be listening there). */
export function isSocket(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch {
    return false;
  }
}

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
