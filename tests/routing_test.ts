/**
 * Black-box tests of routing (README "Usage"): `-n` (every type) and CREDD_HOST (all but the pool
 * password) send the request to a remote daemon over TLS; when none answers, the message names
 * it and nothing is stored here. tests/remote_test.ts has the daemon that does answer.
 */

import assert from "node:assert/strict";
import { unscramblePoolPassword } from "../lib/crypto/scramble.ts";
import { exists, readBytes, runCli, type RunResult, withSpool } from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";

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
    // Upstream's forms of a daemon's name: name@host:port and sinful <host:port?params>.
    for (const name of ["credd@127.0.0.1:1", "<127.0.0.1:1?sock=credd>", "<127.0.0.1:1>"]) {
      const r = await runCli(["query-krb", "-n", name], { env: spool.env });
      assert.match(
        r.stderr,
        /could not connect to the condor_store_cred daemon at 127\.0\.0\.1:1/,
        name,
      );
    }
    // A sinful form that is not closed (or not opened) is no address.
    for (const name of ["<127.0.0.1:1", "127.0.0.1:1>"]) {
      const r = await runCli(["query-krb"], { env: { ...spool.env, _CONDOR_CREDD_HOST: name } });
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /CREDD_HOST is ".*"; it must be host or host:port/, name);
    }
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

Deno.test({
  name:
    "a non-root caller is routed by the store its request uses: password, pool or OAuth (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      // The caller owns one directory; the rest of the spool is root's, and no daemon listens.
      const mine = `${spool.root}/mine`;
      await Deno.mkdir(mine, { mode: 0o700 });
      await Deno.chown(mine, tester.uid, tester.gid);
      const socket = `${spool.root}/run/credd.sock`;
      const run = (args: string[], env: Record<string, string>) =>
        runCli(args, {
          env: { ...spool.env, _CONDOR_CREDD_SOCKET: socket, ...env },
          stdin: "pw",
          user: tester,
        });
      const refused = (r: RunResult, store: string) => {
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(`^ERROR: you may not write the credential store "${store}" \\(`, "m"),
        );
      };
      // OAuth in the caller's directory, passwords root's: a password goes nowhere here.
      const oauthMine = { _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: `${mine}/oauth` };
      refused(await run(["add", "-p", "-"], oauthMine), spool.pwd);
      refused(await run(["add", "-c", "-p", "-"], oauthMine), `${spool.root}/spool/passwords.d`);
      refused(
        await run(["add", "-u", "condor_pool@test.example", "-p", "-"], oauthMine),
        `${spool.root}/spool/passwords.d`,
      );
      const oauth = await run(["add-oauth", "-s", "s", "-P", "-i", "-"], oauthMine);
      assert.equal(oauth.code, 0, oauth.stderr);
      // The caller's own password directory, OAuth root's: the password is stored in-process.
      const pwdMine = { _CONDOR_SEC_CREDENTIAL_DIRECTORY_PWD: `${mine}/pwd` };
      const pwd = await run(["add", "-p", "-"], pwdMine);
      assert.equal(pwd.code, 0, pwd.stderr);
      assert.ok(await exists(`${mine}/pwd/csc_tester@test.example.pwd`));
      refused(await run(["add-oauth", "-s", "s", "-P", "-i", "-"], pwdMine), spool.oauth);
      // The caller's own pool file directory.
      const poolMine = { _CONDOR_SEC_PASSWORD_FILE: `${mine}/passwords.d/POOL` };
      assert.equal((await run(["add", "-c", "-p", "-"], poolMine)).code, 0);
      refused(await run(["add", "-p", "-"], poolMine), spool.pwd);
    });
  },
});
