/**
 * The "credmon" section of scripts/bench.ts: the cost of signalling a credmon (its pid file,
 * /bin/kill -s HUP) on an add.
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
  ratio,
  ROOT_USER,
  run,
  type Table,
} from "./harness.ts";

/** add-krb and add-oauth -P with a credmon pid file: the cost of the SIGHUP. */
async function credmonSection(ctx: Context): Promise<Table[]> {
  const plain = await makeSpool(`${ctx.work}/credmon-none`);
  const signalled = await makeSpool(`${ctx.work}/credmon`);
  // A real process that ignores SIGHUP (SIG_IGN survives exec), standing in for the credmon.
  const credmon = new Deno.Command("/bin/sh", {
    args: ["-c", 'trap "" HUP; exec sleep 100000'],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (const spool of [plain, signalled]) {
      await run([...ctx.program, "add-krb", "-u", ROOT_USER, "-i", "-"], spool.env, "t");
      await run(
        [...ctx.program, "add-oauth", "-u", ROOT_USER, "-s", "s", "-P", "-i", "-"],
        spool.env,
        "t",
      );
    }
    for (const dir of [signalled.krb, signalled.oauth]) {
      await Deno.writeTextFile(`${dir}/pid`, `${credmon.pid}\n`, { mode: 0o644 });
      await Deno.chmod(`${dir}/pid`, 0o644);
    }
    // add-krb waits for the credmon's .cc at least as new as the .cred: one dated far ahead is
    // found at the first look, so the case measures the signal, not a credmon's work.
    const cc = `${signalled.krb}/root.cc`;
    await Deno.writeTextFile(cc, "ccache", { mode: 0o600 });
    await Deno.utime(cc, new Date("2100-01-01T00:00:00Z"), new Date("2100-01-01T00:00:00Z"));
    const cases: Case[] = [floorCase(ctx, plain.env)];
    for (
      const [label, spool] of [["no credmon", plain], ["credmon pid file", signalled]] as const
    ) {
      for (const c of actionCases(ctx.program, spool)) {
        if (c.name === "add-krb" || c.name === "add-oauth (.top)") {
          cases.push({ ...c, name: `${c.name}, ${label}` });
        }
      }
    }
    const stats = await measure(cases, ctx.options.runs);
    const floor = stats[0].median;
    const find = (name: string) => stats.find((s) => s.name === name)!.median;
    const rows = stats.map((s) => {
      const without = s.name.endsWith("credmon pid file")
        ? find(s.name.replace("credmon pid file", "no credmon"))
        : null;
      return [
        s.name,
        ms(s.median),
        ms(s.p95),
        ratio(s.median, floor),
        without === null ? "" : `${s.median - without >= 0 ? "+" : ""}${ms(s.median - without)}`,
      ];
    });
    // The stand-in must have survived every SIGHUP (it ignores them): else nothing was measured.
    const alive = await new Deno.Command("/bin/kill", { args: ["-0", String(credmon.pid)] })
      .output();
    if (!alive.success) throw new Error("the credmon stand-in died during the credmon section");
    const cost = (name: string) =>
      ms(find(`${name}, credmon pid file`) - find(`${name}, no credmon`));
    ctx.findings.push(
      `Signalling a credmon (reading its pid file, running /bin/kill -s HUP) adds ${
        cost("add-oauth (.top)")
      } ms to add-oauth (.top) and ${cost("add-krb")} ms to add-krb (medians).`,
    );
    return [{
      title: "Credmon: add with a pid file to signal",
      note: `${ctx.options.runs} runs each, interleaved. The credmon is a real process ignoring ` +
        "SIGHUP (`sleep`), its pid in <dir>/pid (root, 0644); the program reads it and runs " +
        "/bin/kill -s HUP (Deno.kill would need unrestricted --allow-run). add-krb then waits " +
        "for the credmon's .cc; a .cc dated 2100 is there already, so the wait ends at its " +
        "first look. add-oauth signals only for a refresh token (.top) with no access token " +
        "stored; add-oauth -P (.use) never signals, so it is not in this table. Without a pid " +
        "file the add is stored as pending.",
      header: ["case", "median ms", "p95 ms", "ratio to floor", "signal cost ms"],
      rows,
    }];
  } finally {
    try {
      credmon.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await credmon.status;
  }
}

export const section: BenchSection = { name: "credmon", run: credmonSection };
