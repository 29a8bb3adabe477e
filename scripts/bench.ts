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
 * The report is a list of sections (SECTIONS below): each is one file of scripts/bench/ exporting
 * a `section` declaration ({name, enabled, run(ctx) → tables}, scripts/bench/harness.ts
 * BenchSection), and one line of SECTIONS. A new benchmark is one such file and one line.
 *
 * Permissions: -A (it builds the bundle, spawns the program and daemons, runs as a non-root user
 * through setpriv, installs Debian packages when missing, writes temp spools and the report).
 */

import { machineDescription, markdownTable } from "./report.ts";
import {
  type BenchSection,
  buildBundle,
  type Context,
  denoRun,
  type Options,
  SHIPPED_FLAGS,
  type Table,
} from "./bench/harness.ts";
import { section as baselines } from "./bench/baselines.ts";
import { section as code } from "./bench/code.ts";
import { section as cold } from "./bench/cold.ts";
import { section as credmon } from "./bench/credmon.ts";
import { section as daemon } from "./bench/daemon.ts";
import { section as flags } from "./bench/flags.ts";
import { section as forms } from "./bench/forms.ts";
import { section as latency } from "./bench/latency.ts";
import { section as list } from "./bench/list.ts";
import { section as profile } from "./bench/profile.ts";
import { section as scale } from "./bench/scale.ts";

/** Sections in report order: one line each. */
const SECTIONS: readonly BenchSection[] = [
  latency,
  code,
  forms,
  cold,
  credmon,
  flags,
  baselines,
  scale,
  list,
  daemon,
  profile,
];

// ---- options ---------------------------------------------------------------------------------

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
    loadRuns: [],
  };
  const tables: Table[] = [];
  const chosen = SECTIONS.filter((s) =>
    options.only === null ? (s.enabled?.(options) ?? true) : options.only.includes(s.name)
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
  const others = ctx.loadRuns.map((r) => r.machineCpuCores - r.cpuCores - (r.daemonCpuCores ?? 0));
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
