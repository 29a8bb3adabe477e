/**
 * Black-box tests of the audit log (README "Configuration", knob CRED_AUDIT_LOG): one JSON line
 * per add or delete, never a secret, and a log that cannot be written is a warning, not a failure.
 */

import assert from "node:assert/strict";
import { modeOf, readText, runCli, withSpool } from "../testing/harness.ts";

Deno.test("every add and delete appends one JSON line; queries do not; no secret", async () => {
  await withSpool(async (spool) => {
    const log = `${spool.root}/audit.log`;
    const env = { ...spool.env, _CONDOR_CRED_AUDIT_LOG: log };
    const secret = "AUDIT-SECRET-42";
    const runs: [string[], string][] = [
      [["add-oauth", "-s", "svc", "-H", "h", "-i", "-"], secret],
      [["query-oauth", "-s", "svc", "-H", "h"], ""],
      [["add", "-c", "-p", "-"], secret],
      [["add-oauth", "-s", "bad/name", "-i", "-"], secret],
      [["delete-oauth", "-s", "svc", "-H", "h"], ""],
      [["delete-krb", "-u", "alice@test.example"], ""],
    ];
    for (const [args, stdin] of runs) await runCli(args, { env, stdin });
    const text = (await readText(log))!;
    assert.equal(text.includes(secret), false);
    assert.equal(await modeOf(log), 0o600);
    const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
    // time and pid vary by run; every other field is exact.
    assert.deepEqual(
      lines.map(({ time: _time, pid: _pid, ...fields }) => fields),
      [
        ["add", "oauth", "root@test.example", false, "svc", "h", "pending"],
        ["add", "password", "condor_pool@test.example", true, null, null, "success"],
        ["add", "oauth", "root@test.example", false, "bad/name", null, "bad-args"],
        ["delete", "oauth", "root@test.example", false, "svc", "h", "success"],
        ["delete", "kerberos", "alice@test.example", false, null, null, "success"],
      ].map(([action, type, user, pool, service, handle, result]) => ({
        by: "root@test.example",
        uid: 0,
        action,
        type,
        user,
        pool,
        service,
        handle,
        result,
      })),
    );
    for (const l of lines) assert.ok(Number.isInteger(l.pid) && l.pid > 0, `pid ${l.pid}`);
    for (const l of lines) assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

Deno.test("an audit log that is a symlink is refused with a warning; the add still stands", async () => {
  await withSpool(async (spool) => {
    const target = `${spool.root}/elsewhere`;
    await Deno.writeTextFile(target, "");
    const log = `${spool.root}/audit.log`;
    await Deno.symlink(target, log);
    const r = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: { ...spool.env, _CONDOR_CRED_AUDIT_LOG: log },
      stdin: "tok",
    });
    assert.equal(r.code, 0);
    assert.match(
      r.stderr,
      /^WARNING: the audit log was not written: refusing to use ".*audit\.log": it is a symbolic link/,
    );
    assert.equal(await readText(target), "");
    assert.equal(await readText(`${spool.oauth}/root/s.use`), "tok");
  });
});
