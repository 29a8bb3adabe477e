/**
 * The "profile" section of scripts/bench.ts: where the time goes, the -d timeline of one
 * invocation.
 */

import {
  type BenchSection,
  CommandFailed,
  type Context,
  makeSpool,
  type Table,
} from "./harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where the time goes in one invocation: the -d timeline (ms since process start). */
async function profileSection(ctx: Context): Promise<Table[]> {
  const spool = await makeSpool(`${ctx.work}/profile`);
  const tables: Table[] = [];
  for (
    const [label, args, stdin] of [
      ["add-oauth -P -d", ["add-oauth", "-s", "p", "-P", "-i", "-", "-d"], "tok"],
      ["query-oauth -s -d", ["query-oauth", "-s", "p", "-d"], undefined],
    ] as const
  ) {
    // Warm the cache, then take the median run's timeline (a failed run fails the benchmark).
    const timelines: string[][] = [];
    for (let i = 0; i < 21; i++) {
      const child = new Deno.Command(ctx.program[0], {
        args: [...ctx.program.slice(1), ...args],
        clearEnv: true,
        env: spool.env,
        cwd: "/",
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      if (stdin) await w.write(encoder.encode(stdin));
      await w.close();
      const out = await child.output();
      const stderr = decoder.decode(out.stderr);
      if (out.code !== 0) throw new CommandFailed([...ctx.program, ...args], out.code, stderr);
      timelines.push(stderr.trim().split("\n"));
    }
    const last = (t: string[]) => Number(/\+(\d+\.\d)ms/.exec(t.at(-1) ?? "")?.[1] ?? 0);
    timelines.sort((a, b) => last(a) - last(b));
    const middle = timelines[Math.floor(timelines.length / 2)];
    tables.push({
      title: `Timeline of one ${label} (median of 21 runs)`,
      header: ["ms since start", "event"],
      rows: middle.map((line) => {
        const m = /\+(\d+\.\d)ms (.*)$/.exec(line);
        return m ? [m[1], m[2].replaceAll(spool.dir, "<spool>")] : ["", line];
      }),
    });
  }
  return tables;
}

export const section: BenchSection = { name: "profile", run: profileSection };
