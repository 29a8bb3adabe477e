/**
 * The "flags" section of scripts/bench.ts: the V8 flag experiment, start-up and daemon throughput
 * with each candidate flag set.
 */

import * as permissions from "../../lib/permissions.ts";
import type { LoadResult } from "../bench_load.ts";
import {
  actionCases,
  type BenchSection,
  type Case,
  type Context,
  denoRun,
  floorCase,
  makeSpool,
  measure,
  ms,
  perSecond,
  prepareQueries,
  ratio,
  SHIPPED_V8_FLAGS,
  type Spool,
  type Table,
  v8FlagArgs,
} from "./harness.ts";
import { combine, daemonConfig, rotate, runLoad, type RunningDaemon, startServe } from "./serve.ts";

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
            await runLoad(ctx, {
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

export const section: BenchSection = { name: "flags", enabled: (o) => o.flags, run: flagsSection };
