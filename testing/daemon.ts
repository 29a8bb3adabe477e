/**
 * A real daemon for the tests: `condor_store_cred serve` started as root on a temp store, a temp
 * socket (in a root 0755 directory) and a temp sticky challenge directory, stopped with SIGTERM.
 */

import assert from "node:assert/strict";
import type { Identity } from "../lib/daemon/auth.ts";
import type { PoolOptions } from "../lib/daemon/workers.ts";
import type { Caller } from "../lib/request.ts";
import { RUNTIME_FLAGS } from "../lib/permissions.ts";
import { baseEnv, programCommand, type Spool } from "./harness.ts";

/**
 * The program with faults a test can set off in its store workers (testing/faulty_main.ts), for
 * `startDaemon({ entry })`.
 */
export const FAULTY_MAIN = new URL("./faulty_main.ts", import.meta.url).pathname;

/**
 * The options of an in-process pool of the faulty workers (FAULTY_MAIN) storing OAuth under
 * `dir`, logging into `log`: one worker, pinged every minute, retried after 10 ms; `more`
 * overrides any of them.
 */
export function faultyPoolOptions(
  dir: string,
  log: string[],
  more: Partial<PoolOptions> = {},
): PoolOptions {
  return {
    size: 1,
    config: {
      env: {
        CONDOR_CONFIG: "ONLY_ENV",
        _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: `${dir}/oauth`,
        _CONDOR_UID_DOMAIN: "x.example",
      },
      uid: Deno.uid()!,
      hostname: "h",
    },
    euid: Deno.uid()!,
    debug: null,
    log: (line) => log.push(line),
    module: new URL("./faulty_main.ts", import.meta.url),
    pingMs: 60_000,
    retryMs: 10,
    tickMs: 50,
    ...more,
  };
}

/** The caller of the daemon's in-process tests: alice@x.example, uid 1001, not root. */
export const ALICE_CALLER: Caller = {
  uid: 1001,
  name: "alice",
  domain: "x.example",
  inProcess: false,
};

/** ALICE_CALLER, proven (on the socket: no token, no expiry). */
export const ALICE: Identity = {
  caller: ALICE_CALLER,
  account: "alice@x.example",
  exempt: false,
  expires: null,
};

/** ALICE's whoami answer on the socket. */
export const ALICE_WHOAMI = {
  account: "alice@x.example",
  user: "alice",
  domain: "x.example",
  uid: 1001,
  transport: "unix",
  expires: null,
} as const;

/** A running daemon. */
export interface Daemon {
  readonly pid: number;
  readonly socket: string;
  readonly challengeDir: string;
  /** Environment for clients (and in-process runs) of this daemon. */
  readonly env: Record<string, string>;
  /** The port of its TLS listener, when CREDD_TLS_ADDRESS was set. */
  readonly tlsPort: number | null;
  /** Its log so far. */
  log(): string;
  /** Whether it has exited. */
  exited(): boolean;
  /** Resolves with its exit status when it exits (by itself or by `stop`). */
  status(): Promise<number>;
  /** Sends SIGTERM and waits; returns the exit code and the whole log. */
  stop(signal?: Deno.Signal): Promise<{ code: number; log: string }>;
}

const decoder = new TextDecoder();

/** How `startDaemon` starts a daemon. */
export interface DaemonOptions {
  env?: Record<string, string>;
  args?: string[];
  /** The daemon's umask (as systemd's UMask= sets it); default: the test process's. */
  umask?: number;
  /**
   * Another entry module run with `deno run` and the program's flags (testing/faulty_main.ts),
   * whatever CSC_TARGET says; default: the program under test.
   */
  entry?: string;
  /** Its RLIMIT_NOFILE (soft and hard), set with prlimit(1). */
  maxFiles?: number;
}

/**
 * Starts `serve` for `spool` (its config, plus `env`), resolves once it listens. The socket is
 * `<spool>/run/credd.sock`, challenges go to `<spool>/challenges` (root 1777).
 */
export async function startDaemon(spool: Spool, options: DaemonOptions = {}): Promise<Daemon> {
  const run = `${spool.root}/run`;
  const challengeDir = `${spool.root}/challenges`;
  if (!(await Deno.lstat(challengeDir).then(() => true, () => false))) {
    await Deno.mkdir(challengeDir, { recursive: true });
    await Deno.chmod(challengeDir, 0o1777);
  }
  const socket = `${run}/credd.sock`;
  const env = {
    ...spool.env,
    _CONDOR_CREDD_SOCKET: socket,
    _CONDOR_CREDD_CHALLENGE_DIRECTORY: challengeDir,
    ...options.env,
  };
  const main = options.entry === undefined
    ? await programCommand()
    : [Deno.execPath(), "run", "--no-config", "--quiet", ...RUNTIME_FLAGS, options.entry];
  const limited = options.maxFiles === undefined
    ? main
    : ["prlimit", `--nofile=${options.maxFiles}:${options.maxFiles}`, "--", ...main];
  const program = [...limited, "serve", ...(options.args ?? [])];
  const command = options.umask === undefined
    ? program
    : ["/bin/sh", "-c", `umask ${options.umask.toString(8)} && exec "$@"`, "sh", ...program];
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    clearEnv: true,
    env: { ...(await baseEnv()), ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reader = child.stderr.getReader();
  const pump = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      log += decoder.decode(value);
    }
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  // Until it listens, or a generous bound (a loaded machine starts it slowly).
  for (let i = 0; i < 4800 && !log.includes("serving on") && !exited; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!log.includes("serving on")) {
    if (!exited) child.kill("SIGKILL");
    await status;
    await pump;
    throw new Error(`the daemon did not start: ${log}`);
  }
  const port = /and TLS [^ ]+:(\d+) /.exec(log)?.[1];
  // The daemon's own pid (prlimit and sh exec it, so it is the child's).
  const pid = Number(/\(pid (\d+)\)/.exec(log)?.[1] ?? child.pid);
  return {
    pid,
    exited: () => exited,
    status: () => status.then((s) => s.code),
    tlsPort: port === undefined ? null : Number(port),
    socket,
    challengeDir,
    env,
    log: () => log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) child.kill(signal);
      const { code } = await status;
      await pump;
      return { code, log };
    },
  };
}

/** A process's open descriptors and memory, from /proc (Linux). */
export interface ProcessStats {
  /** Entries of /proc/<pid>/fd. */
  readonly fds: number;
  /** VmRSS and VmHWM (peak), in KiB. */
  readonly rssKiB: number;
  readonly hwmKiB: number;
}

/**
 * The descriptors and memory of process `pid` now. (Read by `sh`: Deno lets only a program with
 * every permission read another process's /proc entries.)
 */
export async function processStats(pid: number): Promise<ProcessStats> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `ls /proc/${pid}/fd | wc -l && cat /proc/${pid}/status`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`no process ${pid}: ${new TextDecoder().decode(out.stderr)}`);
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1]);
  return { fds: Number(text.split("\n")[0]), rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM") };
}

/**
 * Waits until `check` returns true (polling every 50 ms), for at most `ms` milliseconds. Returns
 * whether it did: the caller asserts it, with what it saw.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 60_000,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return await check();
}

/** What `withDaemon` starts, and the exit status it expects (default 0). */
export type WithDaemonOptions = DaemonOptions & { readonly exit?: number };

/**
 * The daemon tests' skeleton: starts a daemon on `spool` with `options`, runs `fn` with it, then
 * stops it (unless `fn` did) and checks that it exited with `options.exit` (default 0) and logged
 * no internal error (a TypeError or a failed store worker). Resolves with the daemon's whole log.
 */
export function withDaemon(spool: Spool, fn: (daemon: Daemon) => Promise<void>): Promise<string>;
export function withDaemon(
  spool: Spool,
  options: WithDaemonOptions,
  fn: (daemon: Daemon) => Promise<void>,
): Promise<string>;
export async function withDaemon(
  spool: Spool,
  ...args: [(daemon: Daemon) => Promise<void>] | [WithDaemonOptions, (d: Daemon) => Promise<void>]
): Promise<string> {
  const [options, fn]: [WithDaemonOptions, (daemon: Daemon) => Promise<void>] = args.length === 1
    ? [{}, args[0]]
    : args;
  const daemon = await startDaemon(spool, options);
  let failed = true;
  try {
    await fn(daemon);
    failed = false;
  } finally {
    const { code, log } = await daemon.stop();
    // A failure of fn is the one reported; the daemon's exit is checked when fn passed. The
    // daemon's log goes with a failure, to tell what the daemon did meanwhile.
    if (failed) console.error(`the daemon's log (exit ${code}) while the test failed:\n${log}`);
    else {
      assert.equal(code, options.exit ?? 0, log);
      assert.doesNotMatch(log, /TypeError|worker failed/, log);
    }
  }
  return daemon.log();
}
