/**
 * Black-box tests of OAuth credentials (docs/upstream.md "OAuth", deviation 10): `.top`/`.use`,
 * handles, `-S`/`-A` merging, the exact exit-2 mismatch rule, deletes, TRUSTED_VAULT_HOSTS, mark
 * files.
 */

import assert from "node:assert/strict";
import {
  exists,
  listTree,
  localTime,
  modeOf,
  readText,
  runCli,
  type Spool,
  startCredmon,
  withSpool,
} from "../testing/harness.ts";

const HEADER = "Account: <current> (root)\nCredType: oauth\n\n";
const FQU = 'fully_qualified_user = "root@test.example"';
const INFO = `\nCredential info:\n${FQU}\n\n`;

const seconds = (info: Deno.FileInfo) => Math.floor(info.mtime!.getTime() / 1000);

function add(spool: Spool, args: string[], stdin: string) {
  return runCli(["add-oauth", ...args, "-i", "-"], { env: spool.env, stdin });
}

Deno.test("add-oauth -P stores an access token as <service>.use with its time", async () => {
  await withSpool(async (spool) => {
    const r = await add(spool, ["-s", "demo", "-P"], "access-token-bytes\n");
    const use = `${spool.oauth}/root/demo.use`;
    const t = localTime(seconds(await Deno.stat(use)), "UTC");
    assert.deepEqual(r, {
      code: 0,
      stdout: `${HEADER}Operation succeeded. Credential was stored on ${t}\n${INFO}`,
      stderr: "",
    });
    assert.deepEqual(await readText(use), "access-token-bytes\n");
    assert.deepEqual(await modeOf(use), 0o600);
    assert.deepEqual(await modeOf(`${spool.oauth}/root`), 0o700);
    assert.deepEqual(await modeOf(spool.oauth), 0o700);
    assert.deepEqual(await listTree(spool.oauth), [
      ".locks/",
      ".locks/root.lock",
      "root/",
      "root/demo.use",
    ]);
  });
});

Deno.test("add-oauth without -P writes .top, signals the credmon and is pending", async () => {
  await withSpool(async (spool) => {
    const credmon = await startCredmon(spool.oauth, {
      mode: "oauth",
      log: `${spool.root}/credmon.log`,
      ignore: true,
    });
    try {
      const r = await add(spool, ["-s", "scitokens"], '{"refresh_token":"r1"}');
      assert.deepEqual(r, {
        code: 0,
        stdout: `${HEADER}Operation succeeded and is waiting for processing.\n${INFO}`,
        stderr: "",
      });
      assert.deepEqual(
        await readText(`${spool.oauth}/root/scitokens.top`),
        '{"refresh_token":"r1"}',
      );
      assert.deepEqual(await credmon.hupsReach(1), 1);

      // With a .use already there: the old .use time, and no signal (docs/upstream.md "OAuth").
      await Deno.writeTextFile(`${spool.oauth}/root/scitokens.use`, "AT", { mode: 0o400 });
      const useTime = seconds(await Deno.stat(`${spool.oauth}/root/scitokens.use`));
      const again = await add(spool, ["-s", "scitokens"], '{"refresh_token":"r2"}');
      assert.deepEqual(
        again.stdout,
        `${HEADER}Operation succeeded. Credential was stored on ${
          localTime(useTime, "UTC")
        }\n${INFO}`,
      );
      assert.deepEqual(
        await readText(`${spool.oauth}/root/scitokens.top`),
        '{"refresh_token":"r2"}',
      );
      assert.deepEqual(await credmon.hupsReach(1), 1);
    } finally {
      await credmon.stop();
    }
  });
});

Deno.test("handles name <service>_<handle>; -H without -s is ignored on query", async () => {
  await withSpool(async (spool) => {
    const r = await add(spool, ["-s", "svc", "-H", "h1", "-P"], "tok");
    assert.deepEqual(r.code, 0);
    assert.deepEqual(await readText(`${spool.oauth}/root/svc_h1.use`), "tok");
    const q = await runCli(["query-oauth", "-H", "h1"], { env: spool.env });
    assert.deepEqual(q.code, 0);
    assert.match(q.stdout, /svc_h1\.use = \d+\n/);
  });
});

Deno.test("-S and -A merge into a JSON .top, replacing keys case-insensitively", async () => {
  await withSpool(async (spool) => {
    const r = await add(
      spool,
      ["-s", "vault", "-S", "read:/a,write:/b", "-A", "https://aud"],
      '{"vault_token":"v","Scopes":"old","n":1}',
    );
    assert.deepEqual(r.code, 0);
    assert.deepEqual(
      await readText(`${spool.oauth}/root/vault.top`),
      '{\n  "vault_token": "v",\n  "n": 1,\n  "scopes": "read:/a,write:/b",\n' +
        '  "audience": "https://aud"\n}\n',
    );
  });
});

Deno.test("-S keeps nested values as given, white space removed: the bytes written stay near the input's", async () => {
  await withSpool(async (spool) => {
    // 6 KB of nested arrays used to be written indented, as megabytes.
    const depth = 3000;
    const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const input = `{ "refresh_token" : "r",\n  "a": ${nested},\n "b" : { "c" : [ 1 , "x y" , ` +
      `{"d": null} ] }, "e": "\\u0041\\n" }`;
    const r = await add(spool, ["-s", "svc", "-S", "read:/"], input);
    assert.equal(r.code, 0, r.stderr);
    const written = await Deno.readFile(`${spool.oauth}/root/svc.top`);
    assert.equal(
      new TextDecoder().decode(written),
      `{\n  "refresh_token": "r",\n  "a": ${nested},\n  "b": {"c":[1,"x y",{"d":null}]},\n` +
        `  "e": "\\u0041\\n",\n  "scopes": "read:/"\n}\n`,
    );
    assert.ok(written.length < input.length + 40, `${written.length} bytes written`);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(written)).b, {
      c: [1, "x y", { d: null }],
    });
  });
});

Deno.test("-S refuses a result over the 1 MiB limit with a clear message, and stores nothing", async () => {
  await withSpool(async (spool) => {
    await add(spool, ["-s", "svc"], '{"old":"kept"}');
    const before = await readText(`${spool.oauth}/root/svc.top`);
    // Exactly the input limit: the credential is accepted, the merged result would exceed it.
    const input = `{"refresh_token":"${"t".repeat(1024 * 1024 - 20)}"}`;
    assert.equal(input.length, 1024 * 1024);
    const r = await add(spool, ["-s", "svc", "-S", "read:/", "-A", "aud"], input);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, HEADER);
    assert.equal(
      r.stderr,
      `ERROR: with the scopes and audience added, the credential for "${spool.oauth}/root/svc.top" ` +
        "would be larger than 1048576 bytes, the most a credential may be; store a smaller one\n",
    );
    assert.equal(await readText(`${spool.oauth}/root/svc.top`), before);
    assert.deepEqual(await listTree(`${spool.oauth}/root`), ["svc.top"]);
    // Just under: stored, and the bytes on disk are within the limit.
    const fits = `{"refresh_token":"${"t".repeat(1024 * 1024 - 80)}"}`;
    const ok = await add(spool, ["-s", "svc", "-S", "read:/", "-A", "aud"], fits);
    assert.equal(ok.code, 0, ok.stderr);
    const size = (await Deno.stat(`${spool.oauth}/root/svc.top`)).size;
    assert.ok(size <= 1024 * 1024, `${size} bytes written`);
  });
});

Deno.test("-S with a non-JSON credential fails with upstream's JSON error and stores nothing", async () => {
  await withSpool(async (spool) => {
    for (const body of ["not json", "[1,2]", "null", '"str"']) {
      const r = await add(spool, ["-s", "svc", "-S", "x"], body);
      assert.deepEqual(r.code, 1, body);
      assert.deepEqual(r.stdout, HEADER);
      assert.match(r.stderr, /^Failure parsing credential as JSON\n {4}-S and -A need/);
    }
    assert.deepEqual(await exists(`${spool.oauth}/root/svc.top`), false);
  });
});

Deno.test("query-oauth -s compares scopes and audience exactly (exit 0, 1, 2)", async () => {
  await withSpool(async (spool) => {
    await add(spool, ["-s", "v", "-S", "a,b", "-A", "aud"], '{"vault_token":"t"}');
    const q = (...args: string[]) =>
      runCli(["query-oauth", "-s", "v", ...args], { env: spool.env });
    const top = await Deno.stat(`${spool.oauth}/root/v.top`);
    const pending = {
      code: 0,
      stdout: `${HEADER}A credential was stored and is waiting for processing.\n\n` +
        `Credential info:\nTopvTime = ${seconds(top)}\n${FQU}\n\n`,
      stderr: "",
    };
    assert.deepEqual(await q("-S", "a,b", "-A", "aud"), pending);
    const mismatch = {
      code: 2,
      stdout: HEADER,
      stderr: "Credential was found but it did not match requested scopes or audience\n",
    };
    for (
      const args of [[], ["-S", "a,b"], ["-S", "a, b", "-A", "aud"], ["-S", "A,B", "-A", "aud"]]
    ) {
      const r = await q(...args);
      assert.deepEqual(r.code, 2, JSON.stringify(args));
      assert.deepEqual(r.stdout, mismatch.stdout);
      assert.deepEqual(r.stderr.split("\n")[0] + "\n", mismatch.stderr);
    }
    // With a .use, found and valid.
    await Deno.writeTextFile(`${spool.oauth}/root/v.use`, "AT", { mode: 0o400 });
    const use = await Deno.stat(`${spool.oauth}/root/v.use`);
    assert.deepEqual(await q("-S", "a,b", "-A", "aud"), {
      code: 0,
      stdout: `${HEADER}A credential was stored and is valid.\n\n` +
        `Credential info:\nTopvTime = ${seconds(top)}\n${FQU}\nv = ${seconds(use)}\n\n`,
      stderr: "",
    });
    const none = await runCli(["query-oauth", "-s", "other"], { env: spool.env });
    assert.deepEqual(none, { code: 1, stdout: `${HEADER}No credential is stored.\n`, stderr: "" });
  });
});

Deno.test("a non-JSON .top has empty scopes and audience (deviation 10)", async () => {
  await withSpool(async (spool) => {
    await add(spool, ["-s", "local"], "alice");
    const plain = await runCli(["query-oauth", "-s", "local"], { env: spool.env });
    assert.deepEqual(plain.code, 0);
    assert.match(plain.stdout, /waiting for processing/);
    const withScopes = await runCli(["query-oauth", "-s", "local", "-S", "x"], { env: spool.env });
    assert.deepEqual(withScopes.code, 2);
  });
});

Deno.test("a .top whose scopes are not a string is a clear JSON error", async () => {
  await withSpool(async (spool) => {
    await add(spool, ["-s", "odd"], '{"scopes":["a"],"refresh_token":"r"}');
    const r = await runCli(["query-oauth", "-s", "odd"], { env: spool.env });
    assert.deepEqual(r.code, 1);
    assert.match(
      r.stderr,
      /^Failure parsing credential as JSON\n {4}the scopes in .* is a JSON array/,
    );
  });
});

Deno.test("query-oauth without -s lists every .top and .use", async () => {
  await withSpool(async (spool) => {
    const none = await runCli(["query-oauth"], { env: spool.env });
    assert.deepEqual(none, { code: 1, stdout: `${HEADER}No credential is stored.\n`, stderr: "" });
    await add(spool, ["-s", "a", "-P"], "x");
    const valid = await runCli(["query-oauth"], { env: spool.env });
    const a = seconds(await Deno.stat(`${spool.oauth}/root/a.use`));
    assert.deepEqual(valid, {
      code: 0,
      stdout: `${HEADER}A credential was stored and is valid.\n\nCredential info:\n` +
        `a.use = ${a}\n${FQU}\n\n`,
      stderr: "",
    });
    await add(spool, ["-s", "b"], "seed");
    const b = seconds(await Deno.stat(`${spool.oauth}/root/b.top`));
    const pending = await runCli(["query-oauth"], { env: spool.env });
    assert.deepEqual(
      pending.stdout,
      `${HEADER}A credential was stored and is waiting for processing.\n\n` +
        `Credential info:\na.use = ${a}\nb.top = ${b}\n${FQU}\n\n`,
    );
  });
});

Deno.test("delete-oauth -s removes .top and .use but keeps .meta; without -s removes all", async () => {
  await withSpool(async (spool) => {
    await add(spool, ["-s", "s1"], "seed");
    await add(spool, ["-s", "s1", "-P"], "at");
    await add(spool, ["-s", "s2", "-P"], "at");
    await Deno.writeTextFile(`${spool.oauth}/root/s1.meta`, "{}", { mode: 0o600 });
    const d = await runCli(["delete-oauth", "-s", "s1"], { env: spool.env });
    assert.deepEqual(d, { code: 0, stdout: `${HEADER}Operation succeeded.\n${INFO}`, stderr: "" });
    assert.deepEqual(await listTree(`${spool.oauth}/root`), ["s1.meta", "s2.use"]);
    const all = await runCli(["delete-oauth"], { env: spool.env });
    assert.deepEqual(all.code, 0);
    assert.deepEqual(await exists(`${spool.oauth}/root`), false);
    const again = await runCli(["delete-oauth"], { env: spool.env });
    assert.deepEqual(again, {
      code: 0,
      stdout: `${HEADER}Operation succeeded.\n${INFO}`,
      stderr: "",
    });
  });
});

Deno.test("TRUSTED_VAULT_HOSTS refuses a Vault token for another host", async () => {
  await withSpool(async (spool) => {
    const env = { ...spool.env, _CONDOR_TRUSTED_VAULT_HOSTS: "vault.example.org, other.example" };
    const bad = await runCli(["add-oauth", "-s", "v", "-i", "-"], {
      env,
      stdin: '{"vault_token":"t","vault_url":"https://evil.example:8200/v1"}',
    });
    assert.deepEqual(bad.code, 1);
    assert.deepEqual(bad.stdout, HEADER);
    assert.match(
      bad.stderr,
      /^Credential requires interacting with an untrusted host\n {4}the Vault host "evil\.example"/,
    );
    assert.deepEqual(await exists(`${spool.oauth}/root/v.top`), false);
    const good = await runCli(["add-oauth", "-s", "v", "-i", "-"], {
      env,
      stdin: '{"vault_token":"t","vault_url":"https://VAULT.example.org:8200"}',
    });
    assert.deepEqual(good.code, 0);
  });
});

Deno.test("every OAuth operation removes <user>.mark", async () => {
  await withSpool(async (spool) => {
    await add(spool, ["-s", "s", "-P"], "t");
    for (
      const args of [["query-oauth"], ["add-oauth", "-s", "s", "-P", "-i", "-"], [
        "delete-oauth",
        "-s",
        "s",
      ]]
    ) {
      await Deno.writeTextFile(`${spool.oauth}/root.mark`, "", { mode: 0o600 });
      await runCli(args, { env: spool.env, stdin: "t" });
      assert.deepEqual(await exists(`${spool.oauth}/root.mark`), false, args.join(" "));
    }
  });
});

Deno.test("service and handle names are checked; nothing is written", async () => {
  await withSpool(async (spool) => {
    for (
      const args of [["-s", "a/b"], ["-s", ".."], ["-s", ""], ["-s", "ok", "-H", "x y"], [
        "-s",
        "é",
      ]]
    ) {
      const r = await add(spool, args, "t");
      assert.deepEqual(r.code, 1, JSON.stringify(args));
      assert.match(
        r.stderr,
        /^Operation aborted due to missing or bad arguments\n {4}the (service|handle) name/,
      );
    }
    assert.deepEqual(await exists(spool.oauth), false);
  });
});

Deno.test("the credmon stand-in turns .top into .use; query then reports valid", async () => {
  await withSpool(async (spool) => {
    const credmon = await startCredmon(spool.oauth, { mode: "oauth", log: `${spool.root}/log` });
    try {
      await add(spool, ["-s", "scitokens"], "seed");
      for (let i = 0; i < 100 && !(await exists(`${spool.oauth}/root/scitokens.use`)); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const q = await runCli(["query-oauth", "-s", "scitokens"], { env: spool.env });
      assert.deepEqual(q.code, 0);
      assert.match(q.stdout, /A credential was stored and is valid\./);
    } finally {
      await credmon.stop();
    }
  });
});

Deno.test("a service named like a Credential info field never hides or overwrites it, in text or JSON", async () => {
  await withSpool(async (spool) => {
    const claims = btoa(JSON.stringify({ exp: 2000000000 })).replace(/=+$/, "");
    const jwt = `eyJhbGciOiJFUzI1NiJ9.${claims}.c2ln`;
    for (
      const [service, token] of [
        ["fully_qualified_user", "t"],
        ["FULLY_QUALIFIED_USER", "t"],
        ["TokenExpires", jwt],
        ["tokenexpires", jwt],
        ["__proto__", "t"],
      ]
    ) {
      assert.equal((await add(spool, ["-s", service, "-P"], token)).code, 0, service);
      const use = seconds(await Deno.stat(`${spool.oauth}/root/${service}.use`));
      const r = await runCli(["query-oauth", "-s", service], { env: spool.env });
      assert.equal(r.code, 0, r.stderr);
      // Upstream's `<service> = <time>` line, named after its file when the service's name is
      // one of the result's own attributes.
      const own = service === "__proto__" ? service : `${service}.use`;
      const lines = [`${own} = ${use}`, FQU];
      if (token === jwt) lines.push("TokenExpires = 2000000000");
      const info = r.stdout.split("Credential info:\n")[1];
      assert.deepEqual(info.trimEnd().split("\n").sort(), lines.sort(), r.stdout);
      const json = JSON.parse(
        (await runCli(["query-oauth", "-s", service, "--json"], { env: spool.env })).stdout,
      );
      assert.equal(json.info.caller, "root@test.example", service);
      assert.deepEqual(json.info.ad, { [own]: use }, service);
      assert.equal(json.info.expires_unix, token === jwt ? 2000000000 : null, service);
    }
    // The usual names keep upstream's byte-exact block.
    await add(spool, ["-s", "scitokens", "-P"], "t");
    const t = seconds(await Deno.stat(`${spool.oauth}/root/scitokens.use`));
    const usual = await runCli(["query-oauth", "-s", "scitokens"], { env: spool.env });
    assert.equal(
      usual.stdout,
      `${HEADER}A credential was stored and is valid.\n\nCredential info:\n${FQU}\nscitokens = ${t}\n\n`,
    );
  });
});
