/**
 * The reliability and security suite (`deno task reliability`): crash safety under SIGKILL,
 * concurrent writers, full and read-only disks, filesystem attacks, hostile input and secret
 * hygiene, all against the real program; and the daemon (`serve`) under attack by local clients,
 * killed mid-add and stopped under load, and sent forged tokens on its TLS port
 * (scripts/reliability_daemon.ts, scripts/reliability_tokens.ts, scripts/forge.ts). It counts
 * everything and writes RELIABILITY.md (fully generated), and exits 1 when any property fails.
 *
 * Usage: deno task reliability [--quick] [--out FILE] [--no-core] [--only SECTION]
 *   --quick    a bounded subset (what `deno task test` runs through tests/reliability_test.ts)
 *   --no-core  skip the core-dump check (gdb's gcore)
 *
 * Needs root for the tmpfs, the non-root attacker user, gcore and the daemon sections; each part
 * that cannot run says why and is reported as skipped.
 *
 * Permissions: -A.
 */

import { unseal } from "../lib/crypto/seal.ts";
import { scramblePoolPassword } from "../lib/crypto/scramble.ts";
import { generateCases, runFuzz } from "./fuzz.ts";
import { generateStoredCases, runStoredFuzz, type StoredFuzzFigures } from "./fuzz_stored.ts";
import { startDaemon } from "../testing/daemon.ts";
import { machineDescription, markdownTable } from "./report.ts";
import {
  type AttackFigures,
  daemonAttackSection,
  type DaemonCrashFigures,
  daemonCrashSection,
  daemonResilienceSection,
  type ResilienceFigures,
  type SectionIo,
} from "./reliability_daemon.ts";
import { forgedTokenSection, type TokenFigures } from "./reliability_tokens.ts";
import {
  baseEnv,
  credentialFiles,
  EVERY_ACTION,
  IS_ROOT,
  listTree,
  nonRootUsers,
  populateSpool,
  programCommand,
  runCli,
  type RunResult,
  snapshot,
  type Spool,
  type TestUser,
  withSpool,
} from "../testing/harness.ts";

// ---- options and bookkeeping -----------------------------------------------------------------

interface Options {
  readonly quick: boolean;
  /** Run only the sections whose names start with this (for debugging; no report rows for others).
   */
  readonly only: string | null;
  readonly out: string;
  readonly core: boolean;
  /** Kills per credential type. */
  readonly kills: number;
  /** Concurrent workers and operations per worker. */
  readonly workers: number;
  readonly opsPerWorker: number;
}

function parseOptions(args: string[]): Options {
  const root = new URL("..", import.meta.url).pathname;
  let quick = false;
  let out = `${root}RELIABILITY.md`;
  let core = true;
  let only: string | null = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--quick") quick = true;
    else if (args[i] === "--only") only = args[++i];
    else if (args[i] === "--out") out = args[++i];
    else if (args[i] === "--no-core") core = false;
    else {
      console.error(
        `unknown argument ${args[i]}; usage: [--quick] [--out FILE] [--no-core] [--only SECTION]`,
      );
      Deno.exit(2);
    }
  }
  return {
    quick,
    only,
    out,
    core: core && !quick,
    kills: quick ? 12 : 200,
    workers: quick ? 32 : 48,
    opsPerWorker: quick ? 3 : 25,
  };
}

/** The figures the report publishes. */
const figures = {
  killAttempts: 0,
  killsMidRun: 0,
  killsInWriteWindow: 0,
  killsAfterExit: 0,
  partialAfterKill: 0,
  tempFilesAfterNextAdd: 0,
  concurrentOps: 0,
  concurrentPlanned: 0,
  concurrentAcknowledged: 0,
  lostWrites: 0,
  tornFiles: 0,
  tornReads: 0,
  readsChecked: 0,
  badQueryAnswers: 0,
  lockTimeouts: 0,
  lockTimeoutClear: false,
  diskCases: 0,
  diskRefusedClearly: 0,
  diskDamage: 0,
  hostileTried: 0,
  hostileRefused: 0,
  hostileWrote: 0,
  attacksTried: 0,
  attacksRefused: 0,
  attackChanges: 0,
  attacksAsNonRoot: 0,
  secretLeaks: 0,
  secretChecks: 0,
  fuzzCases: 0,
  fuzzBroken: 0,
  storedFuzzCases: 0,
  storedFuzzBroken: 0,
  daemonAttack: null as AttackFigures | null,
  daemonCrash: null as DaemonCrashFigures | null,
  resilience: null as ResilienceFigures | null,
  tokens: null as TokenFigures | null,
};

/** Failed properties (each one fails the run). */
const failures: string[] = [];
/** Sections that could not run, with the reason. */
const skipped: string[] = [];
/** Report sections, in order. */
const report: string[] = [];

function fail(message: string): void {
  failures.push(message);
  console.log(`FAIL ${message}`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TEMP = /^\..+\.[0-9a-f]{16}\.tmp$/;

function bytesEqual(a: Uint8Array | null, b: Uint8Array): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

function readOrNull(path: string): Uint8Array | null {
  try {
    return Deno.readFileSync(path);
  } catch {
    return null;
  }
}

async function tempFiles(dir: string): Promise<string[]> {
  const all = await listTree(dir).catch(() => [] as string[]);
  return all.filter((p) => TEMP.test(p.split("/").at(-1)!));
}

const table = markdownTable;

// ---- 1. crash safety -------------------------------------------------------------------------

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

const MIB = 1024 * 1024;

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

/** Starts the program; resolves when it exits. */
async function spawnProgram(args: string[], env: Record<string, string>, stdin: Uint8Array) {
  const command = await programCommand();
  const child = new Deno.Command(command[0], {
    args: [...command.slice(1), ...args],
    clearEnv: true,
    env: { ...(await baseEnv()), ...env },
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  writer.write(stdin).then(() => writer.close()).catch(() => {});
  return child;
}

async function crashSection(options: Options): Promise<void> {
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
  report.push(
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

// ---- 2. concurrency --------------------------------------------------------------------------

interface Op {
  readonly key: string;
  readonly kind: "add" | "delete" | "query";
  readonly start: number;
  end: number;
  code: number;
  readonly content?: string;
  stderr: string;
}

async function concurrencySection(options: Options): Promise<void> {
  await withSpool(async (spool) => {
    const keys = {
      krb: (user: string) => `${spool.krb}/${user}.cred`,
      oauth: (user: string) => `${spool.oauth}/${user}/svc.use`,
    };
    const written = new Set<string>();
    const ops: Op[] = [];
    let stop = false;

    const one = async (worker: number, seq: number) => {
      const type = Math.random() < 0.5 ? "krb" : "oauth";
      const user = Math.random() < 0.5 ? "shared" : `w${worker}`;
      const roll = Math.random();
      const kind = roll < 0.5 ? "add" : roll < 0.7 ? "delete" : "query";
      const content = kind === "add"
        ? `${type}:${user}:${worker}:${seq}:${"z".repeat(Math.floor(Math.random() * 4096))}`
        : undefined;
      if (content) written.add(content);
      const u = ["-u", `${user}@test.example`];
      const args = type === "krb"
        ? {
          add: ["add-krb", ...u, "-i", "-"],
          delete: ["delete-krb", ...u],
          query: ["query-krb", ...u],
        }[kind]
        : {
          add: ["add-oauth", ...u, "-s", "svc", "-P", "-i", "-"],
          delete: ["delete-oauth", ...u, "-s", "svc"],
          query: ["query-oauth", ...u, "-s", "svc"],
        }[kind];
      const op: Op = {
        key: keys[type](user),
        kind,
        start: performance.now(),
        end: 0,
        code: -1,
        content,
        stderr: "",
      };
      const r = await runCli(args, { env: spool.env, stdin: content });
      op.end = performance.now();
      op.code = r.code;
      op.stderr = r.stderr;
      ops.push(op);
    };

    // A reader that checks every file it sees is complete: one of the contents ever written.
    const reader = (async () => {
      while (!stop) {
        for (const path of [keys.krb("shared"), keys.oauth("shared")]) {
          const bytes = readOrNull(path);
          if (bytes === null) continue;
          figures.readsChecked++;
          if (!written.has(decoder.decode(bytes))) {
            figures.tornReads++;
            fail(`concurrency: a torn or unknown content was read from ${path}`);
          }
        }
        await new Promise((r) => setTimeout(r, 3));
      }
    })();

    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.workers }, async (_, w) => {
        for (let s = 0; s < options.opsPerWorker; s++) await one(w, s);
      }),
    );
    const elapsed = performance.now() - started;
    stop = true;
    await reader;

    figures.concurrentPlanned += options.workers * options.opsPerWorker;
    // Counted: operations that ran to an answer (0 or 1), not the ones merely started.
    figures.concurrentOps += ops.filter((op) => op.code === 0 || op.code === 1).length;
    for (const op of ops) {
      const timedOut = /timed out after \d+ seconds waiting for the lock/.test(op.stderr);
      if (timedOut) figures.lockTimeouts++;
      if (op.kind !== "query" && op.code === 0) figures.concurrentAcknowledged++;
      if (op.kind !== "query" && op.code !== 0 && !timedOut) {
        fail(`concurrency: ${op.kind} of ${op.key} failed: ${op.stderr.trim()}`);
      }
      if (op.kind === "query" && ![0, 1].includes(op.code)) {
        figures.badQueryAnswers++;
        fail(`concurrency: a query answered ${op.code}: ${op.stderr.trim()}`);
      }
    }
    // Per key: the final state must come from a write that no other acknowledged write started
    // after (real-time order); a missing file needs such an acknowledged delete.
    const byKey = new Map<string, Op[]>();
    for (const op of ops) {
      if (op.kind !== "query" && op.code === 0) {
        byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
      }
    }
    for (const [key, writes] of byKey) {
      const bytes = readOrNull(key);
      const final = bytes === null ? null : decoder.decode(bytes);
      const producers = writes.filter((w) =>
        final === null ? w.kind === "delete" : w.content === final
      );
      if (final !== null && !written.has(final)) {
        figures.tornFiles++;
        fail(`concurrency: ${key} holds a content nobody wrote`);
        continue;
      }
      const legal = producers.some((p) => !writes.some((w) => w !== p && w.start > p.end));
      if (!legal) {
        figures.lostWrites++;
        fail(
          `concurrency: ${key} ends as ${
            final === null ? "missing" : "an overwritten value"
          }, losing an acknowledged write`,
        );
      }
    }
    const left = [...(await tempFiles(spool.krb)), ...(await tempFiles(spool.oauth))];
    if (left.length > 0) fail(`concurrency: temp files left: ${left.join(", ")}`);
    console.log(
      `concurrency: ${ops.length} operations by ${options.workers} processes in ${
        (elapsed / 1000).toFixed(1)
      } s`,
    );
    report.push(
      "## 2. Concurrency",
      "",
      `${options.workers} concurrent workers, each running ${options.opsPerWorker} operations ` +
        "one after another (add, delete or query; Kerberos or OAuth; a shared user or the " +
        "worker's own), so up to " + `${options.workers} processes run at once. A reader ` +
        "checked the shared files every few milliseconds. Every acknowledged write is checked " +
        "against the final state in real-time order.",
      "",
      table(["figure", "value"], [
        ["operations planned", options.workers * options.opsPerWorker],
        ["operations that ran to an answer (exit 0 or 1)", figures.concurrentOps],
        ["acknowledged adds and deletes", figures.concurrentAcknowledged],
        ["wall time", `${(elapsed / 1000).toFixed(1)} s`],
        ["files read while writers ran", figures.readsChecked],
        ["torn reads", figures.tornReads],
        ["torn files at the end", figures.tornFiles],
        ["lost acknowledged writes", figures.lostWrites],
        ["queries with an answer other than found/not found", figures.badQueryAnswers],
        ["lock timeouts (reported clearly, counted, not failures)", figures.lockTimeouts],
        ["temp files left", left.length],
      ]),
      "",
    );
  });

  // A held lock: the add must give up after CRED_LOCK_TIMEOUT with a clear message, not hang.
  await withSpool(async (spool) => {
    await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
    const lock = await Deno.open(`${spool.krb}/.locks/root.lock`, { read: true, write: true });
    try {
      lock.lockSync(true);
      const t0 = performance.now();
      const r = await runCli(["add-krb", "-i", "-"], {
        env: { ...spool.env, _CONDOR_CRED_LOCK_TIMEOUT: "1" },
        stdin: "u",
      });
      const seconds = (performance.now() - t0) / 1000;
      figures.lockTimeoutClear = r.code === 1 &&
        /^ERROR: timed out after 1 seconds waiting for the lock ".*root\.lock"; another condor_store_cred is still writing/
          .test(r.stderr) &&
        seconds < 5;
      if (!figures.lockTimeoutClear) {
        fail(`lock timeout: exit ${r.code} after ${seconds.toFixed(1)} s: ${r.stderr}`);
      }
      report.push(
        `A lock held by another process: \`add-krb\` with CRED_LOCK_TIMEOUT=1 exited ${r.code} after ` +
          `${seconds.toFixed(1)} s with: \`${r.stderr.trim().slice(0, 120)}…\``,
        "",
      );
    } finally {
      lock.close();
    }
  });
}

// ---- 3. full disk and I/O errors -------------------------------------------------------------

async function sh(command: string, env?: Record<string, string>): Promise<RunResult> {
  const out = await new Deno.Command("sh", {
    args: ["-c", command],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function diskSection(): Promise<void> {
  if (!IS_ROOT) {
    skipped.push("full disk: mounting a tmpfs needs root");
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
    report.push(
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

// ---- 4. filesystem attacks -------------------------------------------------------------------

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

async function attackSection(): Promise<void> {
  const users = await nonRootUsers();
  const attacker = users?.[1] ?? null;
  const rows: (string | number)[][] = [];
  for (const attack of attacks()) {
    if (attacker === null && (attack.as === "attacker" || /another user/.test(attack.name))) {
      skipped.push(`attack "${attack.name}": needs root to create a non-root user`);
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
  report.push(
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

// ---- 5. hostile input ------------------------------------------------------------------------

async function hostileSection(): Promise<void> {
  const rows: (string | number)[][] = [];
  await withSpool(async (spool) => {
    const bigFile = `${spool.root}/big`;
    await Deno.writeFile(bigFile, new Uint8Array(MIB + 1).fill(0x62));
    await Deno.mkdir(`${spool.oauth}/root`, { recursive: true, mode: 0o700 });
    const names: [string, string][] = [
      ["slash", "a/b"],
      ["dot-dot", ".."],
      ["dot", "."],
      ["path traversal", "../../etc"],
      ["newline", "a\nb"],
      ["space", "a b"],
      ["star", "a*"],
      ["300-byte name", "x".repeat(300)],
      ["Cyrillic look-alike", "\u0455citokens"],
      ["fullwidth look-alike", "\uff53citokens"],
      ["empty", ""],
    ];
    const cases: { name: string; args: string[]; stdin?: string | Uint8Array; expect: RegExp }[] =
      [];
    for (const [what, value] of names) {
      cases.push(
        {
          name: `user name: ${what}`,
          args: ["add-krb", "-u", `${value}@test.example`, "-i", "-"],
          stdin: "t",
          // An empty user part is already refused by the command-line parser.
          expect: value === ""
            ? /is not of the form: account@domain/
            : /bad arguments\n {4}the user name/,
        },
        {
          name: `service name: ${what}`,
          args: ["add-oauth", "-s", value, "-i", "-"],
          stdin: "t",
          expect: /bad arguments\n {4}the service name/,
        },
        {
          name: `handle: ${what}`,
          args: ["add-oauth", "-s", "svc", "-H", value || ".", "-i", "-"],
          stdin: "t",
          expect: /bad arguments\n {4}the handle name/,
        },
      );
    }
    cases.push(
      {
        name: "1 MiB + 1 byte through stdin",
        args: ["add-krb", "-i", "-"],
        stdin: new Uint8Array(MIB + 1).fill(0x61),
        expect: /^ERROR: credential is larger than 1048576 bytes\n$/,
      },
      {
        name: "1 MiB + 1 byte through a file",
        args: ["add-oauth", "-s", "svc", "-i", bigFile],
        expect: /^ERROR: credential is larger than 1048576 bytes\n$/,
      },
      {
        name: "256-byte password through -p -",
        args: ["add", "-c", "-p", "-"],
        stdin: "p".repeat(256),
        expect: /^ERROR: credential is larger than 255 bytes\n$/,
      },
      {
        name: "invalid JSON with -S",
        args: ["add-oauth", "-s", "svc", "-S", "a", "-i", "-"],
        stdin: "{not json",
        expect: /^Failure parsing credential as JSON\n/,
      },
      {
        name: "JSON array with -A",
        args: ["add-oauth", "-s", "svc", "-A", "aud", "-i", "-"],
        stdin: "[1,2]",
        expect: /^Failure parsing credential as JSON\n/,
      },
      {
        name: "empty credential",
        args: ["add-oauth", "-s", "svc", "-i", "-"],
        stdin: "",
        expect: /^ERROR: the credential is empty; nothing was stored\n$/,
      },
    );
    // NUL cannot reach a program through argv at all: execve takes C strings.
    skipped.push(
      "NUL bytes in names: argv cannot carry them (execve); NUL in credentials is allowed and stored verbatim",
    );

    for (const c of cases) {
      const before = await snapshot(spool.root);
      const r = await runCli(c.args, { env: spool.env, stdin: c.stdin });
      figures.hostileTried++;
      const refused = r.code === 1 && c.expect.test(r.stderr);
      const wrote = (await snapshot(spool.root)) !== before;
      if (refused) figures.hostileRefused++;
      else fail(`hostile ${c.name}: exit ${r.code}: ${r.stderr.trim()}`);
      if (wrote) {
        figures.hostileWrote++;
        fail(`hostile ${c.name}: something was written`);
      }
      rows.push([c.name, r.code, refused ? "yes" : "NO", wrote ? "YES" : "no"]);
    }

    // A .top with unexpected JSON types, then query.
    await Deno.writeTextFile(`${spool.oauth}/root/odd.top`, '{"scopes":{"a":1},"audience":7}', {
      mode: 0o600,
    });
    const before = await snapshot(spool.root);
    const q = await runCli(["query-oauth", "-s", "odd"], { env: spool.env });
    figures.hostileTried++;
    const ok = q.code === 1 &&
      /^Failure parsing credential as JSON\n {4}the scopes in .* is a JSON object/.test(q.stderr);
    if (ok) figures.hostileRefused++;
    else fail(`hostile .top types: exit ${q.code}: ${q.stderr}`);
    if ((await snapshot(spool.root)) !== before) figures.hostileWrote++;
    rows.push([".top whose scopes is an object (query)", q.code, ok ? "yes" : "NO", "no"]);
  });

  // Malformed configuration files.
  for (
    const [name, text, expect] of [
      ["unterminated continuation", "A = x \\\n", /unterminated line continuation/],
      ["$( without )", "SEC_CREDENTIAL_DIRECTORY_KRB = $(HOME\n", /unterminated macro reference/],
      [
        "recursive macros",
        "SEC_CREDENTIAL_DIRECTORY_KRB = $(B)\nB = $(SEC_CREDENTIAL_DIRECTORY_KRB)\n",
        /recursive macro reference/,
      ],
      ["illegal identifier", "BAD! = 1\n", /Illegal Identifier/],
      ["if without endif", "if true\nA = 1\n", /if without matching endif/],
    ] as const
  ) {
    await withSpool(async (spool) => {
      await Deno.writeTextFile(spool.config, text);
      const r = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
      figures.hostileTried++;
      const refused = r.code === 1 && expect.test(r.stderr) && r.stderr.includes(spool.config);
      const wrote = (await listTree(spool.root)).some((p) => p.startsWith("spool"));
      if (refused) figures.hostileRefused++;
      else fail(`config ${name}: exit ${r.code}: ${r.stderr}`);
      if (wrote) figures.hostileWrote++;
      rows.push([`configuration: ${name}`, r.code, refused ? "yes" : "NO", wrote ? "YES" : "no"]);
    });
  }
  report.push(
    "## 5. Hostile input",
    "",
    "Each input must be refused with exit 1 and a message naming the problem, and write nothing.",
    "",
    table(["input", "exit", "refused clearly", "wrote anything"], rows),
    "",
  );
}

// ---- 6. secrets ------------------------------------------------------------------------------

function randomSecret(): string {
  return `SECRET-${
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }`;
}

/** Every /proc/<pid>/cmdline and environ that contains `secret`. */
function procHolding(secret: string): string[] {
  const found: string[] = [];
  const needle = encoder.encode(secret);
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    for (const file of ["cmdline", "environ"]) {
      const bytes = readOrNull(`/proc/${entry.name}/${file}`);
      if (bytes !== null && indexOf(bytes, needle) >= 0) found.push(`/proc/${entry.name}/${file}`);
    }
  }
  return found;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Counts occurrences of `needle` in a (possibly huge) file with grep, which streams it. */
async function countInCore(path: string, needle: string): Promise<number> {
  const quoted = (t: string) => `'${t.replaceAll("'", `'\\''`)}'`;
  // -z: NUL-separated records, so the long zero runs of a core keep grep's memory small;
  // -o prints each match followed by a NUL, which tr/wc count.
  const r = await sh(
    `grep -F -a -o -z -- ${quoted(needle)} ${quoted(path)} | tr -cd '\\000' | wc -c`,
  );
  return Number(r.stdout.trim());
}

async function secretsSection(options: Options): Promise<void> {
  const rows: (string | number)[][] = [];
  await withSpool(async (spool) => {
    // (a) argv and environment of every process while add reads the secret from stdin.
    for (
      const [label, args] of [["-p -", ["add", "-c", "-p", "-"]], ["-i -", [
        "add-krb",
        "-i",
        "-",
      ]]] as const
    ) {
      const secret = randomSecret();
      const command = await programCommand();
      const child = new Deno.Command(command[0], {
        args: [...command.slice(1), ...args],
        clearEnv: true,
        env: { ...(await baseEnv()), ...spool.env },
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(encoder.encode(secret));
      await new Promise((r) => setTimeout(r, 300)); // it has read the secret and waits for EOF
      const holding = procHolding(secret);
      await writer.close();
      await child.status;
      figures.secretChecks++;
      if (holding.length > 0) {
        figures.secretLeaks++;
        fail(`secret of ${label} visible in ${holding.join(", ")}`);
      }
      rows.push([
        `/proc/*/cmdline and environ during add with ${label}`,
        holding.length === 0 ? "not found" : `FOUND in ${holding.join(", ")}`,
      ]);
    }
    // Positive control: -p VALUE does put it in argv (and the program warns about exactly that).
    // The pool lock is held meanwhile, so the process waits (CRED_LOCK_TIMEOUT 5) and is seen.
    {
      const secret = randomSecret();
      const command = await programCommand();
      await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "pool" });
      const lock = await Deno.open(`${spool.root}/spool/passwords.d/.locks/POOL.lock`, {
        read: true,
        write: true,
      });
      lock.lockSync(true);
      const child = new Deno.Command(command[0], {
        args: [...command.slice(1), "add", "-c", "-p", secret],
        clearEnv: true,
        env: { ...(await baseEnv()), ...spool.env, _CONDOR_CRED_LOCK_TIMEOUT: "5" },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let seen: string[] = [];
      for (let i = 0; i < 200 && seen.length === 0; i++) {
        seen = procHolding(secret);
        await new Promise((r) => setTimeout(r, 10));
      }
      lock.close();
      const out = await child.output();
      if (seen.length === 0) fail("secrets: the -p VALUE control was not found in argv");
      const warned = decoder.decode(out.stderr).includes("visible to other processes");
      rows.push([
        "control: -p VALUE (the documented, warned-about way)",
        `${seen.length ? "found in argv, as expected" : "NOT FOUND (the scan is broken)"}; ` +
        `warning printed: ${warned}`,
      ]);
    }

    // (b) messages, debug output and the audit log, on success and on every kind of failure.
    const secret = randomSecret();
    const audit = `${spool.root}/audit.log`;
    const env = { ...spool.env, _CONDOR_CRED_AUDIT_LOG: audit };
    const texts: string[] = [];
    for (
      const [args, stdin] of [
        [["add", "-c", "-p", "-", "-d"], secret],
        [["add-krb", "-i", "-", "-d"], secret],
        [
          ["add-oauth", "-s", "v", "-S", "s", "-i", "-", "-d"],
          `{"vault_token":"${secret}","vault_url":"https://h/${secret}"}`,
        ],
        [["add-oauth", "-s", "v", "-S", "s", "-i", "-", "-d"], `not json ${secret}`],
        [["add-oauth", "-s", "bad/name", "-i", "-", "-d"], secret],
        [["add", "-p", "-", "-d"], secret.repeat(10)],
        [
          ["add-oauth", "-s", "v", "-i", "-", "-d"],
          `{"vault_url":"https://evil/${secret}","vault_token":"x"}`,
        ],
      ] as const
    ) {
      // Vault tokens meet a TRUSTED_VAULT_HOSTS list that refuses them.
      const r = await runCli([...args], {
        env: stdin.includes("vault_url")
          ? { ...env, _CONDOR_TRUSTED_VAULT_HOSTS: "trusted.example" }
          : env,
        stdin,
      });
      texts.push(r.stdout, r.stderr);
    }
    texts.push(readOrNull(audit) === null ? "" : decoder.decode(readOrNull(audit)!));
    const leaks = texts.filter((t) => t.includes(secret)).length;
    figures.secretChecks++;
    if (leaks > 0) {
      figures.secretLeaks += leaks;
      fail(`the secret appeared in ${leaks} outputs`);
    }
    rows.push([
      "stdout, stderr, -d output and the audit log of 7 adds (successes and failures)",
      leaks === 0 ? "not found" : `FOUND ${leaks} times`,
    ]);

    // (c) a core dump after the credential was written (during the Kerberos credmon wait).
    if (!options.core) {
      skipped.push("core dump: disabled (--quick or --no-core)");
    } else if (!IS_ROOT || !(await sh("command -v gcore")).stdout.trim()) {
      const why = "core dump: needs root and gcore (Debian package gdb), or pass --no-core";
      if (IS_ROOT) fail(why);
      else skipped.push(why);
    } else {
      const coreSecret = randomSecret();
      await Deno.mkdir(spool.krb, { recursive: true, mode: 0o700 });
      const credmonLog = `${spool.root}/credmon.log`;
      const { startCredmon } = await import("../testing/harness.ts");
      const credmon = await startCredmon(spool.krb, { mode: "krb", log: credmonLog, ignore: true });
      try {
        const child = await spawnProgram(["add-krb", "-i", "-"], {
          ...spool.env,
          _CONDOR_CREDD_POLLING_TIMEOUT: "20",
        }, encoder.encode(coreSecret));
        // Wait until the .cred is written and the credmon was signalled: the add is now waiting.
        for (let i = 0; i < 200; i++) {
          if ((readOrNull(credmonLog)?.length ?? 0) > 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 200));
        const corePrefix = `${spool.root}/core`;
        const dumped = await sh(`gcore -o ${corePrefix} ${child.pid}`);
        child.kill("SIGKILL");
        await child.status;
        const corePath = `${corePrefix}.${child.pid}`;
        try {
          const info = await Deno.stat(corePath).catch(() => null);
          if (dumped.code !== 0 || info === null) {
            skipped.push(`core dump: gcore failed: ${dumped.stderr.trim().split("\n").at(-1)}`);
          } else {
            // The core is many GiB (V8 reserves large address ranges): grep streams it.
            const count = await countInCore(corePath, coreSecret);
            // Control: the configuration path is in the process's heap, so the scan must find it.
            const control = await countInCore(corePath, spool.config);
            figures.secretChecks++;
            if (count > 0) figures.secretLeaks += count;
            rows.push([
              `core dump (${
                (info.size / MIB / 1024).toFixed(1)
              } GiB) of add-krb after the write, ` +
              `while it waits for the credmon (control: the config path found ${control} times)`,
              count === 0 ? "not found" : `FOUND ${count} copies`,
            ]);
            if (count > 0) fail(`core dump after add holds ${count} copies of the secret`);
            if (control === 0) {
              fail("core dump: the control string was not found; the scan is broken");
            }
          }
        } finally {
          await Deno.remove(corePath).catch(() => {});
        }
      } finally {
        await credmon.stop();
      }
    }
  });
  report.push(
    "## 6. Secrets stay secret",
    "",
    table(["check", "secret"], rows),
    "",
    "What Deno allows: credentials are read into `Uint8Array`s that the program zeroes as soon " +
      "as they are written (and on every error path); stdin is read straight into those buffers, " +
      "and file writes go from them to the kernel without a copy. What it does not allow: " +
      "JavaScript strings cannot be wiped, so the JSON merge of `-S`/`-A`, the Vault host check " +
      "and `-p VALUE` leave string copies on the V8 heap until it is collected; WebCrypto " +
      "(sealing user passwords) keeps its own copies of key and plaintext; the V8 heap may hold " +
      "stale copies the program cannot reach. The core dump above is taken after a Kerberos add " +
      "(no JSON, no crypto), the case the program can keep clean.",
    "",
  );
}

// ---- 7. fuzz ---------------------------------------------------------------------------------

async function fuzzSection(options: Options): Promise<void> {
  const count = options.quick ? 300 : 10_000;
  const root = await Deno.makeTempDir({ prefix: "csc-fuzz-" });
  try {
    await Deno.chmod(root, 0o755);
    const started = performance.now();
    const f = await runFuzz(generateCases(count, 20261201), {
      root,
      workers: 4,
      timeoutMs: 20_000,
      fail,
    });
    const seconds = (performance.now() - started) / 1000;
    figures.fuzzCases += f.cases;
    figures.fuzzBroken += f.badExit + f.unexpected + f.hung + f.crashed + f.leaks + f.outside;
    if (f.cases !== count) fail(`fuzz: ${f.cases} of ${count} cases ran`);
    report.push(
      "## 7. Fuzzing",
      "",
      `${f.cases} generated cases (seed 20261201) in ${
        seconds.toFixed(0)
      } s, four processes at a ` +
        "time, each a real run against a temp store: valid command lines mutated (arguments " +
        "dropped, repeated, swapped, glued, replaced by hostile names, long and reserved names " +
        "and control characters), odd credentials (deep JSON, Vault tokens for untrusted hosts, " +
        "JWTs with absurd `exp`, non-UTF-8 bytes, over-size inputs) and configuration lines " +
        "(recursive macros, bad integers, missing includes, unknown metaknobs). Every run must " +
        "exit 0, 1 or 2, never print `unexpected failure`, finish within 20 s, never print the " +
        "secret it was given, and create nothing outside its store.",
      "",
      table(["figure", "value"], [
        ["cases run", f.cases],
        ["exit 0 / 1 / 2", `${f.byExit[0] ?? 0} / ${f.byExit[1] ?? 0} / ${f.byExit[2] ?? 0}`],
        ["other exit codes", f.badExit],
        ["killed by a signal", f.crashed],
        ['"unexpected failure"', f.unexpected],
        ["hung past 20 s", f.hung],
        ["secrets printed", f.leaks],
        ["files created outside the temp stores", f.outside],
      ]),
      "",
      "Examples of refused cases:",
      "",
      ...f.examples.map((e) => `- \`${e.replaceAll("`", "'")}\``),
      "",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  await storedFuzz(options);
}

/**
 * Fuzz, part two (scripts/fuzz_stored.ts): stored files of any shape read back by list,
 * query-oauth and doctor, in-process as root and through a real daemon as the real user who owns
 * them (as root; otherwise in-process only, as the current user).
 */
async function storedFuzz(options: Options): Promise<void> {
  const count = options.quick ? 200 : 2_000;
  const started = performance.now();
  let result: StoredFuzzFigures | null = null;
  await withSpool(async (spool) => {
    // As root, the real user csc_tester owns the files; otherwise the current user.
    const me = await new Deno.Command("id", { args: ["-un"] }).output();
    const user: TestUser = IS_ROOT
      ? (await nonRootUsers())![0]
      : { name: decoder.decode(me.stdout).trim(), uid: Deno.uid()!, gid: Deno.gid()! };
    const daemon = IS_ROOT ? await startDaemon(spool) : null;
    if (!IS_ROOT) {
      skipped.push("stored-shape fuzz through the daemon: needs root (in-process only)");
    }
    try {
      // The user's OAuth directory, made as the store makes it.
      const seed = daemon === null
        ? await runCli(["add-oauth", "-s", "seed", "-P", "-i", "-"], { env: spool.env, stdin: "t" })
        : await runCli(["add-oauth", "-s", "seed", "-P", "-i", "-"], {
          env: daemon.env,
          stdin: "t",
          user,
        });
      if (seed.code !== 0) throw new Error(`the first add failed: ${seed.stderr}`);
      result = await runStoredFuzz(
        generateStoredCases(count, 20261202, daemon !== null),
        { spool, user, daemonEnv: daemon?.env ?? null },
        { workers: 4, timeoutMs: 60_000, fail },
      );
      if (daemon !== null) {
        // Still serving everyone: another user's add and list.
        const other = (await nonRootUsers())![1];
        const served = await runCli(["add-oauth", "-s", "after", "-P", "-i", "-"], {
          env: daemon.env,
          stdin: "t",
          user: other,
          timeoutMs: 60_000,
        });
        if (served.code !== 0) fail(`stored fuzz: the daemon no longer serves: ${served.stderr}`);
      }
    } finally {
      if (daemon !== null) {
        const { code, log } = await daemon.stop();
        if (code !== 0) fail(`stored fuzz: the daemon exited ${code}`);
        if (/internal error|TypeError|worker failed|ST-5ecr3t/.test(log)) {
          fail(
            `stored fuzz: the daemon's log has an internal error or a secret: ${log.slice(-500)}`,
          );
        }
      }
    }
  });
  // (Assigned in the callback: TypeScript cannot see that it ran.)
  const f = result as StoredFuzzFigures | null;
  if (f === null) return;
  const seconds = (performance.now() - started) / 1000;
  figures.storedFuzzCases += f.cases;
  figures.storedFuzzBroken += f.badExit + f.unexpected + f.hung +
    f.leaks;
  if (f.cases !== count) fail(`stored fuzz: ${f.cases} of ${count} cases ran`);
  const e = f.byExit;
  report.push(
    "### Stored credentials of any shape",
    "",
    `${f.cases} generated cases (seed 20261202) in ${seconds.toFixed(0)} s, four at a ` +
      "time: `.top`, `.use` and `.meta` files written straight into a user's OAuth directory as " +
      "a credd or credmon would (root, 0600 or 0400), holding fields of the wrong type, deep " +
      "nesting, huge numbers, prototype keys, long strings, control and bidirectional " +
      "characters, invalid UTF-8, non-JSON and more than a listing reads; then `list`, " +
      "`query-oauth` (with and without -s, -S, -A, --min-ttl) or `doctor`, in-process as root " +
      "and through a real daemon as the real user who owns the files. Every run must exit 0 or " +
      "1, or 2 exactly when the stored scopes and audience differ from those asked for " +
      "(JSON.parse as the reference reader), never print `unexpected failure`, finish within " +
      "60 s, and never print a secret byte of the files; the daemon must serve another user " +
      "afterwards, stop cleanly and log no internal error.",
    "",
    table(["figure", "value"], [
      [
        "cases run (in-process / through the daemon)",
        `${f.cases} (${f.inProcess} / ${f.throughDaemon})`,
      ],
      ["exit 0 / 1 / 2", `${e[0] ?? 0} / ${e[1] ?? 0} / ${e[2] ?? 0}`],
      ["wrong exit codes (2 without a mismatch, or the reverse, or other)", f.badExit],
      ['"unexpected failure"', f.unexpected],
      ["hung past 60 s", f.hung],
      ["stored secrets printed", f.leaks],
    ]),
    "",
    "Examples of runs that exit non-zero:",
    "",
    ...f.examples.map((x) => `- \`${x.replaceAll("`", "'")}\``),
    "",
  );
}

// ---- 8. hardening: the attacks of each class, run by the test suite --------------------------

/** Each class of attack, and the tests (file, name start) that run it for real. */
const HARDENING: readonly [string, string, string][] = [
  ["credmon pid range", "attack_test.ts", "a credmon pid file outside"],
  ["audit log in another user's reach", "attack_test.ts", "an audit log in the attacker's reach"],
  ["symlinks among a store's ancestors", "attack_test.ts", "a link among a store's ancestors"],
  ["names colliding with the store's own files", "attack_test.ts", "names that collide"],
  ["add racing delete-all", "attack_test.ts", "adds racing a delete-all"],
  ["-i paths planted in sticky directories", "attack_test.ts", "-i paths planted"],
  ["-i /dev/stdin, /dev/fd/N, <(command)", "attack_test.ts", "-i /dev/stdin"],
  ["secrets echoed in usage errors", "attack_test.ts", "usage errors never repeat"],
  ["terminal injection", "attack_test.ts", "escape sequences"],
  ["configuration include fan-out", "config_test.ts", "loadConfig() refuses 20 files"],
  ["long names", "attack_test.ts", "names too long"],
  ["unexpected failures", "attack_test.ts", "inputs that used to end"],
  ["a LOCAL: credential naming a path", "attack_test.ts", "a LOCAL: Kerberos credential"],
  ["secrets in -d output and error paths", "secrets_test.ts", "no input form"],
  ["Windows refuses to store", "windows_test.ts", "run() on Windows refuses"],
  ["a failing store worker", "daemon_resilience_test.ts", "a store worker that fails"],
  ["a store that never answers", "daemon_resilience_test.ts", "a request the store never"],
  ["silent TLS connections", "daemon_resilience_test.ts", "silent and half-begun"],
  ["no descriptor left", "daemon_resilience_test.ts", "when no descriptor is left"],
  ["one user hammering the socket", "daemon_resilience_test.ts", "one user hammering"],
  ["unproven large bodies", "daemon_resilience_test.ts", "connections that prove nobody"],
  ["a neighbour's failed logins", "remote_attack_test.ts", "a neighbour's failed logins"],
  ["a flood of failed logins", "remote_attack_test.ts", "the daemon bounds its failed"],
  ["daemon paths told to a peer", "remote_attack_test.ts", "a peer learns nothing"],
];

async function hardeningSection(options: Options): Promise<void> {
  if (options.quick) {
    // `deno task test` runs these tests itself; the quick run does not repeat them.
    return;
  }
  const files = [...new Set(HARDENING.map(([, file]) => file))];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", ...files.map((f) => `tests/${f}`)],
    cwd: new URL("..", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decoder.decode(out.stdout);
  const rows: string[][] = [];
  for (const [name, file, test] of HARDENING) {
    const lines = text.split("\n").filter((l) => l.startsWith(test) && / \.\.\. /.test(l));
    const result = lines.length === 0
      ? "NOT RUN"
      : lines.every((l) => / \.\.\. ok /.test(l))
      ? "refused as required"
      : "FAILED";
    if (result !== "refused as required") fail(`hardening: ${name}: ${result}`);
    rows.push([name, `tests/${file}: ${lines.map((l) => l.split(" ... ")[0]).join("; ")}`, result]);
  }
  report.push(
    "## 8. Hardening: each class of attack, run for real",
    "",
    "Each class of defect found by attacking the program as a hostile local user would is run " +
      "by a black-box test (as root, with the real unprivileged user `csc_other` as the " +
      "attacker); this section runs those tests and records the outcome.",
    "",
    table(["class", "test", "result"], rows),
    "",
  );
}

// ---- 9-12. the daemon: under attack, crash safety, forged tokens, resilience (reliability_*.ts) --

function sectionIo(options: Options): SectionIo {
  return {
    quick: options.quick,
    fail,
    skip: (reason) => skipped.push(reason),
    report: (...lines) => report.push(...lines),
  };
}

/** Summary rows of the daemon sections (a dash for a section that did not run). */
function daemonSummary(): (string | number)[][] {
  const a = figures.daemonAttack;
  const c = figures.daemonCrash;
  const t = figures.tokens;
  const r = figures.resilience;
  const dash = "-";
  return [
    [
      "daemon under attack: hostile requests / connections",
      a ? `${a.hostileRequests} / ${a.hostileConnections}` : dash,
    ],
    [
      "daemon under attack: legitimate requests / succeeded (worst latency)",
      a ? `${a.legitRequests} / ${a.legitSucceeded} (${a.legitWorstMs.toFixed(0)} ms)` : dash,
    ],
    [
      "daemon under a connection churn: legitimate requests / succeeded (not a property)",
      a ? `${a.churnRequests} / ${a.churnSucceeded}` : dash,
    ],
    [
      "daemon under attack: answers afterwards / data intact",
      a ? `${a.answersAfterwards ? "yes" : "no"} / ${a.dataIntact ? "yes" : "no"}` : dash,
    ],
    [
      "daemon kills (SIGKILL) sent / landed with an add in flight / inside the write window",
      c ? `${c.kills} / ${c.killsInFlight} / ${c.killsInWriteWindow}` : dash,
    ],
    ["credentials neither old nor new after a daemon kill", c ? c.partial : dash],
    ["temp files left after the next add through the daemon", c ? c.debrisAfterNextAdd : dash],
    [
      "adds through the daemon during SIGTERM: sent / acknowledged",
      c ? `${c.sigtermAdds} / ${c.sigtermAcknowledged}` : dash,
    ],
    [
      "lost acknowledged writes through the daemon (SIGKILL and SIGTERM)",
      c ? c.lostAcknowledged + c.sigtermLost : dash,
    ],
    ["forged tokens and requests tried / accepted", t ? `${t.tried} / ${t.accepted}` : dash],
    [
      "forged tokens refused with the expected reason",
      t ? `${t.refusedAsExpected} of ${t.tried}` : dash,
    ],
    [
      "daemon exits / internal errors under forged tokens",
      t ? `${t.crashes} / ${t.internalErrors}` : dash,
    ],
    ["valid token served after the forgeries", t ? (t.validServedAtEnd ? "yes" : "no") : dash],
    ["forged requests handled per second", t ? t.perSecond : dash],
    [
      "failed authentications before 429 (default limit) / median 429 answer",
      t ? `${t.limiterFailuresBefore429} / ${t.limiter429Ms.toFixed(1)} ms` : dash,
    ],
    [
      "silent TLS connections: opened / peak descriptors over the start / seconds until all back",
      r
        ? `${r.silentConnections} / ${r.silentPeakFds} / ${r.silentFdsBackSeconds.toFixed(1)}`
        : dash,
    ],
    [
      "store worker faults: set off / answered with an error / log lines",
      r ? `${r.workerFaults} / ${r.workerFaultsAnswered} / ${r.workerFaultLines}` : dash,
    ],
    [
      "one user hammering: its requests served / refused by its caps / connections closed",
      r ? `${r.hammerServed} / ${r.hammerRefused} / ${r.hammerClosed}` : dash,
    ],
    ["large bodies announced by connections proving nobody", r ? r.largeAnnounced : dash],
    [
      "victim during the resilience attacks: requests / answered (median, worst)",
      r
        ? `${r.victimRequests} / ${r.victimAnswered} (${r.victimMedianSeconds.toFixed(2)} s, ` +
          `${r.victimWorstSeconds.toFixed(2)} s)`
        : dash,
    ],
  ];
}

// ---- main ------------------------------------------------------------------------------------

const options = parseOptions(Deno.args);
const started = performance.now();
const sections: [string, () => Promise<void>][] = [
  ["crash safety", () => crashSection(options)],
  ["concurrency", () => concurrencySection(options)],
  ["full disk", diskSection],
  ["filesystem attacks", attackSection],
  ["hostile input", hostileSection],
  ["secrets", () => secretsSection(options)],
  ["fuzz", () => fuzzSection(options)],
  ["hardening", () => hardeningSection(options)],
  ["daemon under attack", async () => {
    figures.daemonAttack = await daemonAttackSection(sectionIo(options));
  }],
  ["daemon crash safety", async () => {
    figures.daemonCrash = await daemonCrashSection(sectionIo(options));
  }],
  ["forged tokens", async () => {
    figures.tokens = await forgedTokenSection(sectionIo(options));
  }],
  ["daemon resilience", async () => {
    figures.resilience = await daemonResilienceSection(sectionIo(options));
  }],
];
const ran: string[] = [];
for (const [name, run] of sections) {
  if (options.only !== null && !name.startsWith(options.only)) continue;
  console.log(`== ${name}`);
  try {
    await run();
    ran.push(name);
  } catch (error) {
    fail(`${name} crashed: ${(error as Error).stack ?? error}`);
  }
}
// As root every section must really have run; its parts that could not are failures above.
if (IS_ROOT && options.only === null && ran.length !== sections.length) {
  fail(`only ${ran.length} of ${sections.length} sections ran`);
}
const minutes = ((performance.now() - started) / 60000).toFixed(1);
const summary = table(["figure", "value"], [
  ["sections run", `${ran.length} of ${sections.length}`],
  [
    "kills (SIGKILL) sent / landed mid-run / inside the write window",
    `${figures.killAttempts} / ${figures.killsMidRun} / ${figures.killsInWriteWindow}`,
  ],
  ["partial or lost credentials after a kill", figures.partialAfterKill],
  ["temp files left after the next successful add", figures.tempFilesAfterNextAdd],
  [
    "concurrent operations planned / answered",
    `${figures.concurrentPlanned} / ${figures.concurrentOps}`,
  ],
  ["lost acknowledged writes", figures.lostWrites],
  ["torn credentials (files and reads)", figures.tornFiles + figures.tornReads],
  ["lock timeout reported clearly (held lock, 1 s)", figures.lockTimeoutClear ? "yes" : "no"],
  [
    "full/read-only disk adds refused clearly",
    `${figures.diskRefusedClearly} of ${figures.diskCases}`,
  ],
  ["old credentials damaged or debris left on a full disk", figures.diskDamage],
  ["hostile inputs tried / refused", `${figures.hostileTried} / ${figures.hostileRefused}`],
  ["hostile inputs that wrote anything", figures.hostileWrote],
  [
    "attacks tried / refused",
    `${figures.attacksTried} / ${figures.attacksRefused} (${figures.attacksAsNonRoot} as a non-root user)`,
  ],
  ["changes made by refused attacks", figures.attackChanges],
  ["secret checks / leaks", `${figures.secretChecks} / ${figures.secretLeaks}`],
  ["fuzz cases run / broken", `${figures.fuzzCases} / ${figures.fuzzBroken}`],
  [
    "stored-shape fuzz cases run / broken",
    `${figures.storedFuzzCases} / ${figures.storedFuzzBroken}`,
  ],
  ...daemonSummary(),
]);
const document = [
  "# Reliability and security",
  "",
  `Generated by \`deno task reliability${
    options.quick ? " --quick" : ""
  }\` (scripts/reliability.ts) ` +
  "in one run against the real program; do not edit by hand. " +
  `Result: **${
    failures.length === 0 ? "every property held" : `${failures.length} failure(s)`
  }** (${minutes} min).`,
  "",
  "## Summary",
  "",
  summary,
  "",
  "## Machine",
  "",
  table(["", ""], [
    ...await machineDescription("/tmp"),
    ["ran as", IS_ROOT ? "root (non-root parts as csc_tester / csc_other)" : `uid ${Deno.uid()}`],
  ]),
  "",
  ...report,
  ...(skipped.length ? ["## Not run here", "", ...skipped.map((s) => `- ${s}`), ""] : []),
  ...(failures.length ? ["## Failures", "", ...failures.map((f) => `- ${f}`), ""] : []),
].join("\n");
await Deno.writeTextFile(options.out, document);
console.log(`\n${summary}\n\nwrote ${options.out}`);
Deno.exit(failures.length === 0 ? 0 : 1);
