/**
 * What every reliability section shares (scripts/reliability.ts): the options, the figures the
 * report publishes, the context a section runs with (record a failure, a skip, report lines) and
 * the section declaration; the checks of what a run leaves on disk, the program spawned to be
 * killed, and raw connections to a daemon and its process's usage. The program, spools, users and
 * daemons themselves come from testing/. Scripts only; never imported by lib/.
 */

import { baseEnv, listTree, programCommand, type RunResult } from "../../testing/harness.ts";
import type { AttackFigures } from "./daemon_attack.ts";
import type { DaemonCrashFigures } from "./daemon_crash.ts";
import type { ResilienceFigures } from "./daemon_resilience.ts";
import type { TokenFigures } from "./forged_tokens.ts";

const decoder = new TextDecoder();

/**
 * Credential `n` of a series: `size` bytes of one letter (A-Z by `n`) after "<tag>:<n>:", so that
 * each generation differs from the last and its bytes tell which it is.
 */
export function filled(n: number, size: number, tag: string): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x41 + (n % 26));
  bytes.set(new TextEncoder().encode(`${tag}:${n}:`));
  return bytes;
}

/** One mebibyte. */
export const MIB = 1024 * 1024;

/** The options of a run (parsed by scripts/reliability.ts). */
export interface Options {
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

/** The figures the report's summary publishes; each section fills its own. */
export interface Figures {
  killAttempts: number;
  killsMidRun: number;
  killsInWriteWindow: number;
  killsAfterExit: number;
  partialAfterKill: number;
  tempFilesAfterNextAdd: number;
  concurrentOps: number;
  concurrentPlanned: number;
  concurrentAcknowledged: number;
  lostWrites: number;
  tornFiles: number;
  tornReads: number;
  readsChecked: number;
  badQueryAnswers: number;
  lockTimeouts: number;
  lockTimeoutClear: boolean;
  diskCases: number;
  diskRefusedClearly: number;
  diskDamage: number;
  hostileTried: number;
  hostileRefused: number;
  hostileWrote: number;
  attacksTried: number;
  attacksRefused: number;
  attackChanges: number;
  attacksAsNonRoot: number;
  secretLeaks: number;
  secretChecks: number;
  fuzzCases: number;
  fuzzBroken: number;
  storedFuzzCases: number;
  storedFuzzBroken: number;
  daemonAttack: AttackFigures | null;
  daemonCrash: DaemonCrashFigures | null;
  resilience: ResilienceFigures | null;
  tokens: TokenFigures | null;
}

/** Figures before any section ran. */
export function emptyFigures(): Figures {
  return {
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
    daemonAttack: null,
    daemonCrash: null,
    resilience: null,
    tokens: null,
  };
}

/** What a section may do besides its own work: record failures, skips and report lines. */
export interface SectionIo {
  readonly quick: boolean;
  /** Records a failed property (the run then fails). */
  fail(message: string): void;
  /** Records a part that could not run, with the reason. */
  skip(reason: string): void;
  /** Appends lines to the report. */
  report(...lines: string[]): void;
}

/** The context of a section: the run's options and figures, and its SectionIo. */
export interface Reliability extends SectionIo {
  readonly options: Options;
  readonly figures: Figures;
}

/**
 * One section of the suite (one file of scripts/reliability/, one line of SECTIONS in
 * scripts/reliability.ts): its name (for --only and the progress lines), and its run, which adds
 * its figures, report lines, failures and skips to the context. A throw fails the section.
 */
export interface ReliabilitySection {
  readonly name: string;
  readonly run: (ctx: Reliability) => Promise<void>;
}

/** The name of a temp file of an atomic write (lib/fs/): `.<name>.<16 hex>.tmp`. */
export const TEMP = /^\..+\.[0-9a-f]{16}\.tmp$/;

/** True when `a` holds exactly the bytes of `b`. */
export function bytesEqual(a: Uint8Array | null, b: Uint8Array): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The bytes of `path`, or null when it cannot be read. */
export function readOrNull(path: string): Uint8Array | null {
  try {
    return Deno.readFileSync(path);
  } catch {
    return null;
  }
}

/** The temp files of atomic writes left anywhere under `dir`. */
export async function tempFiles(dir: string): Promise<string[]> {
  const all = await listTree(dir).catch(() => [] as string[]);
  return all.filter((p) => TEMP.test(p.split("/").at(-1)!));
}

/**
 * Starts the program (testing/harness.ts programCommand) with `stdin` and no output, for a section
 * that kills it or watches it; the child exits when it is done.
 */
export async function spawnProgram(
  args: string[],
  env: Record<string, string>,
  stdin: Uint8Array,
): Promise<Deno.ChildProcess> {
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

/** Runs a shell command line (mount, umount, gcore...) and collects its output. */
export async function sh(command: string, env?: Record<string, string>): Promise<RunResult> {
  const out = await new Deno.Command("sh", {
    args: ["-c", command],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

// ---- the daemon sections: raw connections and the daemon's process ------------------------

/** The UID_DOMAIN of the daemon sections' spools (testing/harness.ts). */
export const DOMAIN = "test.example";

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Closes a connection that may be closed already. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed (by us or by the daemon).
  }
}

/** Writes all of `bytes` on `conn`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/**
 * Sends `bytes` on `conn`, half-closes it, and reads the answer until the peer closes or
 * `waitMs` passes. Returns the HTTP status of the answer (0: none) and its first line. Closes
 * `conn`.
 */
export async function rawAnswer(
  conn: Deno.Conn,
  bytes: Uint8Array,
  waitMs = 5000,
): Promise<{ status: number; line: string }> {
  const chunks: Uint8Array[] = [];
  try {
    try {
      await writeAll(conn, bytes);
      await conn.closeWrite();
    } catch {
      // The daemon may answer and close before taking all of it.
    }
    const buffer = new Uint8Array(16 * 1024);
    const deadline = Date.now() + waitMs;
    let total = 0;
    while (Date.now() < deadline && total < 64 * 1024) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        conn.read(buffer).catch(() => null),
        new Promise<"t">((r) =>
          timer = setTimeout(() => r("t"), Math.max(1, deadline - Date.now()))
        ),
      ]);
      clearTimeout(timer);
      if (n === "t" || n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
    }
  } finally {
    closeQuietly(conn);
  }
  const text = decoder.decode(
    chunks.reduce((a, b) => {
      const out = new Uint8Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return out;
    }, new Uint8Array()),
  );
  const line = text.split("\r\n")[0];
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(line);
  return { status: match ? Number(match[1]) : 0, line: match ? line : "" };
}

/** Resident memory (KiB) and open descriptors of a process; null once it is gone (or a zombie). */
export function usage(pid: number): { rssKib: number; fds: number } | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    if (/^State:\s+Z/m.test(status)) return null;
    const rssKib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    let fds = 0;
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) fds++;
    return { rssKib, fds };
  } catch {
    return null;
  }
}

/** The `p` quantile (0 to 1) of `values`, unsorted; 0 when there are none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}
