/**
 * Reading the credential (ref §2.5, SPEC deviations 2, 6 and 7): `-i FILE`, `-i -`, `-p -`,
 * `-p VALUE` and the no-echo prompt with confirmation. Secrets are bytes, and every working
 * buffer is zeroed once the result has been copied out.
 */

import type { CommandLine } from "./cli/parse.ts";
import { quote, StoreError } from "./errors.ts";
import type { Input, Io } from "./io.ts";
import { DEVIATION, UPSTREAM } from "./messages.ts";

/** The prompt was interrupted with Ctrl-C or a signal: exit 130, store nothing. */
export const CANCELLED = Symbol("cancelled");

/** Options of `readCredential`. */
export interface ReadCredentialOptions {
  /** Largest accepted credential in bytes (SPEC §5 "Limits"). */
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

const stdinFailure = (reason: string) => new StoreError("input", UPSTREAM.stdinReadFailed(reason));

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

/** Reads `-i FILE` as the caller, refusing more than `limit` bytes (ref §2.5 item 2). */
async function readInputFile(path: string, limit: number): Promise<Uint8Array> {
  const failure = (why: string) =>
    new StoreError("input", `${UPSTREAM.readCredentialFailed(path)}\n    ${why}`);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw failure(reasonOf(error));
  }
  try {
    const before = await file.stat();
    if (before.isDirectory) throw failure("it is a directory");
    const bytes = await readStream(file, limit, failure);
    const after = await file.stat();
    if (before.mtime?.getTime() !== after.mtime?.getTime()) {
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

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * The password prompt (SPEC deviation 2). On a terminal: `Enter password: ` and
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
      await write(UPSTREAM.enterPassword);
      const line = await readPlainLine(reader, options.limit);
      await write("\n");
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
      await write(UPSTREAM.enterPassword);
      first = await readHiddenLine(reader, options.limit);
      await write("\n");
      if (first === CANCELLED) return CANCELLED;
      await write(DEVIATION.confirmPassword);
      second = await readHiddenLine(reader, options.limit);
      await write("\n");
      if (second === CANCELLED) {
        first.fill(0);
        return CANCELLED;
      }
      const match = equalBytes(first, second);
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
 * Reads the credential for an add, in upstream's order of sources (ref §2.5): `-i -`, `-i FILE`,
 * `-p -`, `-p VALUE` (with a warning), else the prompt. Refuses an empty credential and one over
 * `limit` bytes (SPEC deviations 6, 7). Returns CANCELLED when the prompt was interrupted.
 * Throws StoreError ("input", "too-large", "empty").
 */
export async function readCredential(
  command: CommandLine,
  io: Io,
  options: ReadCredentialOptions,
): Promise<Uint8Array | typeof CANCELLED> {
  let bytes: Uint8Array | typeof CANCELLED;
  if (command.input === "-") {
    bytes = await readStream(io.stdin, options.limit, stdinFailure);
  } else if (command.input !== null) {
    bytes = await readInputFile(command.input, options.limit);
  } else if (command.password === "-") {
    bytes = await readStream(io.stdin, options.limit, stdinFailure);
  } else if (command.password) {
    await io.writeErr(`${DEVIATION.passwordOnCommandLine}\n`);
    bytes = encoder.encode(command.password);
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

/** Describes where the credential came from, for debug output (never the bytes). */
export function describeSource(command: CommandLine): string {
  if (command.input === "-") return "stdin (-i -)";
  if (command.input !== null) return `file ${quote(command.input)}`;
  if (command.password === "-") return "stdin (-p -)";
  if (command.password) return "the command line (-p)";
  return "the prompt";
}
