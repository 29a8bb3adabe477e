/**
 * Where a request goes (README "Usage", SPEC's three ways): in-process when this user may write
 * the store (root, or the owner of a personal or configured spool); otherwise the local daemon's
 * Unix socket when one is there; `-n` and CREDD_HOST name a remote daemon. When nothing can
 * serve the request, one message names the store that could not be written and the socket tried.
 */

import type { Config } from "../config/mod.ts";
import { challengeDirectory, socketPath } from "../daemon/server.ts";
import { isSocket } from "../daemon/client.ts";
import { quote, StoreError } from "../errors.ts";
import { dirname } from "../fs/paths.ts";
import type { RequestDraft } from "../request.ts";
import type { CommandLine } from "./parse.ts";

/** Where a request is performed. */
export type Route =
  | { readonly kind: "local" }
  | { readonly kind: "socket"; readonly socket: string; readonly challengeDir: string };

/** The store directory a request of this type uses, or null when its knob is unset. */
function storePathOf(config: Config, draft: RequestDraft): string | null {
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
 * Chooses the route of a request. Throws StoreError("unsupported") for `-n`/CREDD_HOST (remote
 * daemons are not reachable from this version) and StoreError("unreachable") when this user may
 * not write the store and no daemon socket is there.
 */
export function chooseRoute(
  command: CommandLine,
  config: Config,
  draft: RequestDraft,
  euid: number,
): Route {
  if (command.name !== null) {
    throw new StoreError(
      "unsupported",
      `-n ${command.name} needs a remote condor_store_cred daemon, which this version cannot reach`,
      { remedy: "run the command on that machine instead" },
    );
  }
  const credd = config.get("CREDD_HOST");
  const pool = draft.type === "password" && (draft.pool || draft.user?.startsWith("condor_pool@"));
  if (credd !== undefined && draft.type !== "password" && !pool) {
    throw new StoreError(
      "unsupported",
      `CREDD_HOST is set to ${credd}, but this version cannot reach a remote credd`,
      { remedy: "unset CREDD_HOST to store the credential on this machine" },
    );
  }
  if (euid === 0 || config.personalSpool !== null) return { kind: "local" };
  const store = storePathOf(config, draft);
  // An unset directory is reported by the in-process path, with the knob that sets it.
  if (store === null || !store.startsWith("/")) return { kind: "local" };
  const existing = nearestExisting(store);
  if (existing === null || existing.uid === euid) return { kind: "local" };
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
