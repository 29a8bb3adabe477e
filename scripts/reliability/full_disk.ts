/**
 * The "full disk" section of scripts/reliability.ts: adds onto a full and a read-only tmpfs are
 * refused clearly and leave the old credential and no debris.
 */

import { IS_ROOT, runCli, withSpool } from "../../testing/harness.ts";
import { markdownTable as table } from "../report.ts";
import {
  bytesEqual,
  readOrNull,
  type Reliability,
  type ReliabilitySection,
  sh,
  tempFiles,
} from "./harness.ts";

async function diskSection(ctx: Reliability): Promise<void> {
  const { figures, fail, skip, report } = ctx;
  if (!IS_ROOT) {
    skip("full disk: mounting a tmpfs needs root");
    return;
  }
  await withSpool(async (spool) => {
    const mountPoint = `${spool.root}/spool`;
    await Deno.mkdir(mountPoint, { recursive: true });
    const mounted = await sh(`mount -t tmpfs -o size=512k,mode=0700 tmpfs ${mountPoint}`);
    if (mounted.code !== 0) {
      fail(`full disk: mount -t tmpfs failed as root: ${mounted.stderr.trim()}`);
      return;
    }
    const rows: (string | number)[][] = [];
    try {
      const cases: { name: string; args: string[]; path: string; old: string; next: string }[] = [
        {
          name: "pool password",
          args: ["add", "-c", "-p", "-"],
          path: spool.pool,
          old: "old-pool",
          next: "new-pool",
        },
        {
          name: "Kerberos",
          args: ["add-krb", "-i", "-"],
          path: `${spool.krb}/root.cred`,
          old: "old-krb",
          next: "n".repeat(64 * 1024),
        },
        {
          name: "OAuth .use",
          args: ["add-oauth", "-s", "s", "-P", "-i", "-"],
          path: `${spool.oauth}/root/s.use`,
          old: "old-use",
          next: "n".repeat(64 * 1024),
        },
        {
          name: "user password",
          args: ["add", "-p", "-"],
          path: `${spool.pwd}/root@test.example.pwd`,
          old: "old-pw",
          next: "new-pw",
        },
      ];
      for (const c of cases) {
        const r = await runCli(c.args, { env: spool.env, stdin: c.old });
        if (r.code !== 0) fail(`disk: storing the old ${c.name} failed: ${r.stderr}`);
      }
      const before = new Map(cases.map((c) => [c.path, readOrNull(c.path)]));
      // Fill the filesystem.
      await sh(`dd if=/dev/zero of=${mountPoint}/filler bs=4k 2>/dev/null; sync`);
      for (
        const [mode, remount] of [["full (ENOSPC)", ""], [
          "read-only (EROFS)",
          `mount -o remount,ro ${mountPoint}`,
        ]] as const
      ) {
        if (remount) {
          await Deno.remove(`${mountPoint}/filler`);
          const ro = await sh(remount);
          if (ro.code !== 0) {
            fail(`read-only disk: remount failed as root: ${ro.stderr.trim()}`);
            continue;
          }
        }
        for (const c of cases) {
          figures.diskCases++;
          const r = await runCli(c.args, { env: spool.env, stdin: c.next });
          const clear = r.code === 1 &&
            /^ERROR: could not .*(No space left on device|Read-only file system).*; nothing was changed\n$/m
              .test(r.stderr);
          if (clear) figures.diskRefusedClearly++;
          else fail(`disk ${mode}: ${c.name}: exit ${r.code}: ${r.stderr.trim()}`);
          const intact = bytesEqual(readOrNull(c.path), before.get(c.path)!);
          const debris = await tempFiles(mountPoint);
          if (!intact || debris.length > 0) {
            figures.diskDamage++;
            fail(
              `disk ${mode}: ${c.name}: ${intact ? "" : "old credential changed; "}${
                debris.join(", ")
              }`,
            );
          }
          rows.push([
            mode,
            c.name,
            r.code,
            clear ? "yes" : "NO",
            intact ? "yes" : "NO",
            debris.length,
            r.stderr.trim().split("\n")[0].replace(spool.root, "<spool>"),
          ]);
        }
      }
    } finally {
      await sh(`umount ${mountPoint}`);
    }
    report(
      "## 3. Full disk and I/O errors",
      "",
      "A 512 KiB tmpfs holds the spool; one credential of each type is stored, then the disk is " +
        "filled, then remounted read-only, and each add is tried again.",
      "",
      table([
        "disk",
        "type",
        "exit",
        "clear message",
        "old credential intact",
        "temp files",
        "message",
      ], rows),
      "",
    );
  });
}

export const section: ReliabilitySection = { name: "full disk", run: diskSection };
