/**
 * `list` of everyone when one account cannot be read (issue 21 item 9): root's list, and a
 * super user's through the daemon, show every account they can read, and each refused account
 * as a row with the reason and the fix; the exit status is 1 and `--json` carries the refusal.
 */

import assert from "node:assert/strict";
import { runCli, type Spool, withSpool } from "../testing/harness.ts";
import { withRemote } from "../testing/remote.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";

/** alice's and bob's access tokens, and bob's directory at mode 0757 (writable by others). */
async function plant(spool: Spool): Promise<void> {
  for (const user of ["alice", "bob"]) {
    const add = await runCli(
      ["add-oauth", "-u", `${user}@test.example`, "-s", "tok", "-P", "-i", "-"],
      { env: spool.env, stdin: `access-of-${user}` },
    );
    assert.equal(add.code, 0, add.stderr);
  }
  await Deno.chmod(`${spool.oauth}/bob`, 0o757);
}

type Row = { user: string; name: string | null; refused: string | null; problem: string | null };

/** The --json of a list of everyone: `listed` readable credentials (alice's, and the pool's
 * password where there is one), bob's refused row. */
function checkJson(stdout: string, hidden: boolean, listed: number): void {
  const result = JSON.parse(stdout);
  assert.equal(result.ok, false);
  assert.equal(result.status, "insecure");
  assert.equal(result.reason, "refused");
  assert.match(
    result.message,
    new RegExp(`1 account could not be read .*: oauth "bob"; ${listed} credentials? listed$`),
  );
  const rows = (result.credentials as (Row & { type: string })[]).filter((r) => r.type === "oauth");
  assert.equal(result.credentials.length, listed + 1);
  assert.deepEqual(rows.map((r) => [r.user, r.name, r.refused]), [
    ["alice", "tok", null],
    ["bob", null, "insecure"],
  ]);
  const problem = rows[1].problem!;
  assert.match(problem, /writable by group or others/);
  if (hidden) {
    assert.doesNotMatch(problem, /csc-spool-/, "no path of the daemon's host over TLS");
  } else {
    assert.match(problem, /chmod 700/, "the fix");
  }
}

Deno.test({
  name: "root's list shows every readable account and a refused one as a row with why and the " +
    "fix, exit 1 (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withSpool(async (spool) => {
      await plant(spool);
      const text = await runCli(["list"], { env: spool.env });
      assert.equal(text.code, 1, text.stderr);
      const lines = text.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 3, text.stdout);
      assert.match(lines[1], /^oauth +alice +tok +\.use /);
      assert.match(lines[2], /^oauth +bob +- +- .*REFUSED: .*bob.*writable by group or others/);
      assert.match(lines[2], /chmod 700/);
      assert.match(
        text.stderr,
        /^ERROR: 1 account could not be read \(REFUSED in the list, with why and the fix\): oauth "bob"; 1 credential listed\n$/,
      );
      const json = await runCli(["list-oauth", "--json"], { env: spool.env });
      assert.equal(json.code, 1);
      checkJson(json.stdout, false, 1);
      // A readable store still lists with exit 0.
      await Deno.chmod(`${spool.oauth}/bob`, 0o700);
      const fixed = await runCli(["list"], { env: spool.env });
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.equal(fixed.stderr, "");
    });
  },
});

Deno.test({
  name: "a super user's list through the daemon, on the socket and over TLS, shows a refused " +
    "account as a row, exit 1, with no daemon path over TLS (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withRemote(async (remote) => {
      await plant(remote.spool);
      const local = await runCli(["list", "--json"], { env: remote.daemon.env, user: tester });
      assert.equal(local.code, 1, local.stderr);
      checkJson(local.stdout, false, 2);
      assert.match(local.stderr, /^ERROR: 1 account could not be read/);
      const token = await remote.token(["-identity", "admin@test.example", "-lifetime", "600"]);
      const far = await remote.run(["list", "--json", "--token-file", "-"], {
        stdin: token,
        user: tester,
      });
      assert.equal(far.code, 1, far.stderr);
      checkJson(far.stdout, true, 2);
    }, {
      env: { _CONDOR_CRED_SUPER_USERS: "csc_tester@test.example, admin@test.example" },
    });
  },
});
