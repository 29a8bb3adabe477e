/**
 * Black-box tests of the storage rules of docs/storage.md against a hostile filesystem: a non-root
 * user against a root-owned spool, group-writable directories, symlinked, hard-linked, foreign and
 * loosely-permissioned credentials. Every refusal must change nothing on disk.
 */

import assert from "node:assert/strict";
import {
  EVERY_ACTION,
  exists,
  modeOf,
  nonRootUsers,
  populateSpool,
  readText,
  runCli,
  snapshot,
  type Spool,
  type TestUser,
  withSpool,
} from "../testing/harness.ts";
import { NEEDS_ROOT } from "../testing/users.ts";

/** A system configuration would be read instead of the embedded default. */
const HAS_SYSTEM_CONFIG = await exists("/etc/condor/condor_config");

async function expectRefusals(
  spool: Spool,
  pattern: RegExp,
  options: { user?: TestUser; only?: (args: string[]) => boolean; extraArgs?: string[] } = {},
) {
  const before = await snapshot(spool.root);
  for (const action of EVERY_ACTION.filter((a) => options.only?.(a.args) ?? true)) {
    const args = [...action.args, ...(options.extraArgs ?? [])];
    const r = await runCli(args, { env: spool.env, stdin: action.stdin, user: options.user });
    assert.deepEqual(r.code, 1, `${args.join(" ")} should fail: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(" "));
    assert.deepEqual(await snapshot(spool.root), before, `${args.join(" ")} changed the spool`);
  }
}

Deno.test({
  name:
    "a non-root user cannot use a root-owned spool in-process; with no daemon every action is refused, nothing changes (needs root)",
  ignore: NEEDS_ROOT,
  fn: async (t) => {
    const users = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      await populateSpool(spool);
      await t.step("as csc_tester", async () => {
        await expectRefusals(
          spool,
          /^ERROR: you may not write the credential store ".*" \(".*" belongs to uid 0\), and no condor_store_cred daemon listens on/m,
          { user: users[0] },
        );
      });
    });
  },
});

Deno.test("a group-writable credential directory is refused, naming it", async () => {
  await withSpool(async (spool) => {
    await populateSpool(spool);
    await Deno.chmod(spool.krb, 0o770);
    await expectRefusals(
      spool,
      /^ERROR: refusing to use the directory ".*\/spool\/krb": its mode 0770 makes it writable by group or others; run "chmod 700/,
      { only: (a) => a[0].endsWith("-krb") },
    );
    await Deno.chmod(spool.krb, 0o700);
    await Deno.chmod(`${spool.oauth}/root`, 0o757);
    await expectRefusals(spool, /^ERROR: refusing to use the directory ".*\/spool\/oauth\/root"/, {
      only: (a) => a[0].endsWith("-oauth"),
    });
  });
});

Deno.test({
  name:
    "an OAuth directory shared as root:condor 2770 is accepted; other groups and 0775 are not (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const users = (await nonRootUsers())!;
    // csc_other stands in for condor through CONDOR_IDS (docs/storage.md "Trusted owners").
    const condor = users[1];
    await withSpool(async (spool) => {
      await populateSpool(spool);
      const env = { ...spool.env, _CONDOR_CONDOR_IDS: `${condor.uid}.${condor.gid}` };
      await Deno.chown(spool.oauth, 0, condor.gid);
      await Deno.chmod(spool.oauth, 0o2770);
      const ok = await runCli(["query-oauth", "-s", "svc"], { env });
      assert.deepEqual(ok.code, 0, ok.stderr);
      for (
        const [gid, mode] of [[0, 0o2770], [condor.gid, 0o770], [condor.gid, 0o2777], [0, 0o775]]
      ) {
        await Deno.chown(spool.oauth, 0, gid);
        await Deno.chmod(spool.oauth, mode);
        const bad = await runCli(["query-oauth", "-s", "svc"], { env });
        assert.deepEqual(bad.code, 1, `${gid} ${mode.toString(8)}`);
        assert.match(bad.stderr, /mode 0?\d+ makes it writable by group or others/);
      }
    });
  },
});

Deno.test("an insecure ancestor directory is refused; a sticky /tmp-like one is fine", async () => {
  await withSpool(async (spool) => {
    await populateSpool(spool);
    // Writable by others, by the group, or both, without the sticky bit: each is refused.
    for (const mode of [0o777, 0o770, 0o775, 0o757, 0o730]) {
      await Deno.chmod(spool.root, mode);
      const before = await snapshot(spool.root);
      const bad = await runCli(["query-krb"], { env: spool.env });
      assert.deepEqual(bad.code, 1, mode.toString(8));
      assert.match(
        bad.stderr,
        new RegExp(
          `refusing to use the directory ".*": its mode 0${mode.toString(8)} lets group or ` +
            "others replace",
        ),
      );
      assert.equal(await snapshot(spool.root), before);
    }
    await Deno.chmod(spool.root, 0o1777);
    const ok = await runCli(["query-krb"], { env: spool.env });
    assert.deepEqual(ok.code, 0, ok.stderr);
  });
});

Deno.test("a symlinked credential is refused by every action; neither link nor target changes", async () => {
  await withSpool(async (spool) => {
    await populateSpool(spool);
    const target = `${spool.root}/elsewhere`;
    await Deno.writeTextFile(target, "do not touch", { mode: 0o600 });
    for (const f of [`${spool.krb}/root.cred`, `${spool.oauth}/root/svc.top`, spool.pool]) {
      await Deno.remove(f);
      await Deno.symlink(target, f);
    }
    await Deno.remove(`${spool.pwd}/root@test.example.pwd`);
    await Deno.symlink(target, `${spool.pwd}/root@test.example.pwd`);
    await expectRefusals(spool, /^ERROR: refusing to use ".*": it is a symbolic link/m, {
      // Only add -P leaves the .top alone: it writes the .use beside it.
      only: (a) => a.join(" ") !== "add-oauth -s svc -P -i -",
    });
    assert.deepEqual(await readText(target), "do not touch");
  });
});

Deno.test("a hard-linked credential is refused", async () => {
  await withSpool(async (spool) => {
    await populateSpool(spool);
    await Deno.link(`${spool.krb}/root.cred`, `${spool.root}/hardlink`);
    await expectRefusals(spool, /it has 2 hard links/, {
      only: (a) => a[0].endsWith("-krb"),
    });
  });
});

Deno.test("a credential with mode 0644 is refused", async () => {
  await withSpool(async (spool) => {
    await populateSpool(spool);
    await Deno.chmod(`${spool.oauth}/root/svc.use`, 0o644);
    await expectRefusals(spool, /its mode 0644 gives access to group or others/, {
      only: (a) => a[0].endsWith("-oauth"),
    });
  });
});

Deno.test({
  name: "a credential owned by another user is refused (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const users = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      await populateSpool(spool);
      await Deno.chown(`${spool.krb}/root.cred`, users[1].uid, users[1].gid);
      await expectRefusals(
        spool,
        new RegExp(
          `it is owned by csc_other \\(uid ${users[1].uid}\\); only root may own the files`,
        ),
        { only: (a) => a[0].endsWith("-krb") },
      );
    });
  },
});

Deno.test({
  name: "a non-root user with no configuration gets a private spool under ~/.local/share " +
    "(needs root, no /etc/condor/condor_config)",
  ignore: NEEDS_ROOT || HAS_SYSTEM_CONFIG,
  fn: async () => {
    const users = (await nonRootUsers())!;
    const [user] = users;
    await withSpool(async (spool) => {
      const home = `${spool.root}/home`;
      await Deno.chown(home, user.uid, user.gid);
      const env = { HOME: home };
      const r = await runCli(["add-oauth", "-s", "demo", "-P", "-i", "-"], {
        env,
        stdin: "token",
        user,
      });
      assert.deepEqual(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^Account: <current> \(csc_tester\)\nCredType: oauth\n\nOperation succeeded\. Credential was stored on /,
      );
      const base = `${home}/.local/share/condor_store_cred`;
      for (
        const dir of [`${home}/.local`, `${home}/.local/share`, base, `${base}/oauth_credentials`]
      ) {
        assert.deepEqual(await modeOf(dir), 0o700, dir);
        assert.deepEqual((await Deno.lstat(dir)).uid, user.uid, dir);
      }
      const use = `${base}/oauth_credentials/csc_tester/demo.use`;
      assert.deepEqual(await readText(use), "token");
      assert.deepEqual((await Deno.lstat(use)).uid, user.uid);
      // XDG_DATA_HOME moves it.
      const xdg = `${home}/data`;
      const x = await runCli(["add", "-c", "-p", "-"], {
        env: { ...env, XDG_DATA_HOME: xdg },
        stdin: "pool",
        user,
      });
      assert.deepEqual(x.code, 0, x.stderr);
      assert.deepEqual(await exists(`${xdg}/condor_store_cred/passwords.d/POOL`), true);
    });
  },
});

Deno.test("a symlinked ancestor is judged by where it points", async () => {
  await withSpool(async (spool) => {
    const real = `${spool.root}/real`;
    await Deno.mkdir(`${real}/inner`, { recursive: true, mode: 0o755 });
    await Deno.symlink(real, `${spool.root}/link`);
    const env = {
      ...spool.env,
      _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: `${spool.root}/link/inner/krb`,
    };
    const ok = await runCli(["add-krb", "-i", "-"], { env, stdin: "t" });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await readText(`${real}/inner/krb/root.cred`), "t");

    // The same layout whose real parent is writable by everyone (not sticky) is refused.
    await Deno.chmod(real, 0o777);
    const before = await snapshot(spool.root);
    const bad = await runCli(["add-krb", "-i", "-"], { env, stdin: "u" });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`refusing to use the directory "${real}": its mode 0777`));
    assert.equal(await snapshot(spool.root), before);
  });
});
