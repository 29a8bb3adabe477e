/**
 * The credmon contract (ref §6, SPEC §5 "Credmon"): read `<dir>/pid`, send SIGHUP, and for
 * Kerberos wait for the `.cc` the credmon writes.
 *
 * Permissions: --allow-read on the credential directory, --allow-run=/bin/kill (Deno.kill would
 * need unrestricted --allow-run, so the signal is sent by the kill(1) program instead).
 */

import { join, lstatOrNull, readFileSecurely, removeQuietly } from "../fs/secure_file.ts";
import { StoreError } from "../errors.ts";
import type { StoreContext } from "./context.ts";

/** The program that delivers SIGHUP (an absolute path, matched by the run permission). */
export const KILL_PROGRAM = "/bin/kill";

const decoder = new TextDecoder();

/**
 * Reads the credmon's pid from `<dir>/pid` (at most 255 bytes, decimal from the start, ref §6.2).
 * Returns null when there is none or it is unusable; an insecure pid file is reported on the
 * debug channel and ignored, so a planted file cannot make us signal an arbitrary process.
 */
export async function readCredmonPid(ctx: StoreContext, dir: string): Promise<number | null> {
  const path = join(dir, "pid");
  let bytes: Uint8Array | null;
  try {
    bytes = readFileSecurely(path, ctx.trust, 255);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    await ctx.debug(`not signalling the credmon: ${error.message}`);
    return null;
  }
  if (bytes === null) return null;
  const match = /^\s*(\d+)/.exec(decoder.decode(bytes));
  const pid = match ? Number(match[1]) : NaN;
  // pid 0 and 1 would signal a process group or init: never.
  return Number.isSafeInteger(pid) && pid > 1 ? pid : null;
}

/** Sends SIGHUP to the credmon of `dir`. Returns true when a live credmon was signalled. */
export async function kickCredmon(ctx: StoreContext, dir: string): Promise<boolean> {
  if (Deno.build.os === "windows") return false;
  const pid = await readCredmonPid(ctx, dir);
  if (pid === null) {
    await ctx.debug(`no credmon pid in ${dir}; the credential is pending`);
    return false;
  }
  try {
    const { code } = await new Deno.Command(KILL_PROGRAM, {
      args: ["-s", "HUP", "--", String(pid)],
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    await ctx.debug(`SIGHUP to credmon pid ${pid}: ${code === 0 ? "sent" : "no such process"}`);
    return code === 0;
  } catch (error) {
    await ctx.debug(`could not run ${KILL_PROGRAM}: ${(error as Error).message}`);
    return false;
  }
}

/**
 * Polls for `path` to exist with an mtime at least `notBefore` (ms), immediately and then every
 * 50 ms, for at most `timeoutSeconds`. Returns its info, or null on timeout.
 */
export async function waitForFile(
  path: string,
  notBefore: number,
  timeoutSeconds: number,
): Promise<Deno.FileInfo | null> {
  const deadline = Date.now() + Math.max(0, timeoutSeconds) * 1000;
  while (true) {
    const info = lstatOrNull(path);
    if (info !== null && (info.mtime?.getTime() ?? 0) >= notBefore) return info;
    if (Date.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Removes `<dir>/<user>.mark` (ref §7: any operation for the user cancels the sweep). */
export function removeMark(dir: string, user: string): void {
  removeQuietly(join(dir, `${user}.mark`));
}
