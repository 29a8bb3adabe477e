/**
 * The generated mutation run, `deno task mutate --generated` (TESTING.md): generates mutants of
 * the modules of scripts/mutation/generate.ts, draws a seeded sample stratified per module, and
 * runs each mutant that type-checks against the tests that execute its line (found by the
 * coverage baseline of scripts/mutation/baseline.ts), in scratch copies of the tree, a bounded
 * time each, `--jobs` at a time. Prints the score per module and every survivor, in Markdown.
 *
 * Usage: deno task mutate --generated [--sample N] [--seed N] [--jobs N] [--min-per-module N]
 *          [--module NAME]... [--file PATH]... [--kind KIND]... [--tests FILE,...]
 *          [--timeout-factor N] [--report FILE.md] [--json FILE.json] [--keep]
 * Exit status: 0 when the run completed and the score of non-equivalent mutants reaches
 * `--target` (default 90%), 1 otherwise, 2 for a usage error.
 * Permissions: -A (it copies the repository and runs `deno test` as the tests need).
 */

import { type Baseline, guardFiles, nameFilter, pool, runBaseline } from "./baseline.ts";
import { equivalentOf } from "./equivalent.ts";
import {
  applyMutant,
  drawOrder,
  findMutants,
  moduleFiles,
  MODULES,
  type Mutant,
  quotas,
} from "./generate.ts";
import { runJob } from "./jobs.ts";
import { type Kind, KINDS } from "./operators.ts";
import { copyRepository, describeCommit } from "./tree.ts";

/** What running a mutant's tests found. */
export type Status = "killed" | "timeout" | "survived" | "no-coverage";

/** Tests to run for a mutant: a test file, and the names in it (null: all of it). */
export interface Selection {
  readonly file: string;
  readonly names: readonly string[] | null;
  /** Expected seconds (from the baseline). */
  readonly seconds: number;
  /** Each selected test's seconds in the baseline. */
  readonly testSeconds?: Readonly<Record<string, number>>;
}

/** One mutant's outcome. */
export interface MutantResult {
  readonly mutant: Mutant;
  readonly status: Status;
  /** Test files run (in order), and how many tests were selected. */
  readonly files: readonly string[];
  readonly tests: number;
  /** The first failing test, `file: name`, when killed. */
  readonly killer: string | null;
  readonly seconds: number;
  /** Tests that ran to an end; fewer than `tests` when the budget stopped a survivor. */
  readonly finished: number;
}

/** Seconds `deno test` takes to start before the first test (a rough constant). */
const STARTUP_SECONDS = 1.5;

/** The tests that guard `mutant`, from the baseline: the ones that execute its line. */
export function selectTests(baseline: Baseline, mutant: Mutant): Selection[] {
  const byFile = new Map<
    string,
    { names: string[]; seconds: number; testSeconds: Record<string, number> }
  >();
  for (const i of baseline.lines[mutant.file]?.[mutant.line] ?? []) {
    const t = baseline.tests[i];
    const entry = byFile.get(t.file) ??
      { names: [], seconds: STARTUP_SECONDS, testSeconds: {} };
    entry.names.push(t.name);
    entry.seconds += t.seconds;
    entry.testSeconds[t.name] = t.seconds;
    byFile.set(t.file, entry);
  }
  // The quickest files first: most mutants are killed by the first file that runs.
  return [...byFile].map(([file, e]) => ({ file, ...e }))
    .sort((a, b) => a.seconds - b.seconds || a.file.localeCompare(b.file));
}

/**
 * The mutants of `mutants` whose mutated file type-checks in the tree at `copy`, in one
 * `deno check`: each mutant is written as a copy of its file, beside it (so its imports resolve
 * alike), and an error located in a copy discards that mutant. A copy that does not even parse
 * is discarded and the check run again without it. Throws when the unmutated tree has errors.
 */
export async function typeCheckAll(copy: string, mutants: readonly Mutant[]): Promise<Mutant[]> {
  const byPath = new Map<string, Mutant>();
  for (const [i, m] of mutants.entries()) {
    const slash = m.file.lastIndexOf("/");
    const path = `${m.file.slice(0, slash)}/.mutant-${i}-${m.file.slice(slash + 1)}`;
    await Deno.writeTextFile(
      `${copy}/${path}`,
      applyMutant(await Deno.readTextFile(`${copy}/${m.file}`), m),
    );
    byPath.set(path, m);
  }
  const failed = new Set<string>();
  try {
    while (true) {
      const files = [...byPath.keys()].filter((f) => !failed.has(f));
      if (files.length === 0) break;
      const r = await runJob({ args: ["check", ...files], cwd: copy, timeoutSeconds: 1800 });
      if (r.timedOut) throw new Error(`deno check of ${files.length} mutants timed out`);
      if (r.code === 0) break;
      const located = [...r.output.matchAll(/file:\/\/(\S+?):\d+:\d+/g)]
        .map((m) => m[1].startsWith(`${copy}/`) ? m[1].slice(copy.length + 1) : m[1]);
      const blamed = located.filter((f) => byPath.has(f));
      if (blamed.length === 0) {
        throw new Error(`the unmutated tree does not type-check:\n${r.output.slice(0, 4000)}`);
      }
      for (const f of blamed) failed.add(f);
      // Type errors are all reported at once; a parse error stops the check at that file.
      if (!/could not be parsed/.test(r.output)) break;
    }
  } finally {
    for (const path of byPath.keys()) await Deno.remove(`${copy}/${path}`).catch(() => {});
  }
  return [...byPath].filter(([f]) => !failed.has(f)).map(([, m]) => m);
}

/** How long a mutant's tests may run. */
export interface Bounds {
  /** Seconds for all its tests; a survivor still running then is stopped (and stays one). */
  readonly budgetSeconds: number;
  /** One test running longer than `hangGraceSeconds` + this many times its baseline hangs. */
  readonly hangFactor: number;
  /** Default 60. */
  readonly hangGraceSeconds?: number;
}

/**
 * Runs `selection` in the tree at `copy` (already mutated) in one `deno test`, quickest file
 * first, stopping at the first failure. A test that runs far past its baseline time makes the
 * mutant a `timeout` (a mutant that hangs the program is caught); when the budget runs out
 * first, the mutant survived the tests that finished.
 */
export async function runSelection(
  copy: string,
  selection: readonly Selection[],
  bounds: Bounds,
): Promise<{ status: Status; killer: string | null; files: string[]; finished: number }> {
  if (selection.length === 0) {
    return { status: "no-coverage", killer: null, files: [], finished: 0 };
  }
  const files = selection.map((s) => s.file);
  const names = selection.every((s) => s.names !== null)
    ? [...new Set(selection.flatMap((s) => s.names!))]
    : null;
  const testSeconds = Object.assign({}, ...selection.map((s) => s.testSeconds ?? {}));
  let current: { name: string; since: number } | null = null;
  let finished = 0;
  const r = await runJob({
    args: [
      "test",
      "--allow-all",
      "--no-check",
      "--fail-fast",
      ...(names === null ? [] : ["--filter", nameFilter(names)]),
      ...files,
    ],
    cwd: copy,
    // A last resort: the watch below stops it sooner.
    timeoutSeconds: bounds.budgetSeconds + 600,
    watch: {
      line(line) {
        const started = /^(\S.*) \.\.\.$/.exec(line);
        if (started && current?.name !== started[1]) {
          current = { name: started[1], since: performance.now() };
        } else if (/^\S.* \.\.\. (ok|FAILED|ignored)\b/.test(line)) {
          current = null;
          finished++;
        }
      },
      check(elapsed) {
        if (current !== null) {
          const running = (performance.now() - current.since) / 1000;
          const allowed = (bounds.hangGraceSeconds ?? 60) +
            bounds.hangFactor * (testSeconds[current.name] ?? 30);
          if (running > allowed) return "hang";
        }
        return elapsed > bounds.budgetSeconds ? "budget" : null;
      },
    },
  });
  if (r.stopped === "hang" || r.timedOut) {
    return {
      status: "timeout",
      killer: (current as { name: string } | null)?.name ?? null,
      files,
      finished,
    };
  }
  if (r.stopped === "budget") return { status: "survived", killer: null, files, finished };
  if (r.code === 0) return { status: "survived", killer: null, files, finished };
  const failure = r.output.slice(r.output.lastIndexOf(" FAILURES "));
  const at = /^(.+?) => \.\/(tests\/[^:]+):/m.exec(failure);
  const killer = at === null
    ? /^error: .*$/m.exec(r.output)?.[0] ?? "the test run failed"
    : `${at[2]}: ${at[1]}`;
  return { status: "killed", killer, files, finished };
}

/**
 * Applies `mutant` in the tree at `copy`, runs `fn`, and restores the file however `fn` ends.
 */
export async function withMutant<T>(
  copy: string,
  mutant: Mutant,
  fn: () => Promise<T>,
): Promise<T> {
  const path = `${copy}/${mutant.file}`;
  const original = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, applyMutant(original, mutant));
  try {
    return await fn();
  } finally {
    await Deno.writeTextFile(path, original);
  }
}

/** Options of a generated run. */
export interface GeneratedOptions {
  readonly sample: number;
  readonly seed: number;
  readonly jobs: number;
  readonly minPerModule: number;
  readonly modules: readonly string[];
  readonly files: readonly string[];
  readonly kinds: readonly Kind[];
  /** Run exactly the mutants whose id (`file:line:column:mutation`) contains one of these. */
  readonly mutants: readonly string[];
  /** Run these test files, whole, for every mutant instead of the coverage baseline's choice. */
  readonly tests: readonly string[] | null;
  readonly timeoutFactor: number;
  readonly budget: number;
  /** The budget of a mutant argued equivalent (equivalent.ts), run last. */
  readonly equivalentBudget: number;
  readonly target: number;
  readonly report: string | null;
  readonly json: string | null;
  readonly keep: boolean;
}

const USAGE = "usage: deno task mutate --generated [--sample N] [--seed N] [--jobs N] " +
  "[--min-per-module N] [--module NAME]... [--file PATH]... [--kind KIND]... [--mutant ID]... " +
  "[--tests FILE,...] [--timeout-factor N] [--budget SECONDS] [--equivalent-budget SECONDS] " +
  "[--target PERCENT] [--report FILE] " +
  "[--json FILE] " +
  "[--keep]";

/** Parses the options of a generated run; throws a usage message. */
export function parseGeneratedOptions(args: readonly string[]): GeneratedOptions {
  const o = {
    sample: 160,
    seed: 23,
    jobs: 2,
    minPerModule: 12,
    modules: [] as string[],
    files: [] as string[],
    kinds: [] as Kind[],
    mutants: [] as string[],
    tests: null as string[] | null,
    timeoutFactor: 3,
    budget: 150,
    equivalentBudget: 30,
    target: 90,
    report: null as string | null,
    json: null as string | null,
    keep: false,
  };
  const number = (v: string | undefined, name: string) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new Error(`${name} needs a number`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value; ${USAGE}`);
      return v;
    };
    if (a === "--sample") o.sample = number(value(), a);
    else if (a === "--seed") o.seed = number(value(), a);
    else if (a === "--jobs") o.jobs = Math.max(1, number(value(), a));
    else if (a === "--min-per-module") o.minPerModule = number(value(), a);
    else if (a === "--timeout-factor") o.timeoutFactor = number(value(), a);
    else if (a === "--budget") o.budget = number(value(), a);
    else if (a === "--equivalent-budget") o.equivalentBudget = number(value(), a);
    else if (a === "--target") o.target = number(value(), a);
    else if (a === "--module") {
      const name = value();
      if (!MODULES.some((m) => m.name === name)) throw new Error(`unknown module ${name}`);
      o.modules.push(name);
    } else if (a === "--file") o.files.push(value());
    else if (a === "--kind") {
      const kind = value();
      if (!(kind in KINDS)) throw new Error(`unknown kind ${kind}: ${Object.keys(KINDS)}`);
      o.kinds.push(kind as Kind);
    } else if (a === "--mutant") o.mutants.push(value());
    else if (a === "--tests") o.tests = value().split(",").filter(Boolean);
    else if (a === "--report") o.report = value();
    else if (a === "--json") o.json = value();
    else if (a === "--keep") o.keep = true;
    else throw new Error(`unknown argument ${a}; ${USAGE}`);
  }
  return o;
}

/** Everything a run found, for the report. */
export interface RunRecord {
  readonly commit: string;
  readonly started: string;
  readonly seconds: number;
  readonly cores: number;
  /** One-minute load averages sampled during the run. */
  readonly load: { readonly mean: number; readonly max: number; readonly start: number };
  readonly options: GeneratedOptions;
  readonly candidates: Record<string, number>;
  readonly quotas: Record<string, number>;
  /** Mutants drawn but discarded because the mutated file did not type-check. */
  readonly discarded: Record<string, number>;
  /** Wall seconds of the type checks and of the mutants' test runs. */
  readonly checkSeconds: number;
  readonly mutantSeconds: number;
  readonly baseline: {
    readonly tests: number;
    readonly files: number;
    readonly seconds: number;
    readonly failed: Baseline["failed"];
  } | null;
  readonly results: readonly MutantResult[];
}

function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** Runs the generated mutation run; returns the record (the caller prints the report). */
export async function runGenerated(
  options: GeneratedOptions,
  log: (line: string) => void = console.log,
): Promise<RunRecord> {
  const started = new Date();
  const start = performance.now();
  // The tree as it was when the run copied it (a commit made meanwhile is not what was tested).
  const commit = await describeCommit();
  const loads = [loadAverage()];
  const sampler = setInterval(() => loads.push(loadAverage()), 10_000);
  const scratch = await Deno.makeTempDir({ prefix: "csc-mutate-" });
  await Deno.chmod(scratch, 0o755);
  try {
    const copies: string[] = [];
    for (let i = 0; i < options.jobs; i++) {
      const copy = `${scratch}/tree${i}`;
      await Deno.mkdir(copy);
      await copyRepository(copy);
      copies.push(copy);
    }
    const byModule = await moduleFiles(copies[0]);
    const files = [...byModule].filter(([m]) =>
      options.modules.length === 0 || options.modules.includes(m)
    ).flatMap(([, f]) => f).filter((f) => options.files.length === 0 || options.files.includes(f));
    if (files.length === 0) throw new Error("no file to mutate (check --module and --file)");
    const all = (await findMutants(copies[0], files)).filter((m) =>
      (options.kinds.length === 0 || options.kinds.includes(m.kind)) &&
      (options.mutants.length === 0 || options.mutants.some((text) => m.id.includes(text)))
    );
    const candidates: Record<string, number> = {};
    for (const m of all) candidates[m.module] = (candidates[m.module] ?? 0) + 1;
    log(
      `${all.length} candidate mutants in ${files.length} files: ` +
        Object.entries(candidates).map(([m, n]) => `${m} ${n}`).join(", "),
    );

    const available = new Map(Object.entries(candidates));
    // Named mutants run all (no sample); otherwise the stratified sample.
    const quota = options.mutants.length > 0
      ? available
      : quotas(available, options.sample, options.minPerModule);
    const order = drawOrder(all, options.seed);
    // The sample: in each module's seeded order, the first mutants that type-check. Checked in
    // batches, one `deno check` each.
    const chosen = new Map<string, Mutant[]>();
    const discarded: Record<string, number> = {};
    const checkStart = performance.now();
    for (const [module, list] of order) {
      const want = quota.get(module) ?? 0;
      const valid: Mutant[] = [];
      let drawn = 0;
      while (valid.length < want && drawn < list.length) {
        const batch = list.slice(drawn, drawn + Math.max(10, 2 * (want - valid.length)));
        const ok = new Set((await typeCheckAll(copies[0], batch)).map((m) => m.id));
        for (const m of batch) {
          drawn++;
          if (ok.has(m.id)) valid.push(m);
          else discarded[module] = (discarded[module] ?? 0) + 1;
          if (valid.length === want) break;
        }
      }
      chosen.set(module, valid);
      log(
        `${module}: ${valid.length} mutants that type-check of ${drawn} drawn` +
          (valid.length < want ? ` (the module has no more; ${want} wanted)` : ""),
      );
    }
    const checkSeconds = (performance.now() - checkStart) / 1000;

    let baseline: Baseline | null = null;
    if (options.tests === null) {
      const testFiles = await guardFiles(copies[0]);
      log(`baseline: ${testFiles.length} test files with coverage, ${copies.length} at a time`);
      baseline = await runBaseline({
        copies,
        files: testFiles,
        coverageRoot: `${scratch}/coverage`,
        fileTimeout: 1800,
        log,
      });
      log(`baseline done in ${baseline.seconds.toFixed(0)} s: ${baseline.tests.length} tests pass`);
      for (const f of baseline.failed) log(`  not used: ${f.file}: ${f.name} (${f.why})`);
    }

    // Run order: round-robin over the modules, so every module progresses from the start; the
    // mutants argued equivalent last, each with the shorter budget (`--equivalent-budget`): they
    // are expected to survive, and are run only to show a quick test that now kills one (its
    // entry is then stale and it counts as killed).
    const queue: Mutant[] = [];
    for (let i = 0; queue.length < [...chosen.values()].flat().length; i++) {
      for (const list of chosen.values()) if (i < list.length) queue.push(list[i]);
    }
    queue.sort((a, b) => Number(equivalentOf(a) !== null) - Number(equivalentOf(b) !== null));
    const results: MutantResult[] = [];
    const mutantStart = performance.now();
    let done = 0;
    const free = [...copies];
    await pool(
      copies.length,
      queue.map((mutant) => async () => {
        const copy = free.pop()!;
        try {
          const result = await withMutant(copy, mutant, async () => {
            const t0 = performance.now();
            const selection = options.tests === null
              ? selectTests(baseline!, mutant)
              : options.tests.map((file) => ({ file, names: null, seconds: 30 }));
            const ran = await runSelection(copy, selection, {
              budgetSeconds: equivalentOf(mutant) === null
                ? options.budget
                : Math.min(options.budget, options.equivalentBudget),
              hangFactor: options.timeoutFactor,
            });
            return {
              mutant,
              ...ran,
              tests: selection.reduce((a, s) => a + (s.names?.length ?? 1), 0),
              seconds: (performance.now() - t0) / 1000,
            };
          });
          results.push(result);
          log(
            `[${++done}/${queue.length}] ${
              result.status.padEnd(11)
            } ${mutant.file}:${mutant.line} ` +
              `${mutant.description} (${result.seconds.toFixed(1)} s, ${result.tests} tests)`,
          );
        } finally {
          free.push(copy);
        }
      }),
    );
    results.sort((a, b) => a.mutant.id.localeCompare(b.mutant.id));
    return {
      commit,
      started: started.toISOString(),
      seconds: (performance.now() - start) / 1000,
      cores: navigator.hardwareConcurrency,
      load: {
        start: loads[0],
        mean: loads.reduce((a, b) => a + b, 0) / loads.length,
        max: Math.max(...loads),
      },
      options,
      candidates,
      quotas: Object.fromEntries(quota),
      discarded,
      checkSeconds,
      mutantSeconds: (performance.now() - mutantStart) / 1000,
      baseline: baseline === null ? null : {
        tests: baseline.tests.length,
        files: new Set(baseline.tests.map((t) => t.file)).size,
        seconds: baseline.seconds,
        failed: baseline.failed,
      },
      results,
    };
  } finally {
    clearInterval(sampler);
    if (options.keep) log(`scratch kept at ${scratch}`);
    else await Deno.remove(scratch, { recursive: true });
  }
}

/** Killed (timeouts included), equivalent and survived counts of `results`. */
export function tally(results: readonly MutantResult[]) {
  const killed = results.filter((r) => r.status === "killed").length;
  const timeout = results.filter((r) => r.status === "timeout").length;
  const survivors = results.filter((r) => r.status === "survived" || r.status === "no-coverage");
  const equivalent = survivors.filter((r) => equivalentOf(r.mutant) !== null).length;
  const live = survivors.length - equivalent;
  const scored = killed + timeout + live;
  return {
    total: results.length,
    killed,
    timeout,
    equivalent,
    survived: live,
    score: scored === 0 ? 100 : 100 * (killed + timeout) / scored,
  };
}

const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
const code = (s: string) => `\`${s.replaceAll("`", "'").replaceAll("|", "\\|")}\``;

/** The run as Markdown: settings, score per module and per kind, survivors. */
export function markdownReport(run: RunRecord): string {
  const o = run.options;
  const lines: string[] = [];
  const t = tally(run.results);
  lines.push(
    "## Generated mutation run",
    "",
    `- Commit ${run.commit}, started ${run.started}, ${(run.seconds / 60).toFixed(1)} minutes ` +
      `on ${run.cores} cores; one-minute load average ${run.load.start.toFixed(2)} at the ` +
      `start, ${run.load.mean.toFixed(2)} mean, ${run.load.max.toFixed(2)} at most.`,
    `- Command: \`deno task mutate --generated --sample ${o.sample} --seed ${o.seed} --jobs ` +
      `${o.jobs}${o.modules.map((m) => ` --module ${m}`).join("")}` +
      `${o.files.map((f) => ` --file ${f}`).join("")}` +
      `${o.kinds.map((k) => ` --kind ${k}`).join("")}` +
      `${o.mutants.map((m) => ` --mutant '${m}'`).join("")}` +
      `${o.tests ? ` --tests ${o.tests.join(",")}` : ""}\`.`,
    `- Sample: ${t.total} mutants that type-check (seed ${o.seed}), stratified per module ` +
      `(at least ${o.minPerModule} each, the rest in proportion to the candidates); ` +
      `${Object.values(run.discarded).reduce((a, b) => a + b, 0)} drawn mutants did not ` +
      `type-check and were discarded (type checks: ${(run.checkSeconds / 60).toFixed(1)} ` +
      "minutes).",
    `- Mutants' test runs: ${(run.mutantSeconds / 60).toFixed(1)} minutes, ${o.jobs} at a time, ` +
      `each within a budget of ${o.budget} s (a survivor still running then is stopped and ` +
      `counted as a survivor), ${o.equivalentBudget} s for those argued equivalent (run last); ` +
      `one test running past 60 s + ${o.timeoutFactor}x its baseline time is a hang (counted as ` +
      "killed).",
    run.baseline === null
      ? `- Tests: ${o.tests?.join(", ")}, whole, for every mutant.`
      : `- Baseline: ${run.baseline.tests} tests in ${run.baseline.files} files, with coverage, ` +
        `${(run.baseline.seconds / 60).toFixed(1)} minutes; each mutant ran the tests that ` +
        "execute its line." +
        (run.baseline.failed.length === 0
          ? ""
          : ` Not used (failed unmutated): ${
            run.baseline.failed.map((f) => `${f.file}: ${f.name}`).join("; ")
          }.`),
    `- Score: ${t.killed + t.timeout} of ${t.total - t.equivalent} non-equivalent mutants ` +
      `killed (${t.score.toFixed(1)}%; ${t.timeout} by time-out); ${t.equivalent} argued ` +
      "equivalent (scripts/mutation/equivalent.ts).",
    "",
    "| module | candidates | discarded | sampled | killed | timed out | survived | equivalent | score |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const m of MODULES) {
    const mine = run.results.filter((r) => r.mutant.module === m.name);
    if (run.candidates[m.name] === undefined) continue;
    const s = tally(mine);
    lines.push(
      `| ${m.name} | ${run.candidates[m.name]} | ${run.discarded[m.name] ?? 0} | ${s.total} | ` +
        `${s.killed} | ${s.timeout} | ${s.survived} | ${s.equivalent} | ${s.score.toFixed(1)}% |`,
    );
  }
  lines.push(
    `| **all** | ${Object.values(run.candidates).reduce((a, b) => a + b, 0)} | ` +
      `${Object.values(run.discarded).reduce((a, b) => a + b, 0)} | ${t.total} | ${t.killed} | ` +
      `${t.timeout} | ${t.survived} | ${t.equivalent} | ${t.score.toFixed(1)}% |`,
    "",
    "| kind | sampled | killed | survived | equivalent |",
    "| --- | ---: | ---: | ---: | ---: |",
  );
  for (const kind of Object.keys(KINDS) as Kind[]) {
    const mine = run.results.filter((r) => r.mutant.kind === kind);
    if (mine.length === 0) continue;
    const s = tally(mine);
    lines.push(
      `| ${kind} | ${s.total} | ${s.killed + s.timeout} | ${s.survived} | ${s.equivalent} |`,
    );
  }
  const survivors = run.results.filter((r) =>
    r.status === "survived" || r.status === "no-coverage"
  );
  lines.push("", "### Survivors", "");
  if (survivors.length === 0) lines.push("None.");
  else {
    lines.push(
      "| file:line | mutation | source | tests run | verdict |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const r of survivors) {
      const e = equivalentOf(r.mutant);
      const verdict = e !== null
        ? `equivalent: ${e.why} Observable: ${e.observe}`
        : r.status === "no-coverage"
        ? "**not killed**: no test executes this line"
        : "**not killed**";
      lines.push(
        `| ${r.mutant.file}:${r.mutant.line} | ${code(r.mutant.description)} | ` +
          `${code(r.mutant.source)} | ` +
          (r.finished < r.tests ? `${r.finished} of ${r.tests} (budget)` : `${r.tests}`) +
          ` in ${r.files.join(", ") || "none"} | ` +
          `${cell(verdict)} |`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** `deno task mutate --generated …`: runs, prints the report, returns the exit status. */
export async function main(args: readonly string[]): Promise<number> {
  let options: GeneratedOptions;
  try {
    options = parseGeneratedOptions(args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const run = await runGenerated(options);
  const report = markdownReport(run);
  console.log(`\n${report}`);
  if (options.report !== null) await Deno.writeTextFile(options.report, report);
  if (options.json !== null) {
    await Deno.writeTextFile(options.json, JSON.stringify(run, null, 2) + "\n");
  }
  const t = tally(run.results);
  console.log(
    `${t.killed + t.timeout} of ${t.total - t.equivalent} non-equivalent mutants killed ` +
      `(${t.score.toFixed(1)}%, target ${options.target}%) in ${(run.seconds / 60).toFixed(1)} min`,
  );
  return t.score >= options.target ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
