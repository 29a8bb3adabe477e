/**
 * Black-box tests on a real node's layout (docs/storage.md, testing/node.ts): the condor account,
 * the packaged owners and modes, credmon stand-ins that write their files as upstream's do, and the
 * OAuth web flow's condor-owned files. Every action must work there, signal the right credmon and
 * report what it did, while everything a hostile user could plant stays refused.
 */

import assert from "node:assert/strict";
import { exists, modeOf, nonRootUsers, readText, snapshot } from "../testing/harness.ts";
import { credmonLog, type Node, withNode } from "../testing/node.ts";
import { isRealUser, NEEDS_ROOT, withCondorLock } from "../testing/users.ts";
import { localTime, runCli, withSpool } from "../testing/harness.ts";

/** This machine has its own condor account (the no-condor layout cannot be shown then). */
const HAS_CONDOR = await isRealUser("condor");

function mtime(info: Deno.FileInfo): number {
  return Math.floor(info.mtime!.getTime() / 1000);
}

/** Waits for `path` to appear (a generous bound: a loaded machine runs the credmons slowly). */
async function waitFor(path: string, seconds = 120): Promise<Deno.FileInfo> {
  for (let i = 0; i < seconds * 20; i++) {
    const info = await Deno.lstat(path).catch(() => null);
    if (info !== null) return info;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} did not appear within ${seconds} s`);
}

async function ok(node: Node, args: string[], stdin?: string) {
  const r = await node.run(args, { stdin });
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r;
}

const HEADER_KRB = "Account: <current> (root)\nCredType: kerberos\n\n";
const INFO = '\nCredential info:\nfully_qualified_user = "root@node.example"\n\n';

Deno.test({
  name: "on a packaged node, Kerberos adds signal the real credmon and report its .cc time",
  ignore: NEEDS_ROOT,
  fn: () =>
    withNode(async (node) => {
      const credmon = await node.credmon("krb");
      // condor_credmon_krb writes `echo $$ > pid`: root 0644 with a newline.
      assert.equal(await modeOf(`${node.krb}/pid`), 0o644);
      assert.equal(await readText(`${node.krb}/pid`), `${credmon.pid}\n`);

      const add = await node.run(["add-krb", "-i", "-"], { stdin: "TICKET" });
      const cc = await Deno.lstat(`${node.krb}/root.cc`);
      assert.deepEqual(add, {
        code: 0,
        stdout: `${HEADER_KRB}Operation succeeded. Credential was stored on ${
          localTime(mtime(cc), "UTC")
        }\n${INFO}`,
        stderr: "",
      }, await credmonLog(node, "krb"));
      assert.equal(await credmon.hupsReach(1), 1);
      assert.equal(await readText(`${node.krb}/root.cc`), "TICKET");
      assert.equal(cc.uid, 0);
      assert.equal(await modeOf(`${node.krb}/root.cred`), 0o600);

      const query = await ok(node, ["query-krb"]);
      assert.equal(
        query.stdout,
        `${HEADER_KRB}A credential was stored on ${
          localTime(mtime(cc), "UTC")
        } and is valid.\n${INFO}`,
      );
      const other = await ok(node, ["add-krb", "-u", "alice@node.example", "-i", "-"], "A");
      assert.match(other.stdout, /Operation succeeded\. Credential was stored on /);
      assert.equal(await readText(`${node.krb}/alice.cc`), "A");
      assert.equal(await credmon.hupsReach(2), 2);

      await ok(node, ["delete-krb", "-u", "alice@node.example"]);
      assert.equal(await exists(`${node.krb}/alice.cc`), false);
      assert.equal(await exists(`${node.krb}/alice.cred`), false);
    }),
});

Deno.test({
  name: "on a packaged node, OAuth adds signal the real credmon, whose .use a query then reports",
  ignore: NEEDS_ROOT,
  fn: () =>
    withNode(async (node) => {
      const credmon = await node.credmon("oauth");
      // The Python credmons write the pid with open("w"): root 0644, no newline.
      assert.equal(await modeOf(`${node.oauth}/pid`), 0o644);
      assert.equal(await readText(`${node.oauth}/pid`), String(credmon.pid));

      const beforeAdd = Date.now() / 1000;
      const add = await node.run(["add-oauth", "-s", "scitokens", "-i", "-"], { stdin: "seed" });
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, /Operation succeeded and is waiting for processing\.\n/);
      assert.equal(add.stderr, "");
      assert.equal(await credmon.hupsReach(1), 1);
      const use = await waitFor(`${node.oauth}/root/scitokens.use`);
      assert.equal(use.uid, 0);
      assert.equal(use.mode! & 0o7777, 0o400);

      const query = await ok(node, ["query-oauth", "-s", "scitokens"]);
      assert.match(query.stdout, /A credential was stored and is valid\.\n/);
      // The stand-in's access token is a JWT that expires in an hour (deviation 18).
      const expires = Number(/TokenExpires = (\d+)/.exec(query.stdout)?.[1]);
      // Minted after the add began and before the query ended, an hour ahead.
      assert.ok(
        expires >= Math.floor(beforeAdd) + 3600 && expires <= Date.now() / 1000 + 3600,
        `expires at ${expires}`,
      );
      await ok(node, ["query-oauth", "-s", "scitokens", "--min-ttl", "600"]);

      // The user directory the program made is condor's, so the credd and web flow can write.
      const dir = await Deno.lstat(`${node.oauth}/root`);
      assert.deepEqual([dir.uid, dir.gid, dir.mode! & 0o7777], [
        node.condor.uid,
        node.condor.gid,
        0o2700,
      ]);
      assert.equal(
        await node.asCondor(`touch ${node.oauth}/root/probe && rm ${node.oauth}/root/probe`),
        0,
      );

      // Scopes and audience merged into JSON; the credmon turns it into a .use too.
      await ok(
        node,
        ["add-oauth", "-s", "svc", "-H", "h", "-S", "a,b", "-A", "aud", "-i", "-"],
        "{}",
      );
      await waitFor(`${node.oauth}/root/svc_h.use`);
      await ok(node, ["query-oauth", "-s", "svc", "-H", "h", "-S", "a,b", "-A", "aud"]);
      assert.equal(await credmon.hupsReach(2), 2);

      // -P stores the access token itself; no signal.
      const p = await ok(node, ["add-oauth", "-s", "tok", "-P", "-i", "-"], "AT");
      const tokUse = await Deno.lstat(`${node.oauth}/root/tok.use`);
      assert.match(
        p.stdout,
        new RegExp(`Credential was stored on ${localTime(mtime(tokUse), "UTC")}\n`),
      );
      assert.equal(await credmon.hupsReach(2), 2);

      // A LOCAL: Kerberos credential asks the OAuth local issuer, whose credmon is signalled.
      await ok(node, ["add-krb", "-i", "-"], "LOCAL:issued");
      assert.equal(await readText(`${node.oauth}/root/issued.top`), "root");
      assert.equal(await credmon.hupsReach(3), 3);
      await waitFor(`${node.oauth}/root/issued.use`);

      const all = await ok(node, ["query-oauth"]);
      for (const name of ["scitokens.top", "scitokens.use", "svc_h.top", "tok.use"]) {
        assert.match(all.stdout, new RegExp(`\n${name.replace(".", "\\.")} = \\d+\n`));
      }
      await ok(node, ["delete-oauth", "-s", "tok"]);
      assert.equal(await exists(`${node.oauth}/root/tok.use`), false);
      await ok(node, ["delete-oauth"]);
      assert.equal(await exists(`${node.oauth}/root`), false);
    }),
});

Deno.test({
  name: "credentials from the OAuth web flow (condor 0400 in a condor directory) are used",
  ignore: NEEDS_ROOT,
  fn: () =>
    withNode(async (node) => {
      await node.webFlow("alice", "box");
      const owner = (await Deno.lstat(`${node.oauth}/alice/box.top`)).uid;
      assert.equal(owner, node.condor.uid);
      const u = ["-u", "alice@node.example"];

      const all = await ok(node, ["query-oauth", ...u]);
      assert.match(all.stdout, /A credential was stored and is valid\./);
      assert.match(all.stdout, /\nbox\.top = \d+\nbox\.use = \d+\n/);
      // The web flow stores its scopes; upstream compares them exactly.
      const mismatch = await node.run(["query-oauth", ...u, "-s", "box"]);
      assert.equal(mismatch.code, 2, mismatch.stderr);
      await ok(node, ["query-oauth", ...u, "-s", "box", "-S", "read:/"]);

      // Replacing the web flow's access token, and deleting around its .meta.
      await ok(node, ["add-oauth", ...u, "-s", "box", "-P", "-i", "-"], "NEW");
      const use = await Deno.lstat(`${node.oauth}/alice/box.use`);
      assert.deepEqual([use.uid, use.mode! & 0o777], [0, 0o600]);
      await ok(node, ["delete-oauth", ...u, "-s", "box"]);
      assert.equal(await exists(`${node.oauth}/alice/box.top`), false);
      assert.equal(await exists(`${node.oauth}/alice/box.meta`), true);
      await node.webFlow("alice", "gdrive");
      await ok(node, ["delete-oauth", ...u]);
      assert.equal(await exists(`${node.oauth}/alice`), false);
    }),
});

Deno.test({
  name: "missing directories are created as HTCondor makes them",
  ignore: NEEDS_ROOT,
  fn: () =>
    withNode(async (node) => {
      await ok(node, ["add-oauth", "-s", "s", "-P", "-i", "-"], "t");
      const oauth = await Deno.lstat(node.oauth);
      assert.deepEqual([oauth.uid, oauth.gid, oauth.mode! & 0o7777], [0, node.condor.gid, 0o2770]);
      const user = await Deno.lstat(`${node.oauth}/root`);
      assert.deepEqual([user.uid, user.mode! & 0o7777], [node.condor.uid, 0o2700]);
      assert.equal(await node.asCondor(`touch ${node.oauth}/root/x`), 0);
      await ok(node, ["add-krb", "-i", "-"], "t");
      const krb = await Deno.lstat(node.krb);
      assert.deepEqual([krb.uid, krb.mode! & 0o7777], [0, 0o755]);
    }, { bare: true }),
});

Deno.test({
  name: "every Kerberos or OAuth operation removes the user's mark before it writes",
  ignore: NEEDS_ROOT,
  fn: () =>
    withNode(async (node) => {
      // A write that fails (its target is a directory) still finds the mark gone: it went first.
      await Deno.writeTextFile(`${node.krb}/root.mark`, "");
      await Deno.mkdir(`${node.krb}/root.cred`);
      const krb = await node.run(["add-krb", "-i", "-"], { stdin: "t" });
      assert.equal(krb.code, 1);
      assert.equal(await exists(`${node.krb}/root.mark`), false);
      await Deno.remove(`${node.krb}/root.cred`);

      await ok(node, ["add-oauth", "-s", "s", "-P", "-i", "-"], "t");
      await Deno.writeTextFile(`${node.oauth}/root.mark`, "");
      await Deno.mkdir(`${node.oauth}/root/s.use`, { recursive: true }).catch(() => {});
      await Deno.remove(`${node.oauth}/root/s.use`, { recursive: true });
      await Deno.mkdir(`${node.oauth}/root/s.use`);
      const oauth = await node.run(["add-oauth", "-s", "s", "-P", "-i", "-"], { stdin: "t" });
      assert.equal(oauth.code, 1);
      assert.equal(await exists(`${node.oauth}/root.mark`), false);

      // Queries and deletes cancel the sweep too.
      for (
        const [dir, args] of [[node.krb, ["query-krb"]], [node.oauth, [
          "delete-oauth",
          "-s",
          "x",
        ]]] as const
      ) {
        await Deno.writeTextFile(`${dir}/root.mark`, "");
        await node.run([...args]);
        assert.equal(await exists(`${dir}/root.mark`), false, args.join(" "));
      }
    }),
});

Deno.test({
  name: "passwords and -f FILE on a packaged node; -f replaces a 0644 file with a 0600 one",
  ignore: NEEDS_ROOT,
  fn: () =>
    withNode(async (node) => {
      await ok(node, ["add", "-c", "-p", "-"], "poolpw");
      assert.equal(await modeOf(node.pool), 0o600);
      await ok(node, ["add", "-u", "alice@node.example", "-p", "-"], "userpw");
      await ok(node, ["query", "-u", "alice@node.example"]);
      await ok(node, ["delete", "-u", "alice@node.example"]);
      await ok(node, ["delete", "-c"]);
      const file = `${node.root}/etc/condor/poolfile`;
      await Deno.writeTextFile(file, "old", { mode: 0o644 });
      await Deno.chmod(file, 0o644);
      const f = await node.run(["-f", file, "-p", "-"], { stdin: "foobar2" });
      assert.deepEqual([f.code, f.stdout, f.stderr], [0, "", ""]);
      assert.equal(await modeOf(file), 0o600);
      assert.deepEqual([...await Deno.readFile(file)], [0xb8, 0xc2, 0xd1, 0x8d, 0xbf, 0xdf, 0x8c]);
    }),
});

Deno.test({
  name: "CONDOR_IDS names the condor account",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [, stand] = (await nonRootUsers())!;
    await withNode(async (node) => {
      const env = { _CONDOR_CONDOR_IDS: `${stand.uid}.${stand.gid}` };
      // The ids name the account everything condor owns must belong to.
      await Deno.chown(`${node.root}/var/lib/condor`, stand.uid, stand.gid);
      const r = await node.run(["add-oauth", "-s", "s", "-P", "-i", "-"], { env, stdin: "t" });
      assert.equal(r.code, 0, r.stderr);
      const oauth = await Deno.lstat(node.oauth);
      assert.equal(oauth.gid, stand.gid);
      assert.equal((await Deno.lstat(`${node.oauth}/root`)).uid, stand.uid);
      const bad = await node.run(["query-oauth"], { env: { _CONDOR_CONDOR_IDS: "condor" } });
      assert.equal(bad.code, 1);
      assert.match(
        bad.stderr,
        /CONDOR_IDS is "condor"; it must be the condor account's uid and gid/,
      );
    }, { bare: true });
  },
});

Deno.test({
  name: "on a packaged node, what a hostile user could plant is still refused",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [, attacker] = (await nonRootUsers())!;
    await withNode(async (node) => {
      await ok(node, ["add-oauth", "-s", "s", "-P", "-i", "-"], "t");
      const cases: [string, () => Promise<void>, RegExp][] = [
        [
          "a .use owned by another user",
          async () => {
            await Deno.chown(`${node.oauth}/root/s.use`, attacker.uid, attacker.gid);
          },
          /it is owned by csc_other \(uid \d+\); only root or condor \(uid \d+\) may own the files/,
        ],
        ["a condor-owned .use readable by others", async () => {
          await Deno.chown(`${node.oauth}/root/s.use`, node.condor.uid, node.condor.gid);
          await Deno.chmod(`${node.oauth}/root/s.use`, 0o444);
        }, /its mode 0444 gives access to group or others/],
        ["a user directory owned by another user", async () => {
          await Deno.chown(`${node.oauth}/root`, attacker.uid, attacker.gid);
        }, /refusing to use the directory ".*\/root": it is owned by csc_other/],
        ["the OAuth directory 2770 with another group", async () => {
          await Deno.chown(node.oauth, 0, attacker.gid);
        }, /mode 02770 makes it writable by group or others/],
        ["a world-writable Kerberos directory", async () => {
          await Deno.chmod(node.krb, 0o777);
        }, /mode 0777 makes it writable by group or others/],
        ["a group-writable directory above the store", async () => {
          await Deno.chmod(`${node.root}/var/lib`, 0o775);
        }, /mode 0775 lets group or others replace what it contains/],
      ];
      for (const [what, plant, expected] of cases) {
        await ok(node, ["add-oauth", "-s", "s", "-P", "-i", "-"], "t");
        await plant();
        const before = await snapshot(node.root);
        const args = what.includes("Kerberos") ? ["query-krb"] : ["query-oauth", "-s", "s"];
        const r = await node.run(args);
        assert.equal(r.code, 1, what);
        assert.match(r.stderr, expected, what);
        assert.equal(await snapshot(node.root), before, what);
        // Repair for the next case.
        await Deno.chown(`${node.oauth}/root`, node.condor.uid, node.condor.gid);
        await Deno.chown(node.oauth, 0, node.condor.gid);
        await Deno.chmod(node.oauth, 0o2770);
        await Deno.chmod(node.krb, 0o755);
        await Deno.chmod(`${node.root}/var/lib`, 0o755);
        await Deno.remove(`${node.oauth}/root/s.use`);
      }
    });
  },
});

Deno.test({
  name: "without a condor account the OAuth directories are root's, 0700 (needs root, no condor)",
  ignore: NEEDS_ROOT || HAS_CONDOR,
  fn: async () => {
    // No other run of the tests may create a condor account meanwhile.
    await withCondorLock(() =>
      withSpool(async (spool) => {
        const r = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-", "-d"], {
          env: spool.env,
          stdin: "t",
        });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /no condor account \(CONDOR_IDS unset, no condor user\)/);
        assert.equal(await modeOf(spool.oauth), 0o700);
        const user = await Deno.lstat(`${spool.oauth}/root`);
        assert.deepEqual([user.uid, user.mode! & 0o7777], [0, 0o700]);
      })
    );
  },
});
