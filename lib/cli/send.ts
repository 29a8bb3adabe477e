/**
 * Route, then send: the one way the credential actions and `list` reach the store. In-process
 * (the store service, on this thread), or through the local daemon's socket, or a remote daemon
 * over TLS with the caller's IDTOKEN (README "Remote daemons"). The daemon client and the token
 * code are loaded only for the routes that use them.
 */

import type { DaemonCall } from "../daemon/client.ts";
import type { Route } from "./route.ts";
import type { Session } from "./session.ts";

/** The daemon client module, handed to the caller to build its call. */
export type Client = typeof import("../daemon/client.ts");

/** Options of `send`. */
export interface SendOptions<T> {
  /** The call for a daemon (`storeCall(request)`, `listCall(request)`). */
  readonly call: (client: Client) => DaemonCall<T>;
  /**
   * The same request performed in this process; absent for what only a daemon answers (whoami,
   * whose route is never in-process).
   */
  readonly local?: () => T | Promise<T>;
  /** `--token-file` (`-`: standard input), or null for the environment or the token directory. */
  readonly tokenFile: string | null;
}

/** Sends a request along `route`. Throws StoreError (unreachable, not-secure, ...). */
export async function send<T>(session: Session, route: Route, options: SendOptions<T>): Promise<T> {
  if (route.kind === "local") {
    if (options.local === undefined) throw new Error("no in-process route for this request");
    return await options.local();
  }
  const client: Client = await import("../daemon/client.ts");
  if (route.kind === "socket") {
    session.debug(`sending the request to the daemon on ${route.socket}`);
    return await client.sendLocal(route.socket, route.challengeDir, options.call(client));
  }
  session.debug(`sending the request to the daemon at ${route.shown} (TLS)`);
  const { caCertificates, tokenChooser, tokenOrigin } = await import("./remote.ts");
  const config = session.config();
  // (A credential read for an add is zeroed by its command whatever happens here.)
  const origin = await tokenOrigin(options.tokenFile, session.io, session.debug);
  return await client.sendRemote({
    host: route.host,
    port: route.port,
    caCerts: caCertificates(config),
    token: tokenChooser({
      config,
      owners: session.owners(),
      accounts: session.accounts,
      euid: session.uid,
      cwd: session.io.cwd(),
      origin,
      shown: route.shown,
    }),
  }, options.call(client));
}
