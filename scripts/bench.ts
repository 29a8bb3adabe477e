/**
 * Benchmarks (`deno task bench`): per-invocation latency of every action against a temp spool,
 * as ratios to baselines measured in the same run (the runtime's start-up floor,
 * systemd-creds, git credential-store), latency with 10 / 10,000 / 100,000 stored users, and
 * a profile of one invocation. Prints a table and writes BENCHMARKS.md (fully generated).
 *
 * Usage: deno task bench [--runs N] [--quick] [--out FILE] [--no-scale] [--no-baselines]
 *
 * The report is a list of sections, each producing tables; a future daemon section (throughput
 * with concurrent clients) is one more entry in SECTIONS.
 *
 * Permissions: -A (it spawns the program, installs Debian packages when missing, writes temp
 * spools and the report).
 */

import { RUNTIME_PERMISSIONS } from "../lib/permissions.ts";
import { machineDescription, markdownTable } from "./report.ts";

// ---- options ---------------------------------------------------------------------------------

interface Options {
  runs: number;
  scaleRuns: number;
  scaleSizes: number[];
  out: string;
  scale: boolean;
  baselines: boolean;
  quick: boolean;
}

function parseOptions(args: string[]): Options {
  const root = new URL("..", import.meta.url).pathname;
  const options: Options = {
    runs: 100,
    scaleRuns: 100,
    scaleSizes: [10, 10_000, 100_000],
    out: `${root}BENCHMARKS.md`,
    scale: true,
    baselines: true,
    quick: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--runs") options.runs = options.scaleRuns = Number(args[++i]);
    else if (a === "--out") options.out = args[++i];
    else if (a === "--no-scale") options.scale = false;
    else if (a === "--no-baselines") options.baselines = false;
    else if (a === "--quick") {
      options.quick = true;
      options.runs = options.scaleRuns = 10;
      options.scaleSizes = [10, 1000];
    } else {
      console.error(`unknown argument ${a}`);
      console.error(
        "usage: deno task bench [--runs N] [--quick] [--out FILE] [--no-scale] [--no-baselines]",
      );
      Deno.exit(2);
    }
  }
  if (!Number.isInteger(options.runs) || options.runs < 5) {
    console.error("--runs must be an integer of at least 5");
    Deno.exit(2);
  }
  return options;
}

// ---- measuring -------------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One command to time. `setup` runs untimed before each timed run (e.g. an add before a delete).
 */
interface Case {
  readonly name: string;
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly stdin?: string;
  readonly setup?: () => Promise<void>;
  /** Exit codes that count as success (default [0]). */
  readonly ok?: number[];
}

/** Median and p95 of a case, in milliseconds. */
interface Stat {
  readonly name: string;
  readonly median: number;
  readonly p95: number;
  readonly runs: number;
}

/** Runs a command once; returns its wall time in ms. Throws when it fails. */
async function timeOnce(c: Case): Promise<number> {
  const start = performance.now();
  const child = new Deno.Command(c.argv[0], {
    args: c.argv.slice(1),
    clearEnv: true,
    env: c.env,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (c.stdin !== undefined) await writer.write(encoder.encode(c.stdin)).catch(() => {});
  await writer.close().catch(() => {});
  const { code, stderr } = await child.output();
  const elapsed = performance.now() - start;
  if (!(c.ok ?? [0]).includes(code)) {
    throw new Error(`${c.name} failed (exit ${code}): ${decoder.decode(stderr)}`);
  }
  return elapsed;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Times every case `runs` times, round-robin (case 1, case 2, …, then again), so machine drift
 * hits all cases alike; a few warm-up rounds first.
 */
async function measure(cases: Case[], runs: number): Promise<Stat[]> {
  for (let w = 0; w < 3; w++) {
    for (const c of cases) {
      await c.setup?.();
      await timeOnce(c);
    }
  }
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (const [i, c] of cases.entries()) {
      await c.setup?.();
      samples[i].push(await timeOnce(c));
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

interface Spool {
  readonly dir: string;
  readonly env: Record<string, string>;
}

async function makeSpool(dir: string): Promise<Spool> {
  await Deno.mkdir(`${dir}/spool`, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    `${dir}/condor_config`,
    [
      `SEC_PASSWORD_FILE = ${dir}/spool/passwords.d/POOL`,
      `SEC_CREDENTIAL_DIRECTORY_KRB = ${dir}/spool/krb`,
      `SEC_CREDENTIAL_DIRECTORY_OAUTH = ${dir}/spool/oauth`,
      `SEC_CREDENTIAL_DIRECTORY_PWD = ${dir}/spool/pwd`,
      "UID_DOMAIN = bench.example",
      "",
    ].join("\n"),
  );
  return {
    dir,
    env: {
      CONDOR_CONFIG: `${dir}/condor_config`,
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: dir,
      TZ: "UTC",
      DENO_DIR: `${dir}/deno-dir`,
    },
  };
}

/** The forms of the program that can be measured, by name → argv prefix. */
async function programForms(work: string): Promise<Map<string, string[]>> {
  const forms = new Map<string, string[]>();
  let bundle = `${ROOT}dist/condor_store_cred.js`;
  if (!(await Deno.stat(bundle).then(() => true, () => false))) {
    bundle = `${work}/condor_store_cred.js`;
    const out = await new Deno.Command(DENO, {
      args: ["bundle", "--quiet", "--config", `${ROOT}deno.json`, "-o", bundle, `${ROOT}main.ts`],
    }).output();
    if (!out.success) throw new Error("deno bundle failed");
  }
  forms.set("bundle", [DENO, "run", "--quiet", ...RUNTIME_PERMISSIONS, bundle]);
  forms.set("main.ts", [DENO, "run", "--quiet", ...RUNTIME_PERMISSIONS, `${ROOT}main.ts`]);
  const binary = `${ROOT}dist/condor_store_cred-${Deno.build.target}`;
  if (await Deno.stat(binary).then(() => true, () => false)) forms.set("binary", [binary]);
  return forms;
}

/** The action cases for one program form against one spool. */
function actionCases(program: string[], spool: Spool, user = "root@bench.example"): Case[] {
  const u = ["-u", user];
  const run = (args: string[], stdin?: string) => (): Promise<void> =>
    timeOnce({ name: "setup", argv: [...program, ...args], env: spool.env, stdin }).then(() => {});
  const c = (name: string, args: string[], extra: Partial<Case> = {}): Case => ({
    name,
    argv: [...program, ...args],
    env: spool.env,
    ...extra,
  });
  return [
    c("add -c (pool password)", ["add", "-c", "-p", "-"], { stdin: "pool-password" }),
    c("delete -c", ["delete", "-c"], { setup: run(["add", "-c", "-p", "-"], "pool-password") }),
    c("add (sealed user password)", ["add", ...u, "-p", "-"], { stdin: "user-password" }),
    c("query", ["query", ...u]),
    c("delete", ["delete", ...u], { setup: run(["add", ...u, "-p", "-"], "user-password") }),
    c("add-krb", ["add-krb", ...u, "-i", "-"], { stdin: "kerberos-ticket-bytes" }),
    c("query-krb", ["query-krb", ...u]),
    c("delete-krb", ["delete-krb", ...u], { setup: run(["add-krb", ...u, "-i", "-"], "t") }),
    c("add-oauth -P (.use)", ["add-oauth", ...u, "-s", "s", "-P", "-i", "-"], { stdin: "tok" }),
    c("add-oauth (.top)", ["add-oauth", ...u, "-s", "t", "-i", "-"], { stdin: "{}" }),
    c("query-oauth -s", ["query-oauth", ...u, "-s", "s"]),
    c("query-oauth (all)", ["query-oauth", ...u]),
    c("delete-oauth -s", ["delete-oauth", ...u, "-s", "d"], {
      setup: run(["add-oauth", ...u, "-s", "d", "-P", "-i", "-"], "tok"),
    }),
  ];
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
  readonly forms: Map<string, string[]>;
  readonly emptyProgram: string;
  /** Median of the start-up floor, measured in the latency section. */
  floor?: Stat;
  readonly findings: string[];
}

const ms = (n: number) => n.toFixed(1);
const ratio = (n: number, floor: number) => `${(n / floor).toFixed(2)}x`;

/** Latency of every action (bundle form), with the runtime's start-up floor. */
async function latencySection(ctx: Context): Promise<Table[]> {
  const spool = await makeSpool(`${ctx.work}/latency`);
  const floorCase: Case = {
    name: "deno run (empty program): start-up floor",
    argv: [DENO, "run", "--quiet", ...RUNTIME_PERMISSIONS, ctx.emptyProgram],
    env: spool.env,
  };
  const bundle = ctx.forms.get("bundle")!;
  // The query cases need something to find.
  for (
    const args of [
      ["add", "-u", "root@bench.example", "-p", "-"],
      ["add-krb", "-u", "root@bench.example", "-i", "-"],
      ["add-oauth", "-u", "root@bench.example", "-s", "s", "-P", "-i", "-"],
    ]
  ) await timeOnce({ name: "prepare", argv: [...bundle, ...args], env: spool.env, stdin: "x" });
  const actions = actionCases(bundle, spool);
  const stats = await measure([floorCase, ...actions], ctx.options.runs);
  const floor = stats[0];
  ctx.floor = floor;
  const rows = stats.map((s) => [s.name, ms(s.median), ms(s.p95), ratio(s.median, floor.median)]);
  const worst = Math.max(...stats.slice(1).map((s) => s.median / floor.median));
  ctx.findings.push(
    `Latency target (each action ≤ 1.3x the start-up floor, median): ${
      worst <= 1.3 ? "met" : "not met"
    }; the slowest action is ${worst.toFixed(2)}x.`,
  );
  const tables: Table[] = [{
    title: "Latency per action (bundle, in-process, durable writes)",
    note: `${floor.runs} runs each, interleaved; ratio = median / start-up floor median.`,
    header: ["action", "median ms", "p95 ms", "ratio to floor"],
    rows,
  }];

  // The other forms of the program, on two representative actions.
  const others = [...ctx.forms.entries()].filter(([name]) => name !== "bundle");
  if (others.length > 0) {
    const cases: Case[] = [floorCase];
    for (const [name, program] of [["bundle", bundle] as const, ...others]) {
      for (const c of actionCases(program, spool)) {
        if (c.name === "add-oauth -P (.use)" || c.name === "query-oauth -s") {
          cases.push({ ...c, name: `${name}: ${c.name}` });
        }
      }
    }
    const formStats = await measure(cases, Math.max(5, Math.floor(ctx.options.runs / 2)));
    tables.push({
      title: "Forms of the program",
      note: "main.ts loads ~40 modules; the bundle is one file (what the binaries embed).",
      header: ["form: action", "median ms", "p95 ms", "ratio to floor"],
      rows: formStats.map((
        s,
      ) => [s.name, ms(s.median), ms(s.p95), ratio(s.median, formStats[0].median)]),
    });
  }
  return tables;
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
  const cases: Case[] = [{
    name: "deno run (empty program): start-up floor",
    argv: [DENO, "run", "--quiet", ...RUNTIME_PERMISSIONS, ctx.emptyProgram],
    env,
  }];
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
  const program = ctx.forms.get("bundle")!;
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
    for (
      const args of [
        ["add", "-u", "benchuser@bench.example", "-p", "-"],
        ["add-oauth", "-u", "benchuser@bench.example", "-s", "s", "-P", "-i", "-"],
        ["add-krb", "-u", "benchuser@bench.example", "-i", "-"],
      ]
    ) await timeOnce({ name: "prepare", argv: [...program, ...args], env: spool.env, stdin: "x" });
    for (const c of actionCases(program, spool, "benchuser@bench.example")) {
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

/** Where the time goes in one invocation: the -d timeline (ms since process start). */
async function profileSection(ctx: Context): Promise<Table[]> {
  const spool = await makeSpool(`${ctx.work}/profile`);
  const program = ctx.forms.get("bundle")!;
  const tables: Table[] = [];
  for (
    const [label, args, stdin] of [
      ["add-oauth -P -d", ["add-oauth", "-s", "p", "-P", "-i", "-", "-d"], "tok"],
      ["query-oauth -s -d", ["query-oauth", "-s", "p", "-d"], undefined],
    ] as const
  ) {
    // Warm the cache, then take the median run's timeline.
    const timelines: string[][] = [];
    for (let i = 0; i < 21; i++) {
      const child = new Deno.Command(program[0], {
        args: [...program.slice(1), ...args],
        clearEnv: true,
        env: spool.env,
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      if (stdin) await w.write(encoder.encode(stdin));
      await w.close();
      const out = await child.output();
      timelines.push(decoder.decode(out.stderr).trim().split("\n"));
    }
    const last = (t: string[]) => Number(/\+(\d+\.\d)ms/.exec(t.at(-1) ?? "")?.[1] ?? 0);
    timelines.sort((a, b) => last(a) - last(b));
    const median = timelines[Math.floor(timelines.length / 2)];
    tables.push({
      title: `Timeline of one ${label} (median of 21 runs)`,
      header: ["ms since start", "event"],
      rows: median.map((line) => {
        const m = /\+(\d+\.\d)ms (.*)$/.exec(line);
        return m ? [m[1], m[2].replace(spool.dir, "<spool>")] : ["", line];
      }),
    });
  }
  return tables;
}

/** Sections in report order; a daemon section (throughput with concurrent clients) goes here. */
const SECTIONS: {
  name: string;
  enabled: (o: Options) => boolean;
  run: (c: Context) => Promise<Table[]>;
}[] = [
  { name: "latency", enabled: () => true, run: latencySection },
  { name: "baselines", enabled: (o) => o.baselines, run: baselineSection },
  { name: "scale", enabled: (o) => o.scale, run: scaleSection },
  { name: "profile", enabled: () => true, run: profileSection },
];

// ---- report ----------------------------------------------------------------------------------

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

// ---- main ------------------------------------------------------------------------------------

const options = parseOptions(Deno.args);
const work = await Deno.makeTempDir({ prefix: "csc-bench-" });
try {
  const emptyProgram = `${work}/empty.js`;
  await Deno.writeTextFile(emptyProgram, "Deno.exitCode = 0;\n");
  const ctx: Context = {
    options,
    work,
    forms: await programForms(work),
    emptyProgram,
    findings: [],
  };
  const tables: Table[] = [];
  for (const section of SECTIONS.filter((s) => s.enabled(options))) {
    console.log(`running ${section.name}...`);
    for (const table of await section.run(ctx)) {
      tables.push(table);
      console.log(`\n${table.title}\n${textTable(table.header, table.rows)}\n`);
    }
  }
  for (const finding of ctx.findings) console.log(finding);
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
    markdownTable(["", ""], await machineDescription(work)),
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
} finally {
  await Deno.remove(work, { recursive: true });
}
