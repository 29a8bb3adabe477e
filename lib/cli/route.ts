/**
 * Where a request goes (README "Usage"): `-n` and CREDD_HOST name a remote daemon, reached over
 * TLS; else in-process when this user may write the store (root, or the owner of a personal or
 * configured spool); otherwise the local daemon's Unix socket when one is there. When nothing can
 * serve the request, one message names the store that could not be written and the socket tried.
 */

import type { Config } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import { dirname } from "../fs/paths.ts";
import type { CredType } from "../request.ts";

// The daemon's modules are imported only on the routes that use them, so that an in-process
// run never loads them (README "Architecture").

/** Where a request is performed. */
export type Route =
  | { readonly kind: "local" }
  | { readonly kind: "socket"; readonly socket: string; readonly challengeDir: string }
  | {
    readonly kind: "remote";
    readonly host: string;
    readonly port: number;
    readonly shown: string;
  };

/**
 * A daemon's address from `-n` or CREDD_HOST: `host`, `host:port`, `[v6]:port`, upstream's
 * `name@host[:port]` and sinful `<host:port?params>` forms (the name and parameters are dropped,
 * as upstream drops them). Null when it is none of these.
 */
export async function daemonAddress(
  value: string,
): Promise<{ host: string; port: number } | null> {
  const { parseAddress } = await import("../daemon/places.ts");
  let text = value.trim();
  if (text.startsWith("<") && text.endsWith(">")) text = text.slice(1, -1).replace(/\?.*$/, "");
  text = text.slice(text.lastIndexOf("@") + 1);
  const address = parseAddress(text);
  if (address === null || address.hostname === "" || !/^[A-Za-z0-9.:-]+$/.test(address.hostname)) {
    return null;
  }
  return { host: address.hostname, port: address.port };
}

/** Where a remote daemon was named: `-n`, and `--token-file` with it. */
export interface RouteOptions {
  readonly name: string | null;
  readonly tokenFile: string | null;
}

/** What routing needs to know of a request. */
export interface RouteSubject {
  readonly type: CredType;
  readonly pool?: boolean;
  readonly user: string | null;
}

/** The store directory a request of this type uses, or null when its knob is unset. */
function storePathOf(config: Config, draft: RouteSubject): string | null {
  if (draft.type === "password") {
    const pool = draft.pool || draft.user?.startsWith("condor_pool@");
    const path = config.get(pool ? "SEC_PASSWORD_FILE" : "SEC_CREDENTIAL_DIRECTORY_PWD");
    return path === undefined ? null : pool ? dirname(path) : path;
  }
  return config.get(
    draft.type === "kerberos" ? "SEC_CREDENTIAL_DIRECTORY_KRB" : "SEC_CREDENTIAL_DIRECTORY_OAUTH",
  ) ?? null;
}

/** The store directory, or its nearest existing ancestor, with its owner. */
function nearestExisting(path: string): { path: string; uid: number } | null {
  for (let p = path;; p = dirname(p)) {
    try {
      const info = Deno.statSync(p);
      return { path: p, uid: info.uid! };
    } catch {
      if (p === "/" || !p.startsWith("/")) return null;
    }
  }
}

/**
 * Chooses the route of a request: `-n` (every type) and CREDD_HOST (all but the pool password)
 * name a remote daemon; else in-process when this user may write the store; else the local
 * socket. Throws StoreError("bad-args") for a malformed daemon name and ("unreachable") when this
 * user may not write the store and no daemon socket is there.
 */
export async function chooseRoute(
  command: RouteOptions,
  config: Config,
  draft: RouteSubject,
  euid: number,
): Promise<Route> {
  const credd = config.get("CREDD_HOST");
  const pool = draft.type === "password" && (draft.pool || draft.user?.startsWith("condor_pool@"));
  const named = command.name ?? (credd !== undefined && !pool ? credd : null);
  if (named !== null) {
    const address = await daemonAddress(named);
    if (address === null) {
      // (-n was checked before the header, with upstream's message.)
      throw new StoreError(
        "config",
        `CREDD_HOST is ${
          quote(named)
        }; it must be host or host:port (the daemon's CREDD_TLS_ADDRESS)`,
      );
    }
    return { kind: "remote", ...address, shown: `${address.host}:${address.port}` };
  }
  if (command.tokenFile !== null) {
    throw new StoreError(
      "bad-args",
      "--token-file applies only to a remote daemon (named with -n or CREDD_HOST)",
    );
  }
  if (euid === 0 || config.personalSpool !== null) return { kind: "local" };
  const store = storePathOf(config, draft);
  // An unset directory is reported by the in-process path, with the knob that sets it.
  if (store === null || !store.startsWith("/")) return { kind: "local" };
  const existing = nearestExisting(store);
  if (existing === null || existing.uid === euid) return { kind: "local" };
  const { challengeDirectory, isSocket, socketPath } = await import("../daemon/places.ts");
  const socket = socketPath(config);
  if (isSocket(socket)) return { kind: "socket", socket, challengeDir: challengeDirectory(config) };
  throw new StoreError(
    "unreachable",
    `you may not write the credential store ${quote(store)} (${quote(existing.path)} belongs to ` +
      `uid ${existing.uid}), and no condor_store_cred daemon listens on ${quote(socket)}`,
    {
      remedy: "ask an administrator to start it (systemctl start condor_store_cred), or point " +
        "CONDOR_CONFIG at a configuration whose credential directories you own",
    },
  );
}
