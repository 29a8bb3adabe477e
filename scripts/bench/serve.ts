/**
 * The daemon under benchmark (the "flags" and "daemon" sections of scripts/bench.ts): `serve`
 * of the fresh bundle as root on a bench spool, the load generator (scripts/bench_load.ts) run
 * against it, and the rounds of several load runs combined. Scripts only.
 */

import type { LoadResult } from "../bench_load.ts";
import {
  CommandFailed,
  type Context,
  DENO,
  DOMAIN,
  median,
  ROOT,
  run,
  type Spool,
} from "./harness.ts";

/** A running `condor_store_cred serve`. */
export interface RunningDaemon {
  readonly pid: number;
  readonly socket: string;
  readonly challengeDir: string;
  readonly tlsPort: number | null;
  /** SIGTERM, then waits; with `check`, throws CommandFailed unless it exits 0. */
  stop(check: boolean): Promise<void>;
}

/** Daemon configuration lines for a spool: its socket and its sticky challenge directory. */
export async function daemonConfig(dir: string): Promise<string[]> {
  const challenges = `${dir}/challenges`;
  await Deno.mkdir(challenges, { recursive: true });
  await Deno.chmod(challenges, 0o1777);
  return [
    `CREDD_SOCKET = ${dir}/run/credd.sock`,
    `CREDD_CHALLENGE_DIRECTORY = ${challenges}`,
  ];
}

/**
 * Starts `serve` as root for `spool` (configured with daemonConfig), its log in <spool>/serve.log;
 * resolves once it listens. Throws CommandFailed when it exits first.
 */
export async function startServe(program: string[], spool: Spool): Promise<RunningDaemon> {
  const config = await Deno.readTextFile(spool.config);
  const knob = (name: string) => new RegExp(`^${name} = (.*)$`, "m").exec(config)?.[1] ?? "";
  return await startListener([...program, "serve"], {
    env: spool.env,
    log: `${spool.dir}/serve.log`,
    socket: knob("CREDD_SOCKET"),
    challengeDir: knob("CREDD_CHALLENGE_DIRECTORY"),
  });
}

/**
 * Starts the floor (scripts/bench/floor_server.ts: `Deno.serve` on a Unix socket answering the
 * daemon's paths with fixed replies) on `socket`, its log in `log`; resolves once it listens.
 */
export async function startFloor(
  socket: string,
  { challengeDir, log }: { challengeDir: string; log: string },
): Promise<RunningDaemon> {
  return await startListener(
    [DENO, "run", "--quiet", "-A", `${ROOT}scripts/bench/floor_server.ts`, socket, challengeDir],
    {
      env: { PATH: "/usr/local/bin:/usr/bin:/bin", DENO_DIR: `${ROOT}.bench/deno-dir`, HOME: "/" },
      log,
      socket,
      challengeDir,
    },
  );
}

/** Starts `argv` (a server printing "serving on" in its log once it listens) and waits for it. */
async function startListener(
  argv: string[],
  { env, log, socket, challengeDir }: {
    env: Record<string, string>;
    log: string;
    socket: string;
    challengeDir: string;
  },
): Promise<RunningDaemon> {
  // The log (a line per request) goes to a file, as to a journal: no pipe for us to drain.
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'log=$1; shift; exec "$@" 2>>"$log"', "sh", log, ...argv],
    clearEnv: true,
    env,
    cwd: "/",
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exit: Deno.CommandStatus | null = null;
  const status = child.status.then((s) => exit = s);
  const readLog = () => Deno.readTextFile(log).catch(() => "");
  let text = "";
  for (let i = 0; i < 800 && exit === null && !text.includes("serving on"); i++) {
    await new Promise((r) => setTimeout(r, 25));
    text = await readLog();
  }
  if (!text.includes("serving on")) {
    if (exit === null) child.kill("SIGKILL");
    const { code } = await status;
    throw new CommandFailed(argv, code, `${await readLog()}\n(the server did not start)`);
  }
  const port = /and TLS [^ ]+:(\d+) /.exec(text)?.[1];
  return {
    pid: child.pid,
    socket,
    challengeDir,
    tlsPort: port === undefined ? null : Number(port),
    async stop(check) {
      if (exit === null) child.kill("SIGTERM");
      const { code } = await status;
      if (check && code !== 0) {
        const tail = (await readLog()).split("\n").slice(-20).join("\n");
        throw new CommandFailed(argv, code, tail);
      }
    },
  };
}

/** Load-generator options (scripts/bench_load.ts). */
export interface Load {
  readonly transport: "unix" | "tls";
  readonly kind: "add" | "query" | "whoami";
  readonly seconds: number;
  readonly clients: number;
  readonly daemon: RunningDaemon;
  readonly caFile?: string;
  readonly tokensFile?: string;
}

/**
 * Runs the load generator once against a daemon, recorded in `ctx.loadRuns`. Throws CommandFailed
 * when it fails.
 */
export async function runLoad(ctx: Context, load: Load): Promise<LoadResult> {
  const options = {
    transport: load.transport,
    kind: load.kind,
    clients: load.clients,
    seconds: load.seconds,
    domain: DOMAIN,
    daemonPid: load.daemon.pid,
    ...(load.transport === "unix"
      ? { socket: load.daemon.socket, challengeDir: load.daemon.challengeDir }
      : { port: load.daemon.tlsPort, caFile: load.caFile, tokensFile: load.tokensFile }),
  };
  const out = await run(
    [DENO, "run", "--quiet", "-A", `${ROOT}scripts/bench_load.ts`, JSON.stringify(options)],
    { PATH: "/usr/local/bin:/usr/bin:/bin", DENO_DIR: `${ROOT}.bench/deno-dir`, HOME: "/" },
  );
  const result = JSON.parse(out.trim().split("\n").at(-1)!) as LoadResult;
  ctx.loadRuns.push(result);
  return result;
}

/** `list` rotated left by `by` places: each round starts elsewhere, so no position is favoured. */
export function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** Several load runs of one workload, summed: requests per second overall, median p50/p99. */
export interface Throughput {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly low: number;
  readonly high: number;
  readonly cpu: number;
  readonly daemonCpu: number;
  readonly machineCpu: number;
  readonly connectP50: number;
  readonly rounds: number;
}

export function combine(results: LoadResult[]): Throughput {
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  const rates = results.map((r) => r.perSecond);
  return {
    perSecond: requests / seconds,
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    low: Math.min(...rates),
    high: Math.max(...rates),
    cpu: median(results.map((r) => r.cpuCores)),
    daemonCpu: median(results.map((r) => r.daemonCpuCores ?? 0)),
    machineCpu: median(results.map((r) => r.machineCpuCores)),
    connectP50: median(results.map((r) => r.connectP50)),
    rounds: results.length,
  };
}
