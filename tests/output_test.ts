/**
 * Black-box tests of output details: local-time timestamps (docs/upstream.md "Output"), `--json`
 * (README "--json") and debug output.
 */

import assert from "node:assert/strict";
import { runCli, withSpool } from "../testing/harness.ts";

function utcText(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 19).replace("T", " ");
}

Deno.test("timestamps are printed in local time (TZ honoured)", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add-oauth", "-s", "t", "-P", "-i", "-"], {
      env: { ...spool.env, TZ: "Asia/Tokyo" },
      stdin: "x",
    });
    const mtime = Math.floor(
      (await Deno.stat(`${spool.oauth}/root/t.use`)).mtime!.getTime() / 1000,
    );
    // Tokyo is UTC+9 all year round.
    const expected = utcText(mtime + 9 * 3600);
    assert.match(r.stdout, new RegExp(`Credential was stored on ${expected}\n`));
  });
});

Deno.test("--json prints one object with the stable schema, exit codes unchanged", async () => {
  await withSpool(async (spool) => {
    const add = await runCli(["add-oauth", "-s", "j", "-P", "-i", "-", "--json"], {
      env: spool.env,
      stdin: "tok",
    });
    assert.equal(add.code, 0);
    assert.equal(add.stderr, "");
    const mtime = Math.floor(
      (await Deno.stat(`${spool.oauth}/root/j.use`)).mtime!.getTime() / 1000,
    );
    assert.deepEqual(JSON.parse(add.stdout), {
      schema: 1,
      ok: true,
      action: "add",
      type: "oauth",
      user: "root@test.example",
      status: "stored",
      reason: "stored",
      code: 1,
      message: `Operation succeeded. Credential was stored on ${utcText(mtime)}`,
      changed: true,
      warnings: [],
      info: {
        caller: "root@test.example",
        stored: utcText(mtime),
        stored_unix: mtime,
        expires: null,
        expires_unix: null,
        expires_in: null,
        ad: {},
      },
    });
    assert.equal(add.stdout.trim().split("\n").length, 1);

    const missing = await runCli(["query-krb", "--json"], { env: spool.env });
    assert.equal(missing.code, 1);
    assert.deepEqual(JSON.parse(missing.stdout), {
      schema: 1,
      ok: false,
      action: "query",
      type: "kerberos",
      user: "root@test.example",
      status: "not-found",
      reason: "not-found",
      code: 5,
      message: "No credential is stored.",
      changed: null,
      warnings: [],
      info: {
        // Who asked is known for a failure too (issue 21 item 8).
        caller: "root@test.example",
        stored: null,
        stored_unix: null,
        expires: null,
        expires_unix: null,
        expires_in: null,
        ad: {},
      },
    });

    await runCli(["add-oauth", "-s", "m", "-S", "a", "-i", "-"], { env: spool.env, stdin: "{}" });
    const mismatch = await runCli(["query-oauth", "-s", "m", "--json"], { env: spool.env });
    assert.equal(mismatch.code, 2);
    const parsed = JSON.parse(mismatch.stdout);
    assert.equal(parsed.status, "mismatch");
    assert.equal(parsed.code, 13);

    const usage = await runCli(["bogus", "--json"], { env: spool.env });
    assert.equal(usage.code, 1);
    assert.deepEqual(JSON.parse(usage.stdout).status, "usage");
    assert.match(usage.stderr, /^ERROR: Unrecognized command - 'bogus'/);
  });
});

Deno.test("--json sends the prompt to stderr so stdout stays one JSON object", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add", "--json"], { env: spool.env, stdin: "pw\n" });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "Enter password: \n");
    assert.equal(JSON.parse(r.stdout).status, "stored");
  });
});

Deno.test("-d prints timestamped debug lines on stderr, stdout unchanged", async () => {
  await withSpool(async (spool) => {
    const plain = await runCli(["query-krb"], { env: spool.env });
    const debug = await runCli(["query-krb", "-d"], { env: spool.env });
    assert.equal(debug.stdout, plain.stdout);
    const lines = debug.stderr.trimEnd().split("\n");
    for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+\d+\.\dms \S/);
    assert.match(lines[0], /\+\d+\.\dms query: command line parsed$/);
    assert.ok(lines.some((l) => /configuration loaded: .*condor_config$/.test(l)), debug.stderr);
  });
});
