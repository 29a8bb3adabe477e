/**
 * Speaking the daemon's protocol by hand, for tests that play a hostile client: raw requests,
 * tampered challenges, slow and oversized bodies.
 */

import { challengeTime } from "../lib/daemon/challenge.ts";
import { ConnReader, readResponse, writeJsonRequest } from "../lib/daemon/http.ts";
import { shellAs } from "./harness.ts";
import type { TestUser } from "./users.ts";

/** `touch -d` argument for a time in milliseconds. */
function touchTime(ms: number): string {
  return `@${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}`;
}

/** Answers a challenge as `user` would: its file, with the time its nonce names. */
export function answerAs(user: TestUser, c: { nonce: string; path: string }): Promise<void> {
  return shellAs(
    user,
    `umask 077 && touch ${c.path} && touch -d ${touchTime(challengeTime(c.nonce))} ${c.path}`,
  );
}

/** An open connection to a daemon's socket. */
export interface Wire {
  readonly conn: Deno.Conn;
  /** Sends a JSON request and returns the status and parsed body. */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): void;
}

/** Connects to the daemon on `socket`. */
export async function connectWire(socket: string): Promise<Wire> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  const reader = new ConnReader(conn);
  return {
    conn,
    async call(method, path, body, headers = {}) {
      await writeJsonRequest(conn, method, path, body, headers);
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

/**
 * Sends one request to the daemon on `socket` as `user`: a challenge, answered as that user, then
 * `body` to `path` with the proof in its head. Returns the status and the parsed answer.
 */
export async function provenCall(
  socket: string,
  user: TestUser,
  path: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const wire = await connectWire(socket);
  try {
    const c = (await wire.call("POST", "/v1/challenge", { version: 1 })).body as {
      id: string;
      nonce: string;
      path: string;
    };
    await answerAs(user, c);
    return await wire.call("POST", path, { version: 1, ...body }, {
      authorization: `Challenge ${c.id} ${c.nonce}`,
    });
  } finally {
    wire.close();
  }
}
