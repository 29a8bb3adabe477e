/**
 * The "code" section of scripts/bench.ts: bytes of code each command compiles and runs (the bundle
 * chunks it loads).
 */

import { type BenchSection, type Context, type Table } from "./harness.ts";

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
      "takes that route (in-process runs never do). The bundle names the chunks of its " +
      "import() calls through a URL made at run time (scripts/bundle.ts deferDynamicImports), " +
      "so that `deno run` does not read and analyse every chunk at start-up for its module graph.",
    header: ["command", "chunks", "bytes", "of the bundle"],
    rows,
  }]);
}

export const section: BenchSection = { name: "code", run: codeSection };
