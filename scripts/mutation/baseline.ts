/**
 * The baseline of a generated mutation run (TESTING.md): every guarding test file runs once on
 * the unmutated tree with coverage on, in-process (`deno test --coverage`) and in every program
 * the harness starts (testing/coverage.ts, test by test). The result says which tests pass, how
 * long each took, and which tests execute each line of the mutated modules: a mutant runs only
 * the tests that execute its line.
 *
 * Nothing here names a test or a source file: the map is derived afresh from each run.
 */

import { moduleFiles, moduleOf } from "./generate.ts";
import { type Job, runJob } from "./jobs.ts";

/** One test of the baseline. */
export interface TestCase {
  /** Repository-relative test file, e.g. `tests/fs_test.ts`. */
  readonly file: string;
  readonly name: string;
  readonly seconds: number;
}

/** What the baseline learnt. */
export interface Baseline {
  /** The tests that passed (the only ones a mutant runs). */
  readonly tests: TestCase[];
  /** Tests that failed or could not run unmutated: never used, listed in the report. */
  readonly failed: { file: string; name: string; why: string }[];
  /** Wall seconds of each test file's coverage run. */
  readonly fileSeconds: Record<string, number>;
  /** For each source file, each executed line: indexes into `tests`. */
  readonly lines: Record<string, Record<number, number[]>>;
  /** Wall seconds of the whole baseline. */
  readonly seconds: number;
}

/** Test files that guard no module's behaviour (packaging, benchmarks, this tool itself). */
export const NOT_GUARDS = new Set([
  "tests/bench_test.ts",
  "tests/build_test.ts",
  "tests/package_test.ts",
  "tests/reliability_test.ts",
  "tests/mutate_test.ts",
]);

/**
 * Tests left out of the generated run, each for its reason (they stay in the suite): their cost
 * is minutes and they can fail for almost no mutant.
 */
export const NOT_GUARD_TESTS: readonly { file: string; name: RegExp; why: string }[] = [
  {
    file: "tests/secrets_test.ts",
    name: /^no input form, on no path/,
    why: "its only assertions are that the secret never appears in any output and that no run " +
      "ends in an unexpected failure; it runs the program some 250 times, so it is selected for " +
      "nearly every line and costs a minute or more for each survivor",
  },
  {
    file: "tests/service_test.ts",
    name: /^1,200 mixed requests/,
    why: "a differential test: the same requests in one process and in 1,200 processes, both " +
      "running the mutant, so only a mutant that behaves differently in-process can fail it",
  },
];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** The `deno test --filter` that selects exactly `names` (Deno's filters have no lookahead). */
export function nameFilter(names: readonly string[]): string {
  return `/^(?:${names.map(escapeRegExp).join("|")})$/`;
}

/**
 * The `deno test --filter` that leaves out the NOT_GUARD_TESTS of `file` (which must be run in
 * the tree at `cwd` to list its tests), or null when it has none.
 */
export async function guardFilter(file: string, cwd: string): Promise<string | null> {
  const left = NOT_GUARD_TESTS.filter((t) => t.file === file);
  if (left.length === 0) return null;
  const listing = await Deno.makeTempFile({ suffix: ".xml" });
  try {
    // A filter nothing matches lists every test as skipped.
    await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--no-check",
        "--allow-all",
        "--filter",
        "/^$/",
        `--junit-path=${listing}`,
        file,
      ],
      cwd,
      stdout: "null",
      stderr: "null",
    }).output();
    const names = testNames(await Deno.readTextFile(listing));
    return nameFilter(names.filter((n) => !left.some((t) => t.name.test(n))));
  } finally {
    await Deno.remove(listing);
  }
}

/** The test files a baseline runs: every `tests/*_test.ts` but NOT_GUARDS. */
export async function guardFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/tests`)) {
    const file = `tests/${entry.name}`;
    if (entry.isFile && entry.name.endsWith("_test.ts") && !NOT_GUARDS.has(file)) out.push(file);
  }
  return out.sort();
}

const XML_ENTITIES: Record<string, string> = {
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
  "&quot;": '"',
  "&apos;": "'",
};

/** Undoes XML escaping. */
function unescapeXml(s: string): string {
  return s.replace(
    /&(?:lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-f]+));/gi,
    (e, dec, hex) =>
      dec
        ? String.fromCodePoint(Number(dec))
        : hex
        ? String.fromCodePoint(parseInt(hex, 16))
        : XML_ENTITIES[e],
  );
}

/** The names of every test case of a `deno test --junit-path` report, skipped ones included. */
export function testNames(xml: string): string[] {
  return [...xml.matchAll(/<testcase name="([^"]*)"/g)].map((m) => unescapeXml(m[1]));
}

/** The test cases of a `deno test --junit-path` report: name, seconds and whether it passed. */
export function parseJunit(
  xml: string,
): { name: string; seconds: number; passed: boolean; failure: string }[] {
  const out = [];
  const unescape = unescapeXml;
  for (
    const m of xml.matchAll(
      /<testcase name="([^"]*)"[^>]*?time="([\d.]+)"[^>]*>([\s\S]*?)<\/testcase>/g,
    )
  ) {
    const body = m[3];
    if (/<skipped/.test(body)) continue;
    out.push({
      name: unescape(m[1]),
      seconds: Number(m[2]),
      passed: !/<failure|<error/.test(body),
      failure: unescape(/<(?:failure|error)[^>]*?message="([^"]*)"/.exec(body)?.[1] ?? "")
        .slice(0, 300),
    });
  }
  return out;
}

/**
 * The executed lines of each file in an lcov report, with paths made relative to `root`. A line
 * counts when its count is not 0, when one of its branches was taken, or when the next line with
 * a count ran: Deno counts a line by the code that ends it, so `if (x) throw e;` shows 0 when it
 * never threw, although its condition ran every time. (This can count a line that did not run,
 * which only makes a mutant run more tests; never the other way.)
 */
export function parseLcov(lcov: string, root: string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  let file: string | null = null;
  let counts = new Map<number, number>();
  let branches = new Set<number>();
  const finish = () => {
    if (file === null) return;
    const lines = out.get(file) ?? new Set<number>();
    const numbered = [...counts.keys()].sort((a, b) => a - b);
    for (const [i, n] of numbered.entries()) {
      const next = numbered[i + 1];
      if (counts.get(n)! > 0 || branches.has(n) || (next !== undefined && counts.get(next)! > 0)) {
        lines.add(n);
      }
    }
    for (const n of branches) lines.add(n);
    out.set(file, lines);
  };
  for (const line of lcov.split("\n")) {
    if (line.startsWith("SF:")) {
      finish();
      const path = line.slice(3);
      file = path.startsWith(`${root}/`) ? path.slice(root.length + 1) : null;
      counts = new Map();
      branches = new Set();
    } else if (line.startsWith("DA:")) {
      const [n, count] = line.slice(3).split(",");
      counts.set(Number(n), Number(count));
    } else if (line.startsWith("BRDA:")) {
      const [n, , , taken] = line.slice(5).split(",");
      if (Number(taken) > 0) branches.add(Number(n));
    } else if (line === "end_of_record") {
      finish();
      file = null;
    }
  }
  finish();
  return out;
}

/**
 * Points the raw coverage files in `dir` at the copy `root` and drops those of files outside the
 * mutated modules. Programs run as other users execute a copy of the tree that is gone by now
 * (testing/harness.ts `targetForAll`); its sources are the same as `root`'s.
 * Returns the number of files kept.
 */
async function prepareRaw(dir: string, root: string): Promise<number> {
  let kept = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    const path = `${dir}/${entry.name}`;
    const text = await Deno.readTextFile(path);
    const found = /"url":\s*"file:\/\/([^"]*)"/.exec(text.slice(0, 4096));
    const url = found?.[1];
    const at = url?.lastIndexOf("/lib/") ?? -1;
    const rel = url && at >= 0 ? decodeURIComponent(url.slice(at + 1)) : null;
    if (rel === null || moduleOf(rel) === null) {
      await Deno.remove(path);
      continue;
    }
    const local = `file://${root}/${rel}`;
    if (local !== `file://${url}`) {
      await Deno.writeTextFile(path, text.replace(found![0], `"url": "${local}"`));
    }
    kept++;
  }
  return kept;
}

/**
 * Loads every module of the tree at `root` once with `DENO_DIR=denoDir`, so that `deno coverage`
 * finds their transpiled code there (the programs ran with the harness's own cache directories,
 * some as other users, some from copies of the tree that are gone).
 */
export async function warmTranspileCache(root: string, denoDir: string): Promise<void> {
  const files = [...(await moduleFiles(root)).values()].flat();
  const script = files.map((f) => `await import(${JSON.stringify(`file://${root}/${f}`)});`)
    .join("\n");
  const out = await denoWith(denoDir, root, ["eval", "--no-check", script]);
  if (!out.success) {
    throw new Error(`could not load the modules: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Runs `deno args` in `cwd` with `DENO_DIR=denoDir`. */
function denoWith(denoDir: string, cwd: string, args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

/**
 * The lines one coverage directory executed (empty when it holds no coverage); `denoDir` holds
 * the transpiled modules of `root` (`warmTranspileCache`).
 */
export async function coveredLines(
  dir: string,
  root: string,
  denoDir: string,
): Promise<Map<string, Set<number>>> {
  if (await prepareRaw(dir, root) === 0) return new Map();
  const out = await denoWith(denoDir, root, ["coverage", "--lcov", dir]);
  return parseLcov(new TextDecoder().decode(out.stdout), root);
}

/** Runs `tasks` with at most `jobs` at a time. */
export async function pool<T>(jobs: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

/** Options of `runBaseline`. */
export interface BaselineOptions {
  /** Copies of the tree to run in, one per job (they must be identical). */
  readonly copies: readonly string[];
  readonly files: readonly string[];
  /** Where coverage goes (created; every user must be able to reach it). */
  readonly coverageRoot: string;
  /** Seconds after which one test file's run is killed. */
  readonly fileTimeout: number;
  readonly log: (line: string) => void;
}

/** Runs the baseline: each test file once, `copies.length` at a time, with coverage. */
export async function runBaseline(options: BaselineOptions): Promise<Baseline> {
  const start = performance.now();
  await Deno.mkdir(options.coverageRoot, { recursive: true });
  await Deno.chmod(options.coverageRoot, 0o755);
  const denoDir = `${options.coverageRoot}/deno_dir`;
  for (const copy of options.copies) await warmTranspileCache(copy, denoDir);
  const free = [...options.copies];
  const tests: TestCase[] = [];
  const failed: Baseline["failed"] = [];
  const fileSeconds: Record<string, number> = {};
  const lines: Record<string, Record<number, number[]>> = {};
  const record = (covered: Map<string, Set<number>>, indexes: number[]) => {
    for (const [source, set] of covered) {
      const byLine = lines[source] ??= {};
      for (const n of set) (byLine[n] ??= []).push(...indexes);
    }
  };
  await pool(
    options.copies.length,
    options.files.map((file) => async () => {
      const root = free.pop()!;
      try {
        const cov = `${options.coverageRoot}/${file.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
        await Deno.mkdir(cov, { recursive: true });
        await Deno.chmod(cov, 0o755);
        const junit = `${cov}/junit.xml`;
        const filter = await guardFilter(file, root);
        if (filter === nameFilter([])) {
          options.log(`baseline ${file}: left out (NOT_GUARD_TESTS)`);
          return;
        }
        const job: Job = {
          args: [
            "test",
            "--allow-all",
            "--no-check",
            `--coverage=${cov}/inproc`,
            "--coverage-raw-data-only",
            `--junit-path=${junit}`,
            ...(filter === null ? [] : ["--filter", filter]),
            file,
          ],
          cwd: root,
          env: { CSC_COVERAGE_DIR: cov },
          timeoutSeconds: options.fileTimeout,
        };
        const result = await runJob(job);
        fileSeconds[file] = result.seconds;
        const cases = parseJunit(await Deno.readTextFile(junit).catch(() => ""));
        options.log(
          `baseline ${file}: ${cases.filter((c) => c.passed).length} of ${cases.length} ` +
            `passed (${result.seconds.toFixed(0)} s)${result.timedOut ? ", timed out" : ""}`,
        );
        if (cases.length === 0) {
          failed.push({ file, name: "*", why: result.timedOut ? "timed out" : "did not run" });
          return;
        }
        const indexes = new Map<string, number>();
        for (const c of cases) {
          if (!c.passed) {
            failed.push({ file, name: c.name, why: `failed unmutated: ${c.failure}` });
            continue;
          }
          indexes.set(c.name, tests.length);
          tests.push({ file, name: c.name, seconds: c.seconds });
        }
        // In-process coverage belongs to the file as a whole: every test of it runs for it.
        record(await coveredLines(`${cov}/inproc`, root, denoDir), [...indexes.values()]);
        for await (const entry of Deno.readDir(cov)) {
          if (!entry.isDirectory || entry.name === "inproc") continue;
          const dir = `${cov}/${entry.name}`;
          const name = await Deno.readTextFile(`${dir}/name`).catch(() => "");
          // Programs started outside any test (module set-up) count for the whole file.
          const which = entry.name === "outside"
            ? [...indexes.values()]
            : indexes.has(name)
            ? [indexes.get(name)!]
            : [];
          if (which.length > 0) record(await coveredLines(dir, root, denoDir), which);
        }
        await Deno.remove(cov, { recursive: true });
      } finally {
        free.push(root);
      }
    }),
  );
  for (const byLine of Object.values(lines)) {
    for (const [n, list] of Object.entries(byLine)) byLine[Number(n)] = [...new Set(list)];
  }
  return { tests, failed, fileSeconds, lines, seconds: (performance.now() - start) / 1000 };
}

/** The tests that execute `line` of `file` (indexes into `baseline.tests`). */
export function testsCovering(baseline: Baseline, file: string, line: number): number[] {
  return baseline.lines[file]?.[line] ?? [];
}
