/**
 * Black-box tests of configuration as the program sees it (README "Configuration"): CONDOR_CONFIG
 * errors, broken files naming file and line, macros, includes, LOCAL_CONFIG_DIR, `_CONDOR_`
 * overrides, `use feature:OAUTH`, and the configuration-error result.
 */

import assert from "node:assert/strict";
import { nonRootUsers, readText, runCli, withSpool } from "../testing/harness.ts";
import { NEEDS_ROOT } from "../testing/users.ts";

Deno.test("CONDOR_CONFIG naming a missing file or a directory is a clear error", async () => {
  await withSpool(async (spool) => {
    const missing = await runCli(["query-krb"], {
      env: { ...spool.env, CONDOR_CONFIG: `${spool.root}/nope` },
    });
    assert.deepEqual(missing, {
      code: 1,
      stdout: "",
      stderr: `File specified in CONDOR_CONFIG environment variable:\n"${spool.root}/nope" ` +
        "does not exist.\n",
    });
    const dir = await runCli(["query-krb"], { env: { ...spool.env, CONDOR_CONFIG: spool.root } });
    assert.equal(
      dir.stderr,
      `File specified in CONDOR_CONFIG environment variable:\n"${spool.root}" is a directory.  ` +
        "Please specify a file.\n",
    );
    assert.equal(dir.code, 1);
  });
});

Deno.test("a broken configuration file is reported with file and line, exit 1", async () => {
  await withSpool(async (spool) => {
    const cases: [string, RegExp][] = [
      ["GOOD = 1\nBAD! = 2\n", /Line 2: Illegal Identifier: <?BAD!>?/],
      ["A = $(B\n", /Line 1: .*unterminated/i],
      ["A = x \\\n", /Line 1: .*continuation/i],
    ];
    for (const [text, pattern] of cases) {
      await Deno.writeTextFile(spool.config, text);
      const r = await runCli(["query-krb"], { env: spool.env });
      assert.equal(r.code, 1, text);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, new RegExp(`"${spool.config}"`), text);
      assert.match(r.stderr, pattern, text);
    }
  });
});

Deno.test("recursive macros in a used knob are a clear error", async () => {
  await withSpool(async (spool) => {
    await Deno.writeTextFile(
      spool.config,
      "SEC_CREDENTIAL_DIRECTORY_KRB = $(LOOP)\nLOOP = $(SEC_CREDENTIAL_DIRECTORY_KRB)\n",
    );
    const r = await runCli(["query-krb"], { env: spool.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /SEC_CREDENTIAL_DIRECTORY_KRB/);
    assert.match(r.stderr, /recursi/i);
  });
});

Deno.test("an unset credential directory is upstream's configuration error with the fix", async () => {
  await withSpool(async (spool) => {
    await Deno.writeTextFile(spool.config, "UID_DOMAIN = test.example\n");
    const r = await runCli(["query-oauth"], { env: spool.env });
    assert.deepEqual(r, {
      code: 1,
      stdout: "Account: <current> (root)\nCredType: oauth\n\n",
      stderr: "Operation failed because of a configuration error\n" +
        '    SEC_CREDENTIAL_DIRECTORY_OAUTH is not set; add "use feature:OAUTH" to the HTCondor ' +
        "configuration (or set the environment variable _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH)\n",
    });
  });
});

Deno.test("use feature:OAUTH sets the OAuth directory", async () => {
  await withSpool(async (spool) => {
    await Deno.writeTextFile(spool.config, "UID_DOMAIN = test.example\nuse feature : OAuth\n");
    // A user nobody has: the packaged directory is consulted (no configuration error) and
    // holds nothing for them, whether or not it exists on this machine.
    const user = `csc-nobody-${crypto.randomUUID().slice(0, 8)}@test.example`;
    const r = await runCli(["query-oauth", "-u", user], { env: spool.env });
    assert.deepEqual(r, {
      code: 1,
      stdout: `Account: ${user}\nCredType: oauth\n\nNo credential is stored.\n`,
      stderr: "",
    });
  });
});

Deno.test("macros, includes, LOCAL_CONFIG_DIR and _CONDOR_ overrides decide where files go", async () => {
  await withSpool(async (spool) => {
    const base = `${spool.root}/elsewhere`;
    await Deno.mkdir(`${spool.root}/config.d`);
    await Deno.writeTextFile(
      spool.config,
      [
        `BASE = ${base}`,
        "UID_DOMAIN = test.example",
        `include : ${spool.root}/included`,
        `LOCAL_CONFIG_DIR = ${spool.root}/config.d`,
        "",
      ].join("\n"),
    );
    await Deno.writeTextFile(
      `${spool.root}/included`,
      "SEC_CREDENTIAL_DIRECTORY_OAUTH = $(BASE)/\\\n    oauth\n",
    );
    await Deno.writeTextFile(
      `${spool.root}/config.d/10-krb`,
      "SEC_CREDENTIAL_DIRECTORY_KRB = $(BASE)/krb1\n",
    );
    await Deno.writeTextFile(
      `${spool.root}/config.d/20-krb`,
      "SEC_CREDENTIAL_DIRECTORY_KRB = $(BASE)/krb2\n",
    );
    await Deno.writeTextFile(
      `${spool.root}/config.d/30-ignored.rpmsave`,
      "SEC_CREDENTIAL_DIRECTORY_KRB = /nowhere\n",
    );

    const oauth = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: spool.env,
      stdin: "t",
    });
    assert.equal(oauth.code, 0, oauth.stderr);
    assert.equal(await readText(`${base}/oauth/root/s.use`), "t");

    const krb = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "k" });
    assert.equal(krb.code, 0, krb.stderr);
    assert.equal(await readText(`${base}/krb2/root.cred`), "k");

    const override = await runCli(["add-krb", "-i", "-"], {
      env: { ...spool.env, _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: `${base}/krb3` },
      stdin: "k3",
    });
    assert.equal(override.code, 0, override.stderr);
    assert.equal(await readText(`${base}/krb3/root.cred`), "k3");

    // TOOL.<knob> in a file beats _CONDOR_<knob> (docs/upstream.md "Output").
    await Deno.writeTextFile(
      `${spool.root}/config.d/40-tool`,
      "TOOL.SEC_CREDENTIAL_DIRECTORY_KRB = $(BASE)/krb4\n",
    );
    const tool = await runCli(["add-krb", "-i", "-"], {
      env: { ...spool.env, _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: `${base}/krb3` },
      stdin: "k4",
    });
    assert.equal(tool.code, 0, tool.stderr);
    assert.equal(await readText(`${base}/krb4/root.cred`), "k4");
  });
});

Deno.test("a relative credential directory is refused with the knob's origin", async () => {
  await withSpool(async (spool) => {
    await Deno.writeTextFile(spool.config, "SEC_CREDENTIAL_DIRECTORY_KRB = relative/krb\n");
    const r = await runCli(["query-krb"], { env: spool.env });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /SEC_CREDENTIAL_DIRECTORY_KRB is "relative\/krb" \(from .*condor_config.*line 1.*\); it must be an absolute path/,
    );
  });
});

Deno.test({
  name: "an unreadable CONDOR_CONFIG is upstream's error (as a non-root user) (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const users = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      await Deno.chmod(spool.config, 0o600);
      const r = await runCli(["query-krb"], { env: spool.env, user: users[0] });
      assert.deepEqual(r, {
        code: 1,
        stdout: "",
        stderr: `ERROR: Can't read global config source ${spool.config}\n`,
      });
    });
  },
});
