/**
 * Remote daemons (README "Remote daemons"): `serve` with CREDD_TLS_ADDRESS on loopback, with a
 * throwaway CA and certificates made by openssl; clients with `-n 127.0.0.1:PORT` and an IDTOKEN.
 * Every kind of bad token, plain TCP and an untrusted certificate are refused with nothing
 * written; tokens interoperate with an independent implementation (Python's hmac and hashlib).
 */

import assert from "node:assert/strict";
import { startDaemon } from "../testing/daemon.ts";
import { listTree, readText, runCli, snapshot, withSpool } from "../testing/harness.ts";
import { withRemote } from "../testing/remote.ts";
import { makeCertificates } from "../testing/tls.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";

const DOMAIN = "test.example";

Deno.test({
  name: "-n host:port adds, queries and deletes every type over TLS with an IDTOKEN (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withRemote(async (remote) => {
      const token = await remote.token(["-identity", `csc_tester@${DOMAIN}`, "-lifetime", "600"]);
      const file = await remote.tokenFile(token, tester);
      const as = { user: tester };
      const run = (args: string[], stdin?: string) =>
        remote.run([...args, "--token-file", file], { ...as, stdin });
      const add = await run(["add-oauth", "-s", "svc", "-P", "-i", "-"], "access");
      assert.equal(add.code, 0, add.stderr);
      assert.match(
        add.stdout,
        /^Account: <current> \(csc_tester\)\nCredType: oauth\n\nOperation succeeded\. Credential was stored on /,
      );
      assert.match(add.stdout, /fully_qualified_user = "csc_tester@test\.example"/);
      for (
        const [args, stdin] of [
          [["add-oauth", "-s", "box", "-S", "a", "-i", "-"], "{}"],
          [["query-oauth", "-s", "box", "-S", "a"]],
          [["query-oauth"]],
          [["add-krb", "-i", "-"], "TICKET"],
          [["query-krb"]],
          [["add", "-p", "-"], "user-password"],
          [["query"]],
          [["delete"]],
          [["delete-oauth", "-s", "box"]],
          [["delete-krb"]],
        ] as [string[], string?][]
      ) {
        const r = await run(args, stdin);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      }
      assert.equal(await readText(`${remote.spool.oauth}/csc_tester/svc.use`), "access");
      const info = await Deno.lstat(`${remote.spool.oauth}/csc_tester/svc.use`);
      assert.deepEqual([info.uid, info.mode! & 0o777], [0, 0o600]);
      assert.deepEqual(await listTree(remote.spool.krb), [".locks/", ".locks/csc_tester.lock"]);
      // The daemon's authorization: the token's identity acts only for itself.
      const other = await run(["query-krb", "-u", `root@${DOMAIN}`]);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /^Operation failed because it is not allowed\n/);
      // The token directory is found the way upstream finds it (SEC_TOKEN_DIRECTORY here).
      const byDir = await remote.run(["query-oauth", "-s", "svc"], {
        user: tester,
        env: { _CONDOR_SEC_TOKEN_DIRECTORY: `${remote.spool.root}/tokens` },
      });
      assert.equal(byDir.code, 0, byDir.stderr);
      assert.match(
        remote.daemon.log(),
        /tls "csc_tester@test\.example": add-oauth for "csc_tester@test\.example" service="svc": success/,
      );
    });
  },
});

Deno.test({
  name: "the daemon refuses every bad token and writes nothing (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withRemote(async (remote) => {
      const key = remote.spool.pool;
      const now = Math.floor(Date.now() / 1000);
      const b64 = (v: unknown) =>
        btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
      const good = await remote.python(["mint", key, "POOL", DOMAIN, `alice@${DOMAIN}`]);
      const [h, p, s] = good.split(".");
      const otherKey = `${remote.spool.root}/other-key`;
      await Deno.writeTextFile(otherKey, "another-key", { mode: 0o600 });
      const bad: [string, string, RegExp][] = [
        ["missing", "", /carries no IDTOKEN/],
        [
          "expired",
          await remote.python([
            "mint",
            key,
            "POOL",
            DOMAIN,
            `alice@${DOMAIN}`,
            `exp=${now - 3600}`,
          ]),
          /expired/i,
        ],
        [
          "not yet valid",
          await remote.python([
            "mint",
            key,
            "POOL",
            DOMAIN,
            `alice@${DOMAIN}`,
            `nbf=${now + 3600}`,
          ]),
          /not (yet )?valid/i,
        ],
        [
          "wrongly signed",
          await remote.python(["mint", otherKey, "POOL", DOMAIN, `alice@${DOMAIN}`]),
          /signature/i,
        ],
        [
          "tampered",
          `${h}.${
            b64({
              ...JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/"))),
              sub: `root@${DOMAIN}`,
            })
          }.${s}`,
          /signature/i,
        ],
        [
          "wrong issuer",
          await remote.python(["mint", key, "POOL", "evil.example", `alice@${DOMAIN}`]),
          /issuer|iss/i,
        ],
        [
          "wrong scope",
          await remote.python([
            "mint",
            key,
            "POOL",
            DOMAIN,
            `alice@${DOMAIN}`,
            "scope=condor:/READ",
          ]),
          /scope|WRITE/i,
        ],
        [
          "alg none",
          await remote.python(["mint", key, "POOL", DOMAIN, `alice@${DOMAIN}`, "alg=none"]),
          /algorithm/i,
        ],
        ["kid ../x", `${b64({ alg: "HS256", kid: "../x" })}.${p}.${s}`, /key ID|kid/i],
        ["garbage", "not.a.token", /IDTOKEN was refused|malformed|token/i],
      ];
      const before = await snapshot(remote.spool.root + "/spool");
      for (const [what, token, why] of bad) {
        const r = await remote.request(
          { action: "add", type: "kerberos", user: null, credential: "dA" },
          token,
        );
        assert.equal(r.status, 401, what);
        assert.match((r.body.error as { message: string }).message, why, what);
      }
      // The file challenge proves a local uid: over TLS there is none to ask for.
      const challenge = await remote.post("/v1/challenge", { version: 1 });
      assert.equal(challenge.status, 404);
      assert.equal(
        (challenge.body.error as { message: string }).message,
        "challenges are issued on the Unix socket only",
      );
      assert.equal(await snapshot(remote.spool.root + "/spool"), before);
    });
  },
});

Deno.test({
  name:
    "failed authentications are rate-limited per address; the daemon keeps serving (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withRemote(async (remote) => {
      const good = await remote.token(["-identity", `alice@${DOMAIN}`]);
      const call = (token: string) =>
        remote.request({ action: "query", type: "kerberos", user: null }, token);
      assert.equal((await call(good)).status, 200);
      for (let i = 0; i < 10; i++) assert.equal((await call(`${good}x`)).status, 401);
      // Now even a valid token from this address waits.
      const limited = await call(good);
      assert.equal(limited.status, 429);
      // The local socket still serves.
      const local = await runCli(["query-krb"], { env: remote.daemon.env });
      assert.equal(local.stdout.split("\n").at(-2), "No credential is stored.");
    });
  },
});

Deno.test({
  name:
    "plain TCP, an untrusted certificate and missing or unusable tokens are refused with clear messages (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withRemote(async (remote) => {
      const before = await snapshot(remote.spool.root + "/spool");
      // Plain TCP: no HTTP answer, only a TLS alert or a closed connection.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: remote.port });
      await conn.write(new TextEncoder().encode("GET /v1/health HTTP/1.1\r\n\r\n"));
      const buffer = new Uint8Array(1024);
      const n = await conn.read(buffer).catch(() => null);
      conn.close();
      assert.doesNotMatch(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /HTTP\/1\.1/);
      // An untrusted certificate.
      const token = await remote.token(["-identity", `csc_tester@${DOMAIN}`]);
      const file = await remote.tokenFile(token, tester);
      const untrusted = await remote.run(["add-krb", "-i", "-", "--token-file", file], {
        user: tester,
        stdin: "t",
        env: { _CONDOR_AUTH_SSL_CLIENT_CAFILE: remote.certs.otherCa },
      });
      assert.equal(untrusted.code, 1);
      assert.match(
        untrusted.stderr,
        /^Operation aborted because communication was not secure\n {4}the condor_store_cred daemon at 127\.0\.0\.1:\d+ could not be trusted/,
      );
      // No token at all; an expired one; one for another trust domain.
      const empty = `${remote.spool.root}/empty-tokens`;
      await Deno.mkdir(empty);
      const none = await remote.run(["query-krb"], { env: { _CONDOR_SEC_TOKEN_DIRECTORY: empty } });
      assert.match(
        none.stderr,
        /cannot prove who you are to the daemon at 127\.0\.0\.1:\d+: no IDTOKEN found in ".*empty-tokens"/,
      );
      const expired = await remote.python([
        "mint",
        remote.spool.pool,
        "POOL",
        DOMAIN,
        `root@${DOMAIN}`,
        `exp=${Math.floor(Date.now() / 1000) - 60}`,
      ]);
      const r1 = await remote.run([
        "query-krb",
        "--token-file",
        await remote.tokenFile(expired, null),
      ]);
      assert.match(r1.stderr, /every IDTOKEN in ".*" for "test\.example" has expired/);
      const foreign = await remote.python([
        "mint",
        remote.spool.pool,
        "POOL",
        "elsewhere",
        `root@${DOMAIN}`,
      ]);
      const r2 = await remote.run([
        "query-krb",
        "--token-file",
        await remote.tokenFile(foreign, null),
      ]);
      assert.match(
        r2.stderr,
        /no IDTOKEN in ".*" is for the trust domain "test\.example" \(it was issued by "elsewhere"\)/,
      );
      // A token the client cannot fault but the daemon refuses (signed with another key): the
      // daemon's 401 is an insecure channel to the user, not an unreachable daemon.
      const otherKey = `${remote.spool.root}/other-key`;
      await Deno.writeTextFile(otherKey, "another-key", { mode: 0o600 });
      const forged = await remote.python(["mint", otherKey, "POOL", DOMAIN, `root@${DOMAIN}`]);
      const r4 = await remote.run([
        "query-krb",
        "--token-file",
        await remote.tokenFile(forged, null, "forged"),
      ]);
      assert.equal(r4.code, 1);
      assert.match(
        r4.stderr,
        /^Operation aborted because communication was not secure\n {4}the condor_store_cred daemon at 127\.0\.0\.1:\d+ refused the request: /,
      );
      // A token file others may read is refused.
      const loose = await remote.tokenFile(token, null, "loose");
      await Deno.chmod(loose, 0o644);
      const r3 = await remote.run(["query-krb", "--token-file", loose]);
      assert.match(r3.stderr, /its mode 0644 gives access to group or others/);
      // A daemon name that is not one.
      const badName = await runCli(["query-krb", "-n", "not a host!"], { env: remote.spool.env });
      assert.deepEqual([badName.code, badName.stderr], [
        1,
        "ERROR: not a host! is not a valid daemon name\n",
      ]);
      // Nobody listening.
      const closed = await runCli(["query-krb", "-n", "127.0.0.1:1", "--token-file", file], {
        env: remote.spool.env,
      });
      assert.match(
        closed.stderr,
        /could not connect to the condor_store_cred daemon at 127\.0\.0\.1:1/,
      );
      assert.equal(await snapshot(remote.spool.root + "/spool"), before);
    });
  },
});

Deno.test({
  name: "tokens interoperate with an independent implementation, both ways (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withRemote(async (remote) => {
      // Python mints from the pool key; the daemon accepts it.
      const minted = await remote.python([
        "mint",
        remote.spool.pool,
        "POOL",
        DOMAIN,
        `bob@${DOMAIN}`,
        "scope=condor:/WRITE",
      ]);
      const r = await remote.run([
        "add-oauth",
        "-u",
        `bob@${DOMAIN}`,
        "-s",
        "s",
        "-P",
        "-i",
        "-",
        "--token-file",
        await remote.tokenFile(minted, null),
      ], { stdin: "t" });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /fully_qualified_user = "bob@test\.example"/);
      // token create's output verifies under Python.
      const ours = await remote.token([
        "-identity",
        `carol@${DOMAIN}`,
        "-lifetime",
        "60",
        "-authz",
        "WRITE",
      ]);
      const verified = JSON.parse(await remote.python(["verify", remote.spool.pool, ours]));
      assert.deepEqual(verified.header, { alg: "HS256", kid: "POOL" });
      assert.equal(verified.claims.sub, `carol@${DOMAIN}`);
      assert.equal(verified.claims.iss, DOMAIN);
      assert.equal(verified.claims.scope, "condor:/WRITE");
      assert.equal(verified.claims.exp - verified.claims.iat, 60);
      // Only root may mint (the signing key is root's).
      const [tester] = (await nonRootUsers())!;
      const refused = await runCli(["token", "create", "-identity", "x@y"], {
        env: remote.spool.env,
        user: tester,
      });
      assert.deepEqual([refused.code, refused.stderr], [
        1,
        "ERROR: token create reads the pool's signing key: run it as root\n",
      ]);
    });
  },
});

Deno.test({
  name:
    "serve refuses to start with CREDD_TLS_ADDRESS but no usable certificate or a key others may read (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withSpool(async (spool) => {
      const certs = await makeCertificates(spool.root);
      const env = (cert: string, key: string) => ({
        _CONDOR_CREDD_TLS_ADDRESS: "127.0.0.1:0",
        _CONDOR_AUTH_SSL_SERVER_CERTFILE: cert,
        _CONDOR_AUTH_SSL_SERVER_KEYFILE: key,
      });
      await assert.rejects(
        () => startDaemon(spool, { env: env(`${spool.root}/none.pem`, certs.key) }),
        /name no certificate and key that exist/,
      );
      await Deno.chmod(certs.key, 0o644);
      await assert.rejects(
        () => startDaemon(spool, { env: env(certs.cert, certs.key) }),
        /the TLS private key .* is readable by every user/,
      );
      // Refused before the socket was made: nothing listens there.
      assert.equal(
        await Deno.lstat(`${spool.root}/run/credd.sock`).then(() => true, () => false),
        false,
      );
    });
  },
});

Deno.test({
  name:
    "a token's domain counts: a bare CRED_SUPER_USERS name is this domain's user, a remote root is not root, another domain's Kerberos and OAuth are refused (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withRemote(async (remote) => {
      const as = async (identity: string, args: string[], stdin?: string) => {
        const file = await remote.tokenFile(await remote.token(["-identity", identity]), null);
        return await remote.run([...args, "--token-file", file], { stdin });
      };
      const ok = await as(`admin@${DOMAIN}`, ["add-krb", "-u", `bob@${DOMAIN}`, "-i", "-"], "t1");
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(await readText(`${remote.spool.krb}/bob.cred`), "t1");
      const other = await as(
        "admin@evil.example",
        ["add-krb", "-u", `bob@${DOMAIN}`, "-i", "-"],
        "t2",
      );
      assert.equal(other.code, 1);
      assert.match(
        other.stderr,
        /admin@evil\.example may not act on the credentials of "bob@test\.example"; only CRED_SUPER_USERS may act for other users \(a remote caller is never root\)/,
      );
      assert.equal(await readText(`${remote.spool.krb}/bob.cred`), "t1");
      const root = await as(`root@${DOMAIN}`, ["add", "-c", "-p", "-"], "new-pool");
      assert.equal(root.code, 1);
      assert.match(
        root.stderr,
        /root@test\.example may not manage the pool password; only CRED_SUPER_USERS may \(a remote caller is never root\)/,
      );
      // bob of another domain is not this pool's bob: his files are keyed by "bob" alone.
      const elsewhere = await as("bob@elsewhere.example", ["query-krb"]);
      assert.equal(elsewhere.code, 1);
      assert.match(
        elsewhere.stderr,
        /"bob@elsewhere\.example" is not a user of this pool's domain "test\.example"/,
      );
    }, { env: { _CONDOR_CRED_SUPER_USERS: "admin" } });
  },
});

Deno.test({
  name:
    "CREDD_AUTH_FAILURE_LIMIT = 0 turns the limit off; a certificate for another name is refused with the right fix; every CA file of the list counts (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withRemote(async (remote) => {
      const good = await remote.token(["-identity", `alice@${DOMAIN}`]);
      const call = (token: string) =>
        remote.request({ action: "query", type: "kerberos", user: null }, token);
      for (let i = 0; i < 15; i++) assert.equal((await call(`${good}x`)).status, 401);
      assert.equal((await call(good)).status, 200);
      // The CA file list: an unreadable first entry, then the CA.
      const file = await remote.tokenFile(good, null);
      const listed = await remote.run(["query-krb", "--token-file", file], {
        env: { _CONDOR_AUTH_SSL_CLIENT_CAFILE: `/nonexistent.pem, ${remote.certs.ca}` },
      });
      assert.match(listed.stdout, /No credential is stored\.\n$/);
      const both = await remote.run(["query-krb", "--token-file", file], {
        env: { _CONDOR_AUTH_SSL_CLIENT_CAFILE: `${remote.certs.ca},${remote.certs.otherCa}` },
      });
      assert.match(both.stdout, /No credential is stored\.\n$/);
    }, { env: { _CONDOR_CREDD_AUTH_FAILURE_LIMIT: "0" } });
    await withRemote(async (remote) => {
      const file = await remote.tokenFile(
        await remote.token(["-identity", `alice@${DOMAIN}`]),
        null,
      );
      const r = await remote.run(["query-krb", "--token-file", file]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /could not be trusted: invalid peer certificate: certificate not valid for name "127\.0\.0\.1".*; name the daemon as its certificate does \(-n or CREDD_HOST\), or give it a certificate whose names include 127\.0\.0\.1/,
      );
    }, { cert: "other-name" });
  },
});
