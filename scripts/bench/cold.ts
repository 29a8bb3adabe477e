/**
 * The "cold" section of scripts/bench.ts: a cold code cache, a fresh DENO_DIR for every run.
 */

import {
  actionCases,
  type BenchSection,
  type Case,
  type Context,
  floorCase,
  makeSpool,
  measure,
  ms,
  prepareQueries,
  ratio,
  type Table,
} from "./harness.ts";

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

export const section: BenchSection = { name: "cold", run: coldSection };
