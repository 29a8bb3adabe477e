/**
 * Builds one self-contained executable per OS with `deno compile` (`deno task compile`):
 * `dist/condor_store_cred-<target>[.exe]`, with the runtime permission flags baked in, and
 * `dist/SHA256SUMS`.
 *
 * `deno compile` needs the `denort` base binary of each target. This script looks for it, in
 * order: `DENORT_BIN` (host target only), Deno's cache
 * (`$DENO_DIR/dl/release/v<version>/denort-<target>.zip`), then Deno's release server. It
 * prints for every target whether it was built or skipped and exactly why, and exits non-zero
 * only when a requested target could have been built and was not.
 *
 * Usage: deno task compile [--target TARGET]... [--out DIR]
 * Environment: DENORT_BIN, DENO_DIR, CSC_RELEASE_URL (default https://dl.deno.land/release).
 * Permissions: --allow-read, --allow-write=dist, --allow-run, --allow-env, --allow-net.
 */

import { RUNTIME_PERMISSIONS } from "../lib/permissions.ts";
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
const releaseBase = Deno.env.get("CSC_RELEASE_URL") ?? "https://dl.deno.land/release";

function outputName(target: string): string {
  return `condor_store_cred-${target}${target.includes("windows") ? ".exe" : ""}`;
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
async function releaseServerProblem(target: string): Promise<string | null> {
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

async function plan(target: string, cacheDir: string): Promise<Plan> {
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
  const problem = await releaseServerProblem(target);
  if (problem === null) return { target, source: `release server ${releaseBase}`, env: {} };
  notes.push(problem);
  return { target, skip: notes.join("; ") };
}

async function compile(target: string, env: Record<string, string>): Promise<string | null> {
  const output = `${dist}/${outputName(target)}`;
  const result = await new Deno.Command(deno, {
    args: [
      "compile",
      "--quiet",
      "--config",
      `${root}deno.json`,
      "--target",
      target,
      "--output",
      output,
      ...RUNTIME_PERMISSIONS,
      `${root}main.ts`,
    ],
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
    // The host binary must actually run.
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

const requested: string[] = [];
let dist = `${root}dist`;
for (let i = 0; i < Deno.args.length; i++) {
  if (Deno.args[i] === "--target" && Deno.args[i + 1]) requested.push(Deno.args[++i]);
  else if (Deno.args[i] === "--out" && Deno.args[i + 1]) dist = Deno.args[++i];
  else {
    console.error(
      `usage: deno task compile [--target TARGET]... [--out DIR] (targets: ${TARGETS.join(", ")})`,
    );
    Deno.exit(2);
  }
}
const targets = requested.length > 0 ? requested : [...TARGETS];
const unknown = targets.filter((t) => !(TARGETS as readonly string[]).includes(t));
if (unknown.length > 0) {
  console.error(`unknown target(s): ${unknown.join(", ")}; known: ${TARGETS.join(", ")}`);
  Deno.exit(2);
}

await Deno.mkdir(dist, { recursive: true });
const cacheDir = `${await denoDir()}/dl/release/v${denoVersion}`;
console.log(`condor_store_cred ${VERSION}: deno compile with Deno ${denoVersion} (host ${host})`);
const built: string[] = [];
let failed = 0;
for (const target of targets) {
  const p = await plan(target, cacheDir);
  if ("skip" in p) {
    console.log(`skipped ${target}: no denort base binary: ${p.skip}`);
    continue;
  }
  const problem = await compile(target, p.env);
  if (problem === null) {
    built.push(outputName(target));
    console.log(`built   ${target}: ${dist}/${outputName(target)} (denort from ${p.source})`);
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
Deno.exit(failed > 0 ? 1 : 0);
