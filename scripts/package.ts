/**
 * Builds `.deb` and `.rpm` packages of the Linux executables `deno task compile` wrote
 * (`deno task package`): `condor-store-cred_<version>_<amd64|arm64>.deb` with dpkg-deb and
 * `condor-store-cred-<version>-1.<x86_64|aarch64>.rpm` with rpmbuild (Debian's `dpkg` and `rpm`
 * packages). Each holds exactly:
 *
 *   /usr/bin/condor_store_cred                                  0755  the executable
 *   /usr/share/man/man1/condor_store_cred.1.gz                  0644  gzip -9n of condor_store_cred.1
 *   /usr/share/bash-completion/completions/condor_store_cred    0644  `completions bash`
 *   /usr/share/zsh/vendor-completions/_condor_store_cred        0644  `completions zsh`
 *   /usr/share/fish/vendor_completions.d/condor_store_cred.fish 0644  `completions fish`
 *   /usr/lib/systemd/system/condor_store_cred.service           0644  only with a unit file
 *
 * all owned by root:root. The completions are what the packaged executable itself prints; an
 * executable this host cannot run (aarch64 on x86_64) takes them from one of this run's
 * executables that it can run. The unit file comes from `--service FILE`, else from
 * `packaging/condor_store_cred.service` when the repository has one; with a unit, maintainer
 * scripts run `systemctl daemon-reload` when systemd is running, and never enable or start it.
 *
 * Everything is built in a temp directory that is removed afterwards; nothing is downloaded.
 * File times, the archives' own times and the RPM build time are SOURCE_DATE_EPOCH (from the
 * environment, else the last git commit), so the same inputs give the same bytes.
 *
 * Every package gets one line: `built`, `SKIPPED` (its executable is missing, or its build tool
 * is not installed) or `FAILED`; the exit status is 1 only when one failed, 2 on a usage error.
 *
 * Usage: deno task package [--binary PATH]... [--out DIR] [--version V] [--service FILE]
 * Environment: SOURCE_DATE_EPOCH, PATH (where dpkg-deb, rpmbuild, gzip and git are found).
 * Permissions: --allow-read, --allow-write (the output and temp directories), --allow-run,
 * --allow-env.
 */

import { createHash } from "node:crypto";
import { VERSION } from "../lib/version.ts";
import { outputName, TARGETS } from "./compile.ts";

/** The package name, in both formats. */
export const PACKAGE_NAME = "condor-store-cred";

/** The Linux targets packaged, with their Debian and RPM architecture names and ELF machine. */
export const ARCHITECTURES = [
  { target: "x86_64-unknown-linux-gnu", deb: "amd64", rpm: "x86_64", elfMachine: 62 },
  { target: "aarch64-unknown-linux-gnu", deb: "arm64", rpm: "aarch64", elfMachine: 183 },
] as const;

/** One of ARCHITECTURES. */
export type Architecture = (typeof ARCHITECTURES)[number];

/** Placeholders the maintainers are expected to replace. */
const LICENSE = "Apache-2.0";
const MAINTAINER = "condor_store_cred maintainers <maintainers@example.invalid>";

const SUMMARY = "Stores HTCondor credentials: a re-implementation of condor_store_cred";
const DESCRIPTION = [
  "A drop-in re-implementation of HTCondor's condor_store_cred: it adds, deletes",
  "and queries passwords (including the pool password), Kerberos/AFS tokens and",
  "OAuth2/SciTokens credentials, in the files, layout and byte formats that",
  "HTCondor's daemons and credmons read. One self-contained executable built with",
  "deno compile, with the man page and bash, zsh and fish completions.",
];

const BIN = "usr/bin/condor_store_cred";
const MAN = "usr/share/man/man1/condor_store_cred.1.gz";
const COMPLETIONS = {
  bash: "usr/share/bash-completion/completions/condor_store_cred",
  zsh: "usr/share/zsh/vendor-completions/_condor_store_cred",
  fish: "usr/share/fish/vendor_completions.d/condor_store_cred.fish",
} as const;
const UNIT = "usr/lib/systemd/system/condor_store_cred.service";

type Shell = keyof typeof COMPLETIONS;
const SHELLS = Object.keys(COMPLETIONS) as Shell[];

/** The .deb file name of `version` for `arch`. */
export function debName(version: string, arch: Architecture): string {
  return `${PACKAGE_NAME}_${version}_${arch.deb}.deb`;
}

/** The .rpm file name of `version` for `arch` (release 1). */
export function rpmName(version: string, arch: Architecture): string {
  return `${PACKAGE_NAME}-${version}-1.${arch.rpm}.rpm`;
}

const root = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** What went wrong with one package or executable; becomes a FAILED line. */
class PackageError extends Error {}

/** The first executable file called `name` on PATH, or null. */
async function findTool(name: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    const info = await Deno.stat(`${dir}/${name}`).catch(() => null);
    if (info !== null && info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
  }
  return null;
}

/** Runs `command`; returns stdout, or throws a PackageError naming the command and its stderr. */
async function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean; stdin?: Uint8Array } = {},
): Promise<Uint8Array> {
  const label = [command, ...args].join(" ");
  let child;
  try {
    child = new Deno.Command(command, {
      args,
      env: options.env,
      clearEnv: options.clearEnv,
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(600_000),
    }).spawn();
  } catch (error) {
    throw new PackageError(`cannot run ${label}: ${(error as Error).message}`);
  }
  if (options.stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(options.stdin);
    await writer.close();
  }
  const out = await child.output();
  if (!out.success) {
    const stderr = decoder.decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new PackageError(`${label} exited with ${out.code}${stderr ? `: ${stderr}` : ""}`);
  }
  return out.stdout;
}

/** The ELF e_machine of the file at `path`, or null when it is not an ELF file. */
async function elfMachine(path: string): Promise<number | null> {
  const file = await Deno.open(path);
  try {
    const head = new Uint8Array(20);
    let filled = 0;
    while (filled < head.length) {
      const n = await file.read(head.subarray(filled));
      if (n === null) return null;
      filled += n;
    }
    if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return null;
    return head[5] === 2 ? head[18] << 8 | head[19] : head[18] | head[19] << 8;
  } finally {
    file.close();
  }
}

/** The architecture of the executable at `path`: from its name, checked against its ELF header. */
async function architectureOf(path: string): Promise<Architecture | string> {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const named = ARCHITECTURES.find((a) => base === outputName(a.target));
  const machine = await elfMachine(path);
  const elf = machine === null ? undefined : ARCHITECTURES.find((a) => a.elfMachine === machine);
  if (named && machine !== null && elf !== named) {
    throw new PackageError(
      `named for ${named.target} but its ELF header says ${elf?.rpm ?? `machine ${machine}`}`,
    );
  }
  if (!named && TARGETS.some((t) => base === outputName(t))) {
    return "not a Linux executable (the packages are for Linux)";
  }
  return named ?? elf ??
    `cannot tell its architecture: name it ${
      ARCHITECTURES.map((a) => outputName(a.target)).join(" or ")
    }`;
}

/** What one executable will be packaged with. */
interface Input {
  readonly binary: string;
  readonly arch: Architecture;
  /** Its completions, or null when this host cannot run it (they are borrowed). */
  completions: Record<Shell, Uint8Array> | null;
  /** Where borrowed completions came from, for the `built` line. */
  note: string;
}

/**
 * Runs `binary --version` and `binary completions <shell>`; returns the completions. A version
 * other than `version` fails unless the version was given explicitly (then it is a note).
 */
async function probe(
  binary: string,
  version: string,
  explicitVersion: boolean,
): Promise<{ completions: Record<Shell, Uint8Array>; warning: string | null }> {
  // A clean environment: no CONDOR_CONFIG or locale of the caller shapes the output.
  const env = { PATH: "/usr/bin:/bin", NO_COLOR: "1" };
  const said = decoder.decode(await run(binary, ["--version"], { env, clearEnv: true }))
    .split("\n")[0];
  let warning: string | null = null;
  if (
    said !== `condor_store_cred ${version}` && !said.startsWith(`condor_store_cred ${version} `)
  ) {
    const problem = `--version said ${JSON.stringify(said)}, not condor_store_cred ${version}`;
    if (!explicitVersion) {
      throw new PackageError(`${problem} (an old build? run deno task compile)`);
    }
    warning = `note: ${binary} ${problem}; packaged as ${version} as --version asked`;
  }
  const completions = {} as Record<Shell, Uint8Array>;
  for (const shell of SHELLS) {
    completions[shell] = await run(binary, ["completions", shell], { env, clearEnv: true });
    if (completions[shell].length === 0) {
      throw new PackageError(`completions ${shell} printed nothing`);
    }
  }
  return { completions, warning };
}

/** The systemd maintainer script body: reload the units when systemd runs; never enable/start. */
const DAEMON_RELOAD = [
  "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then",
  "  systemctl daemon-reload || true",
  "fi",
];

/** A Debian maintainer script that reloads systemd for the listed `$1` actions. */
function debScript(name: string, actions: string): string {
  return [
    "#!/bin/sh",
    `# ${name} of ${PACKAGE_NAME} (scripts/package.ts): systemd rereads its units, so it sees`,
    "# condor_store_cred.service come or go. The service is never enabled or started here.",
    "set -e",
    'case "$1" in',
    `  ${actions})`,
    ...DAEMON_RELOAD.map((l) => `    ${l}`),
    "    ;;",
    "esac",
    "exit 0",
    "",
  ].join("\n");
}

/** The Debian control file. */
function debControl(version: string, arch: Architecture, installedKiB: number): string {
  return [
    `Package: ${PACKAGE_NAME}`,
    `Version: ${version}`,
    `Architecture: ${arch.deb}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedKiB}`,
    "Section: admin",
    "Priority: optional",
    `License: ${LICENSE}`,
    `Description: ${SUMMARY}`,
    ...DESCRIPTION.map((l) => ` ${l}`),
    "",
  ].join("\n");
}

/** The RPM spec: the payload is copied from `stage`, every file root:root with its own mode. */
function rpmSpec(version: string, stage: string, unit: boolean): string {
  const files = [
    `%attr(0755,root,root) /${BIN}`,
    `%attr(0644,root,root) /${MAN}`,
    ...SHELLS.map((s) => `%attr(0644,root,root) /${COMPLETIONS[s]}`),
    ...(unit ? [`%attr(0644,root,root) /${UNIT}`] : []),
  ];
  const scripts = unit
    ? [
      "# systemd rereads its units; the service is never enabled or started here.",
      "%post",
      ...DAEMON_RELOAD,
      "",
      "%postun",
      ...DAEMON_RELOAD,
      "",
    ]
    : [];
  return [
    `Name: ${PACKAGE_NAME}`,
    `Version: ${version}`,
    "Release: 1",
    `Summary: ${SUMMARY}`,
    `License: ${LICENSE}`,
    `Packager: ${MAINTAINER}`,
    // The executable needs only the C library; no generated Requires or Provides.
    "AutoReqProv: no",
    "",
    "%description",
    ...DESCRIPTION,
    "",
    "%install",
    `cp -a '${stage}/usr' '%{buildroot}/'`,
    "",
    "%files",
    "%defattr(-,root,root,-)",
    ...files,
    "",
    ...scripts,
  ].join("\n");
}

/** Sets the times of `dir` and of everything under it to `epoch`, when it is known. */
async function stampTimes(dir: string, epoch: number | null): Promise<void> {
  if (epoch === null) return;
  for (const entry of await walk(dir)) await Deno.utime(`${dir}/${entry.path}`, epoch, epoch);
  await Deno.utime(dir, epoch, epoch);
}

/** Writes `bytes` to `relative` under `stage` with `mode`. */
async function put(
  stage: string,
  relative: string,
  bytes: Uint8Array,
  mode: number,
): Promise<void> {
  const dir = `${stage}/${relative.slice(0, relative.lastIndexOf("/"))}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(`${stage}/${relative}`, bytes);
  await Deno.chmod(`${stage}/${relative}`, mode);
}

/** Every path under `dir` (relative, depth first, directories before their contents). */
async function walk(dir: string, prefix = ""): Promise<{ path: string; isDir: boolean }[]> {
  const out: { path: string; isDir: boolean }[] = [];
  const entries = [];
  for await (const entry of Deno.readDir(`${dir}/${prefix}`)) entries.push(entry);
  entries.sort((a, b) => a.name < b.name ? -1 : 1);
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push({ path, isDir: entry.isDirectory });
    if (entry.isDirectory) out.push(...await walk(dir, path));
  }
  return out;
}

/** The shared inputs of every package of one run. */
interface Build {
  readonly version: string;
  readonly epoch: number | null;
  readonly man: Uint8Array;
  readonly unit: Uint8Array | null;
  readonly tmp: string;
}

/**
 * Lays out the payload of `input` in `<tmp>/<arch>/root` (modes set, times SOURCE_DATE_EPOCH)
 * and returns the directory.
 */
async function stagePayload(build: Build, input: Input, borrowed: Record<Shell, Uint8Array>) {
  const stage = `${build.tmp}/${input.arch.deb}/root`;
  await Deno.mkdir(`${stage}/usr/bin`, { recursive: true });
  await Deno.copyFile(input.binary, `${stage}/${BIN}`);
  await Deno.chmod(`${stage}/${BIN}`, 0o755);
  await put(stage, MAN, build.man, 0o644);
  for (const shell of SHELLS) {
    await put(stage, COMPLETIONS[shell], (input.completions ?? borrowed)[shell], 0o644);
  }
  if (build.unit !== null) await put(stage, UNIT, build.unit, 0o644);
  for (const entry of await walk(stage)) {
    if (entry.isDir) await Deno.chmod(`${stage}/${entry.path}`, 0o755);
  }
  await Deno.chmod(stage, 0o755);
  await stampTimes(stage, build.epoch);
  return stage;
}

/** Builds the .deb of the payload in `stage`; returns its path in the temp directory. */
async function buildDeb(build: Build, arch: Architecture, stage: string, dpkgDeb: string) {
  const files = (await walk(stage)).filter((e) => !e.path.startsWith("DEBIAN"));
  // Installed-Size as dpkg-gencontrol counts it: KiB per file rounded up, 1 per directory.
  let kib = 0;
  const md5sums: string[] = [];
  for (const entry of files) {
    if (entry.isDir) {
      kib += 1;
      continue;
    }
    const bytes = await Deno.readFile(`${stage}/${entry.path}`);
    kib += Math.ceil(bytes.length / 1024);
    md5sums.push(`${createHash("md5").update(bytes).digest("hex")}  ${entry.path}`);
  }
  const control = `${stage}/DEBIAN`;
  await Deno.mkdir(control);
  const encoder = new TextEncoder();
  await put(stage, "DEBIAN/control", encoder.encode(debControl(build.version, arch, kib)), 0o644);
  await put(stage, "DEBIAN/md5sums", encoder.encode(md5sums.join("\n") + "\n"), 0o644);
  if (build.unit !== null) {
    await put(stage, "DEBIAN/postinst", encoder.encode(debScript("postinst", "configure")), 0o755);
    await put(stage, "DEBIAN/postrm", encoder.encode(debScript("postrm", "remove|purge")), 0o755);
  }
  await Deno.chmod(control, 0o755);
  await stampTimes(stage, build.epoch);
  const deb = `${build.tmp}/${debName(build.version, arch)}`;
  // xz, not the zstd some dpkg builds (Ubuntu's) default to, so every Debian's dpkg reads it.
  await run(dpkgDeb, ["--root-owner-group", "-Zxz", "--build", stage, deb], {
    env: build.epoch === null ? {} : { SOURCE_DATE_EPOCH: String(build.epoch) },
  });
  return deb;
}

/** Builds the .rpm of the payload in `stage`; returns its path in the temp directory. */
async function buildRpm(build: Build, arch: Architecture, stage: string, rpmbuild: string) {
  const top = `${build.tmp}/${arch.deb}/rpm`;
  await Deno.mkdir(`${top}/tmp`, { recursive: true });
  const spec = `${top}/${PACKAGE_NAME}.spec`;
  await Deno.writeTextFile(spec, rpmSpec(build.version, stage, build.unit !== null));
  const defines: Record<string, string> = {
    _topdir: top,
    _tmppath: `${top}/tmp`,
    _rpmdir: `${top}/out`,
    _rpmfilename: "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
    // No stripping, man page recompression or debuginfo: the payload goes in as staged (the
    // executable carries its program after the ELF image; strip would cut it off).
    __os_install_post: "%{nil}",
    debug_package: "%{nil}",
    _build_id_links: "none",
    _binary_payload: "w6.xzdio",
    _buildhost: "reproducible",
    ...(build.epoch === null
      ? {}
      : { use_source_date_epoch_as_buildtime: "1", clamp_mtime_to_source_date_epoch: "1" }),
  };
  await run(rpmbuild, [
    "-bb",
    "--quiet",
    "--target",
    `${arch.rpm}-linux`,
    ...Object.entries(defines).flatMap(([k, v]) => ["--define", `${k} ${v}`]),
    spec,
  ], { env: build.epoch === null ? {} : { SOURCE_DATE_EPOCH: String(build.epoch) } });
  return `${top}/out/${rpmName(build.version, arch)}`;
}

/** SOURCE_DATE_EPOCH from the environment, else the last git commit's time, else null. */
async function sourceDateEpoch(): Promise<{ epoch: number | null; from: string }> {
  const env = Deno.env.get("SOURCE_DATE_EPOCH");
  if (env !== undefined && /^\d+$/.test(env)) return { epoch: Number(env), from: "environment" };
  const git = await findTool("git");
  if (git !== null) {
    const out = await run(git, ["-C", root, "log", "-1", "--format=%ct"]).catch(() => null);
    const text = out === null ? "" : decoder.decode(out).trim();
    if (/^\d+$/.test(text)) return { epoch: Number(text), from: "last git commit" };
  }
  return { epoch: null, from: "no git history; file times are the build's" };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

async function removeStale(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

const USAGE =
  "usage: deno task package [--binary PATH]... [--out DIR] [--version V] [--service FILE]";

/** The command: returns the exit status (0 nothing failed, 1 a package failed, 2 usage). */
async function main(args: readonly string[]): Promise<number> {
  const binaries: string[] = [];
  let out = `${root}dist`;
  let version = VERSION;
  let explicitVersion = false;
  let service: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const value = args[i + 1];
    if (args[i] === "--binary" && value) binaries.push(args[++i]);
    else if (args[i] === "--out" && value) out = args[++i];
    else if (args[i] === "--version" && value) [version, explicitVersion] = [args[++i], true];
    else if (args[i] === "--service" && value) service = args[++i];
    else {
      console.error(USAGE);
      return 2;
    }
  }
  // What both formats accept: dpkg forbids most punctuation, rpm forbids "-" in a version.
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) {
    console.error(`version ${JSON.stringify(version)} is not usable: digits, letters, . + ~ only`);
    return 2;
  }
  if (binaries.length === 0) {
    binaries.push(`${root}dist/${outputName(ARCHITECTURES[0].target)}`);
    const arm = `${root}dist/${outputName(ARCHITECTURES[1].target)}`;
    if (await exists(arm)) binaries.push(arm);
  }
  const repoUnit = `${root}packaging/condor_store_cred.service`;
  if (service === null && await exists(repoUnit)) service = repoUnit;

  let built = 0;
  let skipped = 0;
  let failed = 0;
  const line = (status: "built  " | "SKIPPED" | "FAILED ", name: string, text: string) => {
    if (status === "built  ") built++;
    else if (status === "SKIPPED") skipped++;
    else failed++;
    console.log(`${status} ${name}${status === "built  " ? " " : ": "}${text}`);
  };

  const { epoch, from } = await sourceDateEpoch();
  console.log(
    `${PACKAGE_NAME} ${version}: SOURCE_DATE_EPOCH=${epoch ?? "unset"} (${from}); ` +
      `systemd unit: ${service ?? "none"}`,
  );

  // Every input is read before anything is built.
  const gzip = await findTool("gzip");
  let man: Uint8Array;
  let unit: Uint8Array | null = null;
  try {
    if (gzip === null) throw new PackageError("gzip not installed: apt-get install gzip");
    const page = await Deno.readFile(`${root}condor_store_cred.1`).catch((error) => {
      throw new PackageError(`the man page cannot be read (deno task man): ${error.message}`);
    });
    // -n: no name or time in the gzip header, so the same page gives the same bytes.
    man = await run(gzip, ["-9n", "-c"], { stdin: page });
    if (service !== null) {
      unit = await Deno.readFile(service).catch((error) => {
        throw new PackageError(`the systemd unit ${service} cannot be read: ${error.message}`);
      });
    }
  } catch (error) {
    if (!(error instanceof PackageError)) throw error;
    console.log(`FAILED  every package: ${error.message}`);
    return 1;
  }

  const inputs: Input[] = [];
  const hostArch = Deno.build.arch;
  for (const binary of binaries) {
    let arch: Architecture | string;
    try {
      if (!await exists(binary)) {
        const named = ARCHITECTURES.find((a) => binary.endsWith(`/${outputName(a.target)}`));
        const hint = named ? " (deno task compile builds it)" : "";
        for (const name of named ? [debName(version, named), rpmName(version, named)] : [binary]) {
          line("SKIPPED", name, `${binary} does not exist${hint}`);
        }
        continue;
      }
      arch = await architectureOf(binary);
      if (typeof arch === "string") {
        line("SKIPPED", binary, arch);
        continue;
      }
      if (inputs.some((i) => i.arch === arch)) {
        throw new PackageError(`two executables for ${(arch as Architecture).target} were given`);
      }
      const input: Input = { binary, arch, completions: null, note: "" };
      if (arch.rpm === hostArch || await elfMachine(binary) === null) {
        const probed = await probe(binary, version, explicitVersion);
        input.completions = probed.completions;
        if (probed.warning) console.log(probed.warning);
      }
      inputs.push(input);
    } catch (error) {
      if (!(error instanceof PackageError)) throw error;
      line("FAILED ", binary, error.message);
    }
  }
  const runnable = inputs.find((i) => i.completions !== null);
  for (const input of inputs) {
    if (input.completions === null && runnable !== undefined) {
      input.note = ` (completions from ${runnable.binary}: this ${hostArch} host cannot run ` +
        `${input.arch.rpm} executables)`;
    }
  }

  await Deno.mkdir(out, { recursive: true });
  const dpkgDeb = await findTool("dpkg-deb");
  const rpmbuild = await findTool("rpmbuild");
  const tmp = await Deno.makeTempDir({ prefix: "csc-package-" });
  try {
    const build: Build = { version, epoch, man, unit, tmp };
    for (const input of inputs) {
      const deb = debName(version, input.arch);
      const rpm = rpmName(version, input.arch);
      // What an earlier run left would otherwise pose as this run's output.
      for (const name of [deb, rpm]) {
        if (await removeStale(`${out}/${name}`)) {
          console.log(`removed ${out}/${name} (earlier run)`);
        }
      }
      if (runnable === undefined) {
        const reason = `this ${hostArch} host cannot run ${input.binary} to generate its ` +
          `completions, and no ${hostArch} executable was given`;
        line("SKIPPED", deb, reason);
        line("SKIPPED", rpm, reason);
        continue;
      }
      let stage: string;
      try {
        stage = await stagePayload(build, input, runnable.completions!);
      } catch (error) {
        if (!(error instanceof PackageError)) throw error;
        line("FAILED ", deb, error.message);
        line("FAILED ", rpm, error.message);
        continue;
      }
      const formats = [
        {
          name: deb,
          tool: dpkgDeb,
          missing: "dpkg-deb not installed: apt-get install dpkg",
          make: buildDeb,
        },
        {
          name: rpm,
          tool: rpmbuild,
          missing: "rpmbuild not installed: apt-get install rpm",
          make: buildRpm,
        },
      ];
      for (const format of formats) {
        if (format.tool === null) {
          line("SKIPPED", format.name, format.missing);
          continue;
        }
        try {
          const made = await format.make(build, input.arch, stage, format.tool);
          await Deno.copyFile(made, `${out}/${format.name}`);
          line("built  ", `${out}/${format.name}`, `(from ${input.binary})${input.note}`);
        } catch (error) {
          if (!(error instanceof PackageError)) throw error;
          line("FAILED ", format.name, error.message);
        }
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
  console.log(`${built} built, ${skipped} skipped, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
