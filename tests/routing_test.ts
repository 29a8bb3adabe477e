/**
 * Black-box tests of routing: without the daemon mode (README "The daemon", a later issue), `-n`
 * and CREDD_HOST are refused clearly instead of being silently ignored.
 */

import assert from "node:assert/strict";
import { exists, runCli, withSpool } from "../testing/harness.ts";

Deno.test("-n NAME is refused with a clear message and nothing is read or stored", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add-oauth", "-s", "s", "-i", "-", "-n", "submit.example.org"], {
      env: spool.env,
      stdin: "token",
    });
    assert.deepEqual(r, {
      code: 1,
      stdout: "Account: <current> (root)\nCredType: oauth\n\n",
      stderr: "ERROR: -n submit.example.org needs a remote condor_store_cred daemon, which " +
        "this version cannot reach; run the command on that machine instead\n",
    });
    assert.equal(await exists(spool.oauth), false);
  });
});

Deno.test("CREDD_HOST is refused for Kerberos and OAuth, but not for the pool password", async () => {
  await withSpool(async (spool) => {
    const env = { ...spool.env, _CONDOR_CREDD_HOST: "credd.example.org" };
    const krb = await runCli(["add-krb", "-i", "-"], { env, stdin: "t" });
    assert.equal(krb.code, 1);
    assert.match(krb.stderr, /^ERROR: CREDD_HOST is set to credd\.example\.org, but this version/);
    assert.equal(await exists(spool.krb), false);
    const pool = await runCli(["add", "-c", "-p", "-"], { env, stdin: "pw" });
    assert.equal(pool.code, 0, pool.stderr);
  });
});
