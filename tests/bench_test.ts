/**
 * The benchmark script runs end to end in its quick mode and writes a report with every section
 * and numeric figures; it measures a bundle built from this source (byte for byte what `deno task
 * bundle` builds) with the flags of lib/permissions.ts; a measured run that fails fails it. No
 * timing is asserted: timing belongs to the benchmark itself.
 */

import assert from "node:assert/strict";
import * as permissions from "../lib/permissions.ts";
import { REPO } from "../testing/harness.ts";
import { NEEDS_ROOT } from "../testing/users.ts";

const decoder = new TextDecoder();

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/scripts/bench.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The sha256 of the bundle `deno task bundle` builds from this source (run in the repository). */
async function bundleDigest(dir: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/scripts/bundle.ts`, "--out", `${dir}/condor_store_cred`],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  return /sha256 ([0-9a-f]{64})/.exec(decoder.decode(out.stdout))![1];
}

const N = String.raw`\d+\.\d`;
const RATE = String.raw`\d{1,3}(,\d{3})*`;
const CORES = String.raw`\d\.\d\d`;
const N0 = String.raw`\d+`;
const escape = (s: string) => s.replace(/[()[\]{}.*+?^$|\\]/g, "\\$&");

/** Asserts a table row: its first cell, then cells matching `cells` (regex sources). */
function assertRow(report: string, first: string, cells: string[]): void {
  const row = new RegExp(`^\\| ${escape(first)} \\| ${cells.join(" \\| ")} \\|$`, "m");
  assert.match(report, row, `row "${first}"`);
}

Deno.test({
  name: "scripts/bench.ts --quick writes a complete report of the fresh bundle (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "csc-bench-test-" });
    try {
      const out = `${dir}/BENCHMARKS.md`;
      const run = await bench(["--quick", "--no-baselines", "--out", out]);
      assert.equal(run.code, 0, run.stderr);
      const report = await Deno.readTextFile(out);
      for (
        const heading of [
          "## Machine",
          "## What was measured",
          "## Findings",
          "## Latency per action (bundle, in-process, durable writes)",
          "## Code each command loads (bundle chunks)",
          "## Forms of the program",
          "## Cold code cache",
          "## Credmon: add with a pid file to signal",
          "## V8 flag experiment",
          "## Scale: median ms with N other users stored",
          "## List: one user's 100 credentials, small and 1 MiB each",
          "## Daemon over the Unix socket",
          "## Remote daemon over TLS",
          "## Daemon: spawn-to-answer of one client process",
          "## Timeline of one add-oauth -P -d (median of 21 runs)",
          "## Timeline of one query-oauth -s -d (median of 21 runs)",
        ]
      ) assert.ok(report.includes(`\n${heading}\n`), heading);

      // What ships: this source's bundle, byte for byte, run with lib/permissions.ts's flags.
      const digest = await bundleDigest(dir);
      assert.match(report, new RegExp(`\\| bundle \\| .* sha256 ${digest} \\|`));
      const flagsLine = /^\| runtime flags \| `([^`]*)` \(lib\/permissions\.ts\) \|$/m.exec(report);
      assert.ok(flagsLine, "the runtime flags row");
      assert.equal(flagsLine[1], permissions.RUNTIME_FLAGS.join(" "));

      // Every action, both floors: median, p95 and two ratios.
      for (
        const name of [
          "system calls only: query-oauth -s",
          "system calls only: add-oauth -P",
          "add -c (pool password)",
          "add-krb",
          "query-oauth -s",
          "delete-oauth -s",
        ]
      ) assertRow(report, name, [N, N, `${N}\\dx`, `${N}\\dx`]);
      assertRow(report, "deno run (empty program): start-up floor", [N, N, "1\\.00x", ""]);
      for (const name of ["query-oauth -s (cold cache)", "add-oauth -P (.use) (cold cache)"]) {
        assertRow(report, name, [N, N, `${N}\\dx`]);
      }
      // A listing of large credentials, against small ones, with peak memory (GNU time, or -).
      for (const size of ["39 bytes", "1 MiB"]) {
        assertRow(report, `list-oauth: 100 credentials of ${size}`, [N, N, `${N}\\dx`, `(${N}|-)`]);
      }
      // The release binaries' form (no code cache), and the --no-lazy alternative it rejects.
      for (
        const form of [
          "bundle with the binaries' flags (no code cache)",
          "bundle, no code cache, --no-lazy",
        ]
      ) {
        for (const action of ["query-oauth -s", "add-oauth -P (.use)"]) {
          assertRow(report, `${form}: ${action}`, [N, N, `${N}\\dx`]);
        }
      }
      for (const name of ["add-krb, credmon pid file", "add-oauth (.top), credmon pid file"]) {
        assertRow(report, name, [N, N, `${N}\\dx`, `[+-]${N}`]);
      }
      for (
        const label of [
          "none",
          "--v8-flags=--no-lazy (shipped)",
          "--v8-flags=--jitless",
          "--v8-flags=--no-lazy,--jitless",
          "--v8-flags=--max-lazy",
        ]
      ) {
        const startUp = `${N} \\(${N}\\dx\\)`;
        const daemon = `${RATE} \\(p99 ${N}\\)`;
        assertRow(report, label, [N, startUp, startUp, daemon, daemon]);
      }
      const perRequest = String.raw`\d+ µs`;
      for (const name of ["durable adds (add-oauth -P)", "queries (query-oauth -s)"]) {
        assertRow(report, name, [
          RATE,
          `${RATE}–${RATE}`,
          N,
          N,
          "[^|]+",
          CORES,
          perRequest,
          CORES,
          CORES,
        ]);
      }
      // The daemon's own floor: a proven request with no store work.
      assertRow(report, "proven request, no store work (whoami)", [
        RATE,
        `${RATE}–${RATE}`,
        N,
        N,
        String.raw`queries \d+\.\d\dx this`,
        CORES,
        perRequest,
        CORES,
        CORES,
      ]);
      // The floor the daemon is measured against, in the same run.
      assertRow(report, "floor: Deno.serve, fixed reply", [
        RATE,
        `${RATE}–${RATE}`,
        N,
        N,
        String.raw`queries \d+\.\d\dx this \(≥ 0\.5x\)`,
        CORES,
        perRequest,
        CORES,
        CORES,
      ]);
      for (const name of ["durable adds", "queries"]) {
        assertRow(report, name, [RATE, RATE, N, N, N, N, N, N]);
      }
      assertRow(report, "through the socket: query-oauth -s svc, as csc_tester", [
        N,
        N,
        `${N}\\dx`,
      ]);

      assert.match(report, /Latency target .*: (met|not met); the slowest action is \d+\.\d\dx\./);
      assert.match(report, /Scale target .*: (met|not met); the largest growth is -?\d+\.\d%\./);
      assert.match(
        report,
        new RegExp(
          `Daemon targets .*: durable adds ${RATE}/s \\(target ≥ 2,000: (met|not met)\\), ` +
            `queries ${RATE}/s \\(target ≥ 10,000: (met|not met)\\), p99 ${N} ms`,
        ),
      );
      assert.match(
        report,
        new RegExp(
          `Against the floor \\(Deno\\.serve .*\\): the floor answered ${RATE} requests/s ` +
            `\\(${RATE}–${RATE}\\), the daemon ${RATE} queries/s: \\d+\\.\\d\\dx the floor ` +
            `\\(target ≥ 0\\.5x: (met|not met)\\); durable adds ${RATE}/s with p99 ${N} ms ` +
            `\\(target ≤ 100 ms: (met|not met)\\)\\. Where a query's time goes: the daemon ` +
            `spent ${N0} µs of CPU per query, ${N0} µs per proven request with no store work ` +
            `\\(whoami: ${RATE}/s, \\d+\\.\\d\\dx the floor\\), and the floor server ${N0} µs per ` +
            "request\\.",
        ),
      );
      assert.match(
        report,
        new RegExp(`Over TLS with IDTOKENs: ${RATE} adds/s and ${RATE} queries`),
      );
      // What limits the daemon, with figures measured in the run.
      assert.match(report, new RegExp(`a file fsync takes ${N} ms and a directory fsync ${N} ms`));
      assert.match(report, new RegExp(`Little's law: .* ${N} ms at ${RATE} adds/s`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("scripts/bench.ts fails with the command and its stderr when a measured run fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-bench-test-" });
  try {
    const out = `${dir}/BENCHMARKS.md`;
    // A V8 flag the runtime refuses: the first run of that candidate exits 1.
    const run = await bench([
      "--quick",
      "--only",
      "flags",
      "--v8-candidate",
      "--no-such-v8-flag",
      "--out",
      out,
    ]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /bench failed: exit 1: .*deno run .*--v8-flags=--no-such-v8-flag /);
    assert.match(run.stderr, /V8 did not recognize flag '--no-such-v8-flag'/);
    assert.equal(await Deno.stat(out).then(() => true, () => false), false, "no report");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
