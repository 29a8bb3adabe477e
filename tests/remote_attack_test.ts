/**
 * Network peers against the daemon's TLS port (docs/daemon.md "Remote callers: TLS and
 * IDTOKENS"): failed logins of one party do not lock out another's valid token from the same
 * address, rotating source addresses does not get around the limit, and the daemon bounds the
 * failed verifications it does in all; a peer learns nothing of the daemon's files from a refused
 * token or a store error; `POST /v1/whoami` says who the daemon takes a caller to be, on both
 * transports, through the real client.
 */

import assert from "node:assert/strict";
import { REPO, runCli, runScriptAs } from "../testing/harness.ts";
import { type Remote, withRemote } from "../testing/remote.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";
import { tlsCall } from "../testing/wire.ts";

const DOMAIN = "test.example";

/** The HTTP status of one query over TLS with `token`, sent from `source` (a 127.x address). */
async function fromAddress(remote: Remote, source: string, token: string): Promise<number> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      `${REPO}/testing/standins/tls_client.py`,
      String(remote.port),
      remote.certs.ca,
      source,
      token,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** A query over TLS with `token`: its status and message. */
async function query(remote: Remote, token: string): Promise<{ status: number; message: string }> {
  const r = await remote.request({ action: "query", type: "kerberos", user: null }, token);
  return {
    status: r.status,
    message: (r.body.error as { message?: string } | undefined)?.message ?? "",
  };
}

Deno.test({
  name:
    "a neighbour's failed logins never lock out a valid token from the same address; rotating addresses does not get around a token's limit (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withRemote(async (remote) => {
      const otherKey = `${remote.spool.root}/other-key`;
      await Deno.writeTextFile(otherKey, "not the pool key", { mode: 0o600 });
      const alice = await remote.token(["-identity", `alice@${DOMAIN}`, "-lifetime", "600"]);
      // The neighbour, on the same address, fails 20 times with tokens of its own making.
      for (let i = 0; i < 20; i++) {
        const forged = await remote.python([
          "mint",
          otherKey,
          "POOL",
          DOMAIN,
          `mallory${i}@${DOMAIN}`,
        ]);
        assert.equal((await query(remote, forged)).status, 401);
      }
      assert.equal((await query(remote, alice)).status, 200, "alice was locked out");
      // Someone holding bob's claims with a wrong signature tries from 12 addresses in turn: the
      // limit (10 per token) follows the token, not the address.
      const bob = await remote.token(["-identity", `bob@${DOMAIN}`, "-lifetime", "600"]);
      const statuses: number[] = [];
      for (let i = 2; i < 14; i++) {
        statuses.push(await fromAddress(remote, `127.0.0.${i}`, `${bob}x`));
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429]);
      assert.equal((await query(remote, alice)).status, 200);
      assert.match(
        remote.daemon.log(),
        /tls 127\.0\.0\.13: refused \(429\): this IDTOKEN failed verification too often in the last minute; wait a minute\n/,
      );
    });
  },
});

Deno.test({
  name:
    "the daemon bounds its failed verifications in all: past CREDD_AUTH_FAILURES_PER_MINUTE only tokens verified lately are verified (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withRemote(async (remote) => {
      const otherKey = `${remote.spool.root}/other-key`;
      await Deno.writeTextFile(otherKey, "not the pool key", { mode: 0o600 });
      const known = await remote.token(["-identity", `alice@${DOMAIN}`, "-lifetime", "600"]);
      const fresh = await remote.token(["-identity", `carol@${DOMAIN}`, "-lifetime", "600"]);
      assert.equal((await query(remote, known)).status, 200);
      for (let i = 0; i < 20; i++) {
        const forged = await remote.python(["mint", otherKey, "POOL", DOMAIN, `m${i}@${DOMAIN}`]);
        assert.equal((await query(remote, forged)).status, 401, `failure ${i}`);
      }
      assert.deepEqual(await query(remote, fresh), {
        status: 429,
        message: "too many failed authentications at this daemon in the last minute; retry later",
      });
      assert.equal((await query(remote, known)).status, 200, "a token verified lately still is");
    }, { env: { _CONDOR_CREDD_AUTH_FAILURES_PER_MINUTE: "20" } });
  },
});

Deno.test({
  name:
    "a peer learns nothing of the daemon's files: signing keys missing, loose or linked are one refusal, and store errors carry no path (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester, other] = (await nonRootUsers())!;
    // The signing keys of other kids than POOL (SEC_PASSWORD_DIRECTORY).
    const keys = await Deno.makeTempDir({ prefix: "csc-keys-" });
    await withRemote(async (remote) => {
      await Deno.writeTextFile(`${keys}/loose`, "a loose key", { mode: 0o644 });
      await Deno.chmod(`${keys}/loose`, 0o644);
      await Deno.symlink(remote.spool.pool, `${keys}/link`);
      const refused = "the IDTOKEN was refused: unknown or unusable signing key (or a signature " +
        "that does not match it)";
      for (const kid of ["nokey", "loose", "link"]) {
        const token = await remote.python([
          "mint",
          remote.spool.pool,
          kid,
          DOMAIN,
          `alice@${DOMAIN}`,
        ]);
        assert.deepEqual(await query(remote, token), { status: 401, message: refused }, kid);
      }
      const log = remote.daemon.log();
      assert.match(
        log,
        /refused \(401\): the IDTOKEN was refused: No signing key named "nokey" is available\.\n/,
      );
      assert.match(
        log,
        new RegExp(`refused \\(401\\): the IDTOKEN was refused: .*${keys}/loose.*0644`),
      );
      assert.match(
        log,
        new RegExp(`refused \\(401\\): the IDTOKEN was refused: .*${keys}/link.*symbolic link`),
      );
      // A store error: csc_tester's OAuth directory belongs to another user.
      const stored = await runCli([
        "add-oauth",
        "-u",
        `csc_tester@${DOMAIN}`,
        "-s",
        "s",
        "-P",
        "-i",
        "-",
      ], {
        env: remote.spool.env,
        stdin: "t",
      });
      assert.equal(stored.code, 0, stored.stderr);
      await Deno.chown(`${remote.spool.oauth}/csc_tester`, other.uid, other.gid);
      const file = await remote.tokenFile(
        await remote.token(["-identity", `csc_tester@${DOMAIN}`, "-lifetime", "600"]),
        tester,
      );
      const far = await remote.run(["query-oauth", "-s", "s", "--token-file", file], {
        user: tester,
      });
      assert.equal(far.code, 1);
      assert.match(far.stderr, /<path on the daemon>/);
      assert.equal(far.stderr.includes(remote.spool.root), false, far.stderr);
      // The daemon's log has it all; a caller on the daemon's own host sees the path.
      assert.match(
        remote.daemon.log(),
        new RegExp(
          `tls "csc_tester@test\\.example": query-oauth .*: insecure \\(.*${remote.spool.oauth}/csc_tester`,
        ),
      );
      const near = await runCli(["query-oauth", "-s", "s"], {
        env: remote.daemon.env,
        user: tester,
      });
      assert.equal(near.code, 1);
      assert.ok(near.stderr.includes(`${remote.spool.oauth}/csc_tester`), near.stderr);
    }, { env: { _CONDOR_SEC_PASSWORD_DIRECTORY: keys } }).finally(() =>
      Deno.remove(keys, { recursive: true })
    );
  },
});

Deno.test({
  name:
    "POST /v1/whoami says who the daemon takes the caller to be, on the socket and over TLS (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withRemote(async (remote) => {
      const local = await runScriptAs(tester, "testing/whoami.ts", [
        JSON.stringify({ socket: remote.daemon.socket, challengeDir: remote.daemon.challengeDir }),
      ]);
      assert.equal(local.code, 0, local.stderr);
      assert.deepEqual(JSON.parse(local.stdout), {
        account: `csc_tester@${DOMAIN}`,
        user: "csc_tester",
        domain: DOMAIN,
        uid: tester.uid,
        transport: "unix",
        expires: null,
      });
      const token = await remote.token(["-identity", `alice@${DOMAIN}`, "-lifetime", "600"]);
      const exp = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp;
      const far = await runScriptAs(tester, "testing/whoami.ts", [
        JSON.stringify({ host: "127.0.0.1", port: remote.port, ca: remote.certs.ca, token }),
      ]);
      assert.equal(far.code, 0, far.stderr);
      assert.deepEqual(JSON.parse(far.stdout), {
        account: `alice@${DOMAIN}`,
        user: "alice",
        domain: DOMAIN,
        uid: null,
        transport: "tls",
        expires: exp,
      });
      // Without a proof, it is refused like any request that needs one.
      const none = await tlsCall(remote.port, remote.certs.ca, "/v1/whoami", { version: 1 });
      assert.deepEqual([none.status, (none.body.error as { message: string }).message], [
        401,
        "the request carries no IDTOKEN (Authorization: Bearer)",
      ]);
    });
  },
});
