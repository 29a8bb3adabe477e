/**
 * The credmon contract (docs/upstream.md "Credmons", docs/storage.md "Reading"): read `<dir>/pid`,
 * send SIGHUP, and for Kerberos wait for the `.cc` the credmon writes; remove a user's mark before
 * any write.
 *
 * Permissions: --allow-read on the credential directory, --allow-run=/bin/kill (Deno.kill needs
 * unrestricted --allow-run, so the signal is sent by the kill(1) program instead).
 */

import { StoreError } from "../errors.ts";
import type { Directory } from "../fs/directories.ts";
import type { FileFacts } from "../fs/facts.ts";
import { readFile, removeEntry } from "../fs/files.ts";
import { join } from "../fs/paths.ts";
import type { StoreContext } from "./context.ts";

/** The program that delivers SIGHUP (an absolute path, matched by the run permission). */
export const KILL_PROGRAM = "/bin/kill";

/**
 * The bound on credmon pids: Linux's hard limit on pid_max (PID_MAX_LIMIT, 2^22), above any
 * pid a process can have. Deno refuses to read /proc/sys/kernel/pid_max without --allow-all,
 * which would give up the permission sandbox; a value between the configured pid_max and this
 * bound names no process (kill answers "no such process") and can never wrap to 0, 1 or -1.
 */
export const PID_LIMIT = 4194304;

const decoder = new TextDecoder();

/**
 * Runs `/bin/kill <options> -- <pid>` with no environment and no output; returns its exit code
 * (0: the process exists and, for a signal, was sent it). Throws when the program cannot run.
 */
export async function runKill(options: readonly string[], pid: number): Promise<number> {
  const { code } = await new Deno.Command(KILL_PROGRAM, {
    args: [...options, "--", String(pid)],
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  return code;
}

/**
 * Parses a credmon pid file: a decimal pid, optionally surrounded by white space (the Python
 * credmons write none, `condor_credmon_krb` a newline). Returns the pid only when it is between
 * 2 and `max - 1` (default PID_LIMIT - 1); anything else (0, 1, negative, huge, trailing junk)
 * is null, so a planted value can never make us signal init, a process group or every process.
 * Pure.
 */
export function parsePid(text: string, max: number = PID_LIMIT): number | null {
  const match = /^\s*(\d{1,10})\s*$/.exec(text);
  if (!match) return null;
  const pid = Number(match[1]);
  return pid >= 2 && pid < max ? pid : null;
}

/** What happened when we tried to wake a credmon. */
export interface Kick {
  readonly signalled: boolean;
  /** Why not, in words, when not signalled. */
  readonly reason?: string;
}

/**
 * Reads the credmon's pid from `<dir>/pid` (a trusted owner, 0644 allowed, at most 255 bytes).
 * Returns the pid, or the reason there is none usable.
 */
function credmonPid(ctx: StoreContext, dir: Directory): number | string {
  const path = join(dir.path, "pid");
  let bytes: Uint8Array | null;
  try {
    bytes = readFile(dir, "pid", ctx.owners, { role: "shared", maxBytes: 255 });
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return `its pid file was refused: ${error.message}`;
  }
  if (bytes === null) return `no pid file ${path}`;
  const text = decoder.decode(bytes);
  const pid = parsePid(text);
  if (pid === null) {
    ctx.debug(
      `ignoring the credmon pid file ${path}: ${JSON.stringify(text.slice(0, 40))} is not a pid`,
    );
    return `${path} does not hold a valid process id`;
  }
  return pid;
}

/** Sends SIGHUP to the credmon of `dir`. */
export async function kickCredmon(ctx: StoreContext, dir: Directory): Promise<Kick> {
  const pid = credmonPid(ctx, dir);
  if (typeof pid === "string") {
    ctx.debug(`not signalling the credmon: ${pid}`);
    return { signalled: false, reason: pid };
  }
  try {
    const code = await runKill(["-s", "HUP"], pid);
    ctx.debug(`SIGHUP to credmon pid ${pid}: ${code === 0 ? "sent" : "no such process"}`);
    if (code === 0) return { signalled: true };
    return { signalled: false, reason: `no process ${pid} (named by ${join(dir.path, "pid")})` };
  } catch (error) {
    ctx.debug(`could not run ${KILL_PROGRAM}: ${(error as Error).message}`);
    return { signalled: false, reason: `${KILL_PROGRAM} could not be run` };
  }
}

/**
 * Polls for `name` in `dir` to exist with an mtime at least `notBefore` (ms), immediately and
 * then every 50 ms, for at most `timeoutSeconds`. Returns its lstat info, or null on timeout.
 * `debug` is told how long the wait may last.
 */
export async function waitForFile(
  dir: Directory,
  name: string,
  notBefore: number,
  timeoutSeconds: number,
  debug: (line: string) => void = () => {},
): Promise<Deno.FileInfo | null> {
  const path = join(dir.path, name);
  const deadline = Date.now() + Math.max(0, timeoutSeconds) * 1000;
  // The wait as the deadline sets it, so that -d shows (and the tests check) its length; never
  // below 0 (a loaded machine may pass the deadline of a 0 s timeout before this line).
  debug(`waiting for ${path} at most ${Math.max(0, deadline - Date.now())} ms`);
  while (true) {
    let info: Deno.FileInfo | null = null;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (info !== null && (info.mtime?.getTime() ?? 0) >= notBefore) return info;
    const left = deadline - Date.now();
    if (left <= 0) return null;
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, left)));
  }
}

/**
 * Removes `<dir>/<user>.mark` (any operation for the user cancels the sweep). Called before any
 * write, so a sweep cannot remove a fresh credential. A mark that cannot be removed is an error:
 * nothing is written then. A query passes its thread's `facts`: a mark found missing is not
 * looked for again while `dir` is unchanged (lib/fs/files.ts `removeEntry`).
 */
export function removeMark(dir: Directory, user: string, facts?: FileFacts): void {
  removeEntry(dir, `${user}.mark`, facts);
}
