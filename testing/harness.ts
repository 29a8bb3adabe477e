/**
 * The black-box test harness, shared by tests/ and scripts/: run the real program as a separate
 * process with a clean environment, a temp spool and an explicit CONDOR_CONFIG, optionally as a
 * real non-root user (testing/users.ts); credmon stand-ins (testing/credmon.ts); the packaged
 * node layout (testing/node.ts).
 *
 * The program under test is `main.ts` run by this Deno, unless CSC_TARGET names a bundle's entry
 * (`dist/condor_store_cred/condor_store_cred.js`, run with `deno run`) or a compiled binary
 * (anything else, executed directly).
 */

import { RUNTIME_FLAGS } from "../lib/permissions.ts";
import { IS_ROOT, setprivAs, type TestUser, withCondorShared } from "./users.ts";
import { checkJsonResult } from "./json_schema.ts";
import { coverageEnv, programFlags } from "./coverage.ts";

/** The repository root. */
export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

const TARGET = Deno.env.get("CSC_TARGET") ?? `${REPO}/main.ts`;
const IS_BINARY = !/\.(ts|js)$/.test(TARGET);

export { IS_ROOT, nonRootUsers, type TestUser } from "./users.ts";
export { startCredmon } from "./credmon.ts";

/** The result of one run. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Present (true) only when the program was killed for running past `timeoutMs`. */
  readonly timedOut?: boolean;
}

/** Options of `runCli`. */
export interface RunOptions {
  /** Extra environment on top of the clean base (CONDOR_CONFIG etc.). */
  readonly env?: Record<string, string>;
  /** Bytes or text fed to stdin; stdin is closed (empty) when absent. */
  readonly stdin?: string | Uint8Array;
  readonly cwd?: string;
  /** Run as this non-root user (needs root). */
  readonly user?: TestUser;
  /** Kill the program after this many milliseconds (default 120 s); the result says so. */
  readonly timeoutMs?: number;
}

const decoder = new TextDecoder();

let sharedDeno: string | null = null;

/** A copy of this Deno that every user may execute (ours may live under /root). */
/** A copy of this Deno that every user may run. */
export async function denoForAll(): Promise<string> {
  if (sharedDeno !== null) return sharedDeno;
  const dir = "/tmp/csc-test-deno";
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  await Deno.chmod(dir, 0o755);
  const path = `${dir}/deno`;
  const source = await Deno.stat(Deno.execPath());
  const existing = await Deno.stat(path).catch(() => null);
  if (existing === null || existing.size !== source.size) {
    const temp = `${path}.${crypto.randomUUID()}`;
    await Deno.copyFile(Deno.execPath(), temp);
    await Deno.chmod(temp, 0o755);
    await Deno.rename(temp, path);
  }
  sharedDeno = path;
  return path;
}

/** A per-uid Deno cache directory, so transpiled code is reused between runs. */
async function denoDir(uid: number): Promise<string> {
  const dir = `/tmp/csc-test-deno/cache-${uid}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (IS_ROOT) await Deno.chown(dir, uid, null);
  return dir;
}

let sharedTarget: string | null = null;

export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true, mode: 0o755 });
  await Deno.chmod(to, 0o755);
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.isFile) {
      await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
      await Deno.chmod(`${to}/${entry.name}`, 0o644);
    }
  }
}

/**
 * The program as every user may read it: the checkout may sit in a private directory (a CI
 * clone under a 0700 temp dir), so a copy goes to a world-readable place for non-root runs.
 */
async function targetForAll(): Promise<string> {
  if (sharedTarget !== null) return sharedTarget;
  const dir = await Deno.makeTempDir({ dir: "/tmp/csc-test-deno", prefix: "program-" });
  await Deno.chmod(dir, 0o755);
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  if (TARGET === `${REPO}/main.ts`) {
    for (const file of ["main.ts", "deno.json"]) {
      await Deno.copyFile(`${REPO}/${file}`, `${dir}/${file}`);
      await Deno.chmod(`${dir}/${file}`, 0o644);
    }
    await copyTree(`${REPO}/lib`, `${dir}/lib`);
    sharedTarget = `${dir}/main.ts`;
  } else if (!IS_BINARY) {
    // A bundle is a directory of chunks (scripts/bundle.ts): its entry and everything beside it.
    const slash = TARGET.lastIndexOf("/");
    await copyTree(TARGET.slice(0, slash), dir);
    sharedTarget = `${dir}/${TARGET.slice(slash + 1)}`;
  } else {
    const name = TARGET.slice(TARGET.lastIndexOf("/") + 1);
    await Deno.copyFile(TARGET, `${dir}/${name}`);
    await Deno.chmod(`${dir}/${name}`, IS_BINARY ? 0o755 : 0o644);
    sharedTarget = `${dir}/${name}`;
  }
  return sharedTarget;
}

/** The command line that runs the program (before its own arguments). */
export async function programCommand(user?: TestUser): Promise<string[]> {
  const target = user ? await targetForAll() : TARGET;
  if (IS_BINARY) return [target];
  const deno = user ? await denoForAll() : Deno.execPath();
  return [deno, "run", "--no-config", "--quiet", ...programFlags(RUNTIME_FLAGS), target];
}

/** The clean base environment of a run. */
export async function baseEnv(user?: TestUser): Promise<Record<string, string>> {
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    TZ: "UTC",
    LANG: "C",
    NO_COLOR: "1",
    DENO_DIR: await denoDir(user?.uid ?? Deno.uid()!),
    ...coverageEnv(),
  };
}

let sharedRepo: string | null = null;

/** A copy of lib/ and testing/ that every user may read, for scripts run as another user. */
async function repoForAll(): Promise<string> {
  if (sharedRepo !== null) return sharedRepo;
  const dir = await Deno.makeTempDir({ dir: "/tmp/csc-test-deno", prefix: "repo-" });
  await Deno.chmod(dir, 0o755);
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  await copyTree(`${REPO}/lib`, `${dir}/lib`);
  await copyTree(`${REPO}/testing`, `${dir}/testing`);
  await Deno.copyFile(`${REPO}/deno.json`, `${dir}/deno.json`);
  sharedRepo = dir;
  return dir;
}

/**
 * Runs the script `script` (a path in the repository, such as `testing/hammer.ts`) with `args`,
 * as `user`, with Deno's read, write, net and env permissions. Killed after `timeoutMs`.
 */
export async function runScriptAs(
  user: TestUser,
  script: string,
  args: string[],
  timeoutMs = 300_000,
): Promise<RunResult> {
  const argv = [
    ...setprivAs(user),
    await denoForAll(),
    "run",
    "--no-config",
    "--quiet",
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-env",
    `${await repoForAll()}/${script}`,
    ...args,
  ];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: await baseEnv(user),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return await outputWithin(child, timeoutMs);
}

/**
 * The exit code and output of `child`, which is killed (SIGKILL) if it runs past `timeoutMs`:
 * a hung program then fails its test clearly (`timedOut`).
 */
async function outputWithin(child: Deno.ChildProcess, timeoutMs: number): Promise<RunResult> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const result = {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
    return timedOut ? { ...result, timedOut } : result;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `/bin/sh -c command` as `user` in the clean base environment; throws with its stderr. */
export async function shellAs(user: TestUser, command: string): Promise<void> {
  const argv = [...setprivAs(user), "/bin/sh", "-c", command];
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: await baseEnv(),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`${command}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Runs the program with `args` and returns exit code, stdout and stderr. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const command = await programCommand(options.user);
  const prefix = options.user ? setprivAs(options.user) : [];
  const argv = [...prefix, ...command, ...args];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: { ...(await baseEnv(options.user)), ...options.env },
    cwd: options.cwd ?? "/",
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    if (options.stdin !== undefined) {
      await writer.write(
        typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
      );
    }
  } catch {
    // The program may exit before reading all of stdin.
  }
  await writer.close().catch(() => {});
  const result = await outputWithin(child, options.timeoutMs ?? 120_000);
  // Every --json output of every test is checked against the published schema.
  if (!result.timedOut && args.includes("--json") && result.stdout !== "") {
    checkJsonResult(result.stdout);
  }
  return result;
}

/** A temporary spool with its configuration file. */
export interface Spool {
  readonly root: string;
  readonly config: string;
  readonly pool: string;
  readonly krb: string;
  readonly oauth: string;
  readonly pwd: string;
  /** Environment that points the program at this spool. */
  readonly env: Record<string, string>;
}

/** Options of `withSpool`. */
export interface SpoolOptions {
  /** Extra configuration lines. */
  readonly config?: string;
  /** Owner of the whole spool (default: the test process). */
  readonly owner?: TestUser;
}

/**
 * Runs `fn` with a fresh spool in a temp directory (removed afterwards). The credential
 * directories are not created: the program creates them.
 */
export function withSpool(
  fn: (spool: Spool) => Promise<void>,
  options: SpoolOptions = {},
): Promise<void> {
  // Another run of the tests must not add or remove the condor account while this spool is used.
  return withCondorShared(() => spoolIn(fn, options));
}

async function spoolIn(fn: (spool: Spool) => Promise<void>, options: SpoolOptions): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "csc-spool-" });
  try {
    await Deno.chmod(root, 0o755);
    const spool: Spool = {
      root,
      config: `${root}/condor_config`,
      pool: `${root}/spool/passwords.d/POOL`,
      krb: `${root}/spool/krb`,
      oauth: `${root}/spool/oauth`,
      pwd: `${root}/spool/pwd`,
      env: { CONDOR_CONFIG: `${root}/condor_config`, HOME: `${root}/home` },
    };
    await Deno.mkdir(`${root}/home`, { mode: 0o700 });
    await Deno.writeTextFile(
      spool.config,
      [
        `SEC_PASSWORD_FILE = ${spool.pool}`,
        `SEC_CREDENTIAL_DIRECTORY_KRB = ${spool.krb}`,
        `SEC_CREDENTIAL_DIRECTORY_OAUTH = ${spool.oauth}`,
        `SEC_CREDENTIAL_DIRECTORY_PWD = ${spool.pwd}`,
        "UID_DOMAIN = test.example",
        "CREDD_POLLING_TIMEOUT = 3",
        "CRED_LOCK_TIMEOUT = 3",
        options.config ?? "",
        "",
      ].join("\n"),
    );
    if (options.owner) {
      await Deno.mkdir(`${root}/spool`, { mode: 0o700 });
      for (const p of [root, `${root}/home`, `${root}/spool`, spool.config]) {
        await Deno.chown(p, options.owner.uid, options.owner.gid);
      }
    }
    await fn(spool);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Reads a file's bytes, or null when missing. */
export async function readBytes(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Reads a file's text, or null when missing. */
export async function readText(path: string): Promise<string | null> {
  const bytes = await readBytes(path);
  return bytes === null ? null : decoder.decode(bytes);
}

/** The permission bits of a path (lstat), e.g. 0o600. */
export async function modeOf(path: string): Promise<number> {
  return (await Deno.lstat(path)).mode! & 0o7777;
}

/** Every path under `dir`, relative and sorted, directories with a trailing `/`. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(path: string, rel: string) {
    for await (const entry of Deno.readDir(path)) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
        out.push(`${childRel}/`);
        await walk(`${path}/${entry.name}`, childRel);
      } else {
        out.push(childRel);
      }
    }
  }
  await walk(dir, "");
  return out.sort();
}

/** A snapshot of a tree: every path with its mode, size, mtime and content hash. */
export async function snapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const rel of await listTree(dir).catch(() => [] as string[])) {
    const path = `${dir}/${rel.replace(/\/$/, "")}`;
    const info = await Deno.lstat(path);
    let digest = "";
    if (info.isFile) {
      const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
      digest = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
    }
    lines.push(
      `${rel} ${(info.mode! & 0o7777).toString(8)} ${info.uid} ${info.nlink} ` +
        `${info.mtime?.getTime()} ${digest}`,
    );
  }
  return lines.join("\n");
}

/** Hex of bytes, space-separated, e.g. "b8 c2 d1". */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** True when `path` exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Every action of every type, with the stdin an add needs (for "every action refuses"). */
export const EVERY_ACTION: readonly { readonly args: string[]; readonly stdin?: string }[] = [
  { args: ["add", "-c", "-p", "-"], stdin: "pw" },
  { args: ["delete", "-c"] },
  { args: ["add", "-p", "-"], stdin: "pw" },
  { args: ["query"] },
  { args: ["delete"] },
  { args: ["add-krb", "-i", "-"], stdin: "ticket" },
  { args: ["query-krb"] },
  { args: ["delete-krb"] },
  { args: ["add-oauth", "-s", "svc", "-i", "-"], stdin: "seed" },
  { args: ["add-oauth", "-s", "svc", "-P", "-i", "-"], stdin: "token" },
  { args: ["query-oauth", "-s", "svc"] },
  { args: ["query-oauth"] },
  { args: ["delete-oauth", "-s", "svc"] },
  { args: ["delete-oauth"] },
];

/** Stores one credential of each type for `user` (pool, sealed password, krb, OAuth .top/.use). */
export async function populateSpool(spool: Spool, user = "root"): Promise<void> {
  const u = ["-u", `${user}@test.example`];
  for (
    const [args, stdin] of [
      [["add", "-c", "-p", "-"], "pool"],
      [["add", ...u, "-p", "-"], "pw"],
      [["add-krb", ...u, "-i", "-"], "ticket"],
      [["add-oauth", ...u, "-s", "svc", "-i", "-"], "seed"],
      [["add-oauth", ...u, "-s", "svc", "-P", "-i", "-"], "token"],
    ] as const
  ) {
    const r = await runCli([...args], { env: spool.env, stdin });
    if (r.code !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  }
}

/** The credential files `populateSpool` writes that every action of a type reads or writes. */
export function credentialFiles(spool: Spool, user = "root"): string[] {
  return [
    `${spool.krb}/${user}.cred`,
    `${spool.oauth}/${user}/svc.use`,
    spool.pool,
    `${spool.pwd}/${user}@test.example.pwd`,
  ];
}

/**
 * Local time `YYYY-MM-DD HH:MM:SS` as the program prints it, computed independently of the
 * library (Intl), in `timeZone` (default: this process's zone). Black-box programs run with
 * TZ=UTC unless a test says otherwise.
 */
export function localTime(unixSeconds: number, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(unixSeconds * 1000));
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${
    get("second")
  }`;
}
