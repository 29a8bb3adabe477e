/**
 * Benchmarks (`deno task bench`) of what ships: a bundle built fresh from the current source
 * (scripts/bundle.ts --out into a temp directory), run with exactly the flags of
 * lib/permissions.ts. Per-invocation latency of every action against a temp spool, as ratios to
 * two floors measured in the same run (an empty program, and scripts/syscall_floor.ts making the
 * same file system calls as query-oauth -s and add-oauth -P with no logic); a cold code cache; a
 * credmon to signal; a V8 flag experiment; systemd-creds and git credential-store; latency with
 * 10 / 10,000 / 100,000 stored users; list of one user's 100 small or 1 MiB credentials; the
 * daemon's throughput with 64 keep-alive clients over its Unix socket and over TLS, and one client
 * process's spawn-to-answer time; a profile of one invocation. Prints the tables and writes BENCHMARKS.md (fully generated).
 *
 * Usage: deno task bench [--runs N] [--quick] [--out FILE] [--no-scale] [--no-baselines]
 *                        [--no-daemon] [--no-flags] [--only SECTION,...] [--v8-candidate FLAGS]...
 *
 *   --only            run only these sections (names as SECTIONS spells them, e.g. daemon)
 *   --v8-candidate    one more V8 flag set for the flag experiment, e.g. --v8-candidate
 *                     --single-threaded-gc,--no-opt (repeatable)
 *
 * Any measured, prepared or profiled run that exits non-zero (and any daemon that does not stop
 * with 0) fails the whole benchmark: exit 1, with the command and its stderr.
 *
 * The report is a list of sections (SECTIONS), each producing tables.
 *
 * Permissions: -A (it builds the bundle, spawns the program and daemons, runs as a non-root user
 * through setpriv, installs Debian packages when missing, writes temp spools and the report).
 */

import * as permissions from "../lib/permissions.ts";
import { makeCertificates } from "../testing/tls.ts";
import { nonRootUsers, setprivAs } from "../testing/users.ts";
import type { LoadResult } from "./bench_load.ts";
import { machineDescription, markdownTable } from "./report.ts";

// ---- the flags that ship -----------------------------------------------------------------------

/** V8 flags the program ships with (lib/permissions.ts; V8 spellings such as "--no-lazy"). */
const SHIPPED_V8_FLAGS: readonly string[] = permissions.RUNTIME_V8_FLAGS;

/** Deno arguments for a list of V8 flags: one `--v8-flags=a,b` (Deno spellings kept as they are). */
function v8FlagArgs(flags: readonly string[]): string[] {
  const deno = flags.filter((f) => f.startsWith("--v8-flags="));
  const v8 = flags.filter((f) => !f.startsWith("--v8-flags="));
  return [...deno, ...(v8.length > 0 ? [`--v8-flags=${v8.join(",")}`] : [])];
}

/** Every runtime flag of the shipped program: permissions, then V8 flags. */
const SHIPPED_FLAGS: readonly string[] = permissions.RUNTIME_FLAGS;

// ---- options ---------------------------------------------------------------------------------

interface Options {
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

const USAGE = "usage: deno task bench [--runs N] [--quick] [--out FILE] [--no-scale] " +
  "[--no-baselines] [--no-daemon] [--no-flags] [--only SECTION,...] [--v8-candidate FLAGS]...";

function parseOptions(args: string[]): Options {
  const root = new URL("..", import.meta.url).pathname;
  const options: Options = {
    runs: 100,
    scaleRuns: 100,
    scaleSizes: [10, 10_000, 100_000],
    coldRuns: 50,
    flagRuns: 100,
    clients: 64,
    loadSeconds: 5,
    loadRounds: 3,
    flagLoadSeconds: 3,
    flagLoadRounds: 2,
    out: `${root}BENCHMARKS.md`,
    scale: true,
    baselines: true,
    daemon: true,
    flags: true,
    quick: false,
    only: null,
    candidates: [],
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--runs") {
      const n = Number(args[++i]);
      options.runs = options.scaleRuns = options.flagRuns = n;
      options.coldRuns = Math.max(5, Math.floor(n / 2));
    } else if (a === "--out") options.out = args[++i];
    else if (a === "--no-scale") options.scale = false;
    else if (a === "--no-baselines") options.baselines = false;
    else if (a === "--no-daemon") options.daemon = false;
    else if (a === "--no-flags") options.flags = false;
    else if (a === "--only") options.only = (args[++i] ?? "").split(",").filter(Boolean);
    else if (a === "--v8-candidate") {
      options.candidates.push((args[++i] ?? "").split(",").filter(Boolean));
    } else if (a === "--quick") {
      options.quick = true;
      options.runs = options.scaleRuns = 10;
      options.coldRuns = options.flagRuns = 5;
      options.scaleSizes = [10, 1000];
      options.loadSeconds = 1;
      options.loadRounds = 1;
      options.flagLoadSeconds = 0.5;
      options.flagLoadRounds = 1;
    } else {
      console.error(`unknown argument ${a}`);
      console.error(USAGE);
      Deno.exit(2);
    }
  }
  if (!Number.isInteger(options.runs) || options.runs < 5) {
    console.error("--runs must be an integer of at least 5");
    Deno.exit(2);
  }
  const unknown = (options.only ?? []).filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length > 0) {
    console.error(
      `unknown section ${unknown.join(", ")}; sections: ${SECTIONS.map((s) => s.name).join(", ")}`,
    );
    Deno.exit(2);
  }
  if (options.candidates.some((c) => c.length === 0)) {
    console.error("--v8-candidate needs a comma-separated list of V8 flags");
    Deno.exit(2);
  }
  return options;
}

// ---- running commands ------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A run that exited non-zero: fails the benchmark with the command and its stderr. */
class CommandFailed extends Error {
  constructor(argv: readonly string[], code: number, stderr: string) {
    super(`exit ${code}: ${argv.join(" ")}\n${stderr.trim()}`);
  }
}

/** One command to time. `setup` runs untimed before each timed run (e.g. an add before a delete).
 */
interface Case {
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
interface Stat {
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
async function runOnce(c: Case): Promise<{ ms: number; stdout: string }> {
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
async function run(
  argv: string[],
  env: Record<string, string>,
  stdin?: string,
  cwd?: string,
): Promise<string> {
  return (await runOnce({ name: "prepare", argv, env, stdin, cwd })).stdout;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/**
 * Times every case `runs` times, round-robin (case 1, case 2, …, then again), so machine drift
 * hits all cases alike; `warmup` rounds first.
 */
async function measure(cases: Case[], runs: number, warmup = 3): Promise<Stat[]> {
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

const ROOT = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();
const DOMAIN = "bench.example";
const ROOT_USER = `root@${DOMAIN}`;

interface Spool {
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
async function makeSpool(dir: string, extra: string[] = []): Promise<Spool> {
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
interface Build {
  readonly bundle: string;
  readonly sha256: string;
  readonly bytes: number;
  /** The syscall floor script, bundled the same way. */
  readonly syscallFloor: string;
  readonly commit: string;
}

/** Builds the bundle from the current source with scripts/bundle.ts, into `dir`. */
async function buildBundle(dir: string): Promise<Build> {
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
function denoRun(file: string, flags: readonly string[] = SHIPPED_FLAGS): string[] {
  return [DENO, "run", "--quiet", ...flags, file];
}

/** The action cases for one program against one spool. */
function actionCases(program: string[], spool: Spool, user = ROOT_USER): Case[] {
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
async function prepareQueries(program: string[], spool: Spool, user = ROOT_USER): Promise<void> {
  for (
    const args of [
      ["add", "-u", user, "-p", "-"],
      ["add-krb", "-u", user, "-i", "-"],
      ["add-oauth", "-u", user, "-s", "s", "-P", "-i", "-"],
    ]
  ) await run([...program, ...args], spool.env, "tok");
}

// ---- sections --------------------------------------------------------------------------------

interface Table {
  readonly title: string;
  readonly note?: string;
  readonly header: string[];
  readonly rows: string[][];
}

interface Context {
  readonly options: Options;
  readonly work: string;
  readonly build: Build;
  /** The shipped program: the fresh bundle with the shipped flags. */
  readonly program: string[];
  readonly emptyProgram: string;
  readonly findings: string[];
}

const ms = (n: number) => n.toFixed(1);
const ratio = (n: number, floor: number) => `${(n / floor).toFixed(2)}x`;
const perSecond = (n: number) => Math.round(n).toLocaleString("en-US");

/** The empty-program start-up floor as a case, with `flags` (the shipped ones by default). */
function floorCase(ctx: Context, env: Record<string, string>, flags = SHIPPED_FLAGS): Case {
  return {
    name: "deno run (empty program): start-up floor",
    argv: denoRun(ctx.emptyProgram, flags),
    env,
  };
}

/** The syscall floor cases (query-oauth -s and add-oauth -P of `root`, service `s`). */
function syscallFloorCases(ctx: Context, spool: Spool, flags = SHIPPED_FLAGS): [Case, Case] {
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

/** Latency of every action, with the start-up floor and the system-calls-only floors. */
async function latencySection(ctx: Context): Promise<Table[]> {
  const spool = await makeSpool(`${ctx.work}/latency`);
  await prepareQueries(ctx.program, spool);
  const floors = [floorCase(ctx, spool.env), ...syscallFloorCases(ctx, spool)];
  const actions = actionCases(ctx.program, spool);
  const stats = await measure([...floors, ...actions], ctx.options.runs);
  const [floor, sysQuery, sysAdd] = stats;
  // Queries against the query floor; adds and deletes (which write) against the add floor.
  const sysFloorOf = (name: string) => name.startsWith("query") ? sysQuery : sysAdd;
  const rows = stats.map((s, i) => [
    s.name,
    ms(s.median),
    ms(s.p95),
    ratio(s.median, floor.median),
    i === 0 ? "" : i <= 2 ? "1.00x" : ratio(s.median, sysFloorOf(s.name).median),
  ]);
  const actionStats = stats.slice(3);
  const toFloor = actionStats.map((s) => s.median / floor.median);
  const toSys = actionStats.map((s) => s.median / sysFloorOf(s.name).median);
  const worst = Math.max(...toFloor);
  ctx.findings.push(
    `Latency target (each action ≤ 1.3x the start-up floor, median): ${
      worst <= 1.3 ? "met" : "not met"
    }; the slowest action is ${worst.toFixed(2)}x.`,
    `Against the system-calls-only floor (the same file system calls, no logic): actions take ${
      Math.min(...toSys).toFixed(2)
    }x to ${Math.max(...toSys).toFixed(2)}x; that floor itself is ${
      ratio(sysQuery.median, floor.median)
    } (query) and ${ratio(sysAdd.median, floor.median)} (add) the empty program.`,
  );
  return [{
    title: "Latency per action (bundle, in-process, durable writes)",
    note: `${floor.runs} runs each, interleaved. Ratios: median / the start-up floor's median ` +
      "(an empty program with the same flags), and median / the system-calls-only floor's " +
      "median (scripts/syscall_floor.ts: the file system calls of query-oauth -s, or of " +
      "add-oauth -P for adds and deletes, with no program logic, bundled and run with the same " +
      "flags).",
    header: ["action", "median ms", "p95 ms", "ratio to start-up floor", "ratio to syscall floor"],
    rows,
  }];
}

/** The fresh bundle against the source form (main.ts), on two representative actions. */
async function formsSection(ctx: Context): Promise<Table[]> {
  const spool = await makeSpool(`${ctx.work}/forms`);
  await prepareQueries(ctx.program, spool);
  const source = [
    DENO,
    "run",
    "--quiet",
    "--config",
    `${ROOT}deno.json`,
    ...SHIPPED_FLAGS,
    `${ROOT}main.ts`,
  ];
  // The compiled binaries run with BINARY_FLAGS (no code cache, no V8 flags): the bundle under
  // `deno run` with the same flags is the closest this machine can run; with `--no-lazy` added,
  // the alternative that lib/permissions.ts rejects.
  const binary = denoRun(ctx.build.bundle, permissions.BINARY_FLAGS);
  const binaryNoLazy = denoRun(ctx.build.bundle, [
    ...permissions.BINARY_FLAGS,
    ...v8FlagArgs(["--no-lazy"]),
  ]);
  const cases: Case[] = [floorCase(ctx, spool.env)];
  for (
    const [name, program] of [
      ["bundle", ctx.program],
      ["main.ts", source],
      ["bundle with the binaries' flags (no code cache)", binary],
      ["bundle, no code cache, --no-lazy", binaryNoLazy],
    ] as const
  ) {
    for (const c of actionCases(program, spool)) {
      if (c.name === "add-oauth -P (.use)" || c.name === "query-oauth -s") {
        cases.push({ ...c, name: `${name}: ${c.name}` });
      }
    }
  }
  const stats = await measure(cases, Math.max(5, Math.floor(ctx.options.runs / 2)));
  return [{
    title: "Forms of the program",
    note: "main.ts loads the modules of the command run (as `deno task run` does, with " +
      "deno.json); the bundle is the same program as a directory of chunks. The compiled binaries (main.ts's modules, transpiled " +
      "and embedded) are not measured: building them needs Deno's `denort`, which this machine " +
      "cannot download. They run with " +
      `\`${permissions.BINARY_FLAGS.join(" ")}\` (lib/permissions.ts: a compiled binary's code ` +
      "cache is a shared file in the temp directory that another local user could plant), so " +
      "the bundle run with those flags stands in for them; the last rows show why they do not " +
      "use --no-lazy.",
    header: ["form: action", "median ms", "p95 ms", "ratio to floor"],
    rows: stats.map((s) => [s.name, ms(s.median), ms(s.p95), ratio(s.median, stats[0].median)]),
  }];
}

/** The first run on a machine: a fresh DENO_DIR for every run, so no code cache. */
async function coldSection(ctx: Context): Promise<Table[]> {
  const spool = await makeSpool(`${ctx.work}/cold`);
  await prepareQueries(ctx.program, spool);
  const coldDir = `${ctx.work}/cold/deno-dirs`;
  await Deno.mkdir(coldDir, { recursive: true });
  const byName = new Map(actionCases(ctx.program, spool).map((c) => [c.name, c]));
  const chosen = [
    floorCase(ctx, spool.env),
    byName.get("query-oauth -s")!,
    byName.get(
      "add-oauth -P (.use)",
    )!,
  ];
  const cases: Case[] = [];
  for (const c of chosen) {
    cases.push({ ...c, name: `${c.name} (warm cache)` });
    cases.push({ ...c, name: `${c.name} (cold cache)`, coldCacheIn: coldDir });
  }
  const stats = await measure(cases, ctx.options.coldRuns, 1);
  const warmFloor = stats[0].median;
  const rows = stats.map((s) => [s.name, ms(s.median), ms(s.p95), ratio(s.median, warmFloor)]);
  const coldQuery = stats.find((s) => s.name === "query-oauth -s (cold cache)")!;
  const coldFloor = stats[1].median;
  ctx.findings.push(
    `Cold code cache (a fresh DENO_DIR per run): query-oauth -s takes ${ms(coldQuery.median)} ms, ${
      ratio(coldQuery.median, warmFloor)
    } the warm start-up floor and ${ratio(coldQuery.median, coldFloor)} the cold one.`,
  );
  return [{
    title: "Cold code cache",
    note: `${ctx.options.coldRuns} runs each, interleaved; a cold run gets a new, empty ` +
      "DENO_DIR (no V8 code cache; Deno creates its cache databases and writes the code cache " +
      "at exit, inside the timed run). Ratio = median / the warm start-up floor's median.",
    header: ["case", "median ms", "p95 ms", "ratio to warm floor"],
    rows,
  }];
}

/** add-krb and add-oauth -P with a credmon pid file: the cost of the SIGHUP. */
async function credmonSection(ctx: Context): Promise<Table[]> {
  const plain = await makeSpool(`${ctx.work}/credmon-none`);
  const signalled = await makeSpool(`${ctx.work}/credmon`);
  // A real process that ignores SIGHUP (SIG_IGN survives exec), standing in for the credmon.
  const credmon = new Deno.Command("/bin/sh", {
    args: ["-c", 'trap "" HUP; exec sleep 100000'],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (const spool of [plain, signalled]) {
      await run([...ctx.program, "add-krb", "-u", ROOT_USER, "-i", "-"], spool.env, "t");
      await run(
        [...ctx.program, "add-oauth", "-u", ROOT_USER, "-s", "s", "-P", "-i", "-"],
        spool.env,
        "t",
      );
    }
    for (const dir of [signalled.krb, signalled.oauth]) {
      await Deno.writeTextFile(`${dir}/pid`, `${credmon.pid}\n`, { mode: 0o644 });
      await Deno.chmod(`${dir}/pid`, 0o644);
    }
    // add-krb waits for the credmon's .cc at least as new as the .cred: one dated far ahead is
    // found at the first look, so the case measures the signal, not a credmon's work.
    const cc = `${signalled.krb}/root.cc`;
    await Deno.writeTextFile(cc, "ccache", { mode: 0o600 });
    await Deno.utime(cc, new Date("2100-01-01T00:00:00Z"), new Date("2100-01-01T00:00:00Z"));
    const cases: Case[] = [floorCase(ctx, plain.env)];
    for (
      const [label, spool] of [["no credmon", plain], ["credmon pid file", signalled]] as const
    ) {
      for (const c of actionCases(ctx.program, spool)) {
        if (c.name === "add-krb" || c.name === "add-oauth (.top)") {
          cases.push({ ...c, name: `${c.name}, ${label}` });
        }
      }
    }
    const stats = await measure(cases, ctx.options.runs);
    const floor = stats[0].median;
    const find = (name: string) => stats.find((s) => s.name === name)!.median;
    const rows = stats.map((s) => {
      const without = s.name.endsWith("credmon pid file")
        ? find(s.name.replace("credmon pid file", "no credmon"))
        : null;
      return [
        s.name,
        ms(s.median),
        ms(s.p95),
        ratio(s.median, floor),
        without === null ? "" : `${s.median - without >= 0 ? "+" : ""}${ms(s.median - without)}`,
      ];
    });
    // The stand-in must have survived every SIGHUP (it ignores them): else nothing was measured.
    const alive = await new Deno.Command("/bin/kill", { args: ["-0", String(credmon.pid)] })
      .output();
    if (!alive.success) throw new Error("the credmon stand-in died during the credmon section");
    const cost = (name: string) =>
      ms(find(`${name}, credmon pid file`) - find(`${name}, no credmon`));
    ctx.findings.push(
      `Signalling a credmon (reading its pid file, running /bin/kill -s HUP) adds ${
        cost("add-oauth (.top)")
      } ms to add-oauth (.top) and ${cost("add-krb")} ms to add-krb (medians).`,
    );
    return [{
      title: "Credmon: add with a pid file to signal",
      note: `${ctx.options.runs} runs each, interleaved. The credmon is a real process ignoring ` +
        "SIGHUP (`sleep`), its pid in <dir>/pid (root, 0644); the program reads it and runs " +
        "/bin/kill -s HUP (Deno.kill would need unrestricted --allow-run). add-krb then waits " +
        "for the credmon's .cc; a .cc dated 2100 is there already, so the wait ends at its " +
        "first look. add-oauth signals only for a refresh token (.top) with no access token " +
        "stored; add-oauth -P (.use) never signals, so it is not in this table. Without a pid " +
        "file the add is stored as pending.",
      header: ["case", "median ms", "p95 ms", "ratio to floor", "signal cost ms"],
      rows,
    }];
  } finally {
    try {
      credmon.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await credmon.status;
  }
}

// ---- daemons ---------------------------------------------------------------------------------

/** A running `condor_store_cred serve`. */
interface RunningDaemon {
  readonly pid: number;
  readonly socket: string;
  readonly challengeDir: string;
  readonly tlsPort: number | null;
  /** SIGTERM, then waits; with `check`, throws CommandFailed unless it exits 0. */
  stop(check: boolean): Promise<void>;
}

/** Daemon configuration lines for a spool: its socket and its sticky challenge directory. */
async function daemonConfig(dir: string): Promise<string[]> {
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
async function startServe(program: string[], spool: Spool): Promise<RunningDaemon> {
  const argv = [...program, "serve"];
  const log = `${spool.dir}/serve.log`;
  // The log (a line per request) goes to a file, as to a journal: no pipe for us to drain.
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'log=$1; shift; exec "$@" 2>>"$log"', "sh", log, ...argv],
    clearEnv: true,
    env: spool.env,
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
    throw new CommandFailed(argv, code, `${await readLog()}\n(the daemon did not start)`);
  }
  const port = /and TLS [^ ]+:(\d+) /.exec(text)?.[1];
  const config = await Deno.readTextFile(spool.config);
  const knob = (name: string) => new RegExp(`^${name} = (.*)$`, "m").exec(config)?.[1] ?? "";
  return {
    pid: child.pid,
    socket: knob("CREDD_SOCKET"),
    challengeDir: knob("CREDD_CHALLENGE_DIRECTORY"),
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
interface Load {
  readonly transport: "unix" | "tls";
  readonly kind: "add" | "query";
  readonly seconds: number;
  readonly clients: number;
  readonly daemon: RunningDaemon;
  readonly caFile?: string;
  readonly tokensFile?: string;
}

/** Every load run of this benchmark, for the check that nobody else competed for the cores. */
const loadRuns: LoadResult[] = [];

/** Runs the load generator once against a daemon. Throws CommandFailed when it fails. */
async function runLoad(load: Load): Promise<LoadResult> {
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
  loadRuns.push(result);
  return result;
}

/** `list` rotated left by `by` places: each round starts elsewhere, so no position is favoured. */
function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** Several load runs of one workload, summed: requests per second overall, median p50/p99. */
interface Throughput {
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

function combine(results: LoadResult[]): Throughput {
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

/** Median latency of an fsync of a fresh small file and of its directory, in `dir`. */
function fsyncLatency(dir: string, count: number): { file: number; dir: number } {
  const files: number[] = [];
  const dirs: number[] = [];
  for (let i = 0; i < count; i++) {
    const temp = `${dir}/.fsync-probe.tmp`;
    const file = Deno.openSync(temp, { write: true, createNew: true, mode: 0o600 });
    file.writeSync(encoder.encode(`access-token-${i}`));
    let t = performance.now();
    file.syncSync();
    files.push(performance.now() - t);
    file.close();
    Deno.renameSync(temp, `${dir}/fsync-probe`);
    const handle = Deno.openSync(dir, { read: true });
    t = performance.now();
    handle.syncSync();
    dirs.push(performance.now() - t);
    handle.close();
  }
  return { file: median(files), dir: median(dirs) };
}

/** The V8 flag sets the experiment compares. */
const V8_CANDIDATES: readonly { readonly label: string; readonly flags: readonly string[] }[] = [
  { label: "none", flags: [] },
  { label: "--v8-flags=--no-lazy", flags: ["--no-lazy"] },
  { label: "--v8-flags=--jitless", flags: ["--jitless"] },
  { label: "--v8-flags=--no-lazy,--jitless", flags: ["--no-lazy", "--jitless"] },
  { label: "--v8-flags=--max-lazy", flags: ["--max-lazy"] },
];

/**
 * The shipped bundle's query-oauth -s and add-oauth -P with each candidate V8 flag set
 * (interleaved), and the daemon's add and query throughput started with each.
 */
async function flagsSection(ctx: Context): Promise<Table[]> {
  const extra = ctx.options.candidates.map((flags) => ({
    label: `--v8-flags=${flags.join(",")}`,
    flags,
  }));
  const candidates = [...V8_CANDIDATES, ...extra].map((c, i) => ({
    ...c,
    runtime: [...permissions.RUNTIME_PERMISSIONS, ...v8FlagArgs(c.flags)],
    shipped: c.flags.join(",") === SHIPPED_V8_FLAGS.join(","),
    dir: `${ctx.work}/flags-${i}`,
  }));
  const cases: Case[] = [];
  const spools: Spool[] = [];
  for (const c of candidates) {
    // Each candidate has its own DENO_DIR: V8 refuses a code cache made under other flags.
    const spool = await makeSpool(c.dir, await daemonConfig(c.dir));
    spools.push(spool);
    const program = denoRun(ctx.build.bundle, c.runtime);
    await prepareQueries(program, spool);
    const byName = new Map(actionCases(program, spool).map((a) => [a.name, a]));
    cases.push(
      { ...floorCase(ctx, spool.env, c.runtime), name: `${c.label}\tfloor` },
      { ...byName.get("query-oauth -s")!, name: `${c.label}\tquery` },
      { ...byName.get("add-oauth -P (.use)")!, name: `${c.label}\tadd` },
    );
  }
  const stats = await measure(cases, ctx.options.flagRuns);
  const get = (label: string, what: string) => stats.find((s) => s.name === `${label}\t${what}`)!;
  const plainFloor = get("none", "floor").median;

  // The daemon with each candidate: all started at once, load runs interleaved across them.
  const daemons: RunningDaemon[] = [];
  const results = candidates.map(() => ({ add: [] as LoadResult[], query: [] as LoadResult[] }));
  let failed = true;
  try {
    for (const [i, c] of candidates.entries()) {
      daemons.push(await startServe(denoRun(ctx.build.bundle, c.runtime), spools[i]));
    }
    for (let r = 0; r < ctx.options.flagLoadRounds; r++) {
      for (const i of rotate(candidates.map((_, i) => i), r)) {
        for (const kind of ["add", "query"] as const) {
          results[i][kind].push(
            await runLoad({
              transport: "unix",
              kind,
              seconds: ctx.options.flagLoadSeconds,
              clients: ctx.options.clients,
              daemon: daemons[i],
            }),
          );
        }
      }
    }
    failed = false;
  } finally {
    for (const d of daemons) await d.stop(!failed);
  }
  const rows = candidates.map((c, i) => {
    const floor = get(c.label, "floor").median;
    const query = get(c.label, "query").median;
    const add = get(c.label, "add").median;
    const adds = combine(results[i].add);
    const queries = combine(results[i].query);
    return [
      `${c.label}${c.shipped ? " (shipped)" : ""}`,
      ms(floor),
      `${ms(query)} (${ratio(query, plainFloor)})`,
      `${ms(add)} (${ratio(add, plainFloor)})`,
      `${perSecond(queries.perSecond)} (p99 ${ms(queries.p99)})`,
      `${perSecond(adds.perSecond)} (p99 ${ms(adds.p99)})`,
    ];
  });
  const by = (key: (i: number) => number, pick: (a: number, b: number) => boolean) =>
    candidates.map((c, i) => ({ label: c.label, value: key(i) }))
      .reduce((a, b) => pick(b.value, a.value) ? b : a);
  const fastQuery = by((i) => get(candidates[i].label, "query").median, (a, b) => a < b);
  const fastAdd = by((i) => get(candidates[i].label, "add").median, (a, b) => a < b);
  const mostQueries = by((i) => combine(results[i].query).perSecond, (a, b) => a > b);
  const mostAdds = by((i) => combine(results[i].add).perSecond, (a, b) => a > b);
  ctx.findings.push(
    `V8 flags (one run; see the experiment's table): the fastest start-up is with ${fastQuery.label} ` +
      `for query-oauth -s (${ratio(fastQuery.value, plainFloor)} the floor without flags) and ` +
      `${fastAdd.label} for add-oauth -P (${ratio(fastAdd.value, plainFloor)}); the daemon ` +
      `answers the most queries with ${mostQueries.label} (${
        perSecond(mostQueries.value)
      }/s) and ` +
      `the most durable adds with ${mostAdds.label} (${perSecond(mostAdds.value)}/s).`,
  );
  return [{
    title: "V8 flag experiment",
    note: `Start-up: ${ctx.options.flagRuns} runs per case, all candidates interleaved, each ` +
      "with its own DENO_DIR (V8 rejects a code cache made under other flags); ms median, ratio " +
      "to the empty program's floor without V8 flags. Daemon: `serve` started with the same " +
      `flags, ${ctx.options.clients} keep-alive clients over the Unix socket, ` +
      `${ctx.options.flagLoadRounds} round(s) of ${ctx.options.flagLoadSeconds} s per workload ` +
      "and candidate, interleaved; requests/s and p99 ms. Flags apply to the whole process, " +
      "worker threads included. lib/permissions.ts decides what ships; this table only reports.",
    header: [
      "V8 flags",
      "floor ms",
      "query-oauth -s ms (ratio)",
      "add-oauth -P ms (ratio)",
      "daemon queries/s",
      "daemon adds/s",
    ],
    rows,
  }];
}

/** Mints `count` IDTOKENs (u0…u<count-1>@DOMAIN) with `token create`, a few at a time. */
async function mintTokens(program: string[], spool: Spool, count: number): Promise<string[]> {
  const tokens: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const out = await run(
        [...program, "token", "create", "-identity", `u${n}@${DOMAIN}`, "-lifetime", "86400"],
        spool.env,
      );
      tokens[n] = out.trim();
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return tokens;
}

/**
 * The daemon: `serve` (the shipped bundle and flags) as root on a temp spool, socket and TLS
 * port; durable adds and queries by 64 keep-alive clients over the Unix socket and over TLS,
 * interleaved; one client process's spawn-to-answer time against the in-process path.
 */
async function daemonSection(ctx: Context): Promise<Table[]> {
  const dir = `${ctx.work}/daemon`;
  await Deno.mkdir(`${dir}/tls`, { recursive: true });
  const certs = await makeCertificates(`${dir}/tls`);
  const spool = await makeSpool(dir, [
    ...(await daemonConfig(dir)),
    "CREDD_TLS_ADDRESS = 127.0.0.1:0",
    `AUTH_SSL_SERVER_CERTFILE = ${certs.cert}`,
    `AUTH_SSL_SERVER_KEYFILE = ${certs.key}`,
  ]);
  const { clients, loadSeconds, loadRounds } = ctx.options;
  // The pool password is the POOL signing key of the IDTOKENs.
  await run([...ctx.program, "add", "-c", "-p", "-"], spool.env, "the-pool-signing-key");
  await run([...ctx.program, "add-oauth", "-s", "svc", "-P", "-i", "-"], spool.env, "tok");
  const fsync = fsyncLatency(`${dir}/spool`, ctx.options.quick ? 20 : 200);

  // A real non-root user for the spawn-to-answer case, with a Deno it may execute.
  const [tester] = (await nonRootUsers()) ?? [];
  if (tester === undefined) throw new Error("the daemon section needs root (a non-root user)");
  await run(
    [...ctx.program, "add-oauth", "-u", `${tester.name}@${DOMAIN}`, "-s", "svc", "-P", "-i", "-"],
    spool.env,
    "tok",
  );
  const deno = `${ctx.work}/deno`;
  await Deno.copyFile(DENO, deno);
  await Deno.chmod(deno, 0o755);
  const userDenoDir = `${ctx.work}/deno-dir-${tester.name}`;
  await Deno.mkdir(userDenoDir, { mode: 0o700 });
  await Deno.chown(userDenoDir, tester.uid, tester.gid);

  const daemon = await startServe(ctx.program, spool);
  let failed = true;
  try {
    if (daemon.tlsPort === null) throw new Error("the daemon did not report its TLS port");
    const tokens = await mintTokens(ctx.program, spool, clients);
    const tokensFile = `${dir}/tokens`;
    await Deno.writeTextFile(tokensFile, tokens.join("\n") + "\n", { mode: 0o600 });

    const results = new Map<string, LoadResult[]>();
    const workloads: ["unix" | "tls", "add" | "query"][] = [
      ["unix", "add"],
      ["unix", "query"],
      ["tls", "add"],
      ["tls", "query"],
    ];
    for (let r = 0; r < loadRounds; r++) {
      for (const [transport, kind] of rotate(workloads, r)) {
        const result = await runLoad({
          transport,
          kind,
          seconds: loadSeconds,
          clients,
          daemon,
          caFile: certs.ca,
          tokensFile,
        });
        const key = `${transport} ${kind}`;
        results.set(key, [...(results.get(key) ?? []), result]);
      }
    }
    const t = (key: string) => combine(results.get(key)!);
    const unixAdd = t("unix add");
    const unixQuery = t("unix query");
    const tlsAdd = t("tls add");
    const tlsQuery = t("tls query");

    // One client process: as a real user through the socket, against root in-process.
    const asRoot = [
      ...setprivAs({ uid: 0, gid: 0 }),
      deno,
      "run",
      "--quiet",
      ...SHIPPED_FLAGS,
      ctx.build.bundle,
    ];
    const asUser = [
      ...setprivAs(tester),
      deno,
      "run",
      "--quiet",
      ...SHIPPED_FLAGS,
      ctx.build.bundle,
    ];
    const userEnv = { ...spool.env, HOME: "/", DENO_DIR: userDenoDir };
    const spawnStats = await measure([
      {
        name: "deno run (empty program): start-up floor, as root",
        argv: [
          ...setprivAs({ uid: 0, gid: 0 }),
          deno,
          "run",
          "--quiet",
          ...SHIPPED_FLAGS,
          ctx.emptyProgram,
        ],
        env: spool.env,
      },
      {
        name: "in-process: query-oauth -s svc, as root",
        argv: [...asRoot, "query-oauth", "-s", "svc"],
        env: spool.env,
      },
      {
        name: `through the socket: query-oauth -s svc, as ${tester.name}`,
        argv: [...asUser, "query-oauth", "-s", "svc"],
        env: userEnv,
      },
    ], ctx.options.runs);
    failed = false;

    const floor = spawnStats[0].median;
    const addTarget = unixAdd.perSecond >= 2000;
    const queryTarget = unixQuery.perSecond >= 10_000;
    const p99Target = unixAdd.p99 < 20 && unixQuery.p99 < 20;
    // Little's law: with `clients` requests always in flight, the mean latency is clients / rate.
    const littleAdd = (clients / unixAdd.perSecond) * 1000;
    const littleQuery = (clients / unixQuery.perSecond) * 1000;
    const workers = 4;
    const fsyncBound = workers / ((fsync.file + fsync.dir) / 1000);
    ctx.findings.push(
      `Daemon targets over the Unix socket (${clients} keep-alive clients): durable adds ${
        perSecond(unixAdd.perSecond)
      }/s (target ≥ 2,000: ${addTarget ? "met" : "not met"}), queries ${
        perSecond(unixQuery.perSecond)
      }/s (target ≥ 10,000: ${queryTarget ? "met" : "not met"}), p99 ${ms(unixAdd.p99)} ms ` +
        `(adds) and ${ms(unixQuery.p99)} ms (queries) (target < 20 ms: ${
          p99Target ? "met" : "not met"
        }).`,
      `Over TLS with IDTOKENs: ${perSecond(tlsAdd.perSecond)} adds/s and ${
        perSecond(tlsQuery.perSecond)
      } queries/s (p99 ${ms(tlsAdd.p99)} / ${ms(tlsQuery.p99)} ms).`,
      `One client process through the socket answers in ${ms(spawnStats[2].median)} ms (${
        ratio(spawnStats[2].median, floor)
      } the floor), against ${ms(spawnStats[1].median)} ms in-process as root.`,
    );
    const row = (label: string, x: Throughput, target: string) => [
      label,
      perSecond(x.perSecond),
      `${perSecond(x.low)}–${perSecond(x.high)}`,
      ms(x.p50),
      ms(x.p99),
      target,
      x.daemonCpu.toFixed(2),
      x.cpu.toFixed(2),
      x.machineCpu.toFixed(2),
    ];
    const loadNote = `${clients} concurrent keep-alive clients in one load-generator process ` +
      `(scripts/bench_load.ts), each proving its identity once; ${loadRounds} round(s) of ` +
      `${loadSeconds} s per workload, the four workloads (Unix and TLS, adds and queries) ` +
      "interleaved. Requests/s over all rounds (range: the rounds' own rates); p50 and p99 ms: " +
      "median over rounds of each round's percentile, per request from send to answer. CPU: " +
      "cores used while measuring (CPU seconds per second), of the daemon (main thread and " +
      `its ${workers} store workers), of the load generator, and of the whole machine (every ` +
      "process: what exceeds the first two is someone else competing for the two cores).";
    return [
      {
        title: "Daemon over the Unix socket",
        note: `${loadNote} Adds are add-oauth -P of an access token (durable: temp file fsync, ` +
          "rename, directory fsync), root acting for 64 users u0…u63 (one lock each); queries " +
          "are query-oauth -s of the same users.\n\nWhat limits them: (1) two cores shared by " +
          `the daemon and its load generator: during the adds the daemon used ${
            unixAdd.daemonCpu.toFixed(2)
          } cores and the load generator ${unixAdd.cpu.toFixed(2)} (the machine ` +
          `${unixAdd.machineCpu.toFixed(2)}); during the queries ${
            unixQuery.daemonCpu.toFixed(2)
          }, ${unixQuery.cpu.toFixed(2)} and ${unixQuery.machineCpu.toFixed(2)}. (2) fsync: ` +
          `here a file fsync takes ${ms(fsync.file)} ms and a directory fsync ${
            ms(fsync.dir)
          } ms (median); each add makes both in a store worker, so ${workers} workers cannot ` +
          `pass ~${perSecond(fsyncBound)} adds/s on fsync alone. (3) Little's law: with ` +
          `${clients} requests always in flight, the mean latency is ${clients} / throughput: ` +
          `${ms(littleAdd)} ms at ${perSecond(unixAdd.perSecond)} adds/s, so an add p99 under ` +
          `20 ms needs more than ${perSecond(clients / 0.02)} adds/s even with no variance; ` +
          `for queries the mean is ${ms(littleQuery)} ms at ${
            perSecond(unixQuery.perSecond)
          }/s, so their p99 is set by how evenly the two cores serve the ${clients} clients. ` +
          "With fewer clients in flight the same throughput gives proportionally lower latency.",
        header: [
          "workload",
          "requests/s",
          "range",
          "p50 ms",
          "p99 ms",
          "target",
          "daemon CPU",
          "load CPU",
          "machine CPU",
        ],
        rows: [
          row("durable adds (add-oauth -P)", unixAdd, "≥ 2,000/s, p99 < 20 ms"),
          row("queries (query-oauth -s)", unixQuery, "≥ 10,000/s, p99 < 20 ms"),
        ],
      },
      {
        title: "Remote daemon over TLS",
        note: `The same daemon's TLS listener (CREDD_TLS_ADDRESS=127.0.0.1:0, an openssl EC ` +
          `certificate): ${clients} TLS clients, each with its own IDTOKEN (\`token create ` +
          "-identity u<n>@bench.example\`), sent with every request as the protocol requires " +
          "(so every request is verified: HMAC and a read of the signing key), interleaved " +
          "with the Unix-socket runs above. Connect + first request: TLS handshake (or " +
          "challenge) and the first add, p50 ms.",
        header: [
          "workload",
          "TLS requests/s",
          "Unix requests/s",
          "TLS p50 ms",
          "Unix p50 ms",
          "TLS p99 ms",
          "Unix p99 ms",
          "TLS connect + first request",
          "Unix connect + first request",
        ],
        rows: [
          ["durable adds", tlsAdd, unixAdd] as const,
          ["queries", tlsQuery, unixQuery] as const,
        ].map(([label, tls, unix]) => [
          label,
          perSecond(tls.perSecond),
          perSecond(unix.perSecond),
          ms(tls.p50),
          ms(unix.p50),
          ms(tls.p99),
          ms(unix.p99),
          ms(tls.connectP50),
          ms(unix.connectP50),
        ]),
      },
      {
        title: "Daemon: spawn-to-answer of one client process",
        note: `${ctx.options.runs} runs each, interleaved, all through setpriv (root runs with ` +
          `--reuid=0) and the same copy of Deno. The socket path is ${tester.name} (a real ` +
          "non-root user who may not write the store) running query-oauth -s svc, answered by " +
          "the daemon after a challenge; the in-process path is root running the same query " +
          "itself. Ratio = median / the empty program's median.",
        header: ["path", "median ms", "p95 ms", "ratio to floor"],
        rows: spawnStats.map((s) => [s.name, ms(s.median), ms(s.p95), ratio(s.median, floor)]),
      },
    ];
  } finally {
    await daemon.stop(!failed);
  }
}

async function commandWorks(argv: string[], stdin = ""): Promise<boolean> {
  try {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(encoder.encode(stdin)).catch(() => {});
    await w.close().catch(() => {});
    return (await child.status).success;
  } catch {
    return false;
  }
}

async function aptInstall(pkg: string): Promise<string | null> {
  if (Deno.uid() !== 0) return "not root, cannot install Debian packages";
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      `apt-get install -y -qq ${pkg} || (apt-get update -qq && apt-get install -y -qq ${pkg})`,
    ],
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stderr: encoder.encode(String(e)) }));
  return out.success ? null : `apt-get install ${pkg} failed: ${decoder.decode(out.stderr).trim()}`;
}

/** systemd-creds and git credential-store, measured against the same floor. */
async function baselineSection(ctx: Context): Promise<Table[]> {
  const dir = `${ctx.work}/baselines`;
  await Deno.mkdir(dir, { recursive: true });
  const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: dir, LANG: "C" };
  const cases: Case[] = [floorCase(ctx, { ...env, DENO_DIR: `${dir}/deno-dir` })];
  const skipped: string[] = [];

  let creds = await commandWorks(["systemd-creds", "--version"]);
  if (!creds) {
    const why = await aptInstall("systemd");
    creds = why === null && await commandWorks(["systemd-creds", "--version"]);
    if (!creds) skipped.push(`systemd-creds: ${why ?? "not available after installing systemd"}`);
  }
  if (creds) {
    const blob = `${dir}/secret.cred`;
    const encrypt = ["systemd-creds", "encrypt", "--with-key=host", "--name=bench", "-", blob];
    if (await commandWorks(encrypt, "secret")) {
      cases.push(
        { name: "systemd-creds encrypt --with-key=host", argv: encrypt, env, stdin: "secret" },
        {
          name: "systemd-creds decrypt",
          argv: ["systemd-creds", "decrypt", "--name=bench", blob, "-"],
          env,
        },
      );
    } else {
      skipped.push("systemd-creds: encrypt --with-key=host failed on this machine (no host key?)");
    }
  }

  let git = await commandWorks(["git", "credential-store", "--help"]) ||
    await commandWorks(["git", "--version"]);
  if (!git) {
    const why = await aptInstall("git");
    git = why === null && await commandWorks(["git", "--version"]);
    if (!git) skipped.push(`git credential-store: ${why ?? "git not available"}`);
  }
  if (git) {
    const file = `${dir}/git-credentials`;
    const store = "protocol=https\nhost=bench.example\nusername=u\npassword=secret\n\n";
    cases.push(
      {
        name: "git credential-store store",
        argv: ["git", "credential-store", "--file", file, "store"],
        env,
        stdin: store,
      },
      {
        name: "git credential-store get",
        argv: ["git", "credential-store", "--file", file, "get"],
        env,
        stdin: "protocol=https\nhost=bench.example\n\n",
      },
    );
  }
  for (const s of skipped) console.log(`skipped baseline ${s}`);
  const stats = await measure(cases, ctx.options.runs);
  const floor = stats[0].median;
  return [{
    title: "Baselines (same run)",
    note: skipped.length ? `Skipped: ${skipped.join("; ")}.` : undefined,
    header: ["command", "median ms", "p95 ms", "ratio to floor"],
    rows: stats.map((s) => [s.name, ms(s.median), ms(s.p95), ratio(s.median, floor)]),
  }];
}

/** Creates `count` other users' credentials directly in the layout (modes 0600/0700). */
function populate(spool: Spool, count: number): void {
  const base = `${spool.dir}/spool`;
  for (const d of ["krb", "oauth", "pwd"]) {
    Deno.mkdirSync(`${base}/${d}`, { recursive: true, mode: 0o700 });
  }
  const bytes = encoder.encode("x");
  for (let i = 0; i < count; i++) {
    const user = `u${String(i).padStart(6, "0")}`;
    Deno.writeFileSync(`${base}/krb/${user}.cred`, bytes, { mode: 0o600 });
    Deno.mkdirSync(`${base}/oauth/${user}`, { mode: 0o700 });
    Deno.writeFileSync(`${base}/oauth/${user}/s.use`, bytes, { mode: 0o600 });
    Deno.writeFileSync(`${base}/pwd/${user}@bench.example.pwd`, bytes, { mode: 0o600 });
  }
}

/** The same actions with 10, 10,000 and 100,000 other users already stored. */
async function scaleSection(ctx: Context): Promise<Table[]> {
  const program = ctx.program;
  const chosen = new Set([
    "add-krb",
    "query-krb",
    "add-oauth -P (.use)",
    "query-oauth -s",
    "query-oauth (all)",
    "add (sealed user password)",
    "query",
    "delete-oauth -s",
  ]);
  const cacheRoot = `${ROOT}.bench`;
  const cases: Case[] = [];
  const user = `benchuser@${DOMAIN}`;
  for (const size of ctx.options.scaleSizes) {
    // Populated spools are cached under .bench/ (gitignored): 100,000 users take a while.
    const dir = `${cacheRoot}/scale-${size}`;
    const marker = `${dir}/populated`;
    if (!(await Deno.stat(marker).then(() => true, () => false))) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      const started = performance.now();
      const spool = await makeSpool(dir);
      populate(spool, size);
      await Deno.writeTextFile(marker, `${size}\n`);
      console.log(
        `populated ${size} users in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    const spool = await makeSpool(dir);
    await prepareQueries(program, spool, user);
    for (const c of actionCases(program, spool, user)) {
      if (chosen.has(c.name)) cases.push({ ...c, name: `${size}\t${c.name}` });
    }
  }
  // All sizes in one interleaved measurement, so machine drift cannot pose as growth.
  const results = new Map<string, number[]>();
  for (const s of await measure(cases, ctx.options.scaleRuns)) {
    const name = s.name.split("\t")[1];
    results.set(name, [...(results.get(name) ?? []), s.median]);
  }
  const sizes = ctx.options.scaleSizes;
  let worst = -Infinity;
  const rows = [...results.entries()].map(([name, medians]) => {
    const growth = (medians.at(-1)! / medians[0] - 1) * 100;
    worst = Math.max(worst, growth);
    return [name, ...medians.map(ms), `${growth >= 0 ? "+" : ""}${growth.toFixed(1)}%`];
  });
  ctx.findings.push(
    `Scale target (no action grows by more than 10% from ${sizes[0]} to ${sizes.at(-1)} users): ${
      worst <= 10 ? "met" : "not met"
    }; the largest growth is ${worst.toFixed(1)}%.`,
  );
  return [{
    title: "Scale: median ms with N other users stored",
    note: `${ctx.options.scaleRuns} runs per action and size (bundle form).`,
    header: ["action", ...sizes.map((n) => `${n.toLocaleString("en-US")} users`), "growth"],
    rows,
  }];
}

/** Credentials of one user in the list section, and the size of each large one. */
const LIST_CREDENTIALS = 100;
const LIST_LARGE = 1024 * 1024;

/**
 * Writes `<oauth>/root/c<i>.top` for the list section: small JSON, or 1 MiB of JSON (every
 * other one deeply nested arrays, the rest one long string) whose scopes come last.
 */
function populateListing(spool: Spool, large: boolean): void {
  const dir = `${spool.oauth}/root`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (let i = 0; i < LIST_CREDENTIALS; i++) {
    let body = '{"refresh_token":"r","scopes":"read:/"}';
    if (large && i % 2 === 0) {
      const depth = (LIST_LARGE - 60) / 2;
      body = `{"refresh_token":"r","x":${"[".repeat(depth)}${"]".repeat(depth)},"scopes":"read:/"}`;
    } else if (large) {
      body = `{"refresh_token":"${"t".repeat(LIST_LARGE - 60)}","scopes":"read:/"}`;
    }
    Deno.writeFileSync(`${dir}/c${i}.top`, encoder.encode(body), { mode: 0o600 });
  }
}

/** Peak resident memory of one run of `c` in KiB (GNU time), or null without /usr/bin/time. */
async function peakRss(c: Case): Promise<number | null> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", ...c.argv],
    clearEnv: true,
    env: c.env,
    cwd: "/",
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => null);
  if (out === null || !out.success) return null;
  const kib = Number(decoder.decode(out.stderr).trim().split("\n").at(-1));
  return Number.isFinite(kib) ? kib : null;
}

/**
 * `list` of one user with 100 credentials, small and 1 MiB each: a listing reads at most the
 * first 64 KiB of each file (lib/store/list.ts LIST_READ_LIMIT), so its cost is bounded per file.
 */
async function listSection(ctx: Context): Promise<Table[]> {
  const cases: Case[] = [];
  for (const large of [false, true]) {
    const spool = await makeSpool(`${ctx.work}/list-${large ? "large" : "small"}`);
    populateListing(spool, large);
    const size = large ? "1 MiB" : `${'{"refresh_token":"r","scopes":"read:/"}'.length} bytes`;
    cases.push({
      name: `list-oauth: ${LIST_CREDENTIALS} credentials of ${size}`,
      argv: [...ctx.program, "list-oauth"],
      env: spool.env,
    });
  }
  const stats = await measure(cases, ctx.options.runs);
  const rss = await Promise.all(cases.map(peakRss));
  const mib = (kib: number | null) => kib === null ? "-" : (kib / 1024).toFixed(1);
  ctx.findings.push(
    `A list of ${LIST_CREDENTIALS} credentials of 1 MiB takes ` +
      `${ratio(stats[1].median, stats[0].median)} the time of ${LIST_CREDENTIALS} small ones ` +
      `(peak memory ${mib(rss[1])} MiB against ${mib(rss[0])} MiB).`,
  );
  return [{
    title: "List: one user's 100 credentials, small and 1 MiB each",
    note: `${ctx.options.runs} runs per case (bundle form), interleaved; peak memory is one more ` +
      "run's maximum resident set (GNU time). Half the large credentials are deeply nested " +
      "arrays, half one long string; their scopes lie past the 64 KiB a listing reads.",
    header: ["case", "median ms", "p95 ms", "vs small", "peak MiB"],
    rows: stats.map((s, i) => [
      s.name,
      ms(s.median),
      ms(s.p95),
      ratio(s.median, stats[0].median),
      mib(rss[i]),
    ]),
  }];
}

/** Where the time goes in one invocation: the -d timeline (ms since process start). */
async function profileSection(ctx: Context): Promise<Table[]> {
  const spool = await makeSpool(`${ctx.work}/profile`);
  const tables: Table[] = [];
  for (
    const [label, args, stdin] of [
      ["add-oauth -P -d", ["add-oauth", "-s", "p", "-P", "-i", "-", "-d"], "tok"],
      ["query-oauth -s -d", ["query-oauth", "-s", "p", "-d"], undefined],
    ] as const
  ) {
    // Warm the cache, then take the median run's timeline (a failed run fails the benchmark).
    const timelines: string[][] = [];
    for (let i = 0; i < 21; i++) {
      const child = new Deno.Command(ctx.program[0], {
        args: [...ctx.program.slice(1), ...args],
        clearEnv: true,
        env: spool.env,
        cwd: "/",
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      if (stdin) await w.write(encoder.encode(stdin));
      await w.close();
      const out = await child.output();
      const stderr = decoder.decode(out.stderr);
      if (out.code !== 0) throw new CommandFailed([...ctx.program, ...args], out.code, stderr);
      timelines.push(stderr.trim().split("\n"));
    }
    const last = (t: string[]) => Number(/\+(\d+\.\d)ms/.exec(t.at(-1) ?? "")?.[1] ?? 0);
    timelines.sort((a, b) => last(a) - last(b));
    const middle = timelines[Math.floor(timelines.length / 2)];
    tables.push({
      title: `Timeline of one ${label} (median of 21 runs)`,
      header: ["ms since start", "event"],
      rows: middle.map((line) => {
        const m = /\+(\d+\.\d)ms (.*)$/.exec(line);
        return m ? [m[1], m[2].replaceAll(spool.dir, "<spool>")] : ["", line];
      }),
    });
  }
  return tables;
}

/**
 * The chunks of the bundle that a command compiles and runs: the entry and its static imports,
 * and its command's module (`<module>-<hash>.js`) with its static imports. The dynamic imports
 * of routes it does not take (the daemon's client, TLS) are left out: they run only then.
 */
function codeOf(dir: string, modules: string[]): { files: number; bytes: number } {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = Deno.readTextFileSync(`${dir}/${file}`);
    for (
      const m of text.matchAll(
        /^(?:import|export)\b[^;]*?\bfrom\s*"\.\/([^"]+)"|^import\s*"\.\/([^"]+)"/gm,
      )
    ) {
      visit(m[1] ?? m[2]);
    }
  };
  const files = [...Deno.readDirSync(dir)].map((e) => e.name);
  visit("condor_store_cred.js");
  for (const module of modules) {
    const chunk = files.find((f) => f.startsWith(`${module}-`) && f.endsWith(".js"));
    if (chunk === undefined) throw new Error(`no chunk of ${module} in the bundle`);
    visit(chunk);
  }
  let bytes = 0;
  for (const file of seen) bytes += Deno.statSync(`${dir}/${file}`).size;
  return { files: seen.size, bytes };
}

/** How much of the bundle each command compiles and runs. */
function codeSection(ctx: Context): Promise<Table[]> {
  const dir = ctx.build.bundle.slice(0, ctx.build.bundle.lastIndexOf("/"));
  const rows: string[][] = [];
  for (
    const [name, modules] of [
      ["add, delete, query (every type, in-process)", ["action"]],
      ["-f (pool password file)", ["pool_file"]],
      ["list", ["list"]],
      ["doctor", ["doctor"]],
      ["serve", ["serve"]],
      ["token create", ["token"]],
      ["completions", ["completions"]],
      ["--version", ["version"]],
    ] as const
  ) {
    const { files, bytes } = codeOf(dir, [...modules]);
    rows.push([
      name,
      String(files),
      bytes.toLocaleString("en-US"),
      `${(100 * bytes / ctx.build.bytes).toFixed(0)}%`,
    ]);
  }
  ctx.findings.push(
    `Code compiled and run per command: an action loads ${rows[0][2]} bytes of the ` +
      `${ctx.build.bytes.toLocaleString("en-US")}-byte bundle (${rows[0][3]}); serve loads ${
        rows[4][2]
      }.`,
  );
  return Promise.resolve([{
    title: "Code each command loads (bundle chunks)",
    note: "The bundle is a directory of chunks (deno bundle --code-splitting): the entry, one " +
      "chunk per command module, and chunks of code they share. A run compiles and runs the " +
      "entry's static imports and its command's, and a daemon route's modules only when it " +
      "takes that route (in-process runs never do). `deno run` still reads every chunk that a " +
      "static import() names when it builds the module graph, without compiling it.",
    header: ["command", "chunks", "bytes", "of the bundle"],
    rows,
  }]);
}

/** Sections in report order. */
const SECTIONS: {
  name: string;
  enabled: (o: Options) => boolean;
  run: (c: Context) => Promise<Table[]>;
}[] = [
  { name: "latency", enabled: () => true, run: latencySection },
  { name: "code", enabled: () => true, run: codeSection },
  { name: "forms", enabled: () => true, run: formsSection },
  { name: "cold", enabled: () => true, run: coldSection },
  { name: "credmon", enabled: () => true, run: credmonSection },
  { name: "flags", enabled: (o) => o.flags, run: flagsSection },
  { name: "baselines", enabled: (o) => o.baselines, run: baselineSection },
  { name: "scale", enabled: (o) => o.scale, run: scaleSection },
  { name: "list", enabled: () => true, run: listSection },
  { name: "daemon", enabled: (o) => o.daemon, run: daemonSection },
  { name: "profile", enabled: () => true, run: profileSection },
];

// ---- report ----------------------------------------------------------------------------------

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ").slice(0, 3).join(" ");
}

// ---- main ------------------------------------------------------------------------------------

const options = parseOptions(Deno.args);
const work = await Deno.makeTempDir({ prefix: "csc-bench-" });
try {
  await Deno.chmod(work, 0o755);
  const emptyProgram = `${work}/empty.js`;
  await Deno.writeTextFile(emptyProgram, "Deno.exitCode = 0;\n");
  await Deno.chmod(emptyProgram, 0o644);
  const loadBefore = await loadAverage();
  console.log("building the bundle...");
  const build = await buildBundle(`${work}/bundle`);
  const ctx: Context = {
    options,
    work,
    build,
    program: denoRun(build.bundle),
    emptyProgram,
    findings: [],
  };
  const tables: Table[] = [];
  const chosen = SECTIONS.filter((s) =>
    options.only === null ? s.enabled(options) : options.only.includes(s.name)
  );
  for (const section of chosen) {
    console.log(`running ${section.name}...`);
    const started = performance.now();
    for (const table of await section.run(ctx)) {
      tables.push(table);
      console.log(`\n${table.title}\n${textTable(table.header, table.rows)}\n`);
    }
    console.log(`(${section.name}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  // CPU the machine spent beyond a daemon and its load generator: other processes competing (or
  // kernel threads, such as the file system's journal, working for the daemon's fsyncs).
  const others = loadRuns.map((r) => r.machineCpuCores - r.cpuCores - (r.daemonCpuCores ?? 0));
  const busy = others.filter((o) => o > 0.3);
  if (busy.length > 0) {
    ctx.findings.push(
      `Something else used CPU during ${busy.length} of ${others.length} daemon load runs (up ` +
        `to ${Math.max(...busy).toFixed(2)} of 2 cores beyond the daemon and its load ` +
        'generator; see "machine CPU"): other processes, or kernel threads flushing for the ' +
        "daemon. Throughput in those runs is lower than on an otherwise idle machine.",
    );
  }
  for (const finding of ctx.findings) console.log(finding);
  const machine = await machineDescription(work);
  machine.push([
    "load average (1, 5, 15 min) at start / end",
    `${loadBefore} / ${await loadAverage()}`,
  ]);
  const report = [
    "# Benchmarks",
    "",
    `Generated by \`deno task bench${options.quick ? " --quick" : ""}\` (scripts/bench.ts); do ` +
    "not edit by hand. Every figure below comes from one run of the script on the machine " +
    "described. Times are wall-clock per process, from spawn to exit, measured by a Deno parent; " +
    "absolute numbers are noisy on shared machines, so compare ratios taken in the same run.",
    "",
    "## Machine",
    "",
    markdownTable(["", ""], machine),
    "",
    "## What was measured",
    "",
    markdownTable(["", ""], [
      ["source", `commit ${build.commit}`],
      [
        "bundle",
        `built by scripts/bundle.ts --out into a temp directory for this run: ${
          build.bytes.toLocaleString("en-US")
        } bytes in its chunks, sha256 ${build.sha256}`,
      ],
      ["runtime flags", `\`${SHIPPED_FLAGS.join(" ")}\` (lib/permissions.ts)`],
      [
        "run as",
        "`deno run --quiet <flags> condor_store_cred/condor_store_cred.js …`, from `/`, clean environment",
      ],
      [
        "spools",
        "temp directories on the temp filesystem; CONDOR_IDS = 0.0 (the packaged layout, " +
        "directories 2770, whether or not a condor user exists)",
      ],
    ]),
    "",
    "## Findings",
    "",
    ...ctx.findings.map((f) => `- ${f}`),
    "",
    ...tables.flatMap((t) => [
      `## ${t.title}`,
      "",
      ...(t.note ? [t.note, ""] : []),
      markdownTable(t.header, t.rows),
      "",
    ]),
  ].join("\n");
  await Deno.writeTextFile(options.out, report);
  console.log(`\nwrote ${options.out}`);
} catch (error) {
  console.error(`bench failed: ${(error as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await Deno.remove(work, { recursive: true });
}
