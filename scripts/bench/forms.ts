/**
 * The "forms" section of scripts/bench.ts: the forms of the program (the bundle, main.ts, and the
 * bundle with the binaries' flags).
 */

import * as permissions from "../../lib/permissions.ts";
import {
  actionCases,
  type BenchSection,
  type Case,
  type Context,
  DENO,
  denoRun,
  floorCase,
  makeSpool,
  measure,
  ms,
  prepareQueries,
  ratio,
  ROOT,
  SHIPPED_FLAGS,
  type Table,
  v8FlagArgs,
} from "./harness.ts";

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

export const section: BenchSection = { name: "forms", run: formsSection };
