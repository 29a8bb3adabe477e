/**
 * Builds one self-contained executable per OS with `deno compile` (`deno task compile`):
 * `dist/condor_store_cred-<target>[.exe]`, with the runtime permission flags baked in, and
 * `dist/SHA256SUMS`.
 *
 * `deno compile` needs the `denort` base binary of each target. This script looks for it, in
 * order: `DENORT_BIN` (host target only), Deno's cache
 * (`$DENO_DIR/dl/release/v<version>/denort-<target>.zip`), then Deno's release server. It
 * prints for every target whether it was built or skipped and exactly why, and exits non-zero
 * only when a requested target could have been built and was not. Outputs of the requested
 * targets left by an earlier run are removed first, so `dist/` holds only what this run built
 * and `SHA256SUMS` lists exactly those files.
 *
 * Usage: deno task compile [--target TARGET]... [--out DIR]
 * Environment: DENORT_BIN, DENO_DIR, CSC_RELEASE_URL (default https://dl.deno.land/release).
 * Permissions: --allow-read, --allow-write=dist, --allow-run, --allow-env, --allow-net.
 */

import { BINARY_FLAGS } from "../lib/permissions.ts";
import { VERSION } from "../lib/version.ts";

/** Every target the release ships. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

const root = new URL("..", import.meta.url).pathname;
const deno = Deno.execPath();
const denoVersion = Deno.version.deno;
const host = Deno.build.target;

/** The file name of `target`'s executable, e.g. `condor_store_cred-x86_64-pc-windows-msvc.exe`. */
export function outputName(target: string): string {
  return `condor_store_cred-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/**
 * The `deno compile` arguments that build `target` into `output`: the program's own
 * BINARY_FLAGS (the permissions the tests and the `run` task use, and no code cache) are baked in.
 */
export function compileArgs(target: string, output: string): string[] {
  return [
    "compile",
    "--quiet",
    "--config",
    `${root}deno.json`,
    "--target",
    target,
    "--output",
    output,
    ...BINARY_FLAGS,
    `${root}main.ts`,
  ];
}

async function denoDir(): Promise<string> {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const out = await new Deno.Command(deno, { args: ["info", "--json"], stdout: "piped" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

/** Asks the release server whether it has the denort of `target`; returns an error text or null. */
async function releaseServerProblem(releaseBase: string, target: string): Promise<string | null> {
  const url = `${releaseBase}/v${denoVersion}/denort-${target}.zip`;
  try {
    const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(5000) });
    await response.body?.cancel();
    return response.ok ? null : `${url} answered HTTP ${response.status}`;
  } catch (error) {
    const cause = (error as Error).cause;
    const detail = cause instanceof Error
      ? `${(error as Error).message}: ${cause.message}`
      : (error as Error).message;
    return `${url} cannot be reached (${detail})`;
  }
}

type Plan =
  | { readonly target: string; readonly source: string; readonly env: Record<string, string> }
  | { readonly target: string; readonly skip: string };

async function plan(target: string, cacheDir: string, releaseBase: string): Promise<Plan> {
  const denortBin = Deno.env.get("DENORT_BIN");
  const cached = `${cacheDir}/denort-${target}.zip`;
  const notes: string[] = [];
  if (denortBin) {
    if (target !== host) {
      notes.push(`DENORT_BIN only serves the host target (${host})`);
    } else if (await exists(denortBin)) {
      return { target, source: `DENORT_BIN=${denortBin}`, env: { DENORT_BIN: denortBin } };
    } else {
      notes.push(`DENORT_BIN=${denortBin} is not a file`);
    }
  } else if (target === host) {
    notes.push("DENORT_BIN is not set");
  }
  if (await exists(cached)) return { target, source: `cache ${cached}`, env: {} };
  notes.push(`${cached} does not exist`);
  const problem = await releaseServerProblem(releaseBase, target);
  if (problem === null) return { target, source: `release server ${releaseBase}`, env: {} };
  notes.push(problem);
  return { target, skip: notes.join("; ") };
}

/** Builds `target` into `output`; returns null when it worked, else what went wrong. */
async function compile(
  target: string,
  output: string,
  env: Record<string, string>,
): Promise<string | null> {
  const result = await new Deno.Command(deno, {
    args: compileArgs(target, output),
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    // "error: <what>" then "Caused by:" and numbered causes; report the first and the last.
    // deno-lint-ignore no-control-regex -- strips ANSI colour codes from deno's output
    const lines = new TextDecoder().decode(result.stderr).replace(/\x1b\[[0-9;]*m/g, "")
      .split("\n").map((l) => l.trim()).filter((l) => l !== "" && l !== "Caused by:");
    const first = lines.find((l) => l.startsWith("error:")) ?? lines[0] ?? "";
    const cause = lines.filter((l) => /^\d+: /.test(l) && !l.includes("<unknown>")).at(-1);
    return `deno compile exited with ${result.code}: ${first}${cause ? ` (${cause})` : ""}`;
  }
  if (target === host) {
    // The host binary must actually run as this program (a wrong base binary, such as the
    // full `deno` given as DENORT_BIN, builds without error but runs as deno).
    let text: string;
    try {
      const run = await new Deno.Command(output, { args: ["--version"], stdout: "piped" })
        .output();
      text = run.success ? new TextDecoder().decode(run.stdout) : `exit ${run.code}`;
    } catch (error) {
      text = (error as Error).message;
    }
    if (!text.includes(`condor_store_cred ${VERSION}`)) {
      await Deno.remove(output).catch(() => {});
      return `the built binary does not run as condor_store_cred (--version said ${
        JSON.stringify(text.trim().split("\n")[0])
      }); removed it`;
    }
  }
  return null;
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Removes `path` if it exists; returns true when something was removed. */
async function removeStale(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

const USAGE = `usage: deno task compile [--target TARGET]... [--out DIR] (targets: ${
  TARGETS.join(", ")
})`;

/** The command: returns the exit status (0 all buildable targets built, 1 one failed, 2 usage). */
async function main(args: readonly string[]): Promise<number> {
  const requested: string[] = [];
  let dist = `${root}dist`;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--target" && args[i + 1]) requested.push(args[++i]);
    else if (args[i] === "--out" && args[i + 1]) dist = args[++i];
    else {
      console.error(USAGE);
      return 2;
    }
  }
  const targets = requested.length > 0 ? [...new Set(requested)] : [...TARGETS];
  const unknown = targets.filter((t) => !(TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) {
    console.error(`unknown target(s): ${unknown.join(", ")}; known: ${TARGETS.join(", ")}`);
    return 2;
  }

  const releaseBase = Deno.env.get("CSC_RELEASE_URL") ?? "https://dl.deno.land/release";
  await Deno.mkdir(dist, { recursive: true });
  const cacheDir = `${await denoDir()}/dl/release/v${denoVersion}`;
  console.log(`condor_store_cred ${VERSION}: deno compile with Deno ${denoVersion} (host ${host})`);
  // What an earlier run left would otherwise pose as this run's output.
  for (const name of [...targets.map(outputName), "SHA256SUMS"]) {
    if (await removeStale(`${dist}/${name}`)) console.log(`removed ${dist}/${name} (earlier run)`);
  }
  const built: string[] = [];
  let failed = 0;
  for (const target of targets) {
    const p = await plan(target, cacheDir, releaseBase);
    if ("skip" in p) {
      console.log(`skipped ${target}: no denort base binary: ${p.skip}`);
      continue;
    }
    const output = `${dist}/${outputName(target)}`;
    const problem = await compile(target, output, p.env);
    if (problem === null) {
      built.push(outputName(target));
      console.log(`built   ${target}: ${output} (denort from ${p.source})`);
    } else {
      failed++;
      console.log(`FAILED  ${target}: denort from ${p.source}, but ${problem}`);
    }
  }

  if (built.length > 0) {
    const lines = [];
    for (const name of built) lines.push(`${await sha256(`${dist}/${name}`)}  ${name}`);
    await Deno.writeTextFile(`${dist}/SHA256SUMS`, lines.join("\n") + "\n");
    console.log(`wrote ${dist}/SHA256SUMS (${built.length} file(s))`);
  } else {
    console.log(`nothing built; ${dist}/SHA256SUMS not written`);
  }
  console.log(
    `${built.length} built, ${targets.length - built.length - failed} skipped, ${failed} failed`,
  );
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
