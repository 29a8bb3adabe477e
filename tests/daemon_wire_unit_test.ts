/**
 * The daemon's wire, in-process and fast (they guard mutations): the HTTP reader (heads, bodies,
 * limits, deadlines, a peer that closes early), what is written, the linger on close, the TLS
 * byte stream (reads across chunks, back-pressure, wiping), one connection's exchange (keep-alive,
 * bodies that are not JSON, refusals that keep or close the connection, the log of repeated
 * refusals), the daemon's limits, the whoami codec, the client's retries on a busy daemon (a fake
 * daemon on a Unix socket, in this process), its bound on the TLS health answer, and the TLS
 * private key's mode check.
 */

import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { loadConfig } from "../lib/config/mod.ts";
import { StoreError } from "../lib/errors.ts";
import type { Authenticator } from "../lib/daemon/auth.ts";
import { type ConnectionLimits, ConnectionTable } from "../lib/daemon/connections.ts";
import {
  ConnReader,
  HttpError,
  lingerClose,
  MAX_HEAD_BYTES,
  readRequestHead,
  readResponse,
  writeJsonRequest,
  writeJsonResponse,
} from "../lib/daemon/http.ts";
import {
  type DaemonLimits,
  daemonLimits,
  RepeatedLines,
  serveConnection,
  takeConnection,
} from "../lib/daemon/exchange.ts";
import { decodeReply, decodeRequest, decodeWhoami, ProtocolError } from "../lib/daemon/protocol.ts";
import { type ByteConn, duplexOf, StreamConn } from "../lib/daemon/stream.ts";
import { sendLocal, sendRemote, whoamiCall } from "../lib/daemon/client.ts";
import { Challenges } from "../lib/daemon/challenge.ts";
import { serverCertificate } from "../lib/daemon/tls.ts";
import type { Executor } from "../lib/daemon/workers.ts";
import { makeCertificates } from "../testing/tls.ts";
import { ALICE, ALICE_WHOAMI } from "../testing/daemon.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A peer that sends `chunks` (one per read), then ends; what is written to it is kept. */
function peer(chunks: (string | Uint8Array)[]) {
  const input = chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c);
  const written: Uint8Array[] = [];
  const state = { closed: false, closedWrite: false, reads: 0, ended: false };
  const conn: ByteConn = {
    read(p) {
      state.reads++;
      const chunk = input.shift();
      // A reader that reads again after the end would loop for ever on a real connection.
      if (state.ended) return Promise.reject(new Error("read again after the end of the stream"));
      if (chunk === undefined) return Promise.resolve((state.ended = true, null));
      const n = Math.min(p.length, chunk.length);
      p.set(chunk.subarray(0, n));
      if (n < chunk.length) input.unshift(chunk.subarray(n));
      return Promise.resolve(n);
    },
    write(p) {
      written.push(p.slice());
      return Promise.resolve(p.length);
    },
    closeWrite() {
      state.closedWrite = true;
      return Promise.resolve();
    },
    close() {
      state.closed = true;
    },
  };
  const bytes = () => {
    const out = new Uint8Array(written.reduce((n, w) => n + w.length, 0));
    let at = 0;
    for (const w of written) {
      out.set(w, at);
      at += w.length;
    }
    return out;
  };
  return { conn, state, bytes, text: () => decoder.decode(bytes()) };
}

/** Asserts `a` and `b` hold the same bytes (without a diff of large arrays, slow to make). */
function sameBytes(a: Uint8Array, b: Uint8Array): void {
  assert.equal(a.length, b.length);
  assert.equal(a.findIndex((x, i) => x !== b[i]), -1);
}

const LIMITS = { idleMs: 60_000, messageMs: 60_000, maxBody: 1000 };

async function rejectsHttp(f: () => Promise<unknown>, status: number, message: string | RegExp) {
  await assert.rejects(f, (e: unknown) => {
    assert.ok(e instanceof HttpError, String(e));
    assert.equal(e.status, status);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

function requestHead(text: string) {
  return readRequestHead(new ConnReader(peer([text]).conn), LIMITS);
}

Deno.test("ConnReader: a peer that closes before a byte is a clean end; one that closes mid-message or mid-body is a 400", async () => {
  assert.equal(
    await new ConnReader(peer([]).conn).readHead(Date.now() + 60_000, Date.now() + 1),
    null,
  );
  assert.equal(await requestHead(""), null);
  await rejectsHttp(
    () =>
      new ConnReader(peer(["GET / HTTP/1.1\r\n"]).conn).readHead(
        Date.now() + 9e4,
        Date.now() + 9e4,
      ),
    400,
    "the connection closed in the middle of a message",
  );
  const reader = new ConnReader(peer(["abc"]).conn);
  await rejectsHttp(
    () => reader.readBody(5, Date.now() + 60_000),
    400,
    "the connection closed in the middle of a body",
  );
  // Waiting for the first byte is bounded by the first deadline, even when the peer ends then.
  await rejectsHttp(
    () => new ConnReader(peer([]).conn).readHead(Date.now() - 1, Date.now() + 60_000),
    408,
    "timed out reading from the peer",
  );
});

Deno.test("ConnReader: a peer that never answers is a 408 at the first byte's deadline", async () => {
  const silent: ByteConn = {
    read: () => new Promise(() => {}),
    write: (p) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close: () => {},
  };
  await rejectsHttp(
    () => new ConnReader(silent).readHead(Date.now() + 20, Date.now() + 60_000),
    408,
    "timed out reading from the peer",
  );
});

Deno.test("a request head: its line, its headers (with or without a space), its body's length", async () => {
  const reader = new ConnReader(
    peer([
      "POST /v1/request HTTP/1.1\r\nContent-Length:12\r\nX-Thing:  a: b \r\nHost: h\r\n\r\n" +
      "hello world!GET",
    ]).conn,
  );
  const head = await readRequestHead(reader, LIMITS);
  assert.ok(head !== null);
  assert.equal(head.method, "POST");
  assert.equal(head.path, "/v1/request");
  assert.equal(head.length, 12);
  assert.equal(head.headers.get("x-thing"), "a: b");
  assert.equal(head.headers.get("host"), "h");
  // The body is what follows the blank line, and what follows it is kept.
  assert.equal(
    decoder.decode(await reader.readBody(head.length, Date.now() + 60_000)),
    "hello world!",
  );
  assert.equal(decoder.decode(await reader.readBody(3, Date.now() + 60_000)), "GET");
  assert.equal((await requestHead("GET /v1/health HTTP/1.1\r\n\r\n"))?.length, 0);
  // The limit is the largest body taken.
  assert.equal(
    (await requestHead("POST / HTTP/1.1\r\ncontent-length: 1000\r\n\r\n"))?.length,
    1000,
  );
});

Deno.test("a request head that breaks a rule is a 400 (413 for a body over the limit) naming what is wrong", async () => {
  const cases: [string, number, string][] = [
    ["", 400, "a malformed request line"],
    ["GET /v1/health HTTP/1.0", 400, "a malformed request line"],
    ["get /v1/health HTTP/1.1", 400, "a malformed request line"],
    ["GET v1 HTTP/1.1", 400, "a malformed request line"],
    ["GET / HTTP/1.1\r\nno colon here", 400, "a malformed header line"],
    ["GET / HTTP/1.1\r\n: no name", 400, "a malformed header line"],
    ["GET / HTTP/1.1\r\nbad name: x", 400, "a malformed or repeated header"],
    ["GET / HTTP/1.1\r\nHost: a\r\nhost: b", 400, "a malformed or repeated header"],
    [
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked",
      400,
      "Transfer-Encoding is not supported; send Content-Length",
    ],
    ["POST / HTTP/1.1\r\nContent-Length: -1", 400, "a malformed Content-Length"],
    ["POST / HTTP/1.1\r\nContent-Length: 12345678901", 400, "a malformed Content-Length"],
    ["POST / HTTP/1.1\r\nContent-Length: 1001", 413, "the body is larger than 1000 bytes"],
  ];
  for (const [text, status, message] of cases) {
    await rejectsHttp(() => requestHead(`${text}\r\n\r\n`), status, message);
  }
});

Deno.test("a head may take MAX_HEAD_BYTES (8 KiB) with its blank line, arriving at once or in parts; one byte more is a 431", async () => {
  assert.equal(MAX_HEAD_BYTES, 8192);
  const line = "GET / HTTP/1.1\r\nx: ";
  // The longest head: with its blank line, 8192 bytes.
  const exact = line + "a".repeat(MAX_HEAD_BYTES - 4 - line.length);
  const limits = { ...LIMITS, maxBody: 0 };
  for (const chunks of [[exact + "\r\n\r\n"], [exact, "\r\n\r\n"], [exact + "\r", "\n\r", "\n"]]) {
    const head = await readRequestHead(new ConnReader(peer(chunks).conn), limits);
    assert.equal(head?.headers.get("x")?.length, MAX_HEAD_BYTES - 4 - line.length);
  }
  for (
    const chunks of [
      [exact + "a\r\n\r\n"],
      [exact + "a", "\r\n\r\n"],
      [exact + "a\r", "\n\r\n"],
      [exact + "a\r\n\r", "\n"],
      // 8192 bytes and no blank line: too large, however it would end; not read further.
      [exact + "aaaa"],
    ]
  ) {
    await rejectsHttp(
      () => readRequestHead(new ConnReader(peer(chunks).conn), limits),
      431,
      "headers too large",
    );
  }
  // A head that never ends is refused once it is too large, not read forever.
  const endless: ByteConn = {
    read: (p) => Promise.resolve((p.fill(97, 0, 1000), 1000)),
    write: (p) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close: () => {},
  };
  await rejectsHttp(
    () => readRequestHead(new ConnReader(endless), limits),
    431,
    "headers too large",
  );
});

Deno.test("ConnReader reads heads and bodies split anywhere, byte by byte or in large parts, and keeps what follows", async () => {
  const body = new Uint8Array(300 * 1024).map((_, i) => (i * 7) % 251);
  const next = "GET /v1/health HTTP/1.1\r\n\r\n";
  const whole = new Uint8Array([
    ...encoder.encode(`POST /v1/request HTTP/1.1\r\ncontent-length: ${body.length}\r\n\r\n`),
    ...body,
    ...encoder.encode(next),
  ]);
  // Byte by byte for the head, then parts of odd sizes.
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (; at < 80; at++) chunks.push(whole.subarray(at, at + 1));
  for (let size = 1; at < whole.length; size = (size * 3 + 7) % 40_000) {
    chunks.push(whole.subarray(at, at + size));
    at += size;
  }
  const reader = new ConnReader(peer(chunks).conn);
  const limits = { ...LIMITS, maxBody: 1024 * 1024 };
  const head = await readRequestHead(reader, limits);
  assert.equal(head?.length, body.length);
  sameBytes(await reader.readBody(body.length, Date.now() + 60_000), body);
  const second = await readRequestHead(reader, limits);
  assert.equal(second?.path, "/v1/health");
  assert.equal(reader.pending, false);
  assert.equal(await readRequestHead(reader, limits), null);
});

Deno.test("ConnReader wipes every byte it is done with: a head and a body once read, a buffer it outgrew or gave back", async () => {
  // A body in a buffer it gave back (a large one), and in the one it keeps (a small one).
  for (const size of [200 * 1024, 1000]) {
    const body = new Uint8Array(size).fill(0x5a);
    const whole = new Uint8Array([
      ...encoder.encode(`POST /v1/request HTTP/1.1\r\ncontent-length: ${size}\r\n\r\n`),
      ...body,
    ]);
    // The buffers the reader read into, as it gave them to the connection.
    const views: Uint8Array[] = [];
    let at = 0;
    const conn: ByteConn = {
      read(p) {
        views.push(p);
        if (at === whole.length) return Promise.resolve(null);
        const n = Math.min(p.length, 10_000, whole.length - at);
        p.set(whole.subarray(at, at + n));
        at += n;
        return Promise.resolve(n);
      },
      write: (p) => Promise.resolve(p.length),
      closeWrite: () => Promise.resolve(),
      close: () => {},
    };
    const reader = new ConnReader(conn);
    const head = await readRequestHead(reader, { ...LIMITS, maxBody: size });
    sameBytes(await reader.readBody(head!.length, Date.now() + 60_000), body);
    assert.ok(views.length > 0);
    assert.deepEqual(views.filter((v) => v.some((b) => b !== 0)).length, 0);
  }
});

Deno.test("readResponse reads a status, its headers and its body; no answer or a malformed one is a 502", async () => {
  const response = await readResponse(
    new ConnReader(peer(["HTTP/1.1 404\r\ncontent-length: 2\r\n\r\n{}"]).conn),
    LIMITS,
  );
  assert.equal(response.status, 404);
  assert.equal(decoder.decode(response.body), "{}");
  // A head in parts, a body after it: read within the message's time.
  const parts = await readResponse(
    new ConnReader(peer(["HTTP/1.1 200 OK\r\n", "content-length: 2\r\n\r\n", "[]"]).conn),
    LIMITS,
  );
  assert.equal(decoder.decode(parts.body), "[]");
  await rejectsHttp(
    () => readResponse(new ConnReader(peer([]).conn), LIMITS),
    502,
    "the daemon closed the connection without answering",
  );
  await rejectsHttp(
    () => readResponse(new ConnReader(peer(["HTTP/1.0 200 OK\r\n\r\n"]).conn), LIMITS),
    502,
    "a malformed status line",
  );
  await rejectsHttp(
    () =>
      readResponse(
        new ConnReader(peer(["HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n{"]).conn),
        LIMITS,
      ),
    400,
    "the connection closed in the middle of a body",
  );
});

Deno.test("what is written: a response and a request, whole even when the peer takes a byte at a time", async () => {
  const out = peer([]);
  await writeJsonResponse(out.conn, 404, { a: 1 }, true);
  await writeJsonResponse(out.conn, 299, [], false);
  assert.equal(
    out.text(),
    'HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 7\r\nconnection: keep-alive\r\n\r\n{"a":1}' +
      "HTTP/1.1 299 Status\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]",
  );
  const slow = peer([]);
  const write = slow.conn.write;
  slow.conn.write = (p) => write(p.subarray(0, 1)).then(() => 1);
  await writeJsonRequest(slow.conn, "POST", "/v1/x", { b: "c" }, { authorization: "Test" });
  assert.equal(
    slow.text(),
    'POST /v1/x HTTP/1.1\r\nhost: condor_store_cred\r\ncontent-type: application/json\r\ncontent-length: 9\r\nauthorization: Test\r\n\r\n{"b":"c"}',
  );
  // The request's bytes (they may carry a credential) are wiped once written.
  const kept: Uint8Array[] = [];
  const keeping = peer([]);
  keeping.conn.write = (p) => Promise.resolve((kept.push(p), p.length));
  await writeJsonRequest(keeping.conn, "POST", "/v1/request", { credential: "secret" });
  assert.equal(kept.length, 1);
  assert.ok(kept[0].length > 100);
  assert.ok(kept[0].every((b) => b === 0));
  const empty = peer([]);
  await writeJsonRequest(empty.conn, "GET", "/v1/health", undefined);
  assert.match(empty.text(), /^GET \/v1\/health HTTP\/1\.1\r\n.*content-length: 0\r\n\r\n$/s);
});

Deno.test("lingerClose stops writing, drops at most 1 MiB of what the peer still sends, then closes", async () => {
  /** A peer that sends `size` bytes a read, for ever. */
  const flood = (size: number) => {
    const state = { read: 0, closedWrite: false, closed: false };
    const conn: ByteConn = {
      read: (p) => {
        const n = Math.min(size, p.length);
        state.read += n;
        return Promise.resolve(n);
      },
      write: (p) => Promise.resolve(p.length),
      closeWrite: () => Promise.resolve(void (state.closedWrite = true)),
      close: () => void (state.closed = true),
    };
    return { conn, state };
  };
  // Reads go on while less than 1 MiB has come: 16 reads of 64 KiB (the buffer, filled), or 1,049
  // of 1,000 bytes; 31 reads of 33,825 bytes are 1 MiB less one byte: one more read. The clock
  // stands still meanwhile, so that the 500 ms linger cannot end the reads first on a busy
  // machine (the silent peer below has the real clock).
  const realNow = Date.now;
  const frozen = realNow();
  Date.now = () => frozen;
  try {
    for (
      const [size, read] of [
        [Infinity, 1024 * 1024],
        [64 * 1024, 1024 * 1024],
        [1000, 1_049_000],
        [33_825, 32 * 33_825],
      ]
    ) {
      const { conn, state } = flood(size);
      await lingerClose(conn);
      assert.deepEqual(state, { read, closedWrite: true, closed: true });
    }
  } finally {
    Date.now = realNow;
  }
  // A peer that sends nothing and does not end: closed once the linger is over.
  const silent = peer([]);
  silent.conn.read = () => new Promise(() => {});
  await lingerClose(silent.conn);
  assert.equal(silent.state.closed, true);
  // A peer that has gone: closed all the same.
  const gone = peer([]);
  gone.conn.closeWrite = () => Promise.reject(new Deno.errors.BrokenPipe("gone"));
  await lingerClose(gone.conn);
  assert.equal(gone.state.closed, true);
});

Deno.test("StreamConn hands out what the stream emits across chunks, wipes what it handed out, and ends", async () => {
  const stream = new PassThrough();
  const conn = new StreamConn(stream);
  const first = new Uint8Array([1, 2, 3]);
  const second = new Uint8Array([4, 5, 6]);
  stream.write(first);
  stream.write(second);
  const p = new Uint8Array(4);
  assert.equal(await conn.read(p), 4);
  assert.deepEqual(p, new Uint8Array([1, 2, 3, 4]));
  const q = new Uint8Array(10);
  assert.equal(await conn.read(q), 2);
  assert.deepEqual(q.subarray(0, 2), new Uint8Array([5, 6]));
  stream.end();
  assert.equal(await conn.read(q), null);
  assert.equal(await conn.read(q), null);
});

Deno.test("StreamConn wipes the bytes it buffered once they are read, or when it is closed", async () => {
  const stream = new PassThrough();
  const conn = new StreamConn(stream);
  const emitted: Uint8Array[] = [];
  stream.on("data", (chunk: Uint8Array) => emitted.push(chunk));
  stream.write(new Uint8Array([9, 9, 9, 9]));
  stream.write(new Uint8Array([8, 8]));
  await new Promise((r) => setTimeout(r, 0));
  const p = new Uint8Array(5);
  assert.equal(await conn.read(p), 5);
  assert.deepEqual(p, new Uint8Array([9, 9, 9, 9, 8]));
  assert.deepEqual(emitted.map((c) => [...c]), [[0, 0, 0, 0], [0, 8]]);
  conn.close();
  assert.deepEqual(emitted.map((c) => [...c]), [[0, 0, 0, 0], [0, 0]]);
  assert.equal(await conn.read(p), null);
  await assert.rejects(() => conn.write(new Uint8Array(1)), Deno.errors.BrokenPipe);
  await conn.closeWrite();
});

Deno.test("StreamConn stops reading from a peer that sends more than 256 KiB ahead, and resumes once most is read", async () => {
  const stream = new PassThrough({ highWaterMark: 1 });
  const conn = new StreamConn(stream);
  const chunk = 16 * 1024;
  for (let i = 0; i < 15; i++) stream.write(new Uint8Array(chunk));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(stream.isPaused(), false);
  stream.write(new Uint8Array(chunk));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(stream.isPaused(), true);
  const p = new Uint8Array(chunk);
  for (let i = 0; i < 12; i++) {
    assert.equal(await conn.read(p), chunk);
    assert.equal(stream.isPaused(), true);
  }
  assert.equal(await conn.read(new Uint8Array(1)), 1);
  assert.equal(stream.isPaused(), false);
  conn.close();
});

Deno.test("StreamConn writes to the stream, and passes on the stream's error to every read", async () => {
  const stream = new PassThrough();
  const conn = new StreamConn(stream);
  assert.equal(await conn.write(encoder.encode("hello")), 5);
  const p = new Uint8Array(10);
  assert.equal(await conn.read(p), 5);
  assert.equal(decoder.decode(p.subarray(0, 5)), "hello");
  const reading = conn.read(p);
  stream.destroy(new Error("the peer failed"));
  await assert.rejects(() => reading, /the peer failed/);
  await assert.rejects(() => conn.read(p), /the peer failed/);
});

Deno.test("duplexOf writes each chunk whole, as many writes as the connection needs", async () => {
  const writes: number[] = [];
  const fake = {
    read: () => new Promise<number | null>(() => {}),
    write: (p: Uint8Array) => {
      if (p.length === 0) return Promise.reject(new Error("an empty write"));
      writes.push(Math.min(3, p.length));
      return Promise.resolve(Math.min(3, p.length));
    },
    closeWrite: () => Promise.resolve(),
    close: () => {},
  } as unknown as Deno.Conn;
  const duplex = duplexOf(fake);
  const conn = new StreamConn(duplex);
  assert.equal(await conn.write(encoder.encode("hello world")), 11);
  assert.deepEqual(writes, [3, 3, 3, 2]);
  conn.close();
});

Deno.test("duplexOf carries a Unix socket's bytes both ways, and ends when the peer does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-wire-" });
  const listener = Deno.listen({ transport: "unix", path: `${dir}/s` });
  try {
    const accepting = listener.accept();
    const client = await Deno.connect({ transport: "unix", path: `${dir}/s` });
    const server = await accepting;
    const duplex = duplexOf(server);
    const conn = new StreamConn(duplex);
    const big = new Uint8Array(100_000).map((_, i) => i % 253);
    await client.write(big);
    const got = new Uint8Array(big.length);
    let n = 0;
    while (n < big.length) n += (await conn.read(got.subarray(n)))!;
    sameBytes(got, big);
    await conn.write(encoder.encode("back"));
    const back = new Uint8Array(4);
    let m = 0;
    while (m < 4) m += (await client.read(back.subarray(m)))!;
    assert.equal(decoder.decode(back), "back");
    await conn.closeWrite();
    assert.equal(await client.read(back), null);
    client.close();
    assert.equal(await conn.read(got), null);
    conn.close();
    await duplex.settled();
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- One connection's exchange ----

function config(env: Record<string, string> = {}) {
  return loadConfig({ env: { CONDOR_CONFIG: "ONLY_ENV", ...env }, uid: 0, hostname: "h" });
}

/** Serves `chunks` as one connection of a daemon whose callers prove themselves with `Test`. */
async function serve(
  chunks: (string | Uint8Array)[] | ReturnType<typeof peer>,
  options: {
    table?: Partial<ConnectionLimits>;
    opened?: number;
    stopAfterHealth?: boolean;
    sick?: boolean;
    /** Prepares the daemon's table before the connection is served. */
    prepare?: (table: ConnectionTable) => void;
    limits?: Partial<Omit<DaemonLimits, "table">>;
    /** Runs inside the health handler (a test moves its clock there). */
    duringHealth?: () => void;
    /** What the workers answer a store request (a listing). */
    run?: () => Promise<Record<string, unknown>>;
  } = {},
) {
  const p = Array.isArray(chunks) ? peer(chunks) : chunks;
  const cfg = config({ _CONDOR_TRUST_DOMAIN: "t.example" });
  const configured = daemonLimits(cfg);
  const limits = {
    ...configured,
    ...options.limits,
    table: { ...configured.table, ...options.table },
  };
  let healthy = 0;
  const table = new ConnectionTable(limits.table);
  options.prepare?.(table);
  const id = table.open(() => {}, Date.now())!;
  const logged: string[] = [];
  const auth: Authenticator = {
    transport: "unix",
    challenges: new Challenges("/csc-nowhere"),
    fromHead: (headers) => Promise.resolve(headers.get("authorization") === "Test" ? ALICE : null),
    fromBody: (body) => body.proof === "Test" ? ALICE : null,
    missing: () => new ProtocolError(401, "not-secure", "prove who you are"),
  };
  await serveConnection({
    conn: p.conn,
    reader: new ConnReader(p.conn),
    id,
    listening: { listener: null as unknown as Deno.Listener, auth, tls: null, name: "test" },
    session: { peer: "local", challenges: new Set(), token: null },
    opened: options.opened ?? Date.now(),
    daemon: {
      config: cfg,
      log: (line) => logged.push(line),
      refusals: new RepeatedLines((line) => logged.push(line)),
      executor: {
        health: () => {
          options.duringHealth?.();
          return { serving: 1, size: healthy++ > 0 && options.sick ? 2 : 1 };
        },
        run: options.run,
      } as unknown as Executor,
      table,
      limits,
      stopping: () => options.stopAfterHealth === true && healthy > 0,
    },
  });
  // Whether the connection was closed by the time serving it ended.
  const closed = p.state.closed;
  // The answers, in order.
  const reader = new ConnReader(peer([p.bytes()]).conn);
  const answers: { status: number; connection?: string; body: Record<string, unknown> }[] = [];
  while (true) {
    let r;
    try {
      r = await readResponse(reader, LIMITS);
    } catch {
      break;
    }
    answers.push({
      status: r.status,
      connection: r.headers.get("connection"),
      body: JSON.parse(decoder.decode(r.body)),
    });
  }
  return { answers, logged, closed, raw: p.text() };
}

const HEALTH = "GET /v1/health HTTP/1.1\r\n\r\n";

function post(path: string, body: string | number, extra = "") {
  const length = typeof body === "number" ? body : encoder.encode(body).length;
  const text = typeof body === "number" ? "" : body;
  return `POST ${path} HTTP/1.1\r\ncontent-length: ${length}\r\n${extra}\r\n${text}`;
}

const WHOAMI = post("/v1/whoami", '{"version":1}', "authorization: Test\r\n");

Deno.test("a connection keeps serving requests one after the other (keep-alive) until the peer ends it", async () => {
  const { answers, logged } = await serve([HEALTH, WHOAMI, HEALTH]);
  assert.deepEqual(answers.map((a) => [a.status, a.connection]), [
    [200, "keep-alive"],
    [200, "keep-alive"],
    [200, "keep-alive"],
  ]);
  assert.deepEqual(answers[0].body, { version: 1, trustDomain: "t.example", ok: true });
  assert.deepEqual(answers[1].body.whoami, ALICE_WHOAMI);
  assert.deepEqual(logged, []);
});

Deno.test("a caller may prove itself in the body instead of the head", async () => {
  const { answers } = await serve([post("/v1/whoami", '{"version":1,"proof":"Test"}'), HEALTH]);
  assert.deepEqual(
    answers.map((a) => [a.status, (a.body.whoami as { account?: string })?.account]),
    [
      [200, "alice@x.example"],
      [200, undefined],
    ],
  );
});

Deno.test("a challenge is issued for an empty body or a JSON one of this version; the whoami of a caller whose turns are all taken does not wait", async () => {
  const challenge = (body: string) => post("/v1/challenge", body);
  const { answers } = await serve([challenge(""), challenge('{"version":1}'), challenge("{")]);
  assert.deepEqual(answers.map((a) => [a.status, typeof a.body.id, a.body.error]), [
    [200, "string", undefined],
    [200, "string", undefined],
    [400, "undefined", { code: "bad-args", message: "the request body is not JSON" }],
  ]);
  // whoami does no store work: it takes no turn (the turn held here is never given back).
  const held = await serve([WHOAMI], {
    table: { maxCallerRequests: 1 },
    prepare: (table) => void table.turn(ALICE),
  });
  assert.deepEqual(held.answers.map((a) => a.status), [200]);
});

Deno.test("a connection whose peer fails (reset) is let go without a word", async () => {
  const reset = peer([]);
  reset.conn.read = () => Promise.reject(new Deno.errors.ConnectionReset("reset by peer"));
  const { answers, raw, logged } = await serve(reset);
  assert.deepEqual([answers, raw, logged], [[], "", []]);
});

Deno.test("a body that is not JSON, not an object or of another version is a 400 naming it; the connection is kept", async () => {
  const auth = "authorization: Test\r\n";
  const { answers, logged } = await serve([
    post("/v1/whoami", "{nope", auth),
    // Not UTF-8 (read leniently, it would be a JSON string).
    post("/v1/whoami", 3, auth),
    new Uint8Array([0x22, 0xff, 0x22]),
    post("/v1/whoami", "[1]", auth),
    post("/v1/whoami", '{"version":2}', auth),
    HEALTH,
  ]);
  assert.deepEqual(answers.map((a) => [a.status, a.connection, a.body.error]), [
    [400, "keep-alive", { code: "bad-args", message: "the request body is not JSON" }],
    [400, "keep-alive", { code: "bad-args", message: "the request body is not JSON" }],
    [400, "keep-alive", { code: "bad-args", message: "the request body is not an object" }],
    [400, "keep-alive", {
      code: "unsupported",
      message:
        "protocol version 2 is not spoken here (this daemon speaks 1); use a client of the same release",
    }],
    [200, "keep-alive", undefined],
  ]);
  // The same refusal twice within a second is logged once.
  assert.deepEqual(logged, [
    "unix local: refused (400): the request body is not JSON",
    "unix local: refused (400): the request body is not an object",
    "unix local: refused (400): protocol version 2 is not spoken here (this daemon speaks 1); " +
    "use a client of the same release",
  ]);
});

Deno.test("a refusal drops a body of up to 64 KiB to keep the connection; a larger one is not read and the connection is closed", async () => {
  const small = await serve([post("/v1/nowhere", 2000), "x".repeat(2000), HEALTH]);
  assert.deepEqual(small.answers.map((a) => [a.status, a.connection]), [
    [404, "keep-alive"],
    [200, "keep-alive"],
  ]);
  assert.deepEqual(small.answers[0].body.error, {
    code: "unsupported",
    message: "no POST /v1/nowhere here",
  });
  const edge = await serve([post("/v1/whoami", "x".repeat(64 * 1024)), HEALTH]);
  assert.deepEqual(edge.answers.map((a) => [a.status, a.connection]), [
    [413, "close"],
  ]);
  const large = await serve([post("/v1/nowhere", 64 * 1024 + 1), HEALTH]);
  assert.deepEqual(large.answers.map((a) => [a.status, a.connection]), [[404, "close"]]);
  assert.equal(large.closed, true);
  // No proof: 401, the small body dropped, the connection kept.
  const unproven = await serve([post("/v1/whoami", '{"version":1}'), HEALTH]);
  assert.deepEqual(unproven.answers.map((a) => [a.status, a.connection, a.body.error]), [
    [401, "keep-alive", { code: "not-secure", message: "prove who you are" }],
    [200, "keep-alive", undefined],
  ]);
});

Deno.test("a body over its route's limit is a 413 and closes the connection; one cut short is a 400 and closes it", async () => {
  const over = await serve([post("/v1/whoami", 1025, "authorization: Test\r\n"), HEALTH]);
  assert.deepEqual(over.answers.map((a) => [a.status, a.connection, a.body.error]), [
    [413, "close", {
      code: "bad-args",
      message: "a /v1/whoami request has no body larger than 1024 bytes",
    }],
  ]);
  const cut = await serve([
    "POST /v1/whoami HTTP/1.1\r\nauthorization: Test\r\ncontent-length: 20\r\n\r\n{",
  ]);
  assert.deepEqual(cut.answers.map((a) => [a.status, a.connection, a.body.error]), [
    [400, "close", { code: "bad-args", message: "the connection closed in the middle of a body" }],
  ]);
  const badHead = await serve(["GET /v1/health HTTP/1.1\r\nno colon\r\n\r\n", HEALTH]);
  assert.deepEqual(badHead.answers.map((a) => [a.status, a.connection]), [[400, "close"]]);
  // Closed once its answer is out, before the connection is let go.
  assert.equal(badHead.closed, true);
  const close = await serve(["GET /v1/health HTTP/1.1\r\nConnection: Close\r\n\r\n", HEALTH]);
  assert.deepEqual(close.answers.map((a) => [a.status, a.connection]), [[200, "close"]]);
});

Deno.test("a large body that does not fit its budget is a 503 before it is read, naming whose share is full", async () => {
  const large = 64 * 1024 + 1;
  const unproven = await serve([post("/v1/request", large), HEALTH], {
    table: { unprovenBodyBudget: large - 1 },
  });
  assert.deepEqual(unproven.answers.map((a) => [a.status, a.connection, a.body.error]), [
    [503, "close", {
      code: "unreachable",
      message: "the daemon is busy reading other large requests; retry",
    }],
  ]);
  assert.deepEqual(unproven.logged, [
    "unix local: refused (503): the daemon is busy reading other large requests; retry",
  ]);
  const proven = await serve([post("/v1/request", large, "authorization: Test\r\n"), HEALTH], {
    table: { callerBodyBudget: large - 1 },
  });
  assert.deepEqual(proven.answers.map((a) => [a.status, a.connection, a.body.error]), [
    [503, "close", {
      code: "unreachable",
      message: "alice@x.example is already sending other large requests; retry when they are done",
    }],
  ]);
  // Within the budget, the body is read (and, not being JSON, refused as such).
  const fits = await serve([post("/v1/request", "x".repeat(large), "authorization: Test\r\n")], {
    table: { callerBodyBudget: large },
  });
  assert.deepEqual(fits.answers.map((a) => [a.status, a.body.error]), [
    [400, { code: "bad-args", message: "the request body is not JSON" }],
  ]);
});

Deno.test("a connection answers nothing once its time to prove a caller is up, or when its peer is silent; nothing more once the daemon stops", async () => {
  const limits = daemonLimits(config());
  const late = await serve([HEALTH], { opened: Date.now() - limits.unprovenMs });
  assert.deepEqual(late.answers, []);
  // Its time runs out while its first request is handled: the next one, already in, is not read.
  // The clock stands still but for that (a busy machine cannot make the first request late).
  const realNow = Date.now;
  let now = realNow();
  Date.now = () => now;
  try {
    const opened = now - limits.unprovenMs + 20;
    const expiring = await serve([HEALTH + HEALTH], {
      opened,
      duringHealth: () => void (now = opened + limits.unprovenMs + 1),
    });
    assert.deepEqual(expiring.answers.map((a) => a.status), [200]);
  } finally {
    Date.now = realNow;
  }
  const silent = peer([]);
  silent.conn.read = () => new Promise(() => {});

  // Its first request's deadline is the end of its time to prove a caller: 408, unanswered.
  const quiet = await serve(silent, { opened: Date.now() - limits.unprovenMs + 30 });
  assert.deepEqual(quiet.answers, []);
  // A daemon that stops answers the request in progress, says so, and reads no other.
  const stopping = await serve([HEALTH, HEALTH], { stopAfterHealth: true });
  assert.deepEqual(stopping.answers.map((a) => [a.status, a.connection]), [[200, "close"]]);
  // A daemon whose workers are not all serving says so on /v1/health.
  const sick = await serve([HEALTH, HEALTH], { sick: true });
  assert.deepEqual(sick.answers.map((a) => [a.status, a.body]), [
    [200, { version: 1, trustDomain: "t.example", ok: true }],
    [503, {
      version: 1,
      trustDomain: "t.example",
      ok: false,
      problem: "1 of 2 store workers are not serving",
    }],
  ]);
});

Deno.test("a connection's first request must begin within firstRequestMs, later ones within idleMs", async () => {
  const hour = 3_600_000;
  const first = peer([]);
  first.conn.read = () => new Promise(() => {});
  const late = await serve(first, {
    limits: { firstRequestMs: 20, idleMs: hour, unprovenMs: hour },
  });
  assert.deepEqual(late.answers, []);
  const next = peer([HEALTH]);
  const read = next.conn.read;
  next.conn.read = (p) => next.state.reads === 0 ? read(p) : new Promise(() => {});
  const idle = await serve(next, {
    limits: { firstRequestMs: hour, idleMs: 20, unprovenMs: hour },
  });
  assert.deepEqual(idle.answers.map((a) => a.status), [200]);
});

Deno.test("a store request is answered with what the workers replied; a handler's unexpected failure is a 500, logged", async () => {
  const list = post(
    "/v1/list",
    '{"version":1,"list":{"type":null,"user":null}}',
    "authorization: Test\r\n",
  );
  const reply = { ok: true, rows: [], warnings: [], user: "alice", caller: "alice@x.example" };
  const served = await serve([list, list], { run: () => Promise.resolve(structuredClone(reply)) });
  assert.deepEqual(served.answers.map((a) => [a.status, a.body]), [
    [200, { version: 1, reply }],
    [200, { version: 1, reply }],
  ]);
  // A caller's request waits its turn while its other requests take all of them.
  let released = false;
  const waited = await serve([list], {
    table: { maxCallerRequests: 1 },
    prepare: (table) => {
      const end = table.turn(ALICE) as () => void;
      setTimeout(() => {
        released = true;
        end();
      }, 20);
    },
    run: () => Promise.resolve({ ...structuredClone(reply), rows: released ? [] : [{}] }),
  });
  assert.deepEqual(waited.answers.map((a) => [a.status, a.body]), [[200, { version: 1, reply }]]);
  const failing = await serve([list, HEALTH], {
    run: () => Promise.reject(new TypeError("a bug")),
  });
  assert.deepEqual(failing.answers.map((a) => [a.status, a.connection, a.body.error]), [
    [500, "keep-alive", { code: "io", message: "the daemon failed unexpectedly; see its log" }],
    [200, "keep-alive", undefined],
  ]);
  assert.ok(
    failing.logged.some((line) => /^internal error: .*a bug/.test(line)),
    String(failing.logged),
  );
});

Deno.test("takeConnection serves an accepted connection, names its peer (its address over TCP, local on the socket), closes it and forgets it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-wire-" });
  try {
    for (const transport of ["tcp", "unix", "full"] as const) {
      const listener = transport === "tcp"
        ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
        : Deno.listen({ transport: "unix", path: `${dir}/${transport}` });
      const accepting = listener.accept();
      const client = transport === "tcp"
        ? await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port })
        : await Deno.connect({ transport: "unix", path: `${dir}/${transport}` });
      const accepted = await accepting;
      const cfg = config();
      const limits = daemonLimits(cfg);
      const table = new ConnectionTable({ ...limits.table, maxConnections: 1 });
      if (transport === "full") table.setBusy(table.open(() => {})!, true);
      const logged: string[] = [];
      const auth: Authenticator = {
        transport: "unix",
        challenges: null,
        fromHead: () => Promise.resolve(null),
        fromBody: () => null,
        missing: () => new ProtocolError(401, "not-secure", "prove who you are"),
      };
      const taking = takeConnection(accepted, {
        listening: { listener, auth, tls: null, name: transport },
        daemon: {
          config: cfg,
          log: (line) => logged.push(line),
          refusals: new RepeatedLines((line) => logged.push(line)),
          executor: {} as Executor,
          table,
          limits,
          stopping: () => false,
        },
      });
      if (transport === "full") {
        // No room: closed at once, before a byte is read, without a word.
        await writeJsonRequest(client, "POST", "/nowhere", undefined).catch(() => {});
        await assert.rejects(() => readResponse(new ConnReader(client), LIMITS));
        await taking;
        assert.deepEqual(logged, []);
        client.close();
        listener.close();
        continue;
      }
      await writeJsonRequest(client, "POST", "/nowhere", undefined, { connection: "close" });
      const answer = await readResponse(new ConnReader(client), LIMITS);
      assert.equal(answer.status, 404);
      await taking;
      const peerName = transport === "tcp" ? "127.0.0.1" : "local";
      assert.deepEqual(logged, [`unix ${peerName}: refused (404): no POST /nowhere here`]);
      // Its descriptor is gone.
      assert.throws(() => accepted.close(), Deno.errors.BadResource);
      client.close();
      listener.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a caller whose every connection is busy is refused (429) when it proves itself on one more, which is closed", async () => {
  const busy = await serve([WHOAMI, HEALTH], {
    table: { maxCallerConnections: 1 },
    prepare: (table) => {
      const other = table.open(() => {}, Date.now())!;
      assert.equal(table.claim(other, ALICE), "ok");
      table.setBusy(other, true);
    },
  });
  assert.deepEqual(busy.answers.map((a) => [a.status, a.connection, a.body.error]), [
    [429, "close", {
      code: "unreachable",
      message: "alice@x.example already holds 1 connections to the daemon, all busy " +
        "(CREDD_MAX_CALLER_CONNECTIONS); retry when one is done",
    }],
  ]);
  assert.equal(busy.closed, true);
});

Deno.test("a refusal the connection cannot be told ends serving it with that failure", async () => {
  const broken = peer([post("/v1/nowhere", 0), HEALTH]);
  broken.conn.write = () => Promise.reject(new Deno.errors.BrokenPipe("the peer went away"));
  await assert.rejects(() => serve(broken), /the peer went away/);
});

Deno.test("RepeatedLines writes a line at most once a second, with how many were left out, and remembers at most 1,000 lines", () => {
  const logged: string[] = [];
  const lines = new RepeatedLines((line) => logged.push(line));
  lines.write("a", 10_000);
  lines.write("a", 10_999);
  lines.write("a", 10_999);
  lines.write("a", 11_000);
  lines.write("a", 11_500);
  lines.write("a", 12_000);
  assert.deepEqual(logged, [
    "a",
    "a (and 2 more since the last such line)",
    "a (and 1 more since the last such line)",
  ]);
  // 1,001 distinct lines: the first is forgotten, the second is not.
  logged.length = 0;
  for (let i = 0; i <= 1000; i++) lines.write(`line ${i}`, 20_000);
  assert.equal(logged.length, 1001);
  lines.write("line 1", 20_001);
  assert.equal(logged.length, 1001);
  lines.write("line 0", 20_001);
  assert.deepEqual(logged.slice(1001), ["line 0"]);
});

Deno.test("daemonLimits: the documented budgets, and caps of at least one whatever the configuration says", () => {
  const limits = daemonLimits(config());
  assert.deepEqual({ ...limits, table: null }, {
    table: null,
    firstRequestMs: 10_000,
    unprovenMs: 10_000,
    idleMs: 60_000,
    messageMs: 10_000,
    shutdownMs: 15_000,
  });
  assert.deepEqual(limits.table, {
    maxConnections: 4096,
    maxUnproven: limits.table.maxUnproven,
    maxCallerConnections: 64,
    maxCallerRequests: limits.table.maxCallerRequests,
    smallBody: 64 * 1024,
    bodyBudget: 256 * 1024 * 1024,
    callerBodyBudget: 32 * 1024 * 1024,
    unprovenBodyBudget: 16 * 1024 * 1024,
  });
  const zero = daemonLimits(config({
    _CONDOR_CREDD_MAX_CONNECTIONS: "0",
    _CONDOR_CREDD_MAX_UNPROVEN_CONNECTIONS: "0",
    _CONDOR_CREDD_MAX_CALLER_CONNECTIONS: "0",
    _CONDOR_CREDD_MAX_CALLER_REQUESTS: "0",
    _CONDOR_CREDD_CHALLENGE_LIFETIME: "0",
  }));
  assert.equal(zero.table.maxConnections, 1);
  assert.equal(zero.table.maxUnproven, 1);
  assert.equal(zero.table.maxCallerConnections, 1);
  assert.equal(zero.table.maxCallerRequests, 1);
  assert.equal(zero.unprovenMs, 10_000);
  const unproven = daemonLimits(config({
    _CONDOR_CREDD_MAX_CONNECTIONS: "5",
    _CONDOR_CREDD_MAX_UNPROVEN_CONNECTIONS: "9",
    _CONDOR_CREDD_CHALLENGE_LIFETIME: "30",
  }));
  assert.equal(unproven.table.maxUnproven, 5);
  assert.equal(unproven.unprovenMs, 30_000);
});

Deno.test("decodeReply takes a caller of up to 1024 characters", () => {
  const reply = (caller: string) =>
    decodeReply({
      warnings: [],
      target: null,
      caller,
      ok: false,
      error: { code: "io", message: "m" },
    });
  assert.equal(reply("x".repeat(1024)).caller, "x".repeat(1024));
  assert.throws(() => reply("x".repeat(1025)), /the reply's caller is malformed/);
});

Deno.test("decodeWhoami takes whole numbers only: a uid from 0, an expiry or null", () => {
  const value = {
    account: "root@x.example",
    user: "root",
    domain: "x.example",
    uid: 0,
    transport: "tls",
    expires: 2_000_000_000,
  };
  assert.deepEqual(decodeWhoami(value), value);
  assert.equal(decodeWhoami({ ...value, uid: null, expires: null }).uid, null);
  for (
    const bad of [
      { ...value, uid: -1 },
      { ...value, uid: 1.5 },
      { ...value, uid: "0" },
      { ...value, expires: 1.5 },
      { ...value, expires: 2 ** 53 },
      { ...value, user: 5 },
      // Not strings, though the account reads as if they were.
      { ...value, account: "5@x.example", user: 5 },
      { ...value, account: "root@1", domain: 1 },
      { ...value, domain: null },
      { ...value, account: 7 },
      { ...value, transport: undefined },
      [],
    ]
  ) {
    assert.throws(
      () => decodeWhoami(bad),
      (e: unknown) =>
        e instanceof ProtocolError && e.status === 400 &&
        /^the whoami answer is (malformed|not an object)$/.test(e.message),
    );
  }
});

Deno.test("decodeRequest decodes a credential whose base64url length fits its limit, and not one longer", () => {
  const credential = (limit: number, encoded: string) => {
    const r = decodeRequest({ action: "add", type: "kerberos", credential: encoded }, {
      limit: () => limit,
    });
    return r.action === "add" ? decoder.decode(r.credential) : null;
  };
  // Up to 4 characters for each 3 bytes of the limit, rounded up.
  assert.equal(credential(3, "YWJj"), "abc");
  // 8 characters may hold 6 bytes, over a limit of 4: decoded (the store refuses them).
  assert.equal(credential(4, "YWJjZGVm"), "abcdef");
  // 10 characters are more than a limit of 6 allows (8): not decoded, one byte over the limit.
  assert.equal(credential(6, "YWJjZGVmZw"), "\0".repeat(7));
});

// ---- The client ----

/**
 * A fake daemon on a Unix socket in this process: it closes the first `drop` connections without
 * a word, answers 503 to the first `busy` challenge requests, then issues challenges and answers
 * whoami.
 */
async function fakeDaemon(
  options: {
    drop?: number;
    busy?: number;
    busyStatus?: number;
    /** The body of every challenge answer (200), instead of a challenge. */
    challengeBody?: string;
    whoami?: (n: number) => [number, unknown];
  },
) {
  const dir = await Deno.makeTempDir({ prefix: "csc-wire-" });
  const challengeDir = `${dir}/challenges`;
  await Deno.mkdir(challengeDir);
  const socket = `${dir}/socket`;
  const listener = Deno.listen({ transport: "unix", path: socket });
  const challenges = new Challenges(challengeDir);
  const seen = { connections: 0, challenges: 0, requests: [] as string[], at: [] as number[] };
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      seen.connections++;
      if (seen.connections <= (options.drop ?? 0)) {
        conn.close();
        continue;
      }
      served.push((async () => {
        const reader = new ConnReader(conn);
        try {
          while (true) {
            const head = await readRequestHead(reader, { ...LIMITS, maxBody: 10_000 });
            if (head === null) return;
            const body = await reader.readBody(head.length, Date.now() + 60_000);
            seen.requests.push(
              `${head.path} ${head.headers.get("authorization") ?? "-"} ${decoder.decode(body)}`,
            );
            if (head.path === "/v1/challenge") {
              seen.challenges++;
              seen.at.push(performance.now());
              if (options.challengeBody !== undefined) {
                const bytes = encoder.encode(options.challengeBody);
                await conn.write(
                  encoder.encode(`HTTP/1.1 200 OK\r\ncontent-length: ${bytes.length}\r\n\r\n`),
                );
                await conn.write(bytes);
              } else if (seen.challenges <= (options.busy ?? 0)) {
                await writeJsonResponse(
                  conn,
                  options.busyStatus ?? 503,
                  { error: { message: "busy" } },
                  true,
                );
              } else {
                await writeJsonResponse(conn, 200, { version: 1, ...challenges.issue() }, true);
              }
            } else {
              const [status, answer] = options.whoami?.(seen.requests.length) ??
                [200, {
                  version: 1,
                  whoami: ALICE_WHOAMI,
                }];
              await writeJsonResponse(conn, status, answer, false);
              return;
            }
          }
        } catch {
          // The client went away.
        } finally {
          conn.close();
        }
      })());
    }
  })();
  return {
    socket,
    challengeDir,
    seen,
    async stop() {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(served);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("the client proves itself and gets its answer; a busy daemon's dropped connections and 503s are tried again", async () => {
  const daemon = await fakeDaemon({ drop: 2, busy: 2 });
  try {
    const whoami = await sendLocal(daemon.socket, daemon.challengeDir, whoamiCall());
    assert.equal(whoami.account, "alice@x.example");
    assert.equal(daemon.seen.connections, 3);
    assert.equal(daemon.seen.challenges, 3);
    // The client waits before it asks a busy daemon again: 50 ms at least, then 100.
    const [first, second, third] = daemon.seen.at;
    assert.ok(second - first >= 49, `${second - first} ms`);
    assert.ok(third - second >= 99, `${third - second} ms`);
    const last = daemon.seen.requests.at(-1)!;
    assert.match(last, /^\/v1\/whoami Challenge [0-9a-f]{32} [A-Za-z0-9_-]{43} \{"version":1\}$/);
    // The challenge file is gone once the answer is in.
    assert.deepEqual([...Deno.readDirSync(daemon.challengeDir)], []);
  } finally {
    await daemon.stop();
  }
});

/** Asserts that `f` fails with a StoreError of `code` and `message`. */
async function rejectsStore(f: () => Promise<unknown>, code: string, message: string) {
  await assert.rejects(f, (e: unknown) => {
    assert.ok(e instanceof StoreError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  });
}

type Connect = (options: Deno.UnixConnectOptions) => Promise<Deno.Conn>;

Deno.test("the client tries a connection again when the socket's queue is full, a connection is reset or a pipe broken; not when nobody listens", async () => {
  const daemon = await fakeDaemon({});
  try {
    for (
      const failure of [
        new Deno.errors.WouldBlock("Resource temporarily unavailable"),
        new Deno.errors.ConnectionReset("reset"),
        new Deno.errors.BrokenPipe("broken"),
        new Error("Resource temporarily unavailable (os error 11)"),
        new Error("try later (os error 11)"),
      ]
    ) {
      let calls = 0;
      const deno = Deno as unknown as { connect: Connect };
      const real = deno.connect;
      deno.connect = (options) => {
        calls++;
        return calls === 1 ? Promise.reject(failure) : real(options);
      };
      try {
        const whoami = await sendLocal(daemon.socket, daemon.challengeDir, whoamiCall());
        assert.equal(whoami.user, "alice", failure.message);
      } finally {
        deno.connect = real;
      }
      assert.equal(calls, 2, failure.message);
    }
    for (
      const failure of [
        new Deno.errors.ConnectionRefused("Connection refused (os error 111): connect '/x/s'"),
        new Deno.errors.NotFound("No such file or directory (os error 2)"),
        new Error("os error 110"),
      ]
    ) {
      let calls = 0;
      const deno = Deno as unknown as { connect: Connect };
      const real = deno.connect;
      deno.connect = () => {
        calls++;
        return Promise.reject(failure);
      };
      try {
        await rejectsStore(
          () => sendLocal(daemon.socket, daemon.challengeDir, whoamiCall()),
          "unreachable",
          `no condor_store_cred daemon answers on "${daemon.socket}": ${
            failure.message.replace(/: \w+ '.*'$/, "")
          }`,
        );
      } finally {
        deno.connect = real;
      }
      assert.equal(calls, 1, failure.message);
    }
  } finally {
    await daemon.stop();
  }
});

Deno.test("the client does not ask again for a challenge the daemon refuses otherwise than busy (503)", async () => {
  const daemon = await fakeDaemon({ busy: 1, busyStatus: 429 });
  try {
    await rejectsStore(
      () => sendLocal(daemon.socket, daemon.challengeDir, whoamiCall()),
      "unreachable",
      `the condor_store_cred daemon on "${daemon.socket}" refused the request: busy`,
    );
    assert.equal(daemon.seen.challenges, 1);
  } finally {
    await daemon.stop();
  }
});

Deno.test("the client does not ask again for a challenge whose answer is not a JSON object", async () => {
  for (
    const [body, message] of [
      ["7", "the daemon's answer is not an object"],
      ["{", "the daemon's answer is not JSON"],
    ]
  ) {
    const daemon = await fakeDaemon({ challengeBody: body });
    try {
      await assert.rejects(
        () => sendLocal(daemon.socket, daemon.challengeDir, whoamiCall()),
        (e: unknown) => {
          assert.ok(e instanceof StoreError);
          assert.equal(
            e.message,
            `the condor_store_cred daemon on "${daemon.socket}" could not handle the request: ${message}`,
          );
          return true;
        },
      );
      assert.equal(daemon.seen.challenges, 1);
    } finally {
      await daemon.stop();
    }
  }
});

Deno.test("the client reports the daemon's refusal (4xx) and failure (5xx) with its message; 401 is not-secure", async () => {
  const answers: [number, unknown, string, string][] = [
    [403, { error: { message: "not you" } }, "unreachable", "refused the request: not you"],
    [401, { error: { message: "who?" } }, "not-secure", "refused the request: who?"],
    [500, { error: {} }, "unreachable", "could not handle the request: the daemon answered 500"],
    [200, [], "bad-args", "refused the request: the whoami answer is not an object"],
    [200, 7, "unreachable", "could not handle the request: the daemon's answer is not an object"],
    [
      200,
      null,
      "unreachable",
      "could not handle the request: the daemon's answer is not an object",
    ],
  ];
  for (const [status, answer, code, message] of answers) {
    const daemon = await fakeDaemon({ whoami: () => [status, answer] });
    try {
      await assert.rejects(
        () => sendLocal(daemon.socket, daemon.challengeDir, whoamiCall()),
        (e: unknown) => {
          assert.ok(e instanceof StoreError);
          assert.equal(e.code, code);
          assert.equal(e.message, `the condor_store_cred daemon on "${daemon.socket}" ${message}`);
          return true;
        },
      );
    } finally {
      await daemon.stop();
    }
  }
});

Deno.test("over TLS the client reads a health answer of at most 4096 bytes, and names the daemon's trust domain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-wire-" });
  try {
    const certs = await makeCertificates(dir);
    // A daemon the client cannot trust: another CA, or a certificate for another name.
    for (
      const [cert, key, ca, remedy] of [
        [certs.cert, certs.key, certs.otherCa, /^set AUTH_SSL_CLIENT_CAFILE to the CA/],
        [certs.otherNameCert, certs.otherNameKey, certs.ca, /^name the daemon as its certificate/],
      ] as [string, string, string, RegExp][]
    ) {
      const listener = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: await Deno.readTextFile(cert),
        key: await Deno.readTextFile(key),
      });
      const serving = listener.accept().then(async (conn) => {
        await conn.handshake().catch(() => {});
        conn.close();
      });
      const port = (listener.addr as Deno.NetAddr).port;
      try {
        await assert.rejects(
          () =>
            sendRemote({
              host: "127.0.0.1",
              port,
              caCerts: [Deno.readTextFileSync(ca)],
              token: () => "never asked",
            }, whoamiCall()),
          (e: unknown) => {
            assert.ok(e instanceof StoreError);
            assert.equal(e.code, "not-secure");
            assert.match(
              e.message,
              new RegExp(
                `^the condor_store_cred daemon at 127\\.0\\.0\\.1:${port} could not be trusted: `,
              ),
            );
            assert.match(e.remedy ?? "", remedy);
            return true;
          },
        );
      } finally {
        await serving.catch(() => {});
        listener.close();
      }
    }
    for (const size of [4096, 4097]) {
      const listener = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: await Deno.readTextFile(certs.cert),
        key: await Deno.readTextFile(certs.key),
      });
      const serving = (async () => {
        const conn = await listener.accept();
        try {
          const reader = new ConnReader(conn);
          await readRequestHead(reader, LIMITS);
          const base = JSON.stringify({ trustDomain: "t.example", pad: "" });
          await writeJsonResponse(conn, 200, {
            trustDomain: "t.example",
            pad: "p".repeat(size - base.length),
          }, true);
          await readRequestHead(reader, LIMITS).catch(() => {});
        } finally {
          conn.close();
        }
      })();
      const domains: string[] = [];
      try {
        await assert.rejects(
          () =>
            sendRemote({
              host: "127.0.0.1",
              port: (listener.addr as Deno.NetAddr).port,
              caCerts: [Deno.readTextFileSync(certs.ca)],
              token: (domain) => {
                domains.push(domain);
                throw new StoreError("not-secure", "no token for it");
              },
            }, whoamiCall()),
          (e: unknown) => {
            assert.ok(e instanceof StoreError);
            if (size === 4096) assert.equal(e.message, "no token for it");
            else {
              assert.equal(
                e.message,
                `the condor_store_cred daemon at 127.0.0.1:${
                  (listener.addr as Deno.NetAddr).port
                } did not answer properly: the body is larger than 4096 bytes`,
              );
            }
            return true;
          },
        );
      } finally {
        await serving.catch(() => {});
        listener.close();
      }
      assert.deepEqual(domains, size === 4096 ? ["t.example"] : []);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the TLS private key is refused when every user may read it, and its mode is named; the last pair that exists is used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-wire-" });
  try {
    for (
      const [name, mode] of [["cert", 0o644], ["key", 0o640], ["open", 0o644], [
        "cert2",
        0o600,
      ]] as const
    ) {
      await Deno.writeTextFile(`${dir}/${name}`, name.toUpperCase());
      await Deno.chmod(`${dir}/${name}`, mode);
    }
    const tls = (certs: string, keys: string) =>
      config({ _CONDOR_AUTH_SSL_SERVER_CERTFILE: certs, _CONDOR_AUTH_SSL_SERVER_KEYFILE: keys });
    assert.deepEqual(serverCertificate(tls(`${dir}/cert`, `${dir}/key`)), {
      cert: "CERT",
      key: "KEY",
    });
    assert.deepEqual(
      serverCertificate(tls(`${dir}/cert, ${dir}/cert2`, `${dir}/key, ${dir}/key`)),
      { cert: "CERT2", key: "KEY" },
    );
    assert.deepEqual(
      serverCertificate(tls(`${dir}/cert,${dir}/cert2`, `${dir}/key,${dir}/missing`)),
      { cert: "CERT", key: "KEY" },
    );
    assert.throws(() => serverCertificate(tls(`${dir}/cert`, `${dir}/open`)), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, "insecure");
      assert.equal(
        e.message,
        `the TLS private key "${dir}/open" is readable by every user (mode 0644)`,
      );
      assert.equal(e.remedy, `run "chmod o-r ${dir}/open"`);
      return true;
    });
    // The certificate may be read by everyone.
    assert.deepEqual(serverCertificate(tls(`${dir}/open`, `${dir}/key`)), {
      cert: "OPEN",
      key: "KEY",
    });
    assert.throws(
      () => serverCertificate(tls(`${dir}/missing`, `${dir}/key`)),
      (e: unknown) => e instanceof StoreError && e.code === "config",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a daemon that hangs up before the client's health request is written: one clear error, nothing left unhandled", async () => {
  const realConnectTls = Deno.connectTls;
  let closed = false;
  const fake = {
    handshake: () => Promise.resolve({ alpnProtocol: null }),
    write: () => Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)")),
    read: () => Promise.resolve(null),
    close: () => void (closed = true),
  };
  (Deno as { connectTls: unknown }).connectTls = () => Promise.resolve(fake);
  try {
    await assert.rejects(
      () =>
        sendRemote(
          { host: "daemon.example", port: 9619, token: () => "never asked" },
          whoamiCall(),
        ),
      (e: unknown) => {
        assert.ok(e instanceof StoreError, String(e));
        assert.equal(
          e.message,
          "could not talk to the condor_store_cred daemon at daemon.example:9619: Broken pipe (os error 32)",
        );
        return true;
      },
    );
    assert.equal(closed, true);
    // A write left running would reject after the answer: give it the chance to, unhandled.
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    Deno.connectTls = realConnectTls;
  }
});
