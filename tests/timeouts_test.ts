/**
 * Bounded waits end when they should: CRED_LOCK_TIMEOUT and CREDD_POLLING_TIMEOUT, measured from
 * outside. These bounds are behaviour (a wait of 4x the timeout is a defect the tests must catch),
 * not performance; the margins allow for process start-up.
 */

import assert from "node:assert/strict";
import { readText, runCli, startCredmon, withSpool } from "../testing/harness.ts";

/** Runs `fn` and returns how long it took, in seconds. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, (performance.now() - start) / 1000];
}

Deno.test("a held lock gives up after CRED_LOCK_TIMEOUT (1 s: within 0.8-2 s) with a clear error", async () => {
  await withSpool(async (spool) => {
    const ok = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "old" });
    assert.equal(ok.code, 0, ok.stderr);
    // Another writer holds root's lock: flock(1) keeps it for 10 s.
    const holder = new Deno.Command("flock", {
      args: ["-o", `${spool.krb}/.locks/root.lock`, "-c", "echo held; sleep 10"],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.getReader();
    await reader.read();
    try {
      const [r, seconds] = await timed(() =>
        runCli(["add-krb", "-i", "-"], {
          env: { ...spool.env, _CONDOR_CRED_LOCK_TIMEOUT: "1" },
          stdin: "new",
        })
      );
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^ERROR: timed out after 1 seconds waiting for the lock ".*root\.lock"; another condor_store_cred is still writing these credentials; retry later, or raise CRED_LOCK_TIMEOUT\n/,
      );
      assert.ok(seconds >= 0.8 && seconds <= 2, `took ${seconds.toFixed(2)} s`);
      assert.equal(await readText(`${spool.krb}/root.cred`), "old");
    } finally {
      holder.kill("SIGKILL");
      reader.releaseLock();
      await holder.stdout.cancel().catch(() => {});
      await holder.status;
    }
  });
});

Deno.test("a silent credmon ends add-krb after CREDD_POLLING_TIMEOUT (1 s: within 0.8-2.5 s)", async () => {
  await withSpool(async (spool) => {
    const credmon = await startCredmon(spool.krb, {
      mode: "krb",
      log: `${spool.root}/credmon.log`,
      ignore: true,
    });
    try {
      const [r, seconds] = await timed(() =>
        runCli(["add-krb", "-i", "-"], {
          env: { ...spool.env, _CONDOR_CREDD_POLLING_TIMEOUT: "1" },
          stdin: "TICKET",
        })
      );
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^The credmon did not process credentials within the timeout period\n/,
      );
      assert.ok(seconds >= 0.8 && seconds <= 2.5, `took ${seconds.toFixed(2)} s`);
      assert.equal(await credmon.hupsReach(1), 1);
    } finally {
      await credmon.stop();
    }
  });
});
