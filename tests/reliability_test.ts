/**
 * The bounded subset of the reliability suite (scripts/reliability.ts --quick): kills, 32
 * concurrent processes, full disk, filesystem attacks, hostile input and secret checks, fuzzing
 * of arguments and of stored files, all against the real program; and a real daemon under
 * attack, killed mid-add, stopped under load, and sent 400 forged tokens. The full run
 * (`deno task reliability`) writes RELIABILITY.md.
 */

import assert from "node:assert/strict";
import { IS_ROOT, REPO } from "../testing/harness.ts";

/** The value cell of a summary row, or null when the row is missing. */
function summaryValue(report: string, figure: string): string | null {
  const line = report.split("\n").find((l) => l.startsWith(`| ${figure} | `));
  return line === undefined ? null : line.slice(`| ${figure} | `.length, -" |".length);
}

Deno.test("reliability suite, quick subset: no loss, no tear, no change, no leak, no forgery", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-reliability-test-" });
  try {
    const out = `${dir}/RELIABILITY.md`;
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO}/scripts/reliability.ts`, "--quick", "--out", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    const report = await Deno.readTextFile(out).catch(() => null);
    assert.ok(report !== null, `no report was written:\n${output}`);
    // Figure by figure first (a failure names the property), then the overall result.
    const failures = report.includes("## Failures")
      ? report.slice(report.indexOf("## Failures"))
      : "";
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
    assert.match(report, /\| fuzz cases run \/ broken \| 300 \/ 0 \|/, failures);
    // Stored files of any shape read back (as root also through a daemon as a real user).
    assert.match(report, /\| stored-shape fuzz cases run \/ broken \| 200 \/ 0 \|/, failures);
    assert.match(report, /\| sections run \| 12 of 12 \|/, failures);
    const [tried, refused] = /\| attacks tried \/ refused \| (\d+) \/ (\d+)/.exec(report)!.slice(1);
    assert.equal(tried, refused);
    const [htried, hrefused] = /\| hostile inputs tried \/ refused \| (\d+) \/ (\d+)/.exec(report)!
      .slice(1);
    assert.equal(htried, hrefused);
    assert.match(report, /\| secret checks \/ leaks \| \d+ \/ 0 \|/);

    // The daemon sections need root (a daemon owning a root store, real users as clients).
    const value = (figure: string) => {
      const v = summaryValue(report, figure);
      assert.notEqual(v, null, `no summary row "${figure}"`);
      return v!;
    };
    if (!IS_ROOT) {
      assert.equal(value("forged tokens and requests tried / accepted"), "-");
      assert.match(report, /- forged tokens: needs root/);
      assert.equal(run.code, 0, output);
      assert.match(report, /Result: \*\*every property held\*\*/);
      return;
    }
    const [, inProcess, throughDaemon] =
      /\| cases run \(in-process \/ through the daemon\) \| (\d+) \((\d+) \/ (\d+)\) \|/
        .exec(report)!.slice(1).map(Number);
    assert.ok(inProcess >= 50 && throughDaemon >= 50, `${inProcess} / ${throughDaemon}`);
    // Forged tokens: none accepted, each refused for its reason, the daemon alive and serving.
    const [forged, accepted] = value("forged tokens and requests tried / accepted").split(" / ")
      .map(Number);
    assert.equal(forged, 400);
    assert.equal(accepted, 0);
    assert.equal(value("forged tokens refused with the expected reason"), "400 of 400");
    assert.equal(value("daemon exits / internal errors under forged tokens"), "0 / 0");
    assert.equal(value("valid token served after the forgeries"), "yes");
    assert.match(
      value("failed authentications before 429 (default limit) / median 429 answer"),
      /^10 \/ /,
    );
    // Through the daemon: no acknowledged write lost to SIGKILL or SIGTERM, no torn credential.
    assert.equal(value("lost acknowledged writes through the daemon (SIGKILL and SIGTERM)"), "0");
    assert.equal(value("credentials neither old nor new after a daemon kill"), "0");
    assert.equal(value("temp files left after the next add through the daemon"), "0");
    const [kills, inFlight] = value(
      "daemon kills (SIGKILL) sent / landed with an add in flight / inside the write window",
    ).split(" / ").map(Number);
    assert.equal(kills, 10);
    assert.ok(inFlight >= 1, "no kill landed while an add was in flight");
    const [sigtermAdds, sigtermAcknowledged] = value(
      "adds through the daemon during SIGTERM: sent / acknowledged",
    ).split(" / ").map(Number);
    assert.equal(sigtermAdds, 32);
    assert.ok(sigtermAcknowledged >= 1, "no add was acknowledged around the SIGTERM");
    // Under attack: the legitimate user was served, every time, and the data held.
    const legit = /^(\d+) \/ (\d+) \(\d+ ms\)$/.exec(
      value("daemon under attack: legitimate requests / succeeded (worst latency)"),
    );
    assert.ok(legit, "no legitimate-user figures");
    const [requests, succeeded] = legit.slice(1).map(Number);
    assert.ok(requests >= 20, `only ${requests} legitimate requests during the attack`);
    assert.equal(
      succeeded,
      requests,
      `the legitimate user was refused during the attack:\n${failures}`,
    );
    assert.equal(value("daemon under attack: answers afterwards / data intact"), "yes / yes");
    // The daemon keeps serving everyone: every request of the victim answered, every fault of a
    // store worker answered and logged once, the silent connections' descriptors back.
    const victim = /^(\d+) \/ (\d+) /.exec(
      value("victim during the resilience attacks: requests / answered (median, worst)"),
    );
    assert.ok(victim, "no resilience figures");
    assert.equal(victim[2], victim[1], `the victim was refused:\n${failures}`);
    const [faults, answeredFaults, faultLines] = value(
      "store worker faults: set off / answered with an error / log lines",
    ).split(" / ").map(Number);
    assert.equal(faults, 6);
    assert.deepEqual([answeredFaults, faultLines], [faults, faults]);
    assert.match(
      value(
        "silent TLS connections: opened / peak descriptors over the start / seconds until all back",
      ),
      /^200 \/ \d+ \/ /,
    );
    assert.equal(run.code, 0, output);
    assert.match(report, /Result: \*\*every property held\*\*/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
