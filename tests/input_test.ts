/**
 * Black-box tests of credential inputs (docs/upstream.md "Reading the credential", deviation 2, 6,
 * 7): `-i FILE`, `-i -`, `-p VALUE`, `-p -`, limits, empty credentials, and secrets kept out of
 * every message.
 */

import assert from "node:assert/strict";
import { DEVIATION } from "../lib/messages.ts";
import { exists, readBytes, runCli, snapshot, withSpool } from "../testing/harness.ts";

const OAUTH_HEADER = "Account: <current> (root)\nCredType: oauth\n\n";
const MIB = 1024 * 1024;

Deno.test("-i FILE reads the file's bytes verbatim; a missing file is upstream's error", async () => {
  await withSpool(async (spool) => {
    const file = `${spool.root}/token.bin`;
    const bytes = new Uint8Array([0, 255, 10, 13, 65]);
    await Deno.writeFile(file, bytes);
    const ok = await runCli(["add-oauth", "-s", "f", "-P", "-i", file], { env: spool.env });
    assert.equal(ok.code, 0);
    assert.deepEqual(await readBytes(`${spool.oauth}/root/f.use`), bytes);

    const missing = await runCli(["add-oauth", "-s", "f", "-P", "-i", `${spool.root}/nope`], {
      env: spool.env,
    });
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, OAUTH_HEADER);
    assert.match(
      missing.stderr,
      new RegExp(
        `^Could not read credential from ${spool.root}/nope\n {4}No such file or directory`,
      ),
    );
    const dir = await runCli(["add-oauth", "-s", "f", "-P", "-i", spool.root], { env: spool.env });
    assert.equal(
      dir.stderr,
      `Could not read credential from ${spool.root}\n    it is a directory\n`,
    );
  });
});

Deno.test("credentials over 1 MiB are refused through stdin and file; exactly 1 MiB is fine", async () => {
  await withSpool(async (spool) => {
    const limit = new Uint8Array(MIB).fill(0x61);
    const ok = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: limit });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await readBytes(`${spool.krb}/root.cred`))!.length, MIB);

    const before = await snapshot(spool.root);
    const over = new Uint8Array(MIB + 1).fill(0x62);
    const viaStdin = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: over });
    assert.deepEqual(viaStdin, {
      code: 1,
      stdout: "Account: <current> (root)\nCredType: kerberos\n\n",
      stderr: "ERROR: credential is larger than 1048576 bytes\n",
    });
    const file = `${spool.root}/big`;
    await Deno.writeFile(file, over);
    const afterWrite = await snapshot(spool.root);
    const viaFile = await runCli(["add-oauth", "-s", "big", "-i", file], { env: spool.env });
    assert.equal(viaFile.code, 1);
    assert.equal(viaFile.stderr, "ERROR: credential is larger than 1048576 bytes\n");
    assert.notEqual(before, afterWrite);
    assert.equal(await snapshot(spool.root), afterWrite);
  });
});

Deno.test("-p VALUE warns on stderr; -p - reads raw stdin up to 255 bytes", async () => {
  await withSpool(async (spool) => {
    const warned = await runCli(["add", "-p", "s3cret"], { env: spool.env });
    assert.equal(warned.code, 0);
    assert.equal(warned.stderr, `${DEVIATION.passwordOnCommandLine}\n`);
    assert.match(warned.stderr, /^WARNING: .*visible to other processes.*use -p - /);

    const big = await runCli(["add", "-p", "-"], { env: spool.env, stdin: "x".repeat(256) });
    assert.equal(big.code, 1);
    assert.equal(big.stderr, "ERROR: credential is larger than 255 bytes\n");
    const longArg = await runCli(["add", "-p", "y".repeat(256)], { env: spool.env });
    assert.equal(longArg.code, 1);
    assert.match(longArg.stderr, /ERROR: credential is larger than 255 bytes\n$/);
  });
});

Deno.test("an empty credential is refused and nothing is stored (deviation 7)", async () => {
  await withSpool(async (spool) => {
    const empty = `${spool.root}/empty`;
    await Deno.writeFile(empty, new Uint8Array());
    for (
      const [args, stdin] of [
        [["add-oauth", "-s", "e", "-i", "-"], ""],
        [["add-krb", "-i", empty], ""],
        [["add", "-p", "-"], ""],
        [["add"], "\n"],
        [["add", "-p", ""], "\n"],
      ] as const
    ) {
      const r = await runCli([...args], { env: spool.env, stdin });
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /^ERROR: the credential is empty; nothing was stored\n$/);
    }
    assert.equal(await exists(`${spool.root}/spool`), false);
  });
});

Deno.test("no secret appears in output, debug output or error messages", async () => {
  await withSpool(async (spool) => {
    const secret = "TOPSECRET-7f3a9c";
    const runs = [
      await runCli(["add", "-c", "-p", "-", "-d"], { env: spool.env, stdin: secret }),
      await runCli(["add-oauth", "-s", "x", "-S", "s", "-i", "-", "-d"], {
        env: spool.env,
        stdin: secret,
      }),
      await runCli(["add-krb", "-i", "-", "-d"], { env: spool.env, stdin: secret }),
      await runCli(["add-oauth", "-s", "x", "-i", "-", "-d"], {
        env: spool.env,
        stdin: `{"vault_url":"https://h/${secret}","vault_token":"${secret}"}`,
      }),
      await runCli(["add", "-p", "-"], { env: spool.env, stdin: secret.repeat(20) }),
    ];
    for (const r of runs) {
      assert.equal(r.stdout.includes(secret), false, r.stdout);
      assert.equal(r.stderr.includes(secret), false, r.stderr);
    }
    // -d really printed something.
    assert.match(runs[0].stderr, /\d\d:\d\d:\d\d .*pool password/);
  });
});
