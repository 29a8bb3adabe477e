/**
 * `condor_store_cred whoami` (issue 21 item 11): the daemon says who it takes the caller to be,
 * on its socket (the identity challenge) and over TLS (the IDTOKEN from --token-file, standard
 * input or the environment variable, with its expiry), in text and --json; with no
 * daemon, a clear error and exit 1. The real daemon, the client a real non-root user.
 */

import assert from "node:assert/strict";
import { accessTokenExpiry } from "../lib/jwt.ts";
import { withDaemon } from "../testing/daemon.ts";
import { localTime, runCli, withSpool } from "../testing/harness.ts";
import { withRemote } from "../testing/remote.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";

const DOMAIN = "test.example";

/** The `exp` of an IDTOKEN (a JWT, as an access token is). */
function expOf(token: string): number {
  return accessTokenExpiry(new TextEncoder().encode(token))!;
}

Deno.test({
  name: "whoami asks the daemon on its socket who the caller is, in text and --json (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      let env: Record<string, string> = {};
      await withDaemon(spool, async (daemon) => {
        env = daemon.env;
        const text = await runCli(["whoami"], { env: daemon.env, user: tester });
        assert.equal(text.code, 0, text.stderr);
        assert.equal(
          text.stdout,
          `The daemon on "${daemon.socket}" takes you to be "csc_tester@${DOMAIN}" ` +
            `(uid ${tester.uid}).\n`,
        );
        assert.equal(text.stderr, "");
        // Options before the command word, and -d's trace on stderr.
        const json = await runCli(["--json", "-d", "whoami"], { env: daemon.env, user: tester });
        assert.equal(json.code, 0, json.stderr);
        const result = JSON.parse(json.stdout);
        assert.equal(result.ok, true);
        assert.equal(result.action, "whoami");
        assert.equal(result.status, "identified");
        assert.equal(result.info.caller, `csc_tester@${DOMAIN}`);
        assert.equal(result.info.expires, null);
        assert.deepEqual(result.whoami, {
          account: `csc_tester@${DOMAIN}`,
          user: "csc_tester",
          domain: DOMAIN,
          uid: tester.uid,
          transport: "unix",
          expires: null,
          daemon: daemon.socket,
        });
        assert.match(json.stderr, /sending the request to the daemon on /);
        // Root asks the daemon too (it could write the store itself).
        const root = await runCli(["whoami"], { env: daemon.env });
        assert.equal(root.code, 0, root.stderr);
        assert.match(
          root.stdout,
          new RegExp(`takes you to be "root@${DOMAIN}" \\(uid 0\\)\\.\\n$`),
        );
      });
      // No daemon: a clear error naming the socket and what to do, exit 1, in both forms.
      const none = await runCli(["whoami"], { env, user: tester });
      assert.equal(none.code, 1);
      assert.equal(none.stdout, "");
      assert.match(
        none.stderr,
        /^ERROR: no condor_store_cred daemon (listens|answers) on "[^"]+credd\.sock"/,
      );
      assert.match(none.stderr, /start it \(systemctl start condor_store_cred\)/);
      const noneJson = await runCli(["whoami", "--json"], { env, user: tester });
      assert.equal(noneJson.code, 1);
      const failed = JSON.parse(noneJson.stdout);
      assert.equal(failed.ok, false);
      assert.equal(failed.status, "unreachable");
      assert.equal(failed.whoami, null);
    });
  },
});

Deno.test({
  name: "whoami over TLS says who the IDTOKEN proves and until when it is valid, with the " +
    "token from standard input, the environment or a file (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withRemote(async (remote) => {
      const token = await remote.token(["-identity", `alice@${DOMAIN}`, "-lifetime", "3600"]);
      const exp = expOf(token);
      const where = `127.0.0.1:${remote.port}`;
      const stdin = await remote.run(["whoami", "--token-file", "-"], {
        stdin: token,
        user: tester,
      });
      assert.equal(stdin.code, 0, stdin.stderr);
      assert.match(
        stdin.stdout,
        new RegExp(
          `^The daemon at ${where.replace(/\./g, "\\.")} takes you to be "alice@test\\.example"; ` +
            `your IDTOKEN is valid until ${localTime(exp, "UTC")} \\(in (59|60) min\\)\\.\\n$`,
        ),
      );
      const env = await remote.run(["whoami", "--json"], {
        env: { CONDOR_STORE_CRED_IDTOKEN: token },
        user: tester,
      });
      assert.equal(env.code, 0, env.stderr);
      const result = JSON.parse(env.stdout);
      assert.equal(result.status, "identified");
      assert.equal(result.info.caller, `alice@${DOMAIN}`);
      assert.equal(result.info.expires_unix, exp);
      assert.equal(result.info.expires, localTime(exp, "UTC"));
      assert.ok(result.info.expires_in > 0 && result.info.expires_in <= 3600);
      assert.deepEqual(result.whoami, {
        account: `alice@${DOMAIN}`,
        user: "alice",
        domain: DOMAIN,
        uid: null,
        transport: "tls",
        expires: exp,
        daemon: where,
      });
      // A token without -lifetime never expires, and says so.
      const forever = await remote.token(["-identity", `bob@${DOMAIN}`]);
      const file = await remote.tokenFile(forever, tester);
      const never = await remote.run(["whoami", "--token-file", file], { user: tester });
      assert.equal(never.code, 0, never.stderr);
      assert.match(
        never.stdout,
        /takes you to be "bob@test\.example"; your IDTOKEN never expires\./,
      );
      // No token: the same error a request gets, exit 1, nothing on stdout.
      const none = await remote.run(["whoami", "--token-file", "-"], { user: tester });
      assert.equal(none.code, 1);
      assert.equal(none.stdout, "");
      assert.match(
        none.stderr,
        /^ERROR: cannot prove who you are to the daemon at 127\.0\.0\.1:\d+: no IDTOKEN found on standard input/,
      );
      // No remote daemon there: exit 1 with the address.
      const down = await runCli(["whoami", "-n", "127.0.0.1:1", "--token-file", "-"], {
        env: { ...remote.spool.env, _CONDOR_AUTH_SSL_CLIENT_CAFILE: remote.certs.ca },
        stdin: token,
        user: tester,
      });
      assert.equal(down.code, 1);
      assert.match(
        down.stderr,
        /^ERROR: could not connect to the condor_store_cred daemon at 127\.0\.0\.1:1/,
      );
    });
  },
});
