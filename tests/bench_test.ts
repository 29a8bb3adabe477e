/**
 * The benchmark script runs end to end in its quick mode and writes a report with every
 * section and numeric ratios. No timing is asserted: timing belongs to the benchmark itself.
 */

import assert from "node:assert/strict";
import { REPO } from "../testing/harness.ts";

Deno.test("scripts/bench.ts --quick writes a complete report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-bench-test-" });
  try {
    const out = `${dir}/BENCHMARKS.md`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO}/scripts/bench.ts`, "--quick", "--no-baselines", "--out", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const report = await Deno.readTextFile(out);
    for (
      const heading of [
        "## Machine",
        "## Findings",
        "## Latency per action (bundle, in-process, durable writes)",
        "## Forms of the program",
        "## Scale: median ms with N other users stored",
        "## Timeline of one add-oauth -P -d (median of 21 runs)",
      ]
    ) assert.ok(report.includes(heading), heading);
    // Every action row has a median, a p95 and a ratio.
    for (
      const action of ["add -c (pool password)", "add-krb", "query-oauth -s", "delete-oauth -s"]
    ) {
      assert.match(
        report,
        new RegExp(
          `\\| ${
            action.replace(/[()]/g, "\\$&")
          } \\| \\d+\\.\\d \\| \\d+\\.\\d \\| \\d+\\.\\d\\dx \\|`,
        ),
      );
    }
    assert.match(report, /Latency target .*: (met|not met); the slowest action is \d+\.\d\dx\./);
    assert.match(report, /Scale target .*: (met|not met); the largest growth is -?\d+\.\d%\./);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
