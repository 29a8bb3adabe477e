/**
 * The "crash safety" section of scripts/reliability.ts: the program killed with SIGKILL at random
 * moments of an add, for every credential type; afterwards each credential is the old or the new
 * one, never partial, and the next add leaves no temp file.
 */

import { runCli, type Spool, withSpool } from "../../testing/harness.ts";
import { markdownTable as table } from "../report.ts";
import { scramblePoolPassword } from "../../lib/crypto/scramble.ts";
import { unseal } from "../../lib/crypto/seal.ts";
import {
  bytesEqual,
  MIB,
  type Options,
  readOrNull,
  type Reliability,
  type ReliabilitySection,
  spawnProgram,
  tempFiles,
} from "./harness.ts";

const encoder = new TextEncoder();

interface CrashType {
  readonly name: string;
  readonly args: string[];
  /** The credential given for generation `n` (distinct per generation). */
  readonly content: (n: number) => Uint8Array;
  /** The stored credential as its plaintext, or null when missing. */
  readonly stored: (spool: Spool) => Promise<Uint8Array | null>;
  /** The directory where its temp files would appear. */
  readonly dir: (spool: Spool) => string;
}

function filled(n: number, size: number, tag: string): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x41 + (n % 26));
  bytes.set(encoder.encode(`${tag}:${n}:`));
  return bytes;
}

function crashTypes(options: Options): CrashType[] {
  const big = options.quick ? 64 * 1024 : MIB;
  return [
    {
      name: "pool password (add -c -p -)",
      args: ["add", "-c", "-p", "-"],
      content: (n) => encoder.encode(`pool-password-${n}-${"x".repeat(200)}`),
      stored: (s) => {
        const raw = readOrNull(s.pool);
        return Promise.resolve(raw === null ? null : scramblePoolPassword(raw));
      },
      dir: (s) => `${s.root}/spool/passwords.d`,
    },
    {
      name: "sealed user password (add -p -)",
      args: ["add", "-p", "-"],
      content: (n) => encoder.encode(`user-password-${n}`),
      stored: async (s) => {
        const sealed = readOrNull(`${s.pwd}/root@test.example.pwd`);
        const key = readOrNull(`${s.pwd}/host.key`);
        if (sealed === null || key === null) return null;
        return await unseal(sealed, "root@test.example", key) ?? encoder.encode("<does not open>");
      },
      dir: (s) => s.pwd,
    },
    {
      name: "Kerberos (add-krb -i -)",
      args: ["add-krb", "-i", "-"],
      content: (n) => filled(n, big, "krb"),
      stored: (s) => Promise.resolve(readOrNull(`${s.krb}/root.cred`)),
      dir: (s) => s.krb,
    },
    {
      name: "OAuth refresh token (add-oauth -i -)",
      args: ["add-oauth", "-s", "svc", "-i", "-"],
      content: (n) => filled(n, big, "top"),
      stored: (s) => Promise.resolve(readOrNull(`${s.oauth}/root/svc.top`)),
      dir: (s) => s.oauth,
    },
    {
      name: "OAuth access token (add-oauth -P -i -)",
      args: ["add-oauth", "-s", "svc", "-P", "-i", "-"],
      content: (n) => filled(n, big, "use"),
      stored: (s) => Promise.resolve(readOrNull(`${s.oauth}/root/svc.use`)),
      dir: (s) => s.oauth,
    },
  ];
}

async function crashSection(ctx: Reliability): Promise<void> {
  const { options, figures, fail, report } = ctx;
  const rows: (string | number)[][] = [];
  for (const type of crashTypes(options)) {
    await withSpool(async (spool) => {
      let generation = 0;
      let midRun = 0;
      let inWindow = 0;
      let afterExit = 0;
      let partial = 0;
      let debris = 0;
      // Measure the typical duration, to spread the kills over the whole run.
      const t0 = performance.now();
      const first = await runCli(type.args, { env: spool.env, stdin: type.content(generation) });
      const duration = performance.now() - t0;
      if (first.code !== 0) fail(`${type.name}: the first add failed: ${first.stderr}`);
      for (let k = 0; k < options.kills; k++) {
        const old = type.content(generation);
        const next = type.content(generation + 1);
        const child = await spawnProgram(type.args, spool.env, next);
        const delay = Math.random() * duration * 1.2;
        await new Promise((r) => setTimeout(r, delay));
        try {
          child.kill("SIGKILL");
        } catch {
          // It exited already.
        }
        const status = await child.status;
        if (status.signal === "SIGKILL") midRun++;
        else afterExit++;
        // A temp file left right now means the kill landed between its creation and the rename.
        if ((await tempFiles(type.dir(spool))).length > 0) inWindow++;
        const stored = await type.stored(spool);
        const isOld = bytesEqual(stored, old);
        const isNew = bytesEqual(stored, next);
        if (!isOld && !isNew) {
          partial++;
          fail(
            `${type.name}: after a kill at ${
              delay.toFixed(1)
            } ms the credential is neither old nor new`,
          );
        }
        if (status.success && !isNew) {
          partial++;
          fail(`${type.name}: an add that exited 0 is not on disk`);
        }
        // The next successful add removes whatever the killed one left behind.
        generation += 2;
        const ok = await runCli(type.args, { env: spool.env, stdin: type.content(generation) });
        if (ok.code !== 0) fail(`${type.name}: the add after a kill failed: ${ok.stderr}`);
        const left = await tempFiles(type.dir(spool));
        if (left.length > 0) {
          debris++;
          fail(`${type.name}: temp files left after the next successful add: ${left.join(", ")}`);
        }
      }
      figures.killAttempts += options.kills;
      figures.killsMidRun += midRun;
      figures.killsInWriteWindow += inWindow;
      figures.killsAfterExit += afterExit;
      figures.partialAfterKill += partial;
      figures.tempFilesAfterNextAdd += debris;
      rows.push([type.name, options.kills, midRun, inWindow, afterExit, partial, debris]);
      console.log(
        `crash: ${type.name}: ${options.kills} kills, ${midRun} mid-run, ${partial} partial`,
      );
    });
  }
  report(
    "## 1. Crash safety (SIGKILL at random moments)",
    "",
    "Each round: a successful add (generation n), then an add of generation n+1 killed with " +
      "SIGKILL after a random delay spread over a typical run, then a check that the credential " +
      "is exactly generation n or n+1, then another successful add and a check that no temp " +
      `file is left. Kerberos and OAuth credentials are ${
        options.quick ? "64 KiB" : "1 MiB"
      } to widen ` +
      "the write window.",
    "",
    table(
      [
        "type",
        "kills sent",
        "killed mid-run",
        "killed inside the write window",
        "finished before the kill",
        "partial or lost",
        "temp files left",
      ],
      rows,
    ),
    "",
    "`-f FILE` takes no lock and keeps no journal: a kill between creating its temp file and the " +
      "rename can leave `.<file>.<hex>.tmp` beside FILE (the target itself is never partial). " +
      "`doctor`-style cleanup of such files is not implemented.",
    "",
  );
}

export const section: ReliabilitySection = { name: "crash safety", run: crashSection };
