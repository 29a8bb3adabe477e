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

/** The length of the first complete HTTP response at the start of `bytes`, or null. */
function completeResponse(bytes: Uint8Array): number | null {
  const text = new TextDecoder().decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(text.slice(0, end + 2))?.[1];
  // Without a length the body runs until the daemon closes the connection.
  if (length === undefined) return null;
  const total = new TextEncoder().encode(text.slice(0, end + 4)).length + Number(length);
  return bytes.length >= total ? total : null;
}

/**
 * Sends raw bytes on a fresh connection and returns what the daemon answers: its first complete
 * response, or everything until it closes the connection, or what came within `waitMs` (a
 * generous bound by default, for a loaded machine; a short one where no answer is the point).
 */
export async function rawExchange(
  socket: string,
  bytes: Uint8Array,
  waitMs = 60_000,
): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    await conn.write(bytes);
    let received = new Uint8Array();
    const buffer = new Uint8Array(65536);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && completeResponse(received) === null) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        conn.read(buffer),
        new Promise<"t">((r) => {
          timer = setTimeout(() => r("t"), Math.max(1, deadline - Date.now()));
        }),
      ]).finally(() => clearTimeout(timer));
      if (n === "t" || n === null) break;
      received = new Uint8Array([...received, ...buffer.subarray(0, n)]);
    }
    return new TextDecoder().decode(received);
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
