/**
 * A deliberately small HTTP/1.1 for the daemon and its clients, over any ByteConn (a Unix socket,
 * TCP, or TLS: lib/daemon/stream.ts): a request line or status line, headers, a Content-Length
 * body, keep-alive. Every read has a size limit and a deadline, so a slow or hostile peer costs
 * one connection for a bounded time. A request's head is read apart from its body, so that the
 * daemon decides (route, caller, size) before it reads a byte of the body. Chunked encoding,
 * pipelining and upgrades are not spoken; a peer that tries gets 400.
 */

import type { ByteConn } from "./stream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Largest message head: the request or status line, the headers, and the blank line ending them. */
export const MAX_HEAD_BYTES = 8 * 1024;

/** A failure to read or write a message: the connection is then closed. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A parsed message head and its body. */
export interface HttpMessage {
  /** Request: method and path; response: the status. */
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

/** Bytes read per system call. */
const CHUNK = 16 * 1024;

/**
 * Buffered reads from a connection, each bounded by a deadline. The buffer grows geometrically
 * and is read into directly, so a body of n bytes costs O(n), not O(n²); every byte it drops is
 * zeroed first (bodies carry secrets).
 */
export class ConnReader {
  #store = new Uint8Array(0);
  #length = 0;
  /** How far readHead has looked for the blank line already. */
  #scanned = 0;
  /** The last read asked of the connection (it may outlive a deadline). */
  #reading: Promise<unknown> = Promise.resolve();

  constructor(readonly conn: ByteConn) {}

  /**
   * Resolves once no read is pending on the connection: after `close()`, its descriptor is then
   * gone (a pending read holds it until it ends).
   */
  settled(): Promise<void> {
    return this.#reading.then(() => {}, () => {});
  }

  /** True when bytes are already buffered (a request has begun). */
  get pending(): boolean {
    return this.#length > 0;
  }

  /**
   * Drops the first `n` buffered bytes, zeroing what moves or goes. A buffer a large body grew is
   * given back once that body is out, so an idle connection holds little memory.
   */
  #consume(n: number): void {
    this.#store.copyWithin(0, n, this.#length);
    this.#store.fill(0, this.#length - n, this.#length);
    this.#length -= n;
    this.#scanned = 0;
    if (this.#store.length > 4 * CHUNK && this.#length <= CHUNK) {
      const small = new Uint8Array(2 * CHUNK);
      small.set(this.#store.subarray(0, this.#length));
      this.#store.fill(0);
      this.#store = small;
    }
  }

  async #fill(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) throw new HttpError(408, "timed out reading from the peer");
    if (this.#store.length - this.#length < CHUNK) {
      const grown = new Uint8Array(Math.max(this.#store.length * 2, this.#length + CHUNK));
      grown.set(this.#store.subarray(0, this.#length));
      this.#store.fill(0);
      this.#store = grown;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), left);
    });
    try {
      const target = this.#store.subarray(this.#length, this.#length + CHUNK);
      const read = this.conn.read(target);
      this.#reading = read;
      const n = await Promise.race([read, timeout]);
      if (n === "timeout") throw new HttpError(408, "timed out reading from the peer");
      if (n === null) return false;
      this.#length += n;
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads up to and including the blank line ending a message head (at most MAX_HEAD_BYTES).
   * Returns null on a clean end of stream before any byte. `firstByteDeadline` bounds the wait
   * for the first byte (keep-alive idle time), `deadline` the whole head.
   */
  async readHead(firstByteDeadline: number, deadline: number): Promise<string | null> {
    while (true) {
      const end = findHeadEnd(this.#store.subarray(0, this.#length), this.#scanned);
      if (end + 4 > MAX_HEAD_BYTES) throw new HttpError(431, "headers too large");
      if (end >= 0) {
        const head = decoder.decode(this.#store.subarray(0, end));
        this.#consume(end + 4);
        return head;
      }
      this.#scanned = Math.max(0, this.#length - 3);
      // No blank line within MAX_HEAD_BYTES: however it ends, the head is too large.
      if (this.#length >= MAX_HEAD_BYTES) throw new HttpError(431, "headers too large");
      const more = await this.#fill(this.#length === 0 ? firstByteDeadline : deadline);
      if (!more) {
        if (this.#length === 0) return null;
        throw new HttpError(400, "the connection closed in the middle of a message");
      }
    }
  }

  /** Reads exactly `length` body bytes by `deadline`. */
  async readBody(length: number, deadline: number): Promise<Uint8Array> {
    while (this.#length < length) {
      if (!(await this.#fill(deadline))) {
        throw new HttpError(400, "the connection closed in the middle of a body");
      }
    }
    const body = this.#store.slice(0, length);
    this.#consume(length);
    return body;
  }
}

function findHeadEnd(bytes: Uint8Array, from = 0): number {
  for (let i = Math.max(3, from); i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      return i - 3;
    }
  }
  return -1;
}

function parseHeaders(lines: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HttpError(400, "a malformed header line");
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name) || headers.has(name)) {
      throw new HttpError(400, "a malformed or repeated header");
    }
    headers.set(name, line.slice(colon + 1).trim());
  }
  if (headers.has("transfer-encoding")) {
    throw new HttpError(400, "Transfer-Encoding is not supported; send Content-Length");
  }
  return headers;
}

function contentLength(headers: ReadonlyMap<string, string>, limit: number): number {
  const value = headers.get("content-length") ?? "0";
  if (!/^\d{1,10}$/.test(value)) throw new HttpError(400, "a malformed Content-Length");
  const length = Number(value);
  if (length > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
  return length;
}

/** Limits and deadlines of one message. */
export interface ReadLimits {
  /** Milliseconds to wait for the first byte (idle keep-alive time). */
  readonly idleMs: number;
  /** Milliseconds for the whole message once its first byte arrived. */
  readonly messageMs: number;
  readonly maxBody: number;
}

/** A request's head: what the daemon knows before it reads the body. */
export interface RequestHead {
  readonly method: string;
  readonly path: string;
  readonly headers: ReadonlyMap<string, string>;
  /** The body's length (Content-Length), at most `maxBody`. */
  readonly length: number;
}

/**
 * Reads one request's head; null when the peer closed the connection between requests. The body
 * is left unread (`ConnReader.readBody`). Throws HttpError (400, 408, 413, 431).
 */
export async function readRequestHead(
  reader: ConnReader,
  limits: ReadLimits,
): Promise<RequestHead | null> {
  const start = Date.now();
  const head = await reader.readHead(
    start + limits.idleMs,
    start + limits.idleMs + limits.messageMs,
  );
  if (head === null) return null;
  const [requestLine, ...lines] = head.split("\r\n");
  const match = /^([A-Z]+) (\/\S*) HTTP\/1\.1$/.exec(requestLine);
  if (!match) throw new HttpError(400, "a malformed request line");
  const headers = parseHeaders(lines);
  return {
    method: match[1],
    path: match[2],
    headers,
    length: contentLength(headers, limits.maxBody),
  };
}

/** Reads one response. */
export async function readResponse(reader: ConnReader, limits: ReadLimits): Promise<HttpMessage> {
  const start = Date.now();
  const head = await reader.readHead(
    start + limits.idleMs,
    start + limits.idleMs + limits.messageMs,
  );
  if (head === null) throw new HttpError(502, "the daemon closed the connection without answering");
  const [statusLine, ...lines] = head.split("\r\n");
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine + " ");
  if (!match) throw new HttpError(502, "a malformed status line");
  const headers = parseHeaders(lines);
  const length = contentLength(headers, limits.maxBody);
  const body = await reader.readBody(length, Date.now() + limits.messageMs);
  return { method: "", path: "", status: Number(match[1]), headers, body };
}

async function writeAll(conn: ByteConn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

function message(first: string, headers: Record<string, string>, body: Uint8Array): Uint8Array {
  const head = [first, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "", ""]
    .join("\r\n");
  const bytes = encoder.encode(head);
  const out = new Uint8Array(bytes.length + body.length);
  out.set(bytes);
  out.set(body, bytes.length);
  return out;
}

/**
 * Closes a connection after an error answer without losing it: stops writing, then reads and
 * drops what the peer still sends (at most 1 MiB, for at most 500 ms), then closes. Closing with
 * unread input would reset the connection and the peer would never see the answer.
 */
export async function lingerClose(conn: ByteConn): Promise<void> {
  try {
    await conn.closeWrite();
    const buffer = new Uint8Array(64 * 1024);
    const deadline = Date.now() + 500;
    let drained = 0;
    while (drained < 1024 * 1024 && Date.now() < deadline) {
      const n = await Promise.race([
        conn.read(buffer),
        new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now()))),
      ]);
      if (n === null) break;
      drained += n;
    }
  } catch {
    // The peer went away: nothing more to do.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** Writes a JSON response. */
export async function writeJsonResponse(
  conn: ByteConn,
  status: number,
  value: unknown,
  keepAlive: boolean,
): Promise<void> {
  const body = encoder.encode(JSON.stringify(value));
  await writeAll(
    conn,
    message(`HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}`, {
      "content-type": "application/json",
      "content-length": String(body.length),
      connection: keepAlive ? "keep-alive" : "close",
    }, body),
  );
}

/** Writes a JSON request. The body buffer is zeroed once written (it may hold a credential). */
export async function writeJsonRequest(
  conn: ByteConn,
  method: string,
  path: string,
  value: unknown,
  headers: Record<string, string> = {},
): Promise<void> {
  const body = encoder.encode(value === undefined ? "" : JSON.stringify(value));
  const bytes = message(`${method} ${path} HTTP/1.1`, {
    host: "condor_store_cred",
    "content-type": "application/json",
    "content-length": String(body.length),
    ...headers,
  }, body);
  body.fill(0);
  try {
    await writeAll(conn, bytes);
  } finally {
    bytes.fill(0);
  }
}
