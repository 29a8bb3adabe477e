/**
 * What every reliability section shares (scripts/reliability.ts): the options, the figures the
 * report publishes, the context a section runs with (record a failure, a skip, report lines) and
 * the section declaration, and the checks of what a run leaves on disk. The program, spools,
 * users and daemons come from testing/. Scripts only; never imported by lib/.
 */

import { baseEnv, listTree, programCommand, type RunResult } from "../../testing/harness.ts";
import type {
  AttackFigures,
  DaemonCrashFigures,
  ResilienceFigures,
} from "../reliability_daemon.ts";
import type { TokenFigures } from "../reliability_tokens.ts";

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
