/**
 * The small connection interface the daemon's HTTP layer reads and writes (lib/daemon/http.ts),
 * and its adapters: a `Deno.Conn` is one as it is; a TLS connection is node:tls's `TLSSocket`
 * over a `Deno.Conn` (lib/daemon/tls.ts says why), turned into a Node stream for node:tls and
 * back into this interface for the daemon.
 */

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";

/** A byte stream to a peer: what a `Deno.Conn` offers, and all the HTTP layer uses. */
export interface ByteConn {
  /** Reads into `p`; resolves with the count, or null at the end of the stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves with the count written. */
  write(p: Uint8Array): Promise<number>;
  /** Ends the sending side (the peer reads the end of the stream). */
  closeWrite(): Promise<void>;
  /** Closes both sides and releases the descriptor at once. */
  close(): void;
}

/** Bytes read from the socket per read. */
const CHUNK = 16 * 1024;

/** A Node stream over a connection; `settled` resolves once no read is pending on it. */
export type ConnDuplex = Duplex & { settled(): Promise<void> };

/**
 * A Node stream over a `Deno.Conn`, for node:tls to run TLS on. Destroying it closes the
 * connection; its descriptor is gone once `settled()` resolves (a read pending when it was closed
 * holds it until that read has ended).
 */
export function duplexOf(conn: Deno.Conn): ConnDuplex {
  let pending: Promise<unknown> = Promise.resolve();
  const stream = new Duplex({
    read() {
      const buffer = new Uint8Array(CHUNK);
      const read = conn.read(buffer).then(
        (n) => this.push(n === null ? null : Buffer.from(buffer.buffer, 0, n)),
        (error) => this.destroy(error),
      );
      pending = read;
    },
    write(chunk: Uint8Array, _encoding, done) {
      (async () => {
        let written = 0;
        while (written < chunk.length) written += await conn.write(chunk.subarray(written));
      })().then(() => done(), done);
    },
    final(done) {
      conn.closeWrite().then(() => done(), () => done());
    },
    destroy(error, done) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      done(error);
    },
  });
  return Object.assign(stream, { settled: () => pending.then(() => {}, () => {}) });
}

/** Decrypted bytes a connection buffers before it stops reading from the peer. */
const HIGH_WATER = 256 * 1024;

/**
 * A Node stream (the TLS socket) as a ByteConn: what it emits is queued until read; beyond
 * HIGH_WATER the stream is paused, so a peer that sends faster than the daemon reads costs
 * bounded memory. Every byte handed out is zeroed in the queue (bodies carry credentials).
 */
export class StreamConn implements ByteConn {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #paused = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(readonly stream: Duplex) {
    stream.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= HIGH_WATER && !this.#paused) {
        this.#paused = true;
        stream.pause();
      }
      this.#notify();
    });
    stream.on("end", () => this.#finish(null));
    stream.on("close", () => this.#finish(null));
    stream.on("error", (error: Error) => this.#finish(error));
  }

  #finish(error: Error | null): void {
    this.#ended = true;
    this.#error ??= error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#buffered === 0) {
      if (this.#error !== null) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const take = Math.min(chunk.length, p.length - n);
      p.set(chunk.subarray(0, take), n);
      n += take;
      chunk.fill(0, 0, take);
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    this.#buffered -= n;
    if (this.#paused && this.#buffered < HIGH_WATER / 4) {
      this.#paused = false;
      this.stream.resume();
    }
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.stream.destroyed) {
        reject(new Deno.errors.BrokenPipe("the connection is closed"));
        return;
      }
      this.stream.write(p, (error?: Error | null) => error ? reject(error) : resolve(p.length));
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.destroyed || this.stream.writableEnded) resolve();
      else this.stream.end(() => resolve());
    });
  }

  close(): void {
    this.stream.destroy();
    for (const chunk of this.#chunks) chunk.fill(0);
    this.#chunks = [];
    this.#buffered = 0;
    this.#finish(null);
  }
}
