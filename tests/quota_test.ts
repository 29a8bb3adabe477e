/**
 * Per-user limits (issue 20 item 5; docs/daemon.md "Per-user limits and the audit log"): through
 * a real daemon, a real non-root user fills their quota of credentials and bytes and is refused
 * with a message naming the limit, its knob and what to do, before anything is written, while
 * another user's adds still succeed; replacing a credential counts its new size; root is not
 * limited; and the user's refusals add a bounded number of audit lines. The limiter of those
 * lines is also tested in-process with a clock of its own.
 */

import assert from "node:assert/strict";
import { withDaemon } from "../testing/daemon.ts";
import { listTree, readText, runCli, type TestUser, withSpool } from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";
import { RefusalLimiter } from "../lib/store/audit.ts";
import type { Caller } from "../lib/request.ts";

const NOT_ALLOWED = "Operation failed because it is not allowed\n";

Deno.test({
  name: "a user filling their quota is refused clearly while another user is served (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester, other] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const audit = `${spool.root}/audit.log`;
      await withDaemon(spool, {
        env: {
          _CONDOR_CRED_MAX_CREDENTIALS_PER_USER: "3",
          _CONDOR_CRED_MAX_BYTES_PER_USER: "4096",
          _CONDOR_CRED_AUDIT_LOG: audit,
          // One worker: the bound on audit lines below is then the per-worker one.
          _CONDOR_CREDD_WORKERS: "1",
        },
      }, async (daemon) => {
        const as = (user: TestUser, args: string[], stdin?: string) =>
          runCli(args, { env: daemon.env, user, stdin });
        const add = (user: TestUser, service: string, size: number, ...more: string[]) =>
          as(user, ["add-oauth", "-s", service, ...more, "-i", "-"], "t".repeat(size));
        for (const service of ["s0", "s1", "s2"]) {
          const r = await add(tester, service, 100);
          assert.equal(r.code, 0, r.stderr);
        }
        const dir = `${spool.oauth}/${tester.name}`;
        const stored = await listTree(dir);

        // A fourth credential: refused, nothing written.
        const firstRefusal = Date.now();
        const fourth = await add(tester, "s3", 10);
        assert.equal(fourth.code, 1);
        assert.equal(
          fourth.stderr,
          `${NOT_ALLOWED}    "csc_tester@test.example" already has 3 credentials stored, the most ` +
            "CRED_MAX_CREDENTIALS_PER_USER (3) allows; delete the credentials no longer used (list " +
            "shows them; delete-oauth -s SERVICE removes one service's, delete-krb the Kerberos " +
            "one) or ask the administrator to raise CRED_MAX_CREDENTIALS_PER_USER\n",
        );
        const krb = await as(tester, ["add-krb", "-i", "-"], "ticket");
        assert.equal(krb.code, 1);
        assert.match(krb.stderr, /already has 3 credentials stored/);
        assert.deepEqual(await listTree(dir), stored);
        assert.equal(await readText(`${spool.krb}/${tester.name}.cred`), null);

        // Replacing counts the new size: 100 + 100 + 3800 fits 4096 (old + new would not).
        const grown = await add(tester, "s0", 3800);
        assert.equal(grown.code, 0, grown.stderr);
        assert.equal((await Deno.stat(`${dir}/s0.top`)).size, 3800);
        // 100 + 100 + 3900 does not: refused, s0 unchanged.
        const over = await add(tester, "s0", 3900);
        assert.equal(over.code, 1);
        assert.equal(
          over.stderr,
          `${NOT_ALLOWED}    storing this credential would bring the credentials of ` +
            '"csc_tester@test.example" to 4100 bytes, more than CRED_MAX_BYTES_PER_USER (4096) ' +
            "allows; delete the credentials no longer used (list shows them; delete-oauth -s " +
            "SERVICE removes one service's, delete-krb the Kerberos one) or ask the administrator " +
            "to raise CRED_MAX_BYTES_PER_USER\n",
        );
        assert.equal((await Deno.stat(`${dir}/s0.top`)).size, 3800);
        // A .use beside a .top is the same credential, but its bytes count.
        const use = await add(tester, "s1", 200, "-P");
        assert.equal(use.code, 1);
        assert.match(use.stderr, /to 4200 bytes, more than CRED_MAX_BYTES_PER_USER \(4096\)/);
        const small = await add(tester, "s1", 90, "-P");
        assert.equal(small.code, 0, small.stderr);

        // The other user is served all along, and root (in-process) is not limited.
        for (const service of ["a", "b"]) {
          const r = await add(other, service, 1000);
          assert.equal(r.code, 0, r.stderr);
        }
        const otherKrb = await as(other, ["add-krb", "-i", "-"], "ticket");
        assert.equal(otherKrb.code, 0, otherKrb.stderr);
        const root = await runCli(
          ["add-oauth", "-u", "csc_tester@test.example", "-s", "byroot", "-i", "-"],
          { env: daemon.env, stdin: "r".repeat(5000) },
        );
        assert.equal(root.code, 0, root.stderr);

        // Refusals repeated: the audit log gets at most 10 of them per minute from one worker.
        const before = (await readText(audit))!.trimEnd().split("\n").length;
        for (let round = 0; round < 5; round++) {
          const runs = await Promise.all(
            Array.from({ length: 6 }, (_, i) => add(tester, `x${round}${i}`, 10)),
          );
          for (const r of runs) assert.equal(r.code, 1, r.stderr);
        }
        const lines = (await readText(audit))!.trimEnd().split("\n").map((l) => JSON.parse(l));
        const refusals = lines.filter((l) =>
          l.by === "csc_tester@test.example" && l.result === "not-allowed"
        );
        // 34 refusals in all; 10 written per minute begun since the first (one, unless this
        // machine is very slow), and no summary yet unless a minute has passed.
        const minutes = 1 + Math.floor((Date.now() - firstRefusal) / 60_000);
        assert.ok(refusals.length >= 10, `${refusals.length} refusals written`);
        assert.ok(refusals.length <= 10 * minutes, `${refusals.length} refusals in ${minutes} min`);
        if (minutes === 1) {
          assert.equal(refusals.length, 10);
          assert.ok(lines.length - before <= 10, `${lines.length - before} lines for 30 refusals`);
        }
        // Every request of the user within the limits is written.
        assert.equal(lines.filter((l) => l.by === "csc_other@test.example").length, 3);
      });
    });
  },
});

Deno.test("RefusalLimiter writes 10 refusals per caller per minute, then one summary line", () => {
  const alice: Caller = { uid: 1001, name: "alice", domain: "d", inProcess: false };
  const bob: Caller = { uid: 1002, name: "bob", domain: "d", inProcess: false };
  const limiter = new RefusalLimiter();
  const t0 = 1_000_000;
  const writes: boolean[] = [];
  for (let i = 0; i < 25; i++) {
    const { summaries, write } = limiter.decide(alice, t0 + i, true);
    assert.deepEqual(summaries, []);
    writes.push(write);
  }
  assert.deepEqual(writes, [...Array(10).fill(true), ...Array(15).fill(false)]);
  // Another caller has a window of its own; successes are always written.
  assert.equal(limiter.decide(bob, t0 + 100, true).write, true);
  assert.equal(limiter.decide(alice, t0 + 200, false).write, true);
  // Just before the minute ends: still counted. After it: the summary, then a new window.
  assert.equal(limiter.decide(alice, t0 + 59_999, true).write, false);
  const later = limiter.decide(bob, t0 + 60_000, false);
  assert.deepEqual(later, {
    summaries: [{ caller: alice, start: t0, written: 10, suppressed: 16 }],
    write: true,
  });
  assert.deepEqual(limiter.decide(alice, t0 + 60_001, true), { summaries: [], write: true });
  // Bob's window ended with nothing suppressed: dropped without a summary.
  assert.deepEqual(limiter.decide(bob, t0 + 60_200, true), { summaries: [], write: true });
});
