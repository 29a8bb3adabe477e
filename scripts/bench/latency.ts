/**
 * The "latency" section of scripts/bench.ts: latency of every action against the two floors (the
 * empty program, and the system calls alone).
 */

import {
  actionCases,
  type BenchSection,
  type Context,
  floorCase,
  makeSpool,
  measure,
  ms,
  prepareQueries,
  ratio,
  syscallFloorCases,
  type Table,
} from "./harness.ts";

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

export const section: BenchSection = { name: "latency", run: latencySection };
