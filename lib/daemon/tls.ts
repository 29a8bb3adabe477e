/**
 * The daemon's remote side (docs/daemon.md "Remote callers: TLS and IDTOKENS"): a TCP listener at
 * CREDD_TLS_ADDRESS on whose connections the daemon runs TLS itself, with the certificate and
 * key of AUTH_SSL_SERVER_CERTFILE/KEYFILE. There is no plain-TCP service and no fallback; who
 * the caller is comes from its IDTOKEN (lib/daemon/auth.ts).
 *
 * Why not `Deno.listenTls`: a connection it accepts whose peer never finishes the handshake keeps
 * its descriptor even after `close()` (measured with Deno 2.9.6: 50 silent peers, 50 descriptors
 * held until the peers go), so anyone who reaches the port could exhaust the daemon's
 * descriptors. And not node:tls's own server: after one EMFILE on accept it never accepts again
 * (measured too). So the daemon accepts plain TCP (`Deno.listen`), like the socket, and starts
 * TLS with node:tls's `TLSSocket` over that connection; closing it closes the descriptor at once,
 * handshake or not, and a handshake has a deadline.
 *
 * Permissions: --allow-net (the listener), --allow-read (certificate and key).
 */

import tls from "node:tls";
import type { Config } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import { type ConnDuplex, StreamConn } from "./stream.ts";

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

/** What the TLS listener needs: the server's certificate and key, loaded once. */
export type TlsContext = tls.SecureContext;

/** The TLS context of the configured certificate and key. Throws StoreError when it cannot. */
export function tlsContext(config: Config): TlsContext {
  const { cert, key } = serverCertificate(config);
  try {
    return tls.createSecureContext({ cert, key, minVersion: "TLSv1.2" });
  } catch (error) {
    throw new StoreError(
      "config",
      `the TLS certificate and key cannot be used: ${(error as Error).message}`,
      { remedy: "set AUTH_SSL_SERVER_CERTFILE and AUTH_SSL_SERVER_KEYFILE to a matching PEM pair" },
    );
  }
}

/** Starts the TLS port's TCP listener. Throws StoreError when it cannot. */
export function listenTcp(address: { hostname: string; port: number }): Deno.Listener {
  try {
    return Deno.listen({ hostname: address.hostname, port: address.port });
  } catch (error) {
    throw new StoreError(
      "config",
      `cannot listen for TLS on ${address.hostname}:${address.port}: ${(error as Error).message}`,
    );
  }
}

/**
 * Runs the server side of a TLS handshake on `raw` (a connection as a stream: `duplexOf`) within
 * `deadlineMs`. Resolves with the secured connection; rejects when the peer fails or does not
 * finish in time, after closing `raw`.
 */
export function startTls(
  raw: ConnDuplex,
  { context, deadlineMs }: { readonly context: TlsContext; readonly deadlineMs: number },
): Promise<StreamConn> {
  const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      raw.destroy();
      reject(error);
    };
    timer = setTimeout(
      () => fail(new Error("the TLS handshake did not finish in time")),
      deadlineMs,
    );
    const closed = () => fail(new Error("the peer closed the connection during the TLS handshake"));
    socket.once("error", fail);
    socket.once("close", closed);
    socket.once("secure", () => {
      clearTimeout(timer);
      socket.removeListener("error", fail);
      socket.removeListener("close", closed);
      resolve(new StreamConn(socket));
    });
  });
}
