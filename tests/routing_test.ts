/**
 * Black-box tests of routing (README "Usage"): `-n` (every type) and CREDD_HOST (all but the pool
 * password) send the request to a remote daemon over TLS; when none answers, the message names
 * it and nothing is stored here. tests/remote_test.ts has the daemon that does answer.
 */

import assert from "node:assert/strict";
import { unscramblePoolPassword } from "../lib/crypto/scramble.ts";
import { exists, readBytes, runCli, withSpool } from "../testing/harness.ts";

Deno.test("-n HOST:PORT sends the request there; nobody answering is a clear error, nothing stored here", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add-oauth", "-s", "s", "-i", "-", "-n", "127.0.0.1:1"], {
      env: spool.env,
      stdin: "token",
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "Account: <current> (root)\nCredType: oauth\n\n");
    assert.match(
      r.stderr,
      /^ERROR: could not connect to the condor_store_cred daemon at 127\.0\.0\.1:1: .*(refused|Connection)/i,
    );
    assert.equal(await exists(spool.oauth), false);
    // -n reaches serve for every type, the pool password included (deviation 15).
    const pool = await runCli(["add", "-c", "-p", "-", "-n", "127.0.0.1:1"], {
      env: spool.env,
      stdin: "pw",
    });
    assert.match(
      pool.stderr,
      /could not connect to the condor_store_cred daemon at 127\.0\.0\.1:1/,
    );
    assert.equal(await exists(spool.pool), false);
  });
});

Deno.test("CREDD_HOST routes Kerberos, OAuth and user passwords, but not the pool password", async () => {
  await withSpool(async (spool) => {
    const env = { ...spool.env, _CONDOR_CREDD_HOST: "127.0.0.1:1" };
    for (
      const [args, stdin] of [[["add-krb", "-i", "-"], "t"], [["query-oauth"]], [
        ["add", "-p", "-"],
        "pw",
      ]] as [string[], string?][]
    ) {
      const r = await runCli(args, { env, stdin });
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /could not connect to the condor_store_cred daemon at 127\.0\.0\.1:1/);
    }
    assert.equal(await exists(spool.krb), false);
    const pool = await runCli(["add", "-c", "-p", "-"], { env, stdin: "pw" });
    assert.equal(pool.code, 0, pool.stderr);
    // The pool account named with -u is the pool password too: handled here, as -c is.
    const named = await runCli(["add", "-u", "condor_pool@test.example", "-p", "-"], {
      env,
      stdin: "pw2",
    });
    assert.equal(named.code, 0, named.stderr);
    assert.equal(
      named.stdout,
      "Account: condor_pool@test.example\nCredType: password\n\n" +
        "Operation succeeded.\n",
    );
    assert.equal(
      new TextDecoder().decode(unscramblePoolPassword((await readBytes(spool.pool))!)),
      "pw2",
    );
    const query = await runCli(["query", "-u", "condor_pool@test.example"], { env });
    assert.equal(query.code, 0, query.stderr);
    const removed = await runCli(["delete", "-u", "condor_pool@test.example"], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await exists(spool.pool), false);
    // A CREDD_HOST that is not an address is a configuration error naming it.
    const bad = await runCli(["query-krb"], { env: { ...spool.env, _CONDOR_CREDD_HOST: "a b" } });
    assert.match(
      bad.stderr,
      /^Operation failed because of a configuration error\n {4}CREDD_HOST is "a b"; it must be host or host:port/,
    );
  });
});
