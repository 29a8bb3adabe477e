/**
 * A CI job's IDTOKEN without a file (README "Remote daemons", issue 21 item 11, issue 20 items 10
 * and 11): from the environment variable CONDOR_STORE_CRED_IDTOKEN or from standard input
 * (`--token-file -`), never from argv; a token file the client skips is named in the error with
 * the reason; `token create -o FILE` writes the file 0600 (atomically, never through a link) and
 * a token without -lifetime is created with a warning. Against a real TLS daemon on loopback, the
 * client a real non-root user.
 */

import assert from "node:assert/strict";
import { modeOf, readText, runCli, withSpool } from "../testing/harness.ts";
import { withRemote } from "../testing/remote.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";

const DOMAIN = "test.example";
const VARIABLE = "CONDOR_STORE_CRED_IDTOKEN";

Deno.test({
  name: "the IDTOKEN comes from CONDOR_STORE_CRED_IDTOKEN or from standard input with " +
    "--token-file - (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withRemote(async (remote) => {
      const token = await remote.token(["-identity", `csc_tester@${DOMAIN}`, "-lifetime", "600"]);
      const other = await remote.python(["--key", "not-the-pool-key", "--sub", "x@y"]).catch(
        () => "",
      );
      // From the environment: nothing on the command line names it.
      const add = await remote.run(["add-oauth", "-s", "ci", "-P", "-i", "-"], {
        env: { [VARIABLE]: token },
        stdin: "access",
        user: tester,
      });
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, /fully_qualified_user = "csc_tester@test\.example"/);
      assert.equal(await readText(`${remote.spool.oauth}/csc_tester/ci.use`), "access");
      // From standard input, for a command whose credential does not read it.
      const query = await remote.run(["query-oauth", "-s", "ci", "--token-file", "-"], {
        stdin: `${token}\n`,
        user: tester,
      });
      assert.equal(query.code, 0, query.stderr);
      assert.match(query.stdout, /A credential was stored and is valid\./);
      // --token-file wins over the environment.
      const wins = await remote.run(["query-oauth", "-s", "ci", "--token-file", "-"], {
        env: { [VARIABLE]: "not-a-token" },
        stdin: token,
        user: tester,
      });
      assert.equal(wins.code, 0, wins.stderr);
      // A variable whose token does not fit is named in the error.
      const bad = await remote.run(["query-oauth", "-s", "ci"], {
        env: { [VARIABLE]: other || "not-a-token" },
        user: tester,
      });
      assert.equal(bad.code, 1);
      assert.match(
        bad.stderr,
        /cannot prove who you are to the daemon at 127\.0\.0\.1:\d+: no IDTOKEN in the environment variable CONDOR_STORE_CRED_IDTOKEN is for the trust domain "test\.example"/,
      );
      const none = await remote.run(["query-oauth", "-s", "ci", "--token-file", "-"], {
        user: tester,
      });
      assert.match(none.stderr, /no IDTOKEN found on standard input/);
      // One standard input cannot carry both the IDTOKEN and the credential.
      for (
        const args of [
          ["add-oauth", "-s", "ci", "-P", "-i", "-"],
          ["add-oauth", "-s", "ci", "-P", "-i", "/dev/stdin"],
          ["add", "-p", "-"],
          ["add"],
        ]
      ) {
        const both = await remote.run([...args, "--token-file", "-"], {
          stdin: token,
          user: tester,
        });
        assert.equal(both.code, 1, args.join(" "));
        assert.equal(both.stdout, "");
        assert.match(
          both.stderr,
          /^ERROR: --token-file - reads the IDTOKEN from standard input, and so does this add's credential; give the credential with -i FILE, or the IDTOKEN in a file or in CONDOR_STORE_CRED_IDTOKEN\n$/,
          args.join(" "),
        );
      }
      // ... but a credential from a file can come with the token on standard input.
      const file = `${remote.spool.root}/home/access`;
      await Deno.chown(`${remote.spool.root}/home`, tester.uid, tester.gid);
      await Deno.writeTextFile(file, "from-a-file", { mode: 0o600 });
      await Deno.chown(file, tester.uid, tester.gid);
      const fromFile = await remote.run(
        ["add-oauth", "-s", "ci", "-P", "-i", file, "--token-file", "-"],
        { stdin: token, user: tester },
      );
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal(await readText(`${remote.spool.oauth}/csc_tester/ci.use`), "from-a-file");
      // The daemon's log never shows the token.
      assert.doesNotMatch(remote.daemon.log(), new RegExp(token.split(".")[2]));
    });
  },
});

Deno.test({
  name: "a token file the client skips is named in the error with why, without -d (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withRemote(async (remote) => {
      const token = await remote.token(["-identity", `csc_tester@${DOMAIN}`, "-lifetime", "600"]);
      const dir = `${remote.spool.root}/home/tokens.d`;
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      for (const d of [`${remote.spool.root}/home`, dir]) {
        await Deno.chown(d, tester.uid, tester.gid);
      }
      // What `token create > file` leaves under umask 022.
      await Deno.writeTextFile(`${dir}/ci`, `${token}\n`, { mode: 0o644 });
      await Deno.chmod(`${dir}/ci`, 0o644);
      await Deno.chown(`${dir}/ci`, tester.uid, tester.gid);
      await Deno.writeTextFile(`${dir}/ci.sh`, `${token}\n`, { mode: 0o600 });
      await Deno.chown(`${dir}/ci.sh`, tester.uid, tester.gid);
      const env = { _CONDOR_SEC_TOKEN_DIRECTORY: dir };
      const r = await remote.run(["query-oauth"], { env, user: tester });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        "Operation aborted because communication was not secure\n" +
          `    cannot prove who you are to the daemon at 127.0.0.1:${remote.port}: no IDTOKEN ` +
          `found in "${dir}"; skipped "${dir}/ci": its mode 0644 gives access to group or ` +
          `others (run "chmod 600 ${dir}/ci" if you trust its content, or remove it); skipped ` +
          `"${dir}/ci.sh": its name is excluded by LOCAL_CONFIG_DIR_EXCLUDE_REGEXP; ask the ` +
          "pool's administrator for a token (condor_store_cred token create, or " +
          "condor_token_create) and put it in your token directory (mode 0600), name it with " +
          "--token-file, or set CONDOR_STORE_CRED_IDTOKEN\n",
      );
      // Fixed as the error says, the same directory works.
      await Deno.chmod(`${dir}/ci`, 0o600);
      const fixed = await remote.run(["query-oauth"], { env, user: tester });
      assert.match(fixed.stdout, /No credential is stored\./, fixed.stderr);
    });
  },
});

Deno.test({
  name: "token create -o FILE writes it 0600 atomically and never through a link; without " +
    "-lifetime it warns that the token never expires (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withSpool(async (spool) => {
      const pool = await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "key" });
      assert.equal(pool.code, 0, pool.stderr);
      const file = `${spool.root}/ci.token`;
      // An old world-readable file there is replaced, not reused.
      await Deno.writeTextFile(file, "old\n", { mode: 0o644 });
      const args = ["token", "create", "-identity", `ci@${DOMAIN}`, "-lifetime", "3600"];
      const r = await runCli([...args, "-o", file], { env: spool.env });
      assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
      assert.equal(await modeOf(file), 0o600);
      const written = (await readText(file))!;
      assert.match(written, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const claims = JSON.parse(atob(written.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      assert.equal(claims.sub, `ci@${DOMAIN}`);
      assert.equal(claims.exp - claims.iat, 3600);
      // A symbolic link at FILE is refused; what it points to is untouched.
      const target = `${spool.root}/target`;
      await Deno.writeTextFile(target, "keep");
      const link = `${spool.root}/link.token`;
      await Deno.symlink(target, link);
      const refused = await runCli([...args, "--output", link], { env: spool.env });
      assert.equal(refused.code, 1);
      assert.equal(refused.stdout, "");
      assert.match(
        refused.stderr,
        /^ERROR: refusing to use ".*link\.token": it is a symbolic link/,
      );
      assert.equal(await readText(target), "keep");
      // No -lifetime: the token is made, and a warning says it never expires.
      const forever = await runCli(["token", "create", "-identity", `ci@${DOMAIN}`], {
        env: spool.env,
      });
      assert.equal(forever.code, 0);
      assert.match(forever.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      assert.equal(
        forever.stderr,
        `WARNING: this token never expires: whoever holds it acts as "ci@${DOMAIN}" until the ` +
          "signing key is replaced; give it a lifetime with -lifetime SECONDS (for example " +
          "-lifetime 86400 for a day)\n",
      );
    });
  },
});
