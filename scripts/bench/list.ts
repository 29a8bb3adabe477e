/**
 * The "list" section of scripts/bench.ts: list-oauth of one user's 100 credentials, small and 1 MiB
 * each, with peak memory.
 */

import {
  type BenchSection,
  type Case,
  type Context,
  makeSpool,
  measure,
  ms,
  ratio,
  type Spool,
  type Table,
} from "./harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Credentials of one user in the list section, and the size of each large one. */
const LIST_CREDENTIALS = 100;
const LIST_LARGE = 1024 * 1024;

/**
 * Writes `<oauth>/root/c<i>.top` for the list section: small JSON, or 1 MiB of JSON (every
 * other one deeply nested arrays, the rest one long string) whose scopes come last.
 */
function populateListing(spool: Spool, large: boolean): void {
  const dir = `${spool.oauth}/root`;
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (let i = 0; i < LIST_CREDENTIALS; i++) {
    let body = '{"refresh_token":"r","scopes":"read:/"}';
    if (large && i % 2 === 0) {
      const depth = (LIST_LARGE - 60) / 2;
      body = `{"refresh_token":"r","x":${"[".repeat(depth)}${"]".repeat(depth)},"scopes":"read:/"}`;
    } else if (large) {
      body = `{"refresh_token":"${"t".repeat(LIST_LARGE - 60)}","scopes":"read:/"}`;
    }
    Deno.writeFileSync(`${dir}/c${i}.top`, encoder.encode(body), { mode: 0o600 });
  }
}

/** Peak resident memory of one run of `c` in KiB (GNU time), or null without /usr/bin/time. */
async function peakRss(c: Case): Promise<number | null> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", ...c.argv],
    clearEnv: true,
    env: c.env,
    cwd: "/",
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => null);
  if (out === null || !out.success) return null;
  const kib = Number(decoder.decode(out.stderr).trim().split("\n").at(-1));
  return Number.isFinite(kib) ? kib : null;
}

/**
 * `list` of one user with 100 credentials, small and 1 MiB each: a listing reads at most the
 * first 64 KiB of each file (lib/store/list.ts LIST_READ_LIMIT), so its cost is bounded per file.
 */
async function listSection(ctx: Context): Promise<Table[]> {
  const cases: Case[] = [];
  for (const large of [false, true]) {
    const spool = await makeSpool(`${ctx.work}/list-${large ? "large" : "small"}`);
    populateListing(spool, large);
    const size = large ? "1 MiB" : `${'{"refresh_token":"r","scopes":"read:/"}'.length} bytes`;
    cases.push({
      name: `list-oauth: ${LIST_CREDENTIALS} credentials of ${size}`,
      argv: [...ctx.program, "list-oauth"],
      env: spool.env,
    });
  }
  const stats = await measure(cases, ctx.options.runs);
  const rss = await Promise.all(cases.map(peakRss));
  const mib = (kib: number | null) => kib === null ? "-" : (kib / 1024).toFixed(1);
  ctx.findings.push(
    `A list of ${LIST_CREDENTIALS} credentials of 1 MiB takes ` +
      `${ratio(stats[1].median, stats[0].median)} the time of ${LIST_CREDENTIALS} small ones ` +
      `(peak memory ${mib(rss[1])} MiB against ${mib(rss[0])} MiB).`,
  );
  return [{
    title: "List: one user's 100 credentials, small and 1 MiB each",
    note: `${ctx.options.runs} runs per case (bundle form), interleaved; peak memory is one more ` +
      "run's maximum resident set (GNU time). Half the large credentials are deeply nested " +
      "arrays, half one long string; their scopes lie past the 64 KiB a listing reads.",
    header: ["case", "median ms", "p95 ms", "vs small", "peak MiB"],
    rows: stats.map((s, i) => [
      s.name,
      ms(s.median),
      ms(s.p95),
      ratio(s.median, stats[0].median),
      mib(rss[i]),
    ]),
  }];
}

export const section: BenchSection = { name: "list", run: listSection };
