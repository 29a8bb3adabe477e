/**
 * The "fuzz" section of scripts/reliability.ts: generated command lines (scripts/fuzz.ts), and
 * stored files of hostile shapes read in-process and through the daemon (scripts/fuzz_stored.ts).
 */

import { IS_ROOT, nonRootUsers, runCli, type TestUser, withSpool } from "../../testing/harness.ts";
import { generateCases, runFuzz } from "../fuzz.ts";
import { generateStoredCases, runStoredFuzz, type StoredFuzzFigures } from "../fuzz_stored.ts";
import { markdownTable as table } from "../report.ts";
import { startDaemon } from "../../testing/daemon.ts";
import { type Reliability, type ReliabilitySection } from "./harness.ts";

const decoder = new TextDecoder();

async function fuzzSection(ctx: Reliability): Promise<void> {
  const { options, figures, fail, report } = ctx;
  const count = options.quick ? 300 : 10_000;
  const root = await Deno.makeTempDir({ prefix: "csc-fuzz-" });
  try {
    await Deno.chmod(root, 0o755);
    const started = performance.now();
    const f = await runFuzz(generateCases(count, 20261201), {
      root,
      workers: 4,
      timeoutMs: 20_000,
      fail,
    });
    const seconds = (performance.now() - started) / 1000;
    figures.fuzzCases += f.cases;
    figures.fuzzBroken += f.badExit + f.unexpected + f.hung + f.crashed + f.leaks + f.outside;
    if (f.cases !== count) fail(`fuzz: ${f.cases} of ${count} cases ran`);
    report(
      "## 7. Fuzzing",
      "",
      `${f.cases} generated cases (seed 20261201) in ${
        seconds.toFixed(0)
      } s, four processes at a ` +
        "time, each a real run against a temp store: valid command lines mutated (arguments " +
        "dropped, repeated, swapped, glued, replaced by hostile names, long and reserved names " +
        "and control characters), odd credentials (deep JSON, Vault tokens for untrusted hosts, " +
        "JWTs with absurd `exp`, non-UTF-8 bytes, over-size inputs) and configuration lines " +
        "(recursive macros, bad integers, missing includes, unknown metaknobs). Every run must " +
        "exit 0, 1 or 2, never print `unexpected failure`, finish within 20 s, never print the " +
        "secret it was given, and create nothing outside its store.",
      "",
      table(["figure", "value"], [
        ["cases run", f.cases],
        ["exit 0 / 1 / 2", `${f.byExit[0] ?? 0} / ${f.byExit[1] ?? 0} / ${f.byExit[2] ?? 0}`],
        ["other exit codes", f.badExit],
        ["killed by a signal", f.crashed],
        ['"unexpected failure"', f.unexpected],
        ["hung past 20 s", f.hung],
        ["secrets printed", f.leaks],
        ["files created outside the temp stores", f.outside],
      ]),
      "",
      "Examples of refused cases:",
      "",
      ...f.examples.map((e) => `- \`${e.replaceAll("`", "'")}\``),
      "",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  await storedFuzz(ctx);
}

/**
 * Fuzz, part two (scripts/fuzz_stored.ts): stored files of any shape read back by list,
 * query-oauth and doctor, in-process as root and through a real daemon as the real user who owns
 * them (as root; otherwise in-process only, as the current user).
 */
async function storedFuzz(ctx: Reliability): Promise<void> {
  const { options, figures, fail, skip, report } = ctx;
  const count = options.quick ? 200 : 2_000;
  const started = performance.now();
  let result: StoredFuzzFigures | null = null;
  await withSpool(async (spool) => {
    // As root, the real user csc_tester owns the files; otherwise the current user.
    const me = await new Deno.Command("id", { args: ["-un"] }).output();
    const user: TestUser = IS_ROOT
      ? (await nonRootUsers())![0]
      : { name: decoder.decode(me.stdout).trim(), uid: Deno.uid()!, gid: Deno.gid()! };
    const daemon = IS_ROOT ? await startDaemon(spool) : null;
    if (!IS_ROOT) {
      skip("stored-shape fuzz through the daemon: needs root (in-process only)");
    }
    try {
      // The user's OAuth directory, made as the store makes it.
      const seed = daemon === null
        ? await runCli(["add-oauth", "-s", "seed", "-P", "-i", "-"], { env: spool.env, stdin: "t" })
        : await runCli(["add-oauth", "-s", "seed", "-P", "-i", "-"], {
          env: daemon.env,
          stdin: "t",
          user,
        });
      if (seed.code !== 0) throw new Error(`the first add failed: ${seed.stderr}`);
      result = await runStoredFuzz(
        generateStoredCases(count, 20261202, daemon !== null),
        { spool, user, daemonEnv: daemon?.env ?? null },
        { workers: 4, timeoutMs: 60_000, fail },
      );
      if (daemon !== null) {
        // Still serving everyone: another user's add and list.
        const other = (await nonRootUsers())![1];
        const served = await runCli(["add-oauth", "-s", "after", "-P", "-i", "-"], {
          env: daemon.env,
          stdin: "t",
          user: other,
          timeoutMs: 60_000,
        });
        if (served.code !== 0) fail(`stored fuzz: the daemon no longer serves: ${served.stderr}`);
      }
    } finally {
      if (daemon !== null) {
        const { code, log } = await daemon.stop();
        if (code !== 0) fail(`stored fuzz: the daemon exited ${code}`);
        if (/internal error|TypeError|worker failed|ST-5ecr3t/.test(log)) {
          fail(
            `stored fuzz: the daemon's log has an internal error or a secret: ${log.slice(-500)}`,
          );
        }
      }
    }
  });
  // (Assigned in the callback: TypeScript cannot see that it ran.)
  const f = result as StoredFuzzFigures | null;
  if (f === null) return;
  const seconds = (performance.now() - started) / 1000;
  figures.storedFuzzCases += f.cases;
  figures.storedFuzzBroken += f.badExit + f.unexpected + f.hung +
    f.leaks;
  if (f.cases !== count) fail(`stored fuzz: ${f.cases} of ${count} cases ran`);
  const e = f.byExit;
  report(
    "### Stored credentials of any shape",
    "",
    `${f.cases} generated cases (seed 20261202) in ${seconds.toFixed(0)} s, four at a ` +
      "time: `.top`, `.use` and `.meta` files written straight into a user's OAuth directory as " +
      "a credd or credmon would (root, 0600 or 0400), holding fields of the wrong type, deep " +
      "nesting, huge numbers, prototype keys, long strings, control and bidirectional " +
      "characters, invalid UTF-8, non-JSON and more than a listing reads; then `list`, " +
      "`query-oauth` (with and without -s, -S, -A, --min-ttl) or `doctor`, in-process as root " +
      "and through a real daemon as the real user who owns the files. Every run must exit 0 or " +
      "1, or 2 exactly when the stored scopes and audience differ from those asked for " +
      "(JSON.parse as the reference reader), never print `unexpected failure`, finish within " +
      "60 s, and never print a secret byte of the files; the daemon must serve another user " +
      "afterwards, stop cleanly and log no internal error.",
    "",
    table(["figure", "value"], [
      [
        "cases run (in-process / through the daemon)",
        `${f.cases} (${f.inProcess} / ${f.throughDaemon})`,
      ],
      ["exit 0 / 1 / 2", `${e[0] ?? 0} / ${e[1] ?? 0} / ${e[2] ?? 0}`],
      ["wrong exit codes (2 without a mismatch, or the reverse, or other)", f.badExit],
      ['"unexpected failure"', f.unexpected],
      ["hung past 60 s", f.hung],
      ["stored secrets printed", f.leaks],
    ]),
    "",
    "Examples of runs that exit non-zero:",
    "",
    ...f.examples.map((x) => `- \`${x.replaceAll("`", "'")}\``),
    "",
  );
}

export const section: ReliabilitySection = { name: "fuzz", run: fuzzSection };
