/**
 * What every benchmark section shares (scripts/bench.ts): the shipped flags, the options, running
 * and timing commands (round-robin, medians and p95), temp spools, the bundle built for the run,
 * the action cases and the two floors, and the section declaration. Scripts only.
 */

import * as permissions from "../../lib/permissions.ts";
import type { LoadResult } from "../bench_load.ts";

// ---- the flags that ship ---------------------------------------------------------------------

/** V8 flags the program ships with (lib/permissions.ts; V8 spellings such as "--no-lazy"). */
export const SHIPPED_V8_FLAGS: readonly string[] = permissions.RUNTIME_V8_FLAGS;

/** Deno arguments for a list of V8 flags: one `--v8-flags=a,b` (Deno spellings kept as they are). */
export function v8FlagArgs(flags: readonly string[]): string[] {
  const deno = flags.filter((f) => f.startsWith("--v8-flags="));
  const v8 = flags.filter((f) => !f.startsWith("--v8-flags="));
  return [...deno, ...(v8.length > 0 ? [`--v8-flags=${v8.join(",")}`] : [])];
}

/** Every runtime flag of the shipped program: permissions, then V8 flags. */
export const SHIPPED_FLAGS: readonly string[] = permissions.RUNTIME_FLAGS;

// ---- options (parsed by scripts/bench.ts) ----------------------------------------------------

export interface Options {
  runs: number;
  scaleRuns: number;
  scaleSizes: number[];
  /** Runs per case with a cold code cache (each a fresh DENO_DIR). */
  coldRuns: number;
  /** Runs per case of the V8 flag experiment's start-up part. */
  flagRuns: number;
  /** Concurrent clients of the daemon. */
  clients: number;
  /** Seconds per load run, and rounds, in the daemon section. */
  loadSeconds: number;
  loadRounds: number;
  /** The same for the daemon part of the V8 flag experiment. */
  flagLoadSeconds: number;
  flagLoadRounds: number;
  out: string;
  scale: boolean;
  baselines: boolean;
  daemon: boolean;
  flags: boolean;
  quick: boolean;
  /** Section names to run (all when null). */
  only: string[] | null;
  /** Extra V8 flag sets for the flag experiment. */
  candidates: string[][];
}

// ---- running commands ------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A run that exited non-zero: fails the benchmark with the command and its stderr. */
export class CommandFailed extends Error {
  constructor(argv: readonly string[], code: number, stderr: string) {
    super(`exit ${code}: ${argv.join(" ")}\n${stderr.trim()}`);
  }
}

/** One command to time. `setup` runs untimed before each timed run (e.g. an add before a delete).
 */
export interface Case {
  readonly name: string;
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly stdin?: string;
  readonly setup?: () => Promise<void>;
  /** Each run gets a fresh, empty DENO_DIR under this directory (a cold code cache). */
  readonly coldCacheIn?: string;
  /** The working directory (default `/`). */
  readonly cwd?: string;
}

/** Median and p95 of a case, in milliseconds. */
export interface Stat {
  readonly name: string;
  readonly median: number;
  readonly p95: number;
  readonly runs: number;
}

let coldCount = 0;

/**
 * Runs a command once (from `/` unless the case says otherwise); returns its wall time (spawn to exit) in ms and its stdout.
 * Throws CommandFailed when it exits non-zero.
 */
export async function runOnce(c: Case): Promise<{ ms: number; stdout: string }> {
  let env = c.env;
  let cold: string | null = null;
  if (c.coldCacheIn !== undefined) {
    cold = `${c.coldCacheIn}/${coldCount++}`;
    env = { ...env, DENO_DIR: cold };
  }
  const start = performance.now();
  const child = new Deno.Command(c.argv[0], {
    args: c.argv.slice(1),
    clearEnv: true,
    env,
    cwd: c.cwd ?? "/",
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (c.stdin !== undefined) await writer.write(encoder.encode(c.stdin)).catch(() => {});
  await writer.close().catch(() => {});
  const { code, stdout, stderr } = await child.output();
  const ms = performance.now() - start;
  if (cold !== null) await Deno.remove(cold, { recursive: true }).catch(() => {});
  if (code !== 0) throw new CommandFailed(c.argv, code, decoder.decode(stderr));
  return { ms, stdout: decoder.decode(stdout) };
}

/** Runs a command once, untimed; returns its stdout. Throws CommandFailed. */
export async function run(
  argv: string[],
  env: Record<string, string>,
  stdin?: string,
  cwd?: string,
): Promise<string> {
  return (await runOnce({ name: "prepare", argv, env, stdin, cwd })).stdout;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/**
 * Times every case `runs` times, round-robin (case 1, case 2, …, then again), so machine drift
 * hits all cases alike; `warmup` rounds first.
 */
export async function measure(cases: Case[], runs: number, warmup = 3): Promise<Stat[]> {
  for (let w = 0; w < warmup; w++) {
    for (const c of cases) {
      await c.setup?.();
      await runOnce(c);
    }
  }
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (const [i, c] of cases.entries()) {
      await c.setup?.();
      samples[i].push((await runOnce(c)).ms);
    }
  }
  return cases.map((c, i) => {
    const sorted = samples[i].sort((a, b) => a - b);
    return { name: c.name, median: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), runs };
  });
}

// ---- the program under test ------------------------------------------------------------------

export const ROOT = new URL("../..", import.meta.url).pathname;
export const DENO = Deno.execPath();
export const DOMAIN = "bench.example";
export const ROOT_USER = `root@${DOMAIN}`;

export interface Spool {
  readonly dir: string;
  readonly config: string;
  readonly oauth: string;
  readonly krb: string;
  readonly env: Record<string, string>;
}

/**
 * A spool with its configuration (plus `extra` lines) and its own DENO_DIR. CONDOR_IDS = 0.0
 * names the condor account, so the layout is the packaged one (directories 2770) whether or not
 * a `condor` user exists while the benchmark runs (tests create and remove one).
 */
export async function makeSpool(dir: string, extra: string[] = []): Promise<Spool> {
  await Deno.mkdir(`${dir}/spool`, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o755);
  const config = `${dir}/condor_config`;
  await Deno.writeTextFile(
    config,
    [
      `SEC_PASSWORD_FILE = ${dir}/spool/passwords.d/POOL`,
      `SEC_CREDENTIAL_DIRECTORY_KRB = ${dir}/spool/krb`,
      `SEC_CREDENTIAL_DIRECTORY_OAUTH = ${dir}/spool/oauth`,
      `SEC_CREDENTIAL_DIRECTORY_PWD = ${dir}/spool/pwd`,
      `UID_DOMAIN = ${DOMAIN}`,
      "CONDOR_IDS = 0.0",
      ...extra,
      "",
    ].join("\n"),
  );
  await Deno.chmod(config, 0o644);
  return {
    dir,
    config,
    oauth: `${dir}/spool/oauth`,
    krb: `${dir}/spool/krb`,
    env: {
      CONDOR_CONFIG: config,
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: dir,
      TZ: "UTC",
      DENO_DIR: `${dir}/deno-dir`,
    },
  };
}

/** The bundle built for this run, and what it is. */
export interface Build {
  readonly bundle: string;
  readonly sha256: string;
  readonly bytes: number;
  /** The syscall floor script, bundled the same way. */
  readonly syscallFloor: string;
  readonly commit: string;
}

/** Builds the bundle from the current source with scripts/bundle.ts, into `dir`. */
export async function buildBundle(dir: string): Promise<Build> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  await Deno.chmod(dir, 0o755);
  const bundleDir = `${dir}/condor_store_cred`;
  const bundle = `${bundleDir}/condor_store_cred.js`;
  // deno bundle runs esbuild from Deno's own cache: the builds keep this environment. They run
  // in the repository, as `deno task bundle` does: the bundle's path comments depend on it.
  const buildEnv = Deno.env.toObject();
  const out = await run(
    [
      DENO,
      "run",
      "--allow-read",
      `--allow-write=${dir}`,
      "--allow-run",
      "--allow-env",
      `${ROOT}scripts/bundle.ts`,
      "--out",
      bundleDir,
    ],
    buildEnv,
    undefined,
    ROOT,
  );
  const sha256 = /sha256 ([0-9a-f]{64})/.exec(out)?.[1] ?? "?";
  const syscallFloor = `${dir}/syscall_floor.js`;
  await run(
    [DENO, "bundle", "--quiet", "-o", syscallFloor, `${ROOT}scripts/syscall_floor.ts`],
    buildEnv,
    undefined,
    ROOT,
  );
  await Deno.chmod(bundleDir, 0o755);
  for (const entry of Deno.readDirSync(bundleDir)) {
    await Deno.chmod(`${bundleDir}/${entry.name}`, 0o644);
  }
  await Deno.chmod(syscallFloor, 0o644);
  const git = (args: string[]) =>
    new Deno.Command("git", { args: ["-C", ROOT, ...args], stdout: "piped", stderr: "null" })
      .output().then((o) => decoder.decode(o.stdout).trim(), () => "");
  const head = await git(["rev-parse", "--short=12", "HEAD"]);
  // Only what the bundle and the benchmark are made of counts (not the report being rewritten).
  const dirty = (await git([
    "status",
    "--porcelain",
    "--untracked-files=no",
    "--",
    "main.ts",
    "lib",
    "scripts",
    "deno.json",
    "deno.lock",
  ])) !== "";
  let bytes = 0;
  for (const entry of Deno.readDirSync(bundleDir)) {
    bytes += Deno.statSync(`${bundleDir}/${entry.name}`).size;
  }
  return {
    bundle,
    sha256,
    bytes,
    syscallFloor,
    commit: head === "" ? "?" : `${head}${dirty ? " with uncommitted changes" : ""}`,
  };
}

/** `deno run` of a file with runtime flags (the shipped ones unless given). */
export function denoRun(file: string, flags: readonly string[] = SHIPPED_FLAGS): string[] {
  return [DENO, "run", "--quiet", ...flags, file];
}

/** The action cases for one program against one spool. */
export function actionCases(program: string[], spool: Spool, user = ROOT_USER): Case[] {
  const u = ["-u", user];
  const prepare = (args: string[], stdin?: string) => (): Promise<void> =>
    run([...program, ...args], spool.env, stdin).then(() => {});
  const c = (name: string, args: string[], extra: Partial<Case> = {}): Case => ({
    name,
    argv: [...program, ...args],
    env: spool.env,
    ...extra,
  });
  return [
    c("add -c (pool password)", ["add", "-c", "-p", "-"], { stdin: "pool-password" }),
    c("delete -c", ["delete", "-c"], {
      setup: prepare(["add", "-c", "-p", "-"], "pool-password"),
    }),
    c("add (sealed user password)", ["add", ...u, "-p", "-"], { stdin: "user-password" }),
    c("query", ["query", ...u]),
    c("delete", ["delete", ...u], { setup: prepare(["add", ...u, "-p", "-"], "user-password") }),
    c("add-krb", ["add-krb", ...u, "-i", "-"], { stdin: "kerberos-ticket-bytes" }),
    c("query-krb", ["query-krb", ...u]),
    c("delete-krb", ["delete-krb", ...u], { setup: prepare(["add-krb", ...u, "-i", "-"], "t") }),
    c("add-oauth -P (.use)", ["add-oauth", ...u, "-s", "s", "-P", "-i", "-"], { stdin: "tok" }),
    c("add-oauth (.top)", ["add-oauth", ...u, "-s", "t", "-i", "-"], { stdin: "{}" }),
    c("query-oauth -s", ["query-oauth", ...u, "-s", "s"]),
    c("query-oauth (all)", ["query-oauth", ...u]),
    c("delete-oauth -s", ["delete-oauth", ...u, "-s", "d"], {
      setup: prepare(["add-oauth", ...u, "-s", "d", "-P", "-i", "-"], "tok"),
    }),
  ];
}

/** Stores what the query cases of `user` look for (a password, a ticket, an access token). */
export async function prepareQueries(
  program: string[],
  spool: Spool,
  user = ROOT_USER,
): Promise<void> {
  for (
    const args of [
      ["add", "-u", user, "-p", "-"],
      ["add-krb", "-u", user, "-i", "-"],
      ["add-oauth", "-u", user, "-s", "s", "-P", "-i", "-"],
    ]
  ) await run([...program, ...args], spool.env, "tok");
}

// ---- sections: what they get and give --------------------------------------------------------

export interface Table {
  readonly title: string;
  readonly note?: string;
  readonly header: string[];
  readonly rows: string[][];
}

export interface Context {
  readonly options: Options;
  readonly work: string;
  readonly build: Build;
  /** The shipped program: the fresh bundle with the shipped flags. */
  readonly program: string[];
  readonly emptyProgram: string;
  /** Findings, in the order the sections add them: the report's bullet list. */
  readonly findings: string[];
  /** Every daemon load run of this benchmark, for the check that nobody else competed. */
  readonly loadRuns: LoadResult[];
}

/**
 * One section of the report (one file of scripts/bench/, one line of SECTIONS in
 * scripts/bench.ts): its name for --only, whether a run without --only includes it (always when
 * absent), and what it measures, as tables (it may add findings to the context).
 */
export interface BenchSection {
  readonly name: string;
  readonly enabled?: (options: Options) => boolean;
  readonly run: (ctx: Context) => Promise<Table[]>;
}

/** Milliseconds, one decimal. */

export const ms = (n: number) => n.toFixed(1);
/** A median against a floor, as "1.23x". */
export const ratio = (n: number, floor: number) => `${(n / floor).toFixed(2)}x`;
/** A rate, rounded, with thousands separators. */
export const perSecond = (n: number) => Math.round(n).toLocaleString("en-US");

/** The empty-program start-up floor as a case, with `flags` (the shipped ones by default). */
export function floorCase(ctx: Context, env: Record<string, string>, flags = SHIPPED_FLAGS): Case {
  return {
    name: "deno run (empty program): start-up floor",
    argv: denoRun(ctx.emptyProgram, flags),
    env,
  };
}

/** The syscall floor cases (query-oauth -s and add-oauth -P of `root`, service `s`). */
export function syscallFloorCases(ctx: Context, spool: Spool, flags = SHIPPED_FLAGS): [Case, Case] {
  const base = [...denoRun(ctx.build.syscallFloor, flags)];
  const args = [spool.config, spool.oauth, "root", "s"];
  return [
    {
      name: "system calls only: query-oauth -s",
      argv: [...base, "query", ...args],
      env: spool.env,
    },
    {
      name: "system calls only: add-oauth -P",
      argv: [...base, "add", ...args],
      env: spool.env,
      stdin: "tok",
    },
  ];
}
