/**
 * Reading the credential (docs/upstream.md "Reading the credential", deviations 2, 6 and 7):
 * `-i FILE`, `-i -`, `-p -`, `-p VALUE` and the no-echo prompt with confirmation. Secrets are
 * bytes, and every working buffer is zeroed once the result has been copied out. This is the
 * client side: the daemon only ever receives the bytes.
 */

import { constantTimeEqual } from "./crypto/equal.ts";
import { printable, quote, StoreError } from "./errors.ts";
import { classifyInput, openInputFile } from "./fs/input_path.ts";
import type { Input, Io } from "./io.ts";
import { DEVIATION, UPSTREAM } from "./messages.ts";

/** Where the credential of an add comes from, in upstream's order of precedence. */
export type CredentialSource =
  | { readonly kind: "input"; readonly path: string } // -i FILE or -i -
  | { readonly kind: "password-stdin" } // -p -
  | { readonly kind: "password"; readonly value: string } // -p VALUE
  | { readonly kind: "prompt" };

/** The prompt was interrupted with Ctrl-C or a signal: exit 130, store nothing. */
export const CANCELLED = Symbol("cancelled");

/** Options of `readCredential`. */
export interface ReadCredentialOptions {
  /** Largest accepted credential in bytes (docs/storage.md "Limits"). */
  readonly limit: number;
  /** Where prompts go: stdout as upstream, stderr when stdout carries JSON. */
  readonly promptTo: "stdout" | "stderr";
}

const encoder = new TextEncoder();

function tooLarge(limit: number): StoreError {
  return new StoreError("too-large", DEVIATION.tooLarge(limit));
}

/** A growable byte buffer that zeroes every copy it discards. */
class SecretBuffer {
  #bytes = new Uint8Array(256);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (this.#length + chunk.length > this.#bytes.length) {
      const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + chunk.length));
      bigger.set(this.#bytes.subarray(0, this.#length));
      this.#bytes.fill(0);
      this.#bytes = bigger;
    }
    this.#bytes.set(chunk, this.#length);
    this.#length += chunk.length;
  }

  pop(): number | undefined {
    if (this.#length === 0) return undefined;
    const b = this.#bytes[--this.#length];
    this.#bytes[this.#length] = 0;
    return b;
  }

  clear(): void {
    this.#bytes.fill(0, 0, this.#length);
    this.#length = 0;
  }

  /** Copies the content out and wipes the buffer. */
  take(): Uint8Array {
    const out = this.#bytes.slice(0, this.#length);
    this.#bytes.fill(0);
    this.#length = 0;
    return out;
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const stdinFailure = (reason: string) =>
  new StoreError("input", UPSTREAM.stdinReadFailed(printable(reason)));

/** Reads a stream to its end, refusing more than `limit` bytes. */
async function readStream(
  source: { read(buffer: Uint8Array): Promise<number | null> },
  limit: number,
  failure: (reason: string) => StoreError,
): Promise<Uint8Array> {
  const buffer = new SecretBuffer();
  const chunk = new Uint8Array(64 * 1024);
  try {
    while (true) {
      let n: number | null;
      try {
        n = await source.read(chunk);
      } catch (error) {
        buffer.clear();
        throw failure(reasonOf(error));
      }
      if (n === null) break;
      buffer.push(chunk.subarray(0, n));
      if (buffer.length > limit) {
        buffer.clear();
        throw tooLarge(limit);
      }
    }
    return buffer.take();
  } finally {
    chunk.fill(0);
  }
}

/** Reads `-i FILE` under the input-path rules, refusing more than `limit` bytes. */
async function readInputFile(io: Io, path: string, limit: number): Promise<Uint8Array> {
  const failure = (why: string) =>
    new StoreError("input", `${UPSTREAM.readCredentialFailed(printable(path))}\n    ${why}`);
  const file = openInputFile(path, io.uid(), io.cwd());
  try {
    const before = file.statSync();
    if (before.isDirectory) throw failure("it is a directory");
    const bytes = await readStream(file, limit, failure);
    const after = file.statSync();
    if (before.isFile && before.mtime?.getTime() !== after.mtime?.getTime()) {
      bytes.fill(0);
      throw failure("it changed while it was being read");
    }
    return bytes;
  } finally {
    file.close();
  }
}

/** Buffered byte reader over stdin, keeping what was typed ahead between two prompts. */
class ByteReader {
  #pending: Uint8Array = new Uint8Array(0);
  #chunk = new Uint8Array(256);

  constructor(readonly stdin: Input) {}

  /** The next byte, or null at end of input. */
  async next(): Promise<number | null> {
    if (this.#pending.length === 0) {
      const n = await this.stdin.read(this.#chunk);
      if (n === null || n === 0) return null;
      this.#pending = this.#chunk.subarray(0, n);
    }
    const b = this.#pending[0];
    this.#pending[0] = 0;
    this.#pending = this.#pending.subarray(1);
    return b;
  }

  wipe(): void {
    this.#chunk.fill(0);
  }
}

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const BACKSPACE = 0x08;
const CTRL_U = 0x15;
const DELETE = 0x7f;

/**
 * Reads one line in raw mode without echo, with backspace, Ctrl-U and Ctrl-C handling.
 * Returns CANCELLED on Ctrl-C. A line longer than `limit` is consumed, then refused.
 */
async function readHiddenLine(
  reader: ByteReader,
  limit: number,
): Promise<Uint8Array | typeof CANCELLED> {
  const line = new SecretBuffer();
  let overflow = false;
  while (true) {
    const b = await reader.next();
    if (b === null || b === 0x0d || b === 0x0a) break;
    if (b === CTRL_C) {
      line.clear();
      return CANCELLED;
    }
    if (b === CTRL_D) {
      if (line.length === 0) break;
      continue;
    }
    if (b === BACKSPACE || b === DELETE) {
      // Remove one whole UTF-8 character: continuation bytes, then its lead byte.
      let last = line.pop();
      while (last !== undefined && (last & 0xc0) === 0x80) last = line.pop();
      continue;
    }
    if (b === CTRL_U) {
      line.clear();
      continue;
    }
    if (b < 0x20 && b !== 0x09) continue;
    if (line.length >= limit) {
      overflow = true;
      continue;
    }
    line.push(Uint8Array.of(b));
  }
  if (overflow) {
    line.clear();
    throw tooLarge(limit);
  }
  return line.take();
}

/** Reads one line from piped stdin, without its newline (upstream's non-terminal prompt). */
async function readPlainLine(reader: ByteReader, limit: number): Promise<Uint8Array> {
  const line = new SecretBuffer();
  while (true) {
    const b = await reader.next();
    if (b === null || b === 0x0a) break;
    if (line.length >= limit) {
      line.clear();
      throw tooLarge(limit);
    }
    line.push(Uint8Array.of(b));
  }
  return line.take();
}

/**
 * The password prompt (deviation 2). On a terminal: `Enter password: ` and
 * `Confirm password: `, no echo, raw mode restored whatever happens, Ctrl-C or SIGINT gives
 * CANCELLED. Piped stdin: one line, newline stripped, no confirmation.
 */
export async function promptPassword(
  io: Io,
  options: ReadCredentialOptions,
): Promise<Uint8Array | typeof CANCELLED> {
  const write = (text: string) =>
    options.promptTo === "stdout" ? io.writeOut(text) : io.writeErr(text);
  const reader = new ByteReader(io.stdin);
  try {
    if (!io.stdin.isTerminal()) {
      write(UPSTREAM.enterPassword);
      const line = await readPlainLine(reader, options.limit);
      write("\n");
      return line;
    }
    let interrupted = false;
    const stopListening = io.onInterrupt(() => {
      interrupted = true;
      io.stdin.setRaw(false);
      io.stdin.close();
    });
    // Raw mode before the prompt appears, so nothing typed after it is ever echoed.
    io.stdin.setRaw(true);
    let first: Uint8Array | typeof CANCELLED | undefined;
    let second: Uint8Array | typeof CANCELLED | undefined;
    try {
      write(UPSTREAM.enterPassword);
      first = await readHiddenLine(reader, options.limit);
      write("\n");
      if (first === CANCELLED) return CANCELLED;
      write(DEVIATION.confirmPassword);
      second = await readHiddenLine(reader, options.limit);
      write("\n");
      if (second === CANCELLED) {
        first.fill(0);
        return CANCELLED;
      }
      const match = constantTimeEqual(first, second);
      second.fill(0);
      if (!match) {
        first.fill(0);
        throw new StoreError("input", DEVIATION.passwordsDoNotMatch);
      }
      return first;
    } catch (error) {
      if (interrupted) {
        if (first instanceof Uint8Array) first.fill(0);
        return CANCELLED;
      }
      throw error;
    } finally {
      if (!interrupted) io.stdin.setRaw(false);
      stopListening();
    }
  } finally {
    reader.wipe();
  }
}

/**
 * Reads the credential for an add from `source` (`-i -` and the names of descriptor 0 read
 * standard input). Refuses an empty credential and one over `limit` bytes (deviations 6,
 * 7). Returns CANCELLED when the prompt was interrupted.
 * Throws StoreError ("input", "too-large", "empty").
 */
export async function readCredential(
  source: CredentialSource,
  io: Io,
  options: ReadCredentialOptions,
): Promise<Uint8Array | typeof CANCELLED> {
  let bytes: Uint8Array | typeof CANCELLED;
  if (source.kind === "input") {
    const input = source.path === "-" ? { kind: "stdin" } as const : classifyInput(source.path);
    bytes = input.kind === "stdin"
      ? await readStream(io.stdin, options.limit, stdinFailure)
      : await readInputFile(io, input.path, options.limit);
  } else if (source.kind === "password-stdin") {
    bytes = await readStream(io.stdin, options.limit, stdinFailure);
  } else if (source.kind === "password") {
    io.writeErr(`${DEVIATION.passwordOnCommandLine}\n`);
    bytes = encoder.encode(source.value);
    if (bytes.length > options.limit) {
      bytes.fill(0);
      throw tooLarge(options.limit);
    }
  } else {
    bytes = await promptPassword(io, options);
  }
  if (bytes !== CANCELLED && bytes.length === 0) {
    throw new StoreError("empty", DEVIATION.empty);
  }
  return bytes;
}

/**
 * Reads standard input to its end, up to `limit` bytes (the IDTOKEN of `--token-file -`); `what`
 * names it in the error. Throws StoreError("input").
 */
export async function readStandardInput(io: Io, limit: number, what: string): Promise<Uint8Array> {
  try {
    return await readStream(io.stdin, limit, stdinFailure);
  } catch (error) {
    if (!(error instanceof StoreError) || error.code !== "too-large") throw error;
    throw new StoreError("input", `${what} is longer than ${limit} bytes`);
  }
}

/** Describes where the credential comes from, for debug output (never the bytes). */
export function describeSource(source: CredentialSource): string {
  if (source.kind === "input") {
    return source.path === "-" ? "stdin (-i -)" : `file ${quote(source.path)}`;
  }
  if (source.kind === "password-stdin") return "stdin (-p -)";
  if (source.kind === "password") return "the command line (-p)";
  return "the prompt";
}

/**
 * The warning for a password read raw (`-p -`, `-i`) whose last byte is a newline: it is stored
 * as part of the password, as upstream stores it, which is rarely what was meant (`echo` adds
 * one). Null when there is nothing to say.
 */
export function trailingNewlineWarning(
  source: CredentialSource,
  credential: Uint8Array,
): string | null {
  if (source.kind !== "input" && source.kind !== "password-stdin") return null;
  if (credential.length === 0 || credential[credential.length - 1] !== 0x0a) return null;
  return `the password read from ${describeSource(source)} ends in a newline, which was ` +
    "stored as part of it; to leave it out, write it with printf '%s' rather than echo";
}
