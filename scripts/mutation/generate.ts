/**
 * Mutant generation for `deno task mutate --generated` (TESTING.md): which files are mutated
 * (MODULES), every mutant the operators of scripts/mutation/operators.ts find in them (through
 * `deno lint`, which parses TypeScript), and the seeded sample stratified per module.
 *
 * Everything here works from the source present when it runs: moved or new files of a module
 * are picked up by its pattern, nothing names a line.
 */

import { generator } from "../random.ts";
import type { Kind, MutantSite } from "./operators.ts";

/**
 * The modules of the run, each a pattern on repository paths. `cli` is the command line's routing
 * and parsing (lib/cli/route.ts and lib/cli/parse.ts today): when they move, this pattern follows
 * them.
 */
export const MODULES: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: "fs", pattern: /^lib\/fs\/.+\.ts$/ },
  { name: "store", pattern: /^lib\/store\/.+\.ts$/ },
  { name: "daemon", pattern: /^lib\/daemon\/.+\.ts$/ },
  { name: "auth", pattern: /^lib\/auth\/.+\.ts$/ },
  { name: "crypto", pattern: /^lib\/crypto\/.+\.ts$/ },
  { name: "cli", pattern: /^lib\/cli\/(?:.+\/)?(?:route|parse)[a-z_]*\.ts$/ },
];

/** One mutant: a site in a file, with where it is for the report. */
export interface Mutant extends MutantSite {
  /** Stable within one source tree: `<file>:<line>:<column>:<description>`. */
  readonly id: string;
  readonly module: string;
  /** Repository-relative path. */
  readonly file: string;
  /** 1-based line and column of `start`. */
  readonly line: number;
  readonly column: number;
  /** The source line, trimmed (for the report and for matching argued equivalents). */
  readonly source: string;
  /** The line before it, trimmed (for telling apart equivalents on identical lines). */
  readonly before: string;
}

/** The module a repository path belongs to, or null. */
export function moduleOf(file: string): string | null {
  return MODULES.find((m) => m.pattern.test(file))?.name ?? null;
}

/** Every `.ts` file under `dir/lib` (repository-relative), sorted. */
export async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const entry of Deno.readDir(`${dir}/${rel}`)) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && path.endsWith(".ts")) out.push(path);
    }
  };
  await walk("lib");
  return out.sort();
}

/** The files of each module in the tree at `dir`; throws when a module has none. */
export async function moduleFiles(dir: string): Promise<Map<string, string[]>> {
  const files = await sourceFiles(dir);
  const out = new Map<string, string[]>();
  for (const m of MODULES) {
    const mine = files.filter((f) => moduleOf(f) === m.name);
    if (mine.length === 0) {
      throw new Error(
        `module "${m.name}" matches no file (pattern ${m.pattern}); edit MODULES in ` +
          "scripts/mutation/generate.ts",
      );
    }
    out.set(m.name, mine);
  }
  return out;
}

const OPERATORS = new URL("./operators.ts", import.meta.url).href;

/** Line and column (1-based) of an offset. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** Turns the sites of one file into mutants. */
export function mutantsOf(file: string, text: string, sites: readonly MutantSite[]): Mutant[] {
  const module = moduleOf(file) ?? "other";
  const lines = text.split("\n");
  return sites.map((site) => {
    const { line, column } = position(text, site.start);
    return {
      ...site,
      id: `${file}:${line}:${column}:${site.description}`,
      module,
      file,
      line,
      column,
      source: lines[line - 1].trim(),
      before: (lines[line - 2] ?? "").trim(),
    };
  }).sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
}

/**
 * Every mutant of `files` (repository-relative, in the tree at `dir`), found by running
 * `deno lint` with the operators plugin. Throws when lint fails to run.
 */
export async function findMutants(dir: string, files: readonly string[]): Promise<Mutant[]> {
  const config = await Deno.makeTempFile({ prefix: "csc-mutants-", suffix: ".json" });
  try {
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        lint: { plugins: [OPERATORS], rules: { tags: [], include: ["mutants/sites"] } },
      }),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["lint", "--config", config, "--json", ...files],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    let report: { diagnostics: { filename: string; code: string; message: string }[] };
    try {
      report = JSON.parse(text);
    } catch {
      throw new Error(`deno lint gave no report: ${new TextDecoder().decode(out.stderr)}`);
    }
    const byFile = new Map<string, MutantSite[]>(files.map((f) => [f, []]));
    const root = new URL(`file://${dir}/`).href;
    for (const d of report.diagnostics) {
      if (d.code !== "mutants/sites") continue;
      const file = d.filename.startsWith(root) ? d.filename.slice(root.length) : d.filename;
      byFile.get(decodeURIComponent(file))?.push(JSON.parse(d.message));
    }
    const mutants: Mutant[] = [];
    for (const [file, sites] of byFile) {
      mutants.push(...mutantsOf(file, await Deno.readTextFile(`${dir}/${file}`), sites));
    }
    return mutants;
  } finally {
    await Deno.remove(config);
  }
}

/** Applies a mutant to its file's text. */
export function applyMutant(text: string, m: MutantSite): string {
  return text.slice(0, m.start) + m.replacement + text.slice(m.end);
}

/**
 * How many mutants each module contributes to a sample of `size`: `minimum` each (or all a module
 * has), then one at a time to the module furthest below its share in proportion to its
 * candidates, so the quotas add up to `size` exactly (or to every candidate there is).
 */
export function quotas(
  available: ReadonlyMap<string, number>,
  size: number,
  minimum: number,
): Map<string, number> {
  const names = [...available.keys()].sort();
  const total = [...available.values()].reduce((a, b) => a + b, 0);
  const out = new Map(names.map((n) => [n, Math.min(minimum, available.get(n)!)]));
  let given = [...out.values()].reduce((a, b) => a + b, 0);
  while (given < Math.min(size, total)) {
    let best: string | null = null;
    let gap = -Infinity;
    for (const n of names) {
      if (out.get(n)! >= available.get(n)!) continue;
      const behind = size * available.get(n)! / total - out.get(n)!;
      if (behind > gap) [best, gap] = [n, behind];
    }
    out.set(best!, out.get(best!)! + 1);
    given++;
  }
  return out;
}

/**
 * The candidates of each module in the seeded order they are drawn in (Fisher-Yates with
 * scripts/random.ts), so the sample is the first mutants of each list that type-check.
 */
export function drawOrder(mutants: readonly Mutant[], seed: number): Map<string, Mutant[]> {
  const random = generator(seed);
  const out = new Map<string, Mutant[]>();
  for (const m of MODULES) {
    const list = mutants.filter((x) => x.module === m.name);
    for (let i = list.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [list[i], list[j]] = [list[j], list[i]];
    }
    out.set(m.name, list);
  }
  return out;
}

/** The count of mutants of each kind. */
export function countKinds(mutants: readonly Mutant[]): Map<Kind, number> {
  const out = new Map<Kind, number>();
  for (const m of mutants) out.set(m.kind, (out.get(m.kind) ?? 0) + 1);
  return out;
}
