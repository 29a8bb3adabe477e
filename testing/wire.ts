/**
 * Speaking the daemon's protocol by hand, for tests that play a hostile client: raw requests,
 * tampered challenges, slow and oversized bodies.
 */

import { ConnReader, readResponse, writeJsonRequest } from "../lib/daemon/http.ts";

/** An open connection to a daemon's socket. */
export interface Wire {
  readonly conn: Deno.Conn;
  /** Sends a JSON request and returns the status and parsed body. */
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): void;
}

/** Connects to the daemon on `socket`. */
export async function connectWire(socket: string): Promise<Wire> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  const reader = new ConnReader(conn);
  return {
    conn,
    async call(method, path, body) {
      await writeJsonRequest(conn, method, path, body);
      const response = await readResponse(reader, {
        idleMs: 30_000,
        messageMs: 30_000,
        maxBody: 4 * 1024 * 1024,
      });
      return {
        status: response.status,
        body: JSON.parse(new TextDecoder().decode(response.body)),
      };
    },
    close() {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/** Sends raw bytes on a fresh connection and returns everything the daemon answers. */
export async function rawExchange(
  socket: string,
  bytes: Uint8Array,
  waitMs = 2000,
): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    await conn.write(bytes);
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buffer),
        new Promise<"t">((r) => setTimeout(() => r("t"), Math.max(1, deadline - Date.now()))),
      ]);
      if (n === "t" || n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    return new TextDecoder().decode(
      chunks.reduce((a, b) => new Uint8Array([...a, ...b]), new Uint8Array()),
    );
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** One request to a daemon's TLS port, trusting `caFile`, with an optional bearer token. */
export async function tlsCall(
  port: number,
  caFile: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port,
    caCerts: [await Deno.readTextFile(caFile)],
  });
  try {
    await writeJsonRequest(
      conn,
      "POST",
      path,
      body,
      token ? { authorization: `Bearer ${token}` } : {},
    );
    const response = await readResponse(new ConnReader(conn), {
      idleMs: 30_000,
      messageMs: 30_000,
      maxBody: 4 * 1024 * 1024,
    });
    return { status: response.status, body: JSON.parse(new TextDecoder().decode(response.body)) };
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}
