/**
 * Bounded waits end when they should: CRED_LOCK_TIMEOUT and CREDD_POLLING_TIMEOUT. A wait of 4x
 * the timeout is a defect the tests must catch, on a busy machine too, so nothing here measures
 * the test's own wall clock (a loaded machine stretches process start-up by seconds). Instead:
 * the program's `-d` output says how long the wait may last, as its deadline sets it (exact: 4x
 * the timeout shows as 4000 ms); its own `-d` timestamps show that it waited at least that long
 * (a lower bound, which load cannot break); and the other side holds on forever, so a wait that
 * never ended would be killed by the harness and fail the test.
 */

import assert from "node:assert/strict";
import { readText, runCli, startCredmon, withSpool } from "../testing/harness.ts";

/** The `+<ms>ms` stamp of each `-d` line of `stderr`, in order, with the line's text. */
function debugLines(stderr: string): { ms: number; text: string }[] {
  return [...stderr.matchAll(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+([\d.]+)ms (.*)$/gm)]
    .map((m) => ({ ms: Number(m[1]), text: m[2] }));
}

/**
 * Asserts that the `-d` lines of `stderr` announce a wait (`announced` matches its line, its
 * group 1 the milliseconds the deadline allows) of `seconds`, and that the program's last line
 * came at least that long after the announcement.
 */
function assertWaited(stderr: string, announced: RegExp, seconds: number) {
  const lines = debugLines(stderr);
  const at = lines.findIndex((l) => announced.test(l.text));
  assert.ok(at >= 0, `no -d line announces the wait:\n${stderr}`);
  const allowed = Number(announced.exec(lines[at].text)![1]);
  // The deadline was set a moment before the line was written: at most `seconds`, not less by
  // more than a scheduling hiccup.
  assert.ok(
    allowed <= seconds * 1000 && allowed > seconds * 1000 - 500,
    `the wait may last ${allowed} ms, not ${seconds * 1000}`,
  );
  const waited = lines.at(-1)!.ms - lines[at].ms;
  assert.ok(waited >= allowed - 5, `gave up after ${waited} ms of ${allowed}`);
}

Deno.test("a held lock gives up after CRED_LOCK_TIMEOUT with a clear error", async () => {
  await withSpool(async (spool) => {
    const ok = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "old" });
    assert.equal(ok.code, 0, ok.stderr);
    // Another writer holds root's lock until the test ends.
    const holder = new Deno.Command("flock", {
      args: ["-o", `${spool.krb}/.locks/root.lock`, "-c", "echo held; exec sleep 3600"],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.getReader();
    await reader.read();
    try {
      for (const seconds of [1, 2]) {
        const r = await runCli(["add-krb", "-i", "-", "-d"], {
          env: { ...spool.env, _CONDOR_CRED_LOCK_TIMEOUT: String(seconds) },
          stdin: "new",
          timeoutMs: 60_000,
        });
        assert.equal(r.timedOut, undefined, "the wait for the lock never ended");
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          new RegExp(
            `^ERROR: timed out after ${seconds} seconds waiting for the lock ".*root\\.lock"; ` +
              "another condor_store_cred is still writing these credentials; retry later, or " +
              "raise CRED_LOCK_TIMEOUT$",
            "m",
          ),
        );
        assertWaited(
          r.stderr,
          /^the lock ".*root\.lock" is held; waiting for it at most (\d+) ms$/,
          seconds,
        );
        assert.equal(await readText(`${spool.krb}/root.cred`), "old");
      }
    } finally {
      holder.kill("SIGKILL");
      reader.releaseLock();
      await holder.stdout.cancel().catch(() => {});
      await holder.status;
    }
  });
});

Deno.test("a silent credmon ends add-krb after CREDD_POLLING_TIMEOUT", async () => {
  await withSpool(async (spool) => {
    const credmon = await startCredmon(spool.krb, {
      mode: "krb",
      log: `${spool.root}/credmon.log`,
      ignore: true,
    });
    try {
      for (const [i, seconds] of [1, 2].entries()) {
        const r = await runCli(["add-krb", "-i", "-", "-d"], {
          env: { ...spool.env, _CONDOR_CREDD_POLLING_TIMEOUT: String(seconds) },
          stdin: "TICKET",
          timeoutMs: 60_000,
        });
        assert.equal(r.timedOut, undefined, "the wait for the credmon never ended");
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          /^The credmon did not process credentials within the timeout period\n/m,
        );
        assertWaited(r.stderr, /^waiting for .*\/root\.cc at most (\d+) ms$/, seconds);
        // It was signalled once per add (each add's signal is awaited before the next add).
        assert.equal(await credmon.hupsReach(i + 1), i + 1);
      }
    } finally {
      await credmon.stop();
    }
  });
});
