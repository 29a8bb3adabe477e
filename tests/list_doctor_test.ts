/**
 * `list` and `doctor` (README "list", "doctor") on a real node's layout: credmon output, the web
 * flow's files, Kerberos caches, the pool and sealed passwords. `list` shows every credential
 * with its metadata and never a secret byte; `doctor` finds exactly each planted defect and
 * nothing on a healthy store, and changes nothing.
 */

import assert from "node:assert/strict";
import { withDaemon } from "../testing/daemon.ts";
import { runCli, snapshot, withSpool } from "../testing/harness.ts";
import { type Node, withNode } from "../testing/node.ts";
import { isRealUser, NEEDS_ROOT, nonRootUsers, withCondorLock } from "../testing/users.ts";

/** Every secret the fixture stores; none may appear in a listing. */
const SECRETS = [
  "KRB-TICKET-BYTES",
  "pool-secret-pw",
  "sealed-user-pw",
  "webflow-refresh-box",
  "csecret",
  "access-token-P",
];

async function populate(node: Node): Promise<void> {
  await node.credmon("oauth");
  await node.credmon("krb");
  const ok = async (args: string[], stdin?: string) => {
    const r = await node.run(args, { stdin });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  };
  await ok(["add-krb", "-u", "alice@node.example", "-i", "-"], "KRB-TICKET-BYTES");
  await ok(["add", "-c", "-p", "-"], "pool-secret-pw");
  await ok(["add", "-u", "alice@node.example", "-p", "-"], "sealed-user-pw");
  await ok(
    ["add-oauth", "-u", "alice@node.example", "-s", "scitokens", "-S", "read:/", "-i", "-"],
    '{"seed":"x"}',
  );
  await ok(["add-oauth", "-u", "bob@node.example", "-s", "tok", "-P", "-i", "-"], "access-token-P");
  await node.webFlow("alice", "box");
  // The credmon's .use, within a generous bound (a loaded machine runs the credmon slowly).
  for (let i = 0;; i++) {
    if (await Deno.lstat(`${node.oauth}/alice/scitokens.use`).then(() => true, () => false)) break;
    if (i === 2400) throw new Error("the credmon wrote no scitokens.use within 120 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "list shows every credential of the node with its metadata and no secret byte (needs root)",
  ignore: NEEDS_ROOT,
  fn: () =>
    withNode(async (node) => {
      await populate(node);
      const text = await node.run(["list"]);
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^TYPE +USER +NAME +FILES +SIZE +MODIFIED +DETAILS$/);
      const rows = lines.slice(1).map((l) => l.split(/ {2,}/));
      assert.deepEqual(rows.map((r) => r.slice(0, 4)), [
        ["password", "alice@node.example", "-", ".pwd"],
        ["password", "condor_pool@node.example", "POOL", "POOL"],
        ["kerberos", "alice", "-", ".cred .cc"],
        ["oauth", "alice", "box", ".top .use .meta"],
        ["oauth", "alice", "scitokens", ".top .use"],
        ["oauth", "bob", "tok", ".use"],
      ]);
      const scitokens = lines.find((l) => /^oauth +alice +scitokens/.test(l))!;
      assert.match(
        scitokens,
        /scopes "read:\/"; access token sub "alice", iss "https:\/\/standin\.example", aud "ANY", scope "read:\/", expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in (59|60) min\)/,
      );
      const json = await node.run(["list", "--json"]);
      const parsed = JSON.parse(json.stdout);
      assert.equal(parsed.status, "listed");
      assert.equal(parsed.credentials.length, 6);
      const box = parsed.credentials.find((c: { name: string }) => c.name === "box");
      assert.deepEqual(Object.keys(box.files).sort(), [".meta", ".top", ".use"]);
      assert.equal(box.scopes, "read:/");
      for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) {
        for (const secret of SECRETS) {
          assert.equal(out.includes(secret), false, `${secret} was listed`);
        }
      }
      // Not even a prefix of the access token.
      const use =
        JSON.parse(await Deno.readTextFile(`${node.oauth}/alice/scitokens.use`)).access_token;
      assert.equal((text.stdout + json.stdout).includes(use.slice(0, 16)), false);
      // Filters.
      const oauth = await node.run(["list-oauth", "-u", "alice@node.example"]);
      assert.deepEqual(
        oauth.stdout.trimEnd().split("\n").slice(1).map((l) => l.split(/ {2,}/)[2]),
        ["box", "scitokens"],
      );
      const krb = await node.run(["list-krb"]);
      assert.equal(krb.stdout.trimEnd().split("\n").length, 2);
      const pwd = await node.run(["list-pwd", "-u", "condor_pool@node.example"]);
      assert.match(pwd.stdout, /\npassword +condor_pool@node\.example +POOL/);
      const none = await node.run(["list-krb", "-u", "nobody@node.example"]);
      assert.deepEqual([none.code, none.stdout], [1, "No credential is stored.\n"]);
      const noneJson = await node.run(["list-krb", "-u", "nobody@node.example", "--json"]);
      assert.equal(JSON.parse(noneJson.stdout).status, "not-found");
    }),
});

Deno.test({
  name:
    "through the daemon a user lists only their own credentials; a super user lists everyone's (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester, other] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      for (const user of ["csc_tester", "csc_other", "someone"]) {
        await runCli(["add-oauth", "-u", `${user}@test.example`, "-s", "s", "-P", "-i", "-"], {
          env: spool.env,
          stdin: "t",
        });
      }
      await withDaemon(
        spool,
        { env: { _CONDOR_CRED_SUPER_USERS: "csc_other" } },
        async (daemon) => {
          const own = await runCli(["list"], { env: daemon.env, user: tester });
          assert.equal(own.code, 0, own.stderr);
          assert.deepEqual(
            own.stdout.trimEnd().split("\n").slice(1).map((l) => l.split(/ {2,}/)[1]),
            ["csc_tester"],
          );
          const theirs = await runCli(["list", "-u", "someone@test.example"], {
            env: daemon.env,
            user: tester,
          });
          assert.equal(theirs.code, 1);
          assert.match(theirs.stderr, /may not act on the credentials of "someone@test\.example"/);
          const all = await runCli(["list"], { env: daemon.env, user: other });
          assert.deepEqual(
            all.stdout.trimEnd().split("\n").slice(1).map((l) => l.split(/ {2,}/)[1]),
            [
              "csc_other",
              "csc_tester",
              "someone",
            ],
          );
        },
      );
    });
  },
});

/** Runs doctor; returns the exit code and the findings as [kind, path] pairs. */
async function doctor(node: Node) {
  const r = await node.run(["doctor", "--json"]);
  const findings = JSON.parse(r.stdout).findings as {
    kind: string;
    path: string;
    problem: string;
  }[];
  return { code: r.code, findings, pairs: findings.map((f) => [f.kind, f.path]) };
}

Deno.test({
  name:
    "doctor finds nothing on a healthy packaged node, changes nothing, and finds each planted defect exactly (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [, attacker] = (await nonRootUsers())!;
    await withNode(async (node) => {
      await populate(node);
      const before = await snapshot(node.root);
      const clean = await doctor(node);
      assert.deepEqual([clean.code, clean.findings], [0, []]);
      const text = await node.run(["doctor"]);
      assert.deepEqual([text.code, text.stdout], [0, "No problem found.\n"]);
      assert.equal(await snapshot(node.root), before, "doctor changed something");

      const old = new Date(Date.now() - 7200_000);
      const cases: [string, () => Promise<void>, () => Promise<void>, [string, string]][] = [
        [
          "group-writable Kerberos directory",
          () => Deno.chmod(node.krb, 0o775),
          () => Deno.chmod(node.krb, 0o755),
          ["insecure", node.krb],
        ],
        [
          "a secret readable by others",
          () => Deno.chmod(`${node.krb}/alice.cred`, 0o644),
          () => Deno.chmod(`${node.krb}/alice.cred`, 0o600),
          ["insecure", `${node.krb}/alice.cred`],
        ],
        [
          "a file owned by another user",
          () => Deno.chown(`${node.oauth}/bob/tok.use`, attacker.uid, attacker.gid),
          () => Deno.chown(`${node.oauth}/bob/tok.use`, 0, 0),
          ["insecure", `${node.oauth}/bob/tok.use`],
        ],
        ["a symlinked credential", async () => {
          await Deno.rename(`${node.oauth}/bob/tok.use`, `${node.root}/tok.use`);
          await Deno.symlink(`${node.root}/tok.use`, `${node.oauth}/bob/tok.use`);
        }, async () => {
          await Deno.remove(`${node.oauth}/bob/tok.use`);
          await Deno.rename(`${node.root}/tok.use`, `${node.oauth}/bob/tok.use`);
        }, ["insecure", `${node.oauth}/bob/tok.use`]],
        [
          "a stray temp file",
          () =>
            Deno.writeTextFile(`${node.krb}/.alice.cred.0123456789abcdef.tmp`, "x", {
              mode: 0o600,
            }),
          () => Deno.remove(`${node.krb}/.alice.cred.0123456789abcdef.tmp`),
          ["stray-temp", `${node.krb}/.alice.cred.0123456789abcdef.tmp`],
        ],
        [
          "an interrupted write",
          () =>
            Deno.writeTextFile(`${node.krb}/.locks/alice.lock`, ".alice.cred.0123456789abcdef.tmp"),
          () => Deno.writeTextFile(`${node.krb}/.locks/alice.lock`, ""),
          ["interrupted-write", `${node.krb}/.locks/alice.lock`],
        ],
        [
          "no credmon pid file",
          () => Deno.rename(`${node.oauth}/pid`, `${node.root}/pid`),
          () => Deno.rename(`${node.root}/pid`, `${node.oauth}/pid`),
          ["no-credmon", `${node.oauth}/pid`],
        ],
        [
          "a pid naming no process",
          async () => {
            await Deno.rename(`${node.krb}/pid`, `${node.root}/pid`);
            await Deno.writeTextFile(`${node.krb}/pid`, "4194303\n", { mode: 0o644 });
          },
          () => Deno.rename(`${node.root}/pid`, `${node.krb}/pid`),
          ["credmon-dead", `${node.krb}/pid`],
        ],
        [
          "no completed credmon scan",
          () => Deno.rename(`${node.krb}/CREDMON_COMPLETE`, `${node.root}/cc`),
          () => Deno.rename(`${node.root}/cc`, `${node.krb}/CREDMON_COMPLETE`),
          ["credmon-incomplete", `${node.krb}/CREDMON_COMPLETE`],
        ],
        [
          "a .top waiting too long",
          async () => {
            await Deno.rename(`${node.oauth}/alice/scitokens.use`, `${node.root}/s.use`);
            await Deno.utime(`${node.oauth}/alice/scitokens.top`, old, old);
          },
          () => Deno.rename(`${node.root}/s.use`, `${node.oauth}/alice/scitokens.use`),
          ["credmon-stuck", `${node.oauth}/alice/scitokens.top`],
        ],
        [
          "an expired access token",
          async () => {
            const claims = btoa(JSON.stringify({ exp: 1_000_000 })).replace(/=+$/, "");
            await Deno.writeTextFile(
              `${node.oauth}/bob/tok.use`,
              `eyJhbGciOiJub25lIn0.${claims}.c2ln`,
            );
          },
          () => Deno.writeTextFile(`${node.oauth}/bob/tok.use`, "access-token-P"),
          ["expired-token", `${node.oauth}/bob/tok.use`],
        ],
        [
          "a mark nobody sweeps",
          async () => {
            await Deno.writeTextFile(`${node.oauth}/carol.mark`, "", { mode: 0o600 });
            await Deno.utime(`${node.oauth}/carol.mark`, old, old);
          },
          () => Deno.remove(`${node.oauth}/carol.mark`),
          ["stale-mark", `${node.oauth}/carol.mark`],
        ],
        [
          "the OAuth directory without condor's group",
          () => Deno.chown(node.oauth, 0, 0),
          () => Deno.chown(node.oauth, 0, node.condor.gid),
          // Group-writable by root's group is unsafe, not merely an odd layout.
          ["insecure", node.oauth],
        ],
        [
          "a private OAuth directory the credd cannot create users' directories in",
          async () => {
            await Deno.chown(node.oauth, 0, 0);
            await Deno.chmod(node.oauth, 0o700);
          },
          async () => {
            await Deno.chown(node.oauth, 0, node.condor.gid);
            await Deno.chmod(node.oauth, 0o2770);
          },
          ["layout", node.oauth],
        ],
        [
          "a configuration warning",
          () => Deno.writeTextFile(node.config, "FOO : bar\n", { append: true }),
          () =>
            Deno.writeTextFile(
              node.config,
              (Deno.readTextFileSync(node.config)).replace("FOO : bar\n", ""),
            ),
          ["config", node.config],
        ],
      ];
      for (const [what, plant, repair, expected] of cases) {
        await plant();
        const planted = await snapshot(node.root);
        const found = await doctor(node);
        assert.equal(found.code, 1, what);
        assert.deepEqual(found.pairs, [expected], `${what}: ${JSON.stringify(found.findings)}`);
        assert.equal(await snapshot(node.root), planted, `${what}: doctor changed something`);
        await repair();
      }
      assert.deepEqual((await doctor(node)).findings, []);
    });
  },
});

Deno.test({
  name:
    "doctor says when a shared OAuth directory has no condor account to share it with (needs root, no condor)",
  ignore: NEEDS_ROOT || await isRealUser("condor"),
  fn: () =>
    // No other run of the tests may create a condor account meanwhile.
    withCondorLock(() =>
      withSpool(async (spool) => {
        await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], { env: spool.env, stdin: "t" });
        await Deno.chmod(spool.oauth, 0o2770);
        const r = await runCli(["doctor", "--json"], { env: spool.env });
        assert.equal(r.code, 1);
        const findings = JSON.parse(r.stdout).findings.map((
          f: { kind: string; path: string },
        ) => [f.kind, f.path]);
        assert.deepEqual(findings, [["no-condor", spool.oauth]]);
      })
    ),
});
