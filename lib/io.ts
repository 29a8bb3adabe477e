/**
 * The injected terminal and environment interface, so prompts and output are testable without a
 * terminal. `createRealIo()` is the one place the real one is built. Output is written
 * synchronously: a short-lived program gains nothing from asynchronous writes and pays for them
 * at start-up.
 *
 * Permissions of the real Io: --allow-env, --allow-sys=hostname,uid.
 */

/** What the program needs from standard input. */
export interface Input {
  read(buffer: Uint8Array): Promise<number | null>;
  isTerminal(): boolean;
  /** Raw mode: no echo, no line editing, no signals from the keyboard. */
  setRaw(mode: boolean): void;
  /** Aborts a pending read (it then rejects). */
  close(): void;
}

/** Terminal, environment and process facts, injected into `run()`. */
export interface Io {
  /** A snapshot of the environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: Input;
  writeOut(text: string | Uint8Array): void;
  writeErr(text: string): void;
  /** True when stdout is a terminal. */
  stdoutIsTerminal(): boolean;
  /** The operating system (`Deno.build.os`). */
  readonly os: string;
  /** Effective uid (0 for root), or -1 where the platform has none. */
  uid(): number;
  hostname(): string;
  /** The current directory (relative `-i` paths are resolved against it). */
  cwd(): string;
  /** Calls `handler` on SIGINT or SIGTERM until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

const encoder = new TextEncoder();

function writeAll(sink: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) written += sink.writeSync(data.subarray(written));
}

/**
 * Reads stdin: synchronously when it is not a terminal (a pipe or a file: the common `-i -` of
 * scripts), since a short-lived program gains nothing from an asynchronous read and pays for its
 * first one (~0.2 ms of work and ~1 ms of wall time, measured); asynchronously on a terminal,
 * where a pending read must be abortable (the prompt's Ctrl-C), and on a non-blocking
 * descriptor, which a synchronous read cannot wait on.
 */
function readStdin(buffer: Uint8Array, terminal: boolean): Promise<number | null> {
  if (!terminal) {
    try {
      return Promise.resolve(Deno.stdin.readSync(buffer));
    } catch (error) {
      if (!(error instanceof Deno.errors.WouldBlock)) return Promise.reject(error);
    }
  }
  return Deno.stdin.read(buffer);
}

/** Builds the real Io over Deno's stdio, environment and signals. */
export function createRealIo(): Io {
  let stdinClosed = false;
  let stdinTerminal: boolean | null = null;
  const isTerminal = () => stdinTerminal ??= Deno.stdin.isTerminal();
  return {
    env: Deno.env.toObject(),
    stdin: {
      read: (buffer) => readStdin(buffer, isTerminal()),
      isTerminal,
      setRaw: (mode) => Deno.stdin.setRaw(mode),
      close: () => {
        if (stdinClosed) return;
        stdinClosed = true;
        Deno.stdin.close();
      },
    },
    writeOut: (text) =>
      writeAll(Deno.stdout, typeof text === "string" ? encoder.encode(text) : text),
    writeErr: (text) => writeAll(Deno.stderr, encoder.encode(text)),
    stdoutIsTerminal: () => Deno.stdout.isTerminal(),
    os: Deno.build.os,
    uid: () => Deno.uid() ?? -1,
    hostname: () => Deno.hostname(),
    cwd: () => Deno.cwd(),
    onInterrupt(handler) {
      const signals: Deno.Signal[] = Deno.build.os === "windows"
        ? ["SIGINT"]
        : ["SIGINT", "SIGTERM"];
      for (const s of signals) Deno.addSignalListener(s, handler);
      return () => {
        for (const s of signals) Deno.removeSignalListener(s, handler);
      };
    },
  };
}
