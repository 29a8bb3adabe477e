/**
 * Black-box tests of routing (README "Usage"): `-n` (every type) and CREDD_HOST (all but the pool
 * password) send the request to a remote daemon over TLS; when none answers, the message names
 * it and nothing is stored here. tests/remote_test.ts has the daemon that does answer. Without a
 * configuration file (CONDOR_CONFIG=ONLY_ENV or /dev/null), the store a request uses decides:
 * a root-owned store named by a `_CONDOR_` variable goes to the local daemon, a knob left unset
 * to the personal spool (SPEC §4).
 */

import assert from "node:assert/strict";
import { startDaemon } from "../testing/daemon.ts";
import { exists, readText, runCli, type Spool, withSpool } from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers, type TestUser } from "../testing/users.ts";

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
    // A CREDD_HOST that is not an address is a configuration error naming it.
    const bad = await runCli(["query-krb"], { env: { ...spool.env, _CONDOR_CREDD_HOST: "a b" } });
    assert.match(
      bad.stderr,
      /^Operation failed because of a configuration error\n {4}CREDD_HOST is "a b"; it must be host or host:port/,
    );
  });
});

/** A directory of the test's spool that `user` owns (a HOME for the personal spool). */
async function homeOf(spool: Spool, user: TestUser): Promise<string> {
  const home = `${spool.root}/home`;
  await Deno.chown(home, user.uid, user.gid);
  return home;
}

Deno.test({
  name: "CONDOR_CONFIG=ONLY_ENV or /dev/null with a root-owned store in _CONDOR_* routes a " +
    "non-root caller to the daemon; the knobs left unset use the personal spool (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const daemon = await startDaemon(spool);
      try {
        const home = await homeOf(spool, tester);
        const base = {
          HOME: home,
          _CONDOR_CREDD_SOCKET: daemon.socket,
          _CONDOR_CREDD_CHALLENGE_DIRECTORY: daemon.challengeDir,
        };
        const only = { ...base, CONDOR_CONFIG: "ONLY_ENV" };
        const oauth = await runCli(["add-oauth", "-s", "ci", "-P", "-i", "-"], {
          env: { ...only, _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: spool.oauth },
          stdin: "token",
          user: tester,
        });
        assert.equal(oauth.code, 0, oauth.stderr);
        assert.equal(oauth.stderr, "", "no personal-store note: the daemon stored it");
        assert.match(oauth.stdout, /\nfully_qualified_user = "csc_tester@test\.example"\n/);
        const use = await Deno.lstat(`${spool.oauth}/csc_tester/ci.use`);
        assert.deepEqual([use.uid, use.mode! & 0o777], [0, 0o600]);
        assert.equal(await readText(`${spool.oauth}/csc_tester/ci.use`), "token");

        const krb = await runCli(["add-krb", "-i", "-"], {
          env: {
            ...base,
            CONDOR_CONFIG: "/dev/null",
            _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: spool.krb,
          },
          stdin: "ticket",
          user: tester,
        });
        assert.equal(krb.code, 0, krb.stderr);
        assert.equal((await Deno.lstat(`${spool.krb}/csc_tester.cred`)).uid, 0);

        const pwd = await runCli(["add", "-p", "-"], {
          env: { ...only, _CONDOR_SEC_CREDENTIAL_DIRECTORY_PWD: spool.pwd },
          stdin: "secret",
          user: tester,
        });
        assert.equal(pwd.code, 0, pwd.stderr);
        assert.equal((await Deno.lstat(`${spool.pwd}/csc_tester@test.example.pwd`)).uid, 0);

        // The pool password goes to the daemon too, which refuses a non-root caller.
        const pool = await runCli(["add", "-c", "-p", "-"], {
          env: { ...only, _CONDOR_SEC_PASSWORD_FILE: spool.pool },
          stdin: "pool",
          user: tester,
        });
        assert.equal(pool.code, 1);
        assert.match(pool.stderr, /csc_tester@test\.example may not manage the pool password/);
        assert.equal(await exists(spool.pool), false);

        // A knob no variable sets keeps the personal spool: that request stays here.
        const personal = await runCli(["add-krb", "-i", "-"], {
          env: { ...only, _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: spool.oauth },
          stdin: "mine",
          user: tester,
        });
        assert.equal(personal.code, 0, personal.stderr);
        const mine = `${home}/.local/share/condor_store_cred/krb_credentials`;
        assert.equal(await readText(`${mine}/csc_tester.cred`), "mine");
        assert.match(personal.stderr, /^WARNING: the credential went to your personal store /);
      } finally {
        const { code, log } = await daemon.stop();
        assert.equal(code, 0, log);
      }
    });
  },
});

Deno.test({
  name: "with ONLY_ENV and no CREDD_SOCKET, a non-root caller looks for the packaged node's " +
    "socket (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const env = {
        CONDOR_CONFIG: "ONLY_ENV",
        _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: spool.oauth,
      };
      const r = await runCli(["query-oauth"], { env, user: tester });
      assert.equal(r.code, 1);
      if (!(await Deno.stat("/run/condor/credd.sock").then((i) => i.isSocket, () => false))) {
        assert.match(
          r.stderr,
          /^ERROR: you may not write the credential store ".*\/spool\/oauth" \(.* belongs to uid 0\), and no condor_store_cred daemon listens on "\/run\/condor\/credd\.sock"/,
        );
      }
      assert.doesNotMatch(r.stderr, /local\/share|home directory/);
    });
  },
});

Deno.test({
  name: "a non-root user with no HTCondor configuration is told where an add went and that " +
    "HTCondor's daemons do not read it (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const home = await homeOf(spool, tester);
      const env = { CONDOR_CONFIG: "ONLY_ENV", HOME: home };
      const store = `${home}/.local/share/condor_store_cred/oauth_credentials`;
      const note = `the credential went to your personal store "${store}", which HTCondor's ` +
        "daemons do not read (no HTCondor configuration was found); to store it for HTCondor, " +
        "set CONDOR_CONFIG to your pool's configuration";
      const add = await runCli(["add-oauth", "-s", "demo", "-P", "-i", "-"], {
        env,
        stdin: "token",
        user: tester,
      });
      assert.equal(add.code, 0, add.stderr);
      assert.equal(add.stderr, `WARNING: ${note}\n`);
      assert.match(
        add.stdout,
        /^Account: <current> \(csc_tester\)\nCredType: oauth\n\nOperation succeeded/,
      );
      const json = await runCli(["add-oauth", "-s", "demo", "-P", "-i", "-", "--json"], {
        env,
        stdin: "token",
        user: tester,
      });
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout).warnings, [note]);
      // Queries and deletes store nothing: no note.
      for (const args of [["query-oauth", "-s", "demo"], ["delete-oauth", "-s", "demo"]]) {
        const r = await runCli(args, { env, user: tester });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "", args.join(" "));
      }
      // A configured store of the user's own: no note either.
      await Deno.chown(spool.root, tester.uid, tester.gid);
      const configured = await runCli(["add-oauth", "-s", "demo", "-P", "-i", "-"], {
        env: {
          CONDOR_CONFIG: "ONLY_ENV",
          HOME: home,
          _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: spool.oauth,
        },
        stdin: "token",
        user: tester,
      });
      assert.equal(configured.code, 0, configured.stderr);
      assert.equal(configured.stderr, "");
    });
  },
});
