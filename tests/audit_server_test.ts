/**
 * An audit log that cannot be written is found early (issue 21 item 10, server side): `doctor`
 * reports CRED_AUDIT_LOG in a missing directory or one with a wrong owner or mode, with the fix;
 * `serve` logs it once at start and serves; a caller of the daemon, on the socket or over TLS,
 * is told the add was not audited but never sees the daemon's audit path.
 */

import assert from "node:assert/strict";
import { runCli, type Spool, withSpool } from "../testing/harness.ts";
import { withRemote } from "../testing/remote.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";

/** Adds `CRED_AUDIT_LOG = path` to the spool's configuration. */
async function auditTo(spool: Spool, path: string): Promise<void> {
  await Deno.writeTextFile(spool.config, `CRED_AUDIT_LOG = ${path}\n`, { append: true });
}

Deno.test({
  name: "doctor reports an audit log in a missing directory, or one with a wrong owner or mode, " +
    "with the fix (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const logs = `${spool.root}/logs`;
      await auditTo(spool, `${logs}/audit.log`);
      const missing = await runCli(["doctor"], { env: spool.env });
      assert.equal(missing.code, 1, missing.stdout);
      assert.equal(
        missing.stdout,
        `${logs}/audit.log: the directory of the audit log "${logs}/audit.log" does not exist\n` +
          `    fix: create it (mkdir -m 700 ${logs}, owned by root), or set CRED_AUDIT_LOG to a ` +
          "file in a directory that exists\n1 problem found.\n",
      );
      const json = JSON.parse((await runCli(["doctor", "--json"], { env: spool.env })).stdout);
      assert.deepEqual(json.findings.map((f: { kind: string }) => f.kind), ["audit-log"]);
      await Deno.mkdir(logs, { mode: 0o700 });
      await Deno.chmod(logs, 0o777);
      const loose = await runCli(["doctor"], { env: spool.env });
      assert.equal(loose.code, 1);
      assert.match(loose.stdout, /writable by group or others/);
      assert.match(loose.stdout, new RegExp(`fix: run "chmod 700 ${logs}"`));
      await Deno.chmod(logs, 0o700);
      await Deno.chown(logs, tester.uid, tester.gid);
      const owner = await runCli(["doctor"], { env: spool.env });
      assert.equal(owner.code, 1);
      assert.match(owner.stdout, new RegExp(`${logs}.*(owned by|belongs to|owner)`));
      await Deno.chown(logs, 0, 0);
      const healthy = await runCli(["doctor"], { env: spool.env });
      assert.equal(healthy.code, 0, healthy.stdout);
      assert.equal(healthy.stdout, "No problem found.\n");
    });
  },
});

Deno.test({
  name: "serve logs an audit log it cannot write once at start, and its callers never see the " +
    "log's path, on the socket or over TLS (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    const dir = `/tmp/csc-no-audit-dir-${crypto.randomUUID()}`;
    const path = `${dir}/audit.log`;
    await withRemote(async (remote) => {
      const startup = remote.daemon.log();
      assert.match(
        startup,
        new RegExp(
          `WARNING: the audit log cannot be written: the directory of the audit log "${path}" ` +
            `does not exist; create it \\(mkdir -m 700 ${dir}, owned by root\\)`,
        ),
      );
      const local = await runCli(["add-oauth", "-s", "box", "-P", "-i", "-"], {
        env: remote.daemon.env,
        stdin: "access",
        user: tester,
      });
      assert.equal(local.code, 0, local.stderr);
      assert.equal(
        local.stderr,
        "WARNING: the daemon's audit log was not written (its administrator can find why with " +
          "condor_store_cred doctor); the add itself succeeded\n",
      );
      // A refused add too, without the path.
      const refused = await runCli(
        ["add-oauth", "-u", "csc_other@test.example", "-s", "box", "-P", "-i", "-"],
        { env: remote.daemon.env, stdin: "access", user: tester },
      );
      assert.equal(refused.code, 1);
      assert.ok(!refused.stderr.includes(dir), refused.stderr);
      assert.match(refused.stderr, /the daemon's audit log was not written/);
      const token = await remote.token([
        "-identity",
        "csc_tester@test.example",
        "-lifetime",
        "600",
      ]);
      const far = await remote.run(["add-oauth", "-s", "far", "-P", "-i", "-", "--json"], {
        env: { CONDOR_STORE_CRED_IDTOKEN: token },
        stdin: "access",
        user: tester,
      });
      assert.equal(far.code, 0, far.stderr);
      assert.ok(!far.stdout.includes(dir) && !far.stderr.includes(dir), far.stdout);
      assert.doesNotMatch(far.stdout + far.stderr, /<path on the daemon>/);
      assert.match(JSON.parse(far.stdout).warnings[0], /^the daemon's audit log was not written/);
      // Logged once, at the start, whatever the number of requests.
      const { log } = { log: remote.daemon.log() };
      assert.equal(log.split("the audit log cannot be written").length - 1, 1, log);
    }, { env: { _CONDOR_CRED_AUDIT_LOG: path } });
  },
});
