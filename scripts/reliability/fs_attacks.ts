/**
 * The "filesystem attacks" section of scripts/reliability.ts: a spool made hostile (symlinks, a
 * FIFO, hard links, loose modes, other owners), a non-root user against root's spool, planted
 * predictable temp names and -f onto an attacker's symlink; every attack is refused and changes
 * nothing.
 */

import {
  credentialFiles,
  EVERY_ACTION,
  nonRootUsers,
  populateSpool,
  runCli,
  type RunResult,
  snapshot,
  type Spool,
  type TestUser,
  withSpool,
} from "../../testing/harness.ts";
import { markdownTable as table } from "../report.ts";
import { type Reliability, type ReliabilitySection, sh } from "./harness.ts";

interface Attack {
  readonly name: string;
  /** Who runs the program: the realistic threat decides. */
  readonly as: "root" | "attacker";
  /** Prepares the spool; returns extra paths whose state must not change. */
  readonly arrange: (spool: Spool, attacker: TestUser | null) => Promise<void>;
  readonly actions: (args: string[]) => boolean;
  readonly expect: RegExp;
}

const every = () => true;

function attacks(): Attack[] {
  return [
    {
      name: "symlink at the credential (to a file outside the spool)",
      as: "root",
      arrange: async (s) => {
        await Deno.writeTextFile(`${s.root}/victim`, "victim", { mode: 0o600 });
        for (
          const f of [
            `${s.krb}/root.cred`,
            `${s.oauth}/root/svc.top`,
            s.pool,
            `${s.pwd}/root@test.example.pwd`,
          ]
        ) {
          await Deno.remove(f);
          await Deno.symlink(`${s.root}/victim`, f);
        }
      },
      actions: (a) => a.join(" ") !== "add-oauth -s svc -P -i -",
      expect: /it is a symbolic link/,
    },
    {
      name: "FIFO at the credential (must never block)",
      as: "root",
      arrange: async (s) => {
        for (const f of credentialFiles(s)) {
          await Deno.remove(f);
          await sh(`mkfifo -m 600 ${f}`);
        }
      },
      actions: every,
      expect: /it is not a regular file/,
    },
    {
      name: "hard-linked credential",
      as: "root",
      arrange: async (s) => {
        for (const f of credentialFiles(s)) {
          await Deno.link(f, `${f}.hardlink-${crypto.randomUUID().slice(0, 8)}`);
        }
      },
      actions: every,
      expect: /it has 2 hard links/,
    },
    {
      name: "credential with mode 0644",
      as: "root",
      arrange: async (s) => {
        for (const f of credentialFiles(s)) {
          await Deno.chmod(f, 0o644);
        }
      },
      actions: every,
      expect: /its mode 0644 gives access to group or others/,
    },
    {
      name: "credential owned by another user",
      as: "root",
      arrange: async (s, attacker) => {
        for (const f of credentialFiles(s)) {
          await Deno.chown(f, attacker!.uid, attacker!.gid);
        }
      },
      actions: every,
      expect: /it is owned by \S+ \(uid \d+\); only root may own the files/,
    },
    {
      name: "group-writable credential directories",
      as: "root",
      arrange: async (s) => {
        for (const d of [s.krb, `${s.oauth}/root`, `${s.root}/spool/passwords.d`, s.pwd]) {
          await Deno.chmod(d, 0o770);
        }
      },
      actions: every,
      expect: /makes it writable by group or others/,
    },
    {
      name: "world-writable spool directory",
      as: "root",
      arrange: async (s) => {
        await Deno.chmod(`${s.root}/spool`, 0o777);
      },
      actions: every,
      expect: /its mode 0777 lets group or others replace what it contains/,
    },
    {
      name: "spool directory owned by another user",
      as: "root",
      arrange: async (s, attacker) => {
        await Deno.chown(`${s.root}/spool`, attacker!.uid, attacker!.gid);
      },
      actions: every,
      expect: /it is owned by \S+ \(uid \d+\); only root may own the directories/,
    },
    {
      name: "a non-root user against root's spool (no daemon)",
      as: "attacker",
      arrange: () => Promise.resolve(),
      actions: every,
      expect: /^ERROR: you may not write the credential store .* and no condor_store_cred daemon/m,
    },
  ];
}

async function attackSection(ctx: Reliability): Promise<void> {
  const { figures, fail, skip, report } = ctx;
  const users = await nonRootUsers();
  const attacker = users?.[1] ?? null;
  const rows: (string | number)[][] = [];
  for (const attack of attacks()) {
    if (attacker === null && (attack.as === "attacker" || /another user/.test(attack.name))) {
      skip(`attack "${attack.name}": needs root to create a non-root user`);
      continue;
    }
    await withSpool(async (spool) => {
      await populateSpool(spool);
      await attack.arrange(spool, attacker);
      const before = await snapshot(spool.root);
      let tried = 0;
      let refused = 0;
      let changed = 0;
      for (const action of EVERY_ACTION.filter((a) => attack.actions(a.args))) {
        tried++;
        const r = await Promise.race([
          runCli(action.args, {
            env: spool.env,
            stdin: action.stdin,
            user: attack.as === "attacker" ? attacker! : undefined,
          }),
          new Promise<RunResult>((resolve) =>
            setTimeout(() => resolve({ code: -1, stdout: "", stderr: "HUNG" }), 15000)
          ),
        ]);
        if (r.code === 1 && attack.expect.test(r.stderr)) refused++;
        else {fail(
            `attack "${attack.name}": ${action.args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`,
          );}
        if ((await snapshot(spool.root)) !== before) {
          changed++;
          fail(`attack "${attack.name}": ${action.args.join(" ")} changed the spool`);
        }
      }
      figures.attacksTried += tried;
      figures.attacksRefused += refused;
      figures.attackChanges += changed;
      if (attack.as === "attacker") figures.attacksAsNonRoot += tried;
      rows.push([
        attack.name,
        attack.as === "attacker" ? "non-root user" : "root (broken setup)",
        tried,
        refused,
        changed,
      ]);
    });
  }

  // Predictable temp names: upstream writes through `<user>.credtmp`, `<name>.top.tmp` and
  // `<pool file>.tmp`. Symlinks to a victim and FIFOs planted there must never be followed or
  // opened (a naive port that reused those names would overwrite the victim or hang).
  await withSpool(async (spool) => {
    await populateSpool(spool);
    await Deno.writeTextFile(`${spool.root}/victim`, "victim", { mode: 0o600 });
    const links = [
      `${spool.krb}/root.credtmp`,
      `${spool.krb}/root.cred.tmp`,
      `${spool.oauth}/root/svc.use.tmp`,
      `${spool.pool}.tmp`,
    ];
    const fifos = [`${spool.oauth}/root/svc.top.tmp`, `${spool.pwd}/root@test.example.pwd.tmp`];
    for (const link of links) await Deno.symlink(`${spool.root}/victim`, link);
    for (const fifo of fifos) await sh(`mkfifo -m 600 ${fifo}`);
    const adds: string[][] = [
      ["add-krb", "-i", "-"],
      ["add-oauth", "-s", "svc", "-P", "-i", "-"],
      ["add-oauth", "-s", "svc", "-i", "-"],
      ["add", "-c", "-p", "-"],
      ["add", "-p", "-"],
    ];
    let ok = 0;
    for (const args of adds) {
      const r = await runCli(args, { env: spool.env, stdin: "new", timeoutMs: 15_000 });
      if (r.code === 0) ok++;
      else fail(`predictable temp names: ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
    }
    const victim = await Deno.readTextFile(`${spool.root}/victim`);
    const planted = [...links, ...fifos].every((p) => {
      try {
        const info = Deno.lstatSync(p);
        return info.isSymlink || info.isFifo;
      } catch {
        return false;
      }
    });
    const intact = victim === "victim" && planted;
    if (!intact) {
      fail(`predictable temp names: victim "${victim}", planted entries kept: ${planted}`);
    }
    figures.attacksTried += adds.length;
    if (ok === adds.length && intact) figures.attacksRefused += adds.length;
    rows.push([
      "symlinks to a victim and FIFOs planted at upstream's predictable temp names",
      "root (broken setup)",
      adds.length,
      ok === adds.length && intact ? adds.length : 0,
      intact ? 0 : 1,
    ]);
  });

  // -f into a sticky /tmp-like directory where the attacker planted a symlink at the target.
  if (attacker !== null) {
    await withSpool(async (spool) => {
      const shared = `${spool.root}/shared-tmp`;
      await Deno.mkdir(shared, { mode: 0o1777 });
      await Deno.chmod(shared, 0o1777);
      await Deno.writeTextFile(`${spool.root}/victim`, "victim", { mode: 0o600 });
      const target = `${shared}/pool_password`;
      await sh(
        `setpriv --reuid=${attacker.uid} --regid=${attacker.gid} --clear-groups ln -s ${spool.root}/victim ${target}`,
      );
      const r = await runCli(["-f", target, "-p", "-"], { env: spool.env, stdin: "secret" });
      figures.attacksTried++;
      const ok = r.code === 1 && /refusing to use .*pool_password.*symbolic link/.test(r.stderr) &&
        (await Deno.readTextFile(`${spool.root}/victim`)) === "victim";
      if (ok) figures.attacksRefused++;
      else fail(`-f onto an attacker's symlink: exit ${r.code}: ${r.stderr}`);
      rows.push([
        "-f FILE where another user planted a symlink at FILE in a sticky directory",
        "root",
        1,
        ok ? 1 : 0,
        ok ? 0 : 1,
      ]);
    });
  }
  report(
    "## 4. Filesystem attacks",
    "",
    "Every action (add, delete, query of every type) is tried against each prepared spool; a " +
      "refusal must exit 1 with the expected message and leave every file (content, mode, owner, " +
      "link count, mtime) unchanged. Attacks that need write access to a root-owned 0700 " +
      "directory are run as root to simulate a broken setup; the non-root rows run as the real " +
      "user `csc_other`.",
    "",
    table(["attack", "run as", "actions tried", "refused", "changes made"], rows),
    "",
  );
}

export const section: ReliabilitySection = { name: "filesystem attacks", run: attackSection };
