/**
 * The "scale" section of scripts/bench.ts: the actions with 10 to 100,000 other users
 * stored.
 */

import {
  actionCases,
  type BenchSection,
  type Case,
  type Context,
  DOMAIN,
  makeSpool,
  measure,
  ms,
  prepareQueries,
  ROOT,
  type Spool,
  type Table,
} from "./harness.ts";

const encoder = new TextEncoder();

/** Creates `count` other users' credentials directly in the layout (modes 0600/0700). */
function populate(spool: Spool, count: number): void {
  const base = `${spool.dir}/spool`;
  for (const d of ["krb", "oauth", "pwd"]) {
    Deno.mkdirSync(`${base}/${d}`, { recursive: true, mode: 0o700 });
  }
  const bytes = encoder.encode("x");
  for (let i = 0; i < count; i++) {
    const user = `u${String(i).padStart(6, "0")}`;
    Deno.writeFileSync(`${base}/krb/${user}.cred`, bytes, { mode: 0o600 });
    Deno.mkdirSync(`${base}/oauth/${user}`, { mode: 0o700 });
    Deno.writeFileSync(`${base}/oauth/${user}/s.use`, bytes, { mode: 0o600 });
    Deno.writeFileSync(`${base}/pwd/${user}@bench.example.pwd`, bytes, { mode: 0o600 });
  }
}

/** The same actions with 10, 10,000 and 100,000 other users already stored. */
async function scaleSection(ctx: Context): Promise<Table[]> {
  const program = ctx.program;
  const chosen = new Set([
    "add-krb",
    "query-krb",
    "add-oauth -P (.use)",
    "query-oauth -s",
    "query-oauth (all)",
    "add (sealed user password)",
    "query",
    "delete-oauth -s",
  ]);
  const cacheRoot = `${ROOT}.bench`;
  const cases: Case[] = [];
  const user = `benchuser@${DOMAIN}`;
  for (const size of ctx.options.scaleSizes) {
    // Populated spools are cached under .bench/ (gitignored): 100,000 users take a while.
    const dir = `${cacheRoot}/scale-${size}`;
    const marker = `${dir}/populated`;
    if (!(await Deno.stat(marker).then(() => true, () => false))) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      const started = performance.now();
      const spool = await makeSpool(dir);
      populate(spool, size);
      await Deno.writeTextFile(marker, `${size}\n`);
      console.log(
        `populated ${size} users in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    const spool = await makeSpool(dir);
    await prepareQueries(program, spool, user);
    for (const c of actionCases(program, spool, user)) {
      if (chosen.has(c.name)) cases.push({ ...c, name: `${size}\t${c.name}` });
    }
  }
  // All sizes in one interleaved measurement, so machine drift cannot pose as growth.
  const results = new Map<string, number[]>();
  for (const s of await measure(cases, ctx.options.scaleRuns)) {
    const name = s.name.split("\t")[1];
    results.set(name, [...(results.get(name) ?? []), s.median]);
  }
  const sizes = ctx.options.scaleSizes;
  let worst = -Infinity;
  const rows = [...results.entries()].map(([name, medians]) => {
    const growth = (medians.at(-1)! / medians[0] - 1) * 100;
    worst = Math.max(worst, growth);
    return [name, ...medians.map(ms), `${growth >= 0 ? "+" : ""}${growth.toFixed(1)}%`];
  });
  ctx.findings.push(
    `Scale target (no action grows by more than 10% from ${sizes[0]} to ${sizes.at(-1)} users): ${
      worst <= 10 ? "met" : "not met"
    }; the largest growth is ${worst.toFixed(1)}%.`,
  );
  return [{
    title: "Scale: median ms with N other users stored",
    note: `${ctx.options.scaleRuns} runs per action and size (bundle form).`,
    header: ["action", ...sizes.map((n) => `${n.toLocaleString("en-US")} users`), "growth"],
    rows,
  }];
}

export const section: BenchSection = { name: "scale", enabled: (o) => o.scale, run: scaleSection };
