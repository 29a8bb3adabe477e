/**
 * Black-box tests of passwords: the pool password (docs/upstream.md "Pool password", deviation 8),
 * `-f FILE` (docs/upstream.md "The -f branch") and sealed user passwords (README "Differences from HTCondor",
 * deviation 14).
 */

import assert from "node:assert/strict";
import { unscramblePoolPassword } from "../lib/crypto/scramble.ts";
import { DEVIATION } from "../lib/messages.ts";
import {
  hex,
  listTree,
  modeOf,
  readBytes,
  runCli,
  snapshot,
  withSpool,
} from "../testing/harness.ts";

const POOL_HEADER = "Account: condor_pool@test.example\nCredType: password\n\n";
const ROOT_HEADER = "Account: root@test.example\nCredType: password\n\n";
const WARNING = `${DEVIATION.passwordOnCommandLine}\n`;
const FOOBAR2 = "b8 c2 d1 8d bf df 8c";

Deno.test("add -c stores foobar2 as b8 c2 d1 8d bf df 8c, mode 0600, atomically", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add", "-c", "-p", "foobar2"], { env: spool.env });
    assert.deepEqual(r, {
      code: 0,
      stdout: `${POOL_HEADER}Operation succeeded.\n`,
      stderr: WARNING,
    });
    const bytes = (await readBytes(spool.pool))!;
    assert.deepEqual(hex(bytes), FOOBAR2);
    assert.deepEqual(new TextDecoder().decode(unscramblePoolPassword(bytes)), "foobar2");
    assert.deepEqual(await modeOf(spool.pool), 0o600);
    assert.deepEqual(await modeOf(`${spool.root}/spool/passwords.d`), 0o700);
    // Nothing but the file and the lock directory: no stray temp files.
    assert.deepEqual(await listTree(`${spool.root}/spool/passwords.d`), [
      ".locks/",
      ".locks/POOL.lock",
      "POOL",
    ]);
    assert.deepEqual(
      await readBytes(`${spool.root}/spool/passwords.d/.locks/POOL.lock`),
      new Uint8Array(),
    );
  });
});

Deno.test("add -c -p - reads raw stdin without a warning; -i FILE keeps the newline", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add-pwd", "-c", "-p", "-"], { env: spool.env, stdin: "foobar2" });
    assert.deepEqual(r, { code: 0, stdout: `${POOL_HEADER}Operation succeeded.\n`, stderr: "" });
    assert.deepEqual(hex((await readBytes(spool.pool))!), FOOBAR2);
    const file = `${spool.root}/pw.txt`;
    await Deno.writeTextFile(file, "foobar2\n");
    const s = await runCli(["add", "-c", "-i", file], { env: spool.env });
    assert.deepEqual(s.code, 0);
    assert.deepEqual(hex((await readBytes(spool.pool))!), `${FOOBAR2} e5`);
    // The newline is stored, as upstream stores it, and the caller is told.
    assert.equal(
      s.stderr,
      `WARNING: the password read from file "${file}" ends in a newline, which was stored as ` +
        "part of it; to leave it out, write it with printf '%s' rather than echo\n",
    );
  });
});

Deno.test("a password read with -p - or -f ending in a newline is stored with it, with a warning (text and JSON)", async () => {
  await withSpool(async (spool) => {
    const warning = "the password read from stdin (-p -) ends in a newline, which was stored as " +
      "part of it; to leave it out, write it with printf '%s' rather than echo";
    const text = await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "foobar2\n" });
    assert.deepEqual([text.code, text.stderr], [0, `WARNING: ${warning}\n`]);
    assert.deepEqual(hex((await readBytes(spool.pool))!), `${FOOBAR2} e5`);
    const json = await runCli(["add", "-c", "-p", "-", "--json"], {
      env: spool.env,
      stdin: "foobar2\n",
    });
    assert.deepEqual(JSON.parse(json.stdout).warnings, [warning]);
    assert.equal(JSON.parse(json.stdout).changed, false);
    const file = `${spool.root}/pool-file`;
    const f = await runCli(["-f", file, "-p", "-"], { env: spool.env, stdin: "foobar2\n" });
    assert.deepEqual([f.code, f.stdout, f.stderr], [0, "", `WARNING: ${warning}\n`]);
    // Without the newline, or through the piped prompt (which strips it): no warning.
    const clean = await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "foobar2" });
    assert.equal(clean.stderr, "");
    const prompt = await runCli(["add", "-c"], { env: spool.env, stdin: "foobar2\n" });
    assert.deepEqual([prompt.code, prompt.stderr], [0, ""]);
    assert.deepEqual(hex((await readBytes(spool.pool))!), FOOBAR2);
    // Other types keep their bytes without a word: a token file often ends in a newline.
    const oauth = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: spool.env,
      stdin: "token\n",
    });
    assert.deepEqual([oauth.code, oauth.stderr], [0, ""]);
  });
});

Deno.test("add -u condor_pool@domain is the pool password too", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add", "-u", "condor_pool@test.example", "-p", "-"], {
      env: spool.env,
      stdin: "foobar2",
    });
    assert.deepEqual(r.stdout, `${POOL_HEADER}Operation succeeded.\n`);
    assert.deepEqual(hex((await readBytes(spool.pool))!), FOOBAR2);
  });
});

Deno.test("SEC_PASSWORD_DOMAIN names the pool account", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add", "-c", "-p", "-"], {
      env: { ...spool.env, _CONDOR_SEC_PASSWORD_DOMAIN: "pool.example" },
      stdin: "x",
    });
    assert.deepEqual(
      r.stdout,
      "Account: condor_pool@pool.example\nCredType: password\n\nOperation succeeded.\n",
    );
  });
});

Deno.test("delete -c removes the pool file; a second delete is 'username not found'", async () => {
  await withSpool(async (spool) => {
    await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "foobar2" });
    const r = await runCli(["delete", "-c"], { env: spool.env });
    assert.deepEqual(r, { code: 0, stdout: `${POOL_HEADER}Operation succeeded.\n`, stderr: "" });
    assert.deepEqual(await readBytes(spool.pool), null);
    const again = await runCli(["delete", "-c"], { env: spool.env });
    assert.deepEqual(again, {
      code: 1,
      stdout: `${POOL_HEADER}Operation failed: username not found.\n`,
      stderr: "",
    });
  });
});

Deno.test("query -c prints upstream's refusal and no header", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["query", "-c"], { env: spool.env });
    assert.deepEqual(r, {
      code: 1,
      stdout: "",
      stderr: "Querying the pool password is not supported.\n",
    });
  });
});

Deno.test("add -c replaces an old NUL-padded 256-byte pool file with the 7-byte format", async () => {
  await withSpool(async (spool) => {
    await Deno.mkdir(`${spool.root}/spool/passwords.d`, { recursive: true, mode: 0o700 });
    const legacy = new Uint8Array(256);
    legacy.set([0xb8, 0xc2, 0xd1, 0x8d, 0xbf, 0xdf, 0x8c]);
    await Deno.writeFile(spool.pool, legacy, { mode: 0o600 });
    assert.deepEqual(new TextDecoder().decode(unscramblePoolPassword(legacy)), "foobar2");
    const r = await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "newpass" });
    assert.deepEqual(r.code, 0);
    const bytes = (await readBytes(spool.pool))!;
    assert.deepEqual(bytes.length, 7);
    assert.deepEqual(new TextDecoder().decode(unscramblePoolPassword(bytes)), "newpass");
  });
});

Deno.test("the pool password is limited to 255 bytes and must not be empty", async () => {
  await withSpool(async (spool) => {
    const big = await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "x".repeat(256) });
    assert.deepEqual(big, {
      code: 1,
      stdout: POOL_HEADER,
      stderr: "ERROR: credential is larger than 255 bytes\n",
    });
    const max = await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "x".repeat(255) });
    assert.deepEqual(max.code, 0);
    const before = await snapshot(spool.root);
    const empty = await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "" });
    assert.deepEqual(empty, {
      code: 1,
      stdout: POOL_HEADER,
      stderr: "ERROR: the credential is empty; nothing was stored\n",
    });
    // A password that is empty once cut at its first NUL is empty too.
    const nul = await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "\0abc" });
    assert.deepEqual(nul.stderr, "ERROR: the credential is empty; nothing was stored\n");
    assert.deepEqual(await snapshot(spool.root), before);
  });
});

Deno.test("-c with the kerberos or oauth type is refused after the header", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["delete-krb", "-c"], { env: spool.env });
    assert.deepEqual(r.code, 1);
    assert.deepEqual(r.stdout, "Account: condor_pool@test.example\nCredType: kerberos\n\n");
    assert.match(r.stderr, /^Operation aborted due to missing or bad arguments\n {4}\S/);
  });
});

Deno.test("-f FILE writes a pool password file: no header, nothing on stdout", async () => {
  await withSpool(async (spool) => {
    const file = `${spool.root}/pool_password`;
    const r = await runCli(["-f", file, "-p", "-"], { env: spool.env, stdin: "foobar2" });
    assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
    assert.deepEqual(hex((await readBytes(file))!), FOOBAR2);
    assert.deepEqual(await modeOf(file), 0o600);
    // add -f and -f add are the same; a later -f wins.
    const other = `${spool.root}/other`;
    const s = await runCli(["add", "-f", file, "-f", other, "-p", "-"], {
      env: spool.env,
      stdin: "foobar2",
    });
    assert.deepEqual(s.code, 0);
    assert.deepEqual(hex((await readBytes(other))!), FOOBAR2);
    // No temp files left beside them.
    assert.deepEqual((await listTree(spool.root)).filter((p) => p.endsWith(".tmp")), []);
  });
});

Deno.test("-f FILE refuses a symlink at FILE and reports upstream's error line", async () => {
  await withSpool(async (spool) => {
    const target = `${spool.root}/target`;
    await Deno.writeTextFile(target, "keep");
    const link = `${spool.root}/link`;
    await Deno.symlink(target, link);
    const r = await runCli(["-f", link, "-p", "-"], { env: spool.env, stdin: "foobar2" });
    assert.deepEqual(r.code, 1);
    assert.deepEqual(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^error writing password file: ${link}\nERROR: refusing`));
    assert.deepEqual(await Deno.readTextFile(target), "keep");
    assert.deepEqual((await Deno.lstat(link)).isSymlink, true);
  });
});

Deno.test("sealed user passwords: add, query, delete, and a copied file does not open", async () => {
  await withSpool(async (spool) => {
    const add = await runCli(["add", "-p", "-"], { env: spool.env, stdin: "s3cret" });
    assert.deepEqual(add, { code: 0, stdout: `${ROOT_HEADER}Operation succeeded.\n`, stderr: "" });
    const sealed = `${spool.pwd}/root@test.example.pwd`;
    const bytes = (await readBytes(sealed))!;
    assert.deepEqual(new TextDecoder().decode(bytes.subarray(0, 8)), "CSCSEAL1");
    assert.deepEqual(new TextDecoder().decode(bytes).includes("s3cret"), false);
    assert.deepEqual(await modeOf(sealed), 0o600);
    assert.deepEqual(await modeOf(`${spool.pwd}/host.key`), 0o400);
    assert.deepEqual((await readBytes(`${spool.pwd}/host.key`))!.length, 32);

    const query = await runCli(["query-pwd"], { env: spool.env });
    assert.deepEqual(query, {
      code: 0,
      stdout: `${ROOT_HEADER}A credential was stored and is valid.\n`,
      stderr: "",
    });
    // Each write uses a fresh nonce.
    await runCli(["add", "-p", "-"], { env: spool.env, stdin: "s3cret" });
    assert.notEqual(hex((await readBytes(sealed))!), hex(bytes));

    // The account is bound as associated data: a copy under bob's name does not open.
    await Deno.copyFile(sealed, `${spool.pwd}/bob@test.example.pwd`);
    const bob = await runCli(["query", "-u", "bob@test.example"], { env: spool.env });
    assert.deepEqual(bob.code, 1);
    assert.deepEqual(
      bob.stdout,
      "Account: bob@test.example\nCredType: password\n\n" +
        "A credential is stored, but it is invalid. Run 'condor_store_cred add' again.\n",
    );

    const del = await runCli(["delete"], { env: spool.env });
    assert.deepEqual(del, { code: 0, stdout: `${ROOT_HEADER}Operation succeeded.\n`, stderr: "" });
    const gone = await runCli(["query"], { env: spool.env });
    assert.deepEqual(gone, {
      code: 1,
      stdout: `${ROOT_HEADER}No credential is stored.\n`,
      stderr: "",
    });
    const again = await runCli(["delete-pwd"], { env: spool.env });
    assert.deepEqual(again.stdout, `${ROOT_HEADER}Operation failed: username not found.\n`);
    assert.deepEqual(again.code, 1);
  });
});

Deno.test("legacy add with OAuth options is refused as bad arguments, reading nothing", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add", "-s", "foo", "-p", "-"], { env: spool.env, stdin: "x" });
    assert.deepEqual(r.code, 1);
    assert.deepEqual(r.stdout, ROOT_HEADER);
    assert.match(r.stderr, /^Operation aborted due to missing or bad arguments\n/);
    assert.deepEqual(await readBytes(`${spool.pwd}/root@test.example.pwd`), null);
  });
});

Deno.test("query -u condor_pool@domain reads the pool file and never changes it", async () => {
  await withSpool(async (spool) => {
    const pool = ["-u", "condor_pool@test.example"];
    const none = await runCli(["query", ...pool], { env: spool.env });
    assert.deepEqual(none, {
      code: 1,
      stdout: `${POOL_HEADER}No credential is stored.\n`,
      stderr: "",
    });
    await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "foobar2" });
    const before = await snapshot(spool.root);
    const found = await runCli(["query-pwd", ...pool], { env: spool.env });
    assert.deepEqual(found, {
      code: 0,
      stdout: `${POOL_HEADER}A credential was stored and is valid.\n`,
      stderr: "",
    });
    assert.equal(await snapshot(spool.root), before);
    assert.equal(hex((await readBytes(spool.pool))!), FOOBAR2);
    // An old zero-padded file reads the same.
    const legacy = new Uint8Array(256);
    legacy.set([0xb8, 0xc2, 0xd1, 0x8d, 0xbf, 0xdf, 0x8c]);
    await Deno.writeFile(spool.pool, legacy, { mode: 0o600 });
    assert.equal((await runCli(["query", ...pool], { env: spool.env })).code, 0);
    const deleted = await runCli(["delete", ...pool], { env: spool.env });
    assert.equal(deleted.stdout, `${POOL_HEADER}Operation succeeded.\n`);
    assert.equal(await readBytes(spool.pool), null);
  });
});

Deno.test("the pool account is refused for Kerberos and OAuth, with -c or -u condor_pool@", async () => {
  await withSpool(async (spool) => {
    for (const who of [["-c"], ["-u", "condor_pool@test.example"]]) {
      for (const args of [["add-krb", "-i", "-"], ["delete-oauth", "-s", "s"]]) {
        const r = await runCli([...args, ...who], { env: spool.env, stdin: "t" });
        assert.equal(r.code, 1, args.join(" "));
        assert.equal(
          r.stderr,
          "Operation aborted due to missing or bad arguments\n    the pool account " +
            "(condor_pool) only has a password; it cannot be used with the kerberos or oauth type\n",
        );
      }
    }
    assert.equal((await listTree(spool.root)).some((p) => p.startsWith("spool")), false);
  });
});
