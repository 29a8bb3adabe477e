/**
 * Where a request goes (README "Usage"): `-n` and CREDD_HOST name a remote daemon, reached over
 * TLS; else in-process when this user may write the store (root, or the owner of a personal or
 * configured spool); otherwise the local daemon's Unix socket when one is there. When nothing can
 * serve the request, one message names the store that could not be written and the socket tried.
 */

import { type Config, PACKAGED_SOCKET } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import { dirname } from "../fs/paths.ts";
import type { CredType } from "../request.ts";

// The daemon's modules are imported only on the routes that use them, so that an in-process
// run never loads them (README "Architecture").

/** Where a request is performed. */
export type Route =
  /**
   * In this process; `personal` names the store directory when it is the personal spool of a
   * caller with no HTCondor configuration (which no HTCondor daemon reads).
   */
  | { readonly kind: "local"; readonly personal: string | null }
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

/** True when `path` is `dir` or inside it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir.replace(/\/+$/, "")}/`);
}

/**
 * The socket of the daemon that serves a store other than the personal spool: CREDD_SOCKET; or,
 * while that knob still has the personal spool's embedded value (a non-root caller with no
 * configuration file), the packaged node's socket, where that store's daemon listens (SPEC §4).
 */
function daemonSocket(config: Config, socketPath: (config: Config) => string): string {
  // Only the personal spool's embedded default sets CREDD_SOCKET (lib/config/defaults.ts); its
  // value is not read, so a caller without a home directory gets here too.
  if (config.origin("CREDD_SOCKET") === "embedded default") return PACKAGED_SOCKET;
  return socketPath(config);
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
 * The remote daemon a request goes to: `-n` (every type), else CREDD_HOST (all but the pool
 * password); null when neither names one.
 */
export function namedDaemon(
  command: RouteOptions,
  config: Config,
  draft: RouteSubject,
): string | null {
  const credd = config.get("CREDD_HOST");
  const pool = draft.type === "password" && (draft.pool || draft.user?.startsWith("condor_pool@"));
  return command.name ?? (credd !== undefined && !pool ? credd : null);
}

/**
 * The remote daemon's route when `-n` or CREDD_HOST names one, else null. Throws
 * StoreError("config") for a malformed CREDD_HOST and ("bad-args") for `--token-file` without a
 * remote daemon.
 */
async function remoteRoute(
  command: RouteOptions,
  config: Config,
  draft: RouteSubject,
): Promise<Route | null> {
  const named = namedDaemon(command, config, draft);
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
  return null;
}

/**
 * The route to a daemon whatever the store (`whoami`): the remote one `-n` or CREDD_HOST names,
 * else the local daemon's socket, for root too. Throws StoreError ("unreachable") when no socket
 * is there, and as `remoteRoute`.
 */
export async function daemonRoute(command: RouteOptions, config: Config): Promise<Route> {
  const remote = await remoteRoute(command, config, { type: "oauth", user: null });
  if (remote !== null) return remote;
  const { challengeDirectory, isSocket, socketPath } = await import("../daemon/places.ts");
  const socket = daemonSocket(config, socketPath);
  if (isSocket(socket)) return { kind: "socket", socket, challengeDir: challengeDirectory(config) };
  throw new StoreError("unreachable", `no condor_store_cred daemon listens on ${quote(socket)}`, {
    remedy: "start it (systemctl start condor_store_cred), check that CREDD_SOCKET is the " +
      "daemon's, or name a remote daemon with -n",
  });
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
  const remote = await remoteRoute(command, config, draft);
  if (remote !== null) return remote;
  const local = { kind: "local", personal: null } as const;
  if (euid === 0) return local;
  // The store the request will use decides, whatever the configuration's source (SPEC §4): a
  // knob that still has the personal spool's value is read here, and fails without a home.
  const store = storePathOf(config, draft);
  // An unset directory is reported by the in-process path, with the knob that sets it.
  if (store === null || !store.startsWith("/")) return local;
  const spool = config.personalSpool;
  if (spool !== null && within(store, spool)) return { kind: "local", personal: store };
  const existing = nearestExisting(store);
  if (existing === null || existing.uid === euid) return local;
  const { challengeDirectory, isSocket, socketPath } = await import("../daemon/places.ts");
  const socket = daemonSocket(config, socketPath);
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
