/**
 * The bounded subset of the reliability suite (scripts/reliability.ts --quick): kills, 32
 * concurrent processes, full disk, filesystem attacks, hostile input and secret checks, all
 * against the real program. The full run (`deno task reliability`) writes RELIABILITY.md.
 */

import assert from "node:assert/strict";
import { REPO } from "../testing/harness.ts";

Deno.test("reliability suite, quick subset: no loss, no tear, no change, no leak", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-reliability-test-" });
  try {
    const out = `${dir}/RELIABILITY.md`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO}/scripts/reliability.ts`, "--quick", "--out", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    assert.equal(run.code, 0, stdout + new TextDecoder().decode(run.stderr));
    const report = await Deno.readTextFile(out);
    assert.match(report, /Result: \*\*every property held\*\*/);
    for (
      const zero of [
        "partial or lost credentials after a kill",
        "temp files left after the next successful add",
        "lost acknowledged writes",
        "torn credentials (files and reads)",
        "hostile inputs that wrote anything",
        "changes made by refused attacks",
      ]
    ) {
      assert.match(report, new RegExp(`\\| ${zero.replace(/[()]/g, "\\$&")} \\| 0 \\|`), zero);
    }
    // What really happened is counted: kills that landed while the program ran, operations
    // that ran to an answer, fuzz cases run, sections run.
    const [sent, landed] =
      /\| kills \(SIGKILL\) sent \/ landed mid-run \/ inside the write window \| (\d+) \/ (\d+) \/ \d+ \|/
        .exec(report)!.slice(1).map(Number);
    assert.equal(sent, 60);
    assert.ok(landed >= 20, `only ${landed} of ${sent} kills landed while the program ran`);
    const [planned, answered] = /\| concurrent operations planned \/ answered \| (\d+) \/ (\d+) \|/
      .exec(report)!.slice(1).map(Number);
    assert.equal(planned, 96);
    assert.equal(answered, planned);
    assert.match(report, /\| fuzz cases run \/ broken \| 300 \/ 0 \|/);
    assert.match(report, /\| sections run \| 8 of 8 \|/);
    const [tried, refused] = /\| attacks tried \/ refused \| (\d+) \/ (\d+)/.exec(report)!.slice(1);
    assert.equal(tried, refused);
    const [htried, hrefused] = /\| hostile inputs tried \/ refused \| (\d+) \/ (\d+)/.exec(report)!
      .slice(1);
    assert.equal(htried, hrefused);
    assert.match(report, /\| secret checks \/ leaks \| \d+ \/ 0 \|/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
