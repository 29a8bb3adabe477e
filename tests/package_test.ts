/**
 * Tests of `scripts/package.ts`: from a stand-in executable (a shell script that answers
 * `--version` and `completions bash|zsh|fish` the way the real one does), it builds `.deb` and
 * `.rpm` packages whose file list, modes, owners, times, contents and metadata are checked with
 * dpkg-deb and rpm themselves, without and with a systemd unit; it skips honestly what it cannot
 * build and fails on a stale executable. The checks that need dpkg-deb or rpmbuild are ignored,
 * with the reason in the test name, where those are not installed (.ci/run installs both).
 */

import assert from "node:assert/strict";
import { REPO } from "../testing/harness.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const VERSION: string = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).version;
const EPOCH = 1700000000;
const IS_ROOT = Deno.uid() === 0;

/** The first executable `name` on PATH, or null. */
function findTool(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (dir && (Deno.statSync(`${dir}/${name}`).mode ?? 0) & 0o111) return `${dir}/${name}`;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** How many packages per architecture package.ts builds here (it needs dpkg-deb, rpmbuild). */
const FORMATS = ["dpkg-deb", "rpmbuild"].filter((t) => findTool(t) !== null).length;
/** Why the .deb checks cannot run here ("" when they can). */
const MISSING_DEB = findTool("dpkg-deb") === null
  ? "dpkg-deb not installed (apt-get install dpkg)"
  : "";
const missingRpmTools = ["rpmbuild", "rpm", "rpm2archive"].filter((t) => findTool(t) === null);
/** Why the .rpm checks cannot run here ("" when they can). */
const MISSING_RPM = missingRpmTools.length === 0
  ? ""
  : `${missingRpmTools.join(", ")} not installed (apt-get install rpm)`;

/** Set when neither format can be built (the tests that build both are then ignored). */
const MISSING_BOTH = MISSING_DEB && MISSING_RPM ? `${MISSING_DEB}; ${MISSING_RPM}` : "";

/** The test name, with the reason when it is ignored. */
function named(name: string, missing: string): string {
  return missing ? `${name} [IGNORED: ${missing}]` : name;
}

/** What the stand-in prints for `completions <shell>`: a marker per shell. */
function completion(shell: string): string {
  return `# stand-in ${shell} completion for condor_store_cred (marker ${shell.toUpperCase()})\n` +
    `: condor_store_cred-${shell}-marker\n`;
}

/** A stand-in executable that reports `version`. */
function standIn(version: string): string {
  return [
    "#!/bin/sh",
    "# Stand-in for condor_store_cred: answers what scripts/package.ts asks.",
    'case "$*" in',
    `  --version) echo "condor_store_cred ${version} (stand-in)" ;;`,
    ...["bash", "zsh", "fish"].map((shell) =>
      `  "completions ${shell}") printf '%s' '${completion(shell)}' ;;`
    ),
    '  *) echo "stand-in: unexpected arguments: $*" >&2; exit 2 ;;',
    "esac",
    "",
  ].join("\n");
}

const X86 = "condor_store_cred-x86_64-unknown-linux-gnu";
const ARM = "condor_store_cred-aarch64-unknown-linux-gnu";

interface Workspace {
  readonly dir: string;
  readonly out: string;
  /** The TMPDIR package.ts runs with: it must be left empty. */
  readonly tmp: string;
  /** The stand-ins, named for x86_64 and aarch64 (both run here: they are scripts). */
  readonly x86: string;
  readonly arm: string;
}

async function withWorkspace(
  fn: (w: Workspace) => Promise<void>,
  standInVersion = VERSION,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "csc-package-test-" });
  try {
    const w = {
      dir,
      out: `${dir}/out`,
      tmp: `${dir}/tmp`,
      x86: `${dir}/${X86}`,
      arm: `${dir}/${ARM}`,
    };
    await Deno.mkdir(w.tmp);
    for (const path of [w.x86, w.arm]) {
      await Deno.writeTextFile(path, standIn(standInVersion));
      await Deno.chmod(path, 0o755);
    }
    await fn(w);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A copy of the repository (no dist/, no .git) whose packaging/ the test controls. */
async function copyRepo(dir: string, unit: string | null): Promise<string> {
  const copy = `${dir}/repo`;
  await Deno.mkdir(copy);
  for (const entry of Deno.readDirSync(REPO)) {
    if ([".git", "dist", ".bench", "packaging"].includes(entry.name)) continue;
    const cp = await new Deno.Command("cp", { args: ["-a", `${REPO}/${entry.name}`, copy] })
      .output();
    assert.ok(cp.success, `cp ${entry.name}`);
  }
  if (unit !== null) {
    await Deno.mkdir(`${copy}/packaging`);
    await Deno.writeTextFile(`${copy}/packaging/condor_store_cred.service`, unit);
  }
  return copy;
}

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `<repo>/scripts/package.ts` in a clean environment with SOURCE_DATE_EPOCH=EPOCH. */
async function packageScript(
  args: string[],
  options: { repo?: string; path?: string; tmp?: string } = {},
): Promise<Result> {
  const denoDir = Deno.env.get("DENO_DIR");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${options.repo ?? REPO}/scripts/package.ts`, ...args],
    clearEnv: true,
    env: {
      // The PATH the tools were looked up in above, so both see the same dpkg-deb and rpmbuild.
      PATH: options.path ?? Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      NO_COLOR: "1",
      SOURCE_DATE_EPOCH: String(EPOCH),
      ...(options.tmp ? { TMPDIR: options.tmp } : {}),
      ...(denoDir ? { DENO_DIR: denoDir } : {}),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs a tool; asserts it worked; returns its stdout. */
async function tool(command: string, args: string[], stdin?: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(command, {
    args,
    // dpkg -i wants ldconfig and start-stop-daemon from sbin, which a user's PATH may lack.
    env: {
      TZ: "UTC",
      LC_ALL: "C",
      PATH: `${Deno.env.get("PATH") ?? "/usr/bin:/bin"}:/usr/sbin:/sbin`,
    },
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  assert.equal(out.code, 0, `${command} ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
  return out.stdout;
}

async function text(command: string, args: string[]): Promise<string> {
  return decoder.decode(await tool(command, args));
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const UNIT_PATH = "/usr/lib/systemd/system/condor_store_cred.service";
const UNIT = "[Unit]\nDescription=test unit, not a real service\n";

/** The files every package must hold, with their modes; the unit only when there is one. */
function expectedFiles(unit: boolean): Map<string, number> {
  return new Map([
    ["/usr/bin/condor_store_cred", 0o755],
    ["/usr/share/man/man1/condor_store_cred.1.gz", 0o644],
    ["/usr/share/bash-completion/completions/condor_store_cred", 0o644],
    ["/usr/share/zsh/vendor-completions/_condor_store_cred", 0o644],
    ["/usr/share/fish/vendor_completions.d/condor_store_cred.fish", 0o644],
    ...(unit ? [[UNIT_PATH, 0o644] as [string, number]] : []),
  ]);
}

/** The bytes every payload file must have (the man page decompressed). */
async function expectedContents(binary: string, unit: boolean): Promise<Map<string, Uint8Array>> {
  return new Map([
    ["/usr/bin/condor_store_cred", await Deno.readFile(binary)],
    [
      "/usr/share/man/man1/condor_store_cred.1.gz",
      await Deno.readFile(`${REPO}/condor_store_cred.1`),
    ],
    [
      "/usr/share/bash-completion/completions/condor_store_cred",
      encoder.encode(completion("bash")),
    ],
    ["/usr/share/zsh/vendor-completions/_condor_store_cred", encoder.encode(completion("zsh"))],
    [
      "/usr/share/fish/vendor_completions.d/condor_store_cred.fish",
      encoder.encode(completion("fish")),
    ],
    ...(unit ? [[UNIT_PATH, encoder.encode(UNIT)] as [string, Uint8Array]] : []),
  ]);
}

/** Asserts the payload extracted into `root` holds exactly the expected bytes. */
async function assertPayload(root: string, binary: string, unit: boolean): Promise<void> {
  for (const [path, bytes] of await expectedContents(binary, unit)) {
    let actual: Uint8Array<ArrayBuffer> = await Deno.readFile(`${root}${path}`);
    if (path.endsWith(".gz")) {
      // gzip -n: no file name (FLG.FNAME) and no time stamp (MTIME zero) in the header.
      assert.deepEqual([...actual.subarray(0, 3)], [0x1f, 0x8b, 8]);
      assert.equal(actual[3] & 0x08, 0, "the gzip header names a file");
      assert.deepEqual([...actual.subarray(4, 8)], [0, 0, 0, 0], "the gzip header has a time");
      actual = await gunzip(actual);
    }
    assert.deepEqual(actual, bytes, path);
  }
}

/** Checks a maintainer script's text: reloads systemd, never enables or starts a service. */
function assertReloadOnly(script: string): void {
  assert.match(script, /systemctl daemon-reload/);
  assert.match(script, /if \[ -d \/run\/systemd\/system \]/);
  assert.doesNotMatch(script, /systemctl (--\S+ )*(enable|start|restart|preset)|deb-systemd/);
}

/** The parent directories of `paths` ("./usr/", …), as dpkg-deb -c lists them. */
function parents(paths: Iterable<string>): Set<string> {
  const dirs = new Set(["./"]);
  for (const path of paths) {
    const parts = path.split("/").slice(1, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(`./${parts.slice(0, i).join("/")}/`);
  }
  return dirs;
}

const EPOCH_DATE = new Date(EPOCH * 1000).toISOString().slice(0, 16).replace("T", " ");

/** Checks one .deb built from `binary` for Debian architecture `arch`. */
async function checkDeb(
  deb: string,
  options: { binary: string; arch: string; unit: boolean; work: string },
): Promise<void> {
  const fields = await text("dpkg-deb", ["-f", deb]);
  const field = (name: string) => fields.match(new RegExp(`^${name}: (.*)$`, "m"))?.[1];
  assert.equal(field("Package"), "condor-store-cred");
  assert.equal(field("Version"), VERSION);
  assert.equal(field("Architecture"), options.arch);
  assert.equal(field("License"), "Apache-2.0");
  assert.match(field("Maintainer") ?? "", /<.+@.+>/);
  assert.match(fields, /^Description: \S.*\n( \S.*\n)+/m, "a one-line and a longer description");
  for (const absent of ["Depends", "Conflicts", "Provides", "Replaces", "Breaks"]) {
    assert.equal(field(absent), undefined, absent);
  }

  // drwxr-xr-x root/root         0 2023-11-14 22:13 ./usr/bin/
  const listing = (await text("dpkg-deb", ["-c", deb])).trimEnd().split("\n").map((line) => {
    const m = line.match(/^(\S{10}) (\S+)\s+(\d+) (\S+ \S+) (\S+)$/);
    assert.ok(m, line);
    return { mode: m[1], owner: m[2], date: m[4], path: m[5] };
  });
  const files = expectedFiles(options.unit);
  const modeText = (mode: number) =>
    "-" +
    [6, 3, 0].map((s) => ["---", "--x", "-w-", "-wx", "r--", "r-x", "rw-", "rwx"][(mode >> s) & 7])
      .join("");
  assert.deepEqual(
    new Set(listing.filter((e) => !e.path.endsWith("/")).map((e) => `${e.mode} ${e.path}`)),
    new Set([...files].map(([path, mode]) => `${modeText(mode)} .${path}`)),
  );
  assert.deepEqual(
    new Set(listing.filter((e) => e.path.endsWith("/")).map((e) => `${e.mode} ${e.path}`)),
    new Set([...parents(files.keys())].map((dir) => `drwxr-xr-x ${dir}`)),
  );
  for (const entry of listing) {
    assert.equal(entry.owner, "root/root", entry.path);
    assert.equal(entry.date, EPOCH_DATE, entry.path);
  }

  const root = `${options.work}/root`;
  await tool("dpkg-deb", ["-x", deb, root]);
  await assertPayload(root, options.binary, options.unit);

  const control = `${options.work}/control`;
  await tool("dpkg-deb", ["-e", deb, control]);
  const members = [...Deno.readDirSync(control)].map((e) => e.name).sort();
  assert.deepEqual(
    members,
    options.unit ? ["control", "md5sums", "postinst", "postrm"] : ["control", "md5sums"],
  );
  // md5sums lists exactly the files, with the right sums.
  const sums = await Deno.readTextFile(`${control}/md5sums`);
  assert.deepEqual(
    new Set(sums.trimEnd().split("\n").map((l) => l.slice(34))),
    new Set([...files.keys()].map((p) => p.slice(1))),
  );
  const check = await new Deno.Command("md5sum", {
    args: ["--check", "--quiet", `${control}/md5sums`],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(check.code, 0, decoder.decode(check.stdout));
  for (const script of options.unit ? ["postinst", "postrm"] : []) {
    assert.equal(Deno.statSync(`${control}/${script}`).mode! & 0o777, 0o755, script);
    const body = await Deno.readTextFile(`${control}/${script}`);
    assert.ok(body.startsWith("#!/bin/sh\n"), script);
    assertReloadOnly(body);
    await tool("sh", ["-n", `${control}/${script}`]);
  }
}

/** Checks one .rpm built from `binary` for RPM architecture `arch`. */
async function checkRpm(
  rpm: string,
  options: { binary: string; arch: string; unit: boolean; work: string },
): Promise<void> {
  const info = await text("rpm", ["-qip", rpm]);
  const field = (name: string) => info.match(new RegExp(`^${name}\\s*: (.*)$`, "m"))?.[1];
  assert.equal(field("Name"), "condor-store-cred");
  assert.equal(field("Version"), VERSION);
  assert.equal(field("Release"), "1");
  assert.equal(field("Architecture"), options.arch);
  assert.equal(field("License"), "Apache-2.0");
  assert.equal(
    await text("rpm", ["-qp", "--qf", "%{BUILDTIME} %{BUILDHOST}", rpm]),
    `${EPOCH} reproducible`,
  );
  assert.ok((field("Summary") ?? "").length > 10);
  assert.match(info, /^Description :\n.+\n.+/m, "a longer description");
  // No dependency or conflict generated or declared beyond rpm's own features.
  const relations = await text("rpm", ["-qp", "--requires", "--conflicts", "--obsoletes", rpm]);
  for (const relation of relations.trimEnd().split("\n")) {
    assert.match(relation, /^(rpmlib\(.*\)|\/bin\/sh)( .*)?$/, relation);
  }
  assert.deepEqual(
    (await text("rpm", ["-qp", "--provides", rpm])).trimEnd().split("\n").sort(),
    [
      `condor-store-cred = ${VERSION}-1`,
      `condor-store-cred(${options.arch === "x86_64" ? "x86-64" : "aarch-64"}) = ${VERSION}-1`,
    ],
  );

  // path size mtime digest mode owner group isconfig isdoc rdev symlink
  const dump = (await text("rpm", ["-qlp", "--dump", rpm])).trimEnd().split("\n").map((line) => {
    const f = line.split(" ");
    assert.equal(f.length, 11, line);
    return { path: f[0], mtime: Number(f[2]), mode: f[4], owner: f[5], group: f[6] };
  });
  const files = expectedFiles(options.unit);
  assert.deepEqual(
    new Set(dump.map((e) => `${e.mode} ${e.owner}:${e.group} ${e.path}`)),
    new Set([...files].map(([path, mode]) => `0100${mode.toString(8)} root:root ${path}`)),
  );
  for (const entry of dump) assert.equal(entry.mtime, EPOCH, entry.path);

  const tar = `${options.work}/payload.tar`;
  await Deno.writeFile(tar, await tool("rpm2archive", ["-n", "-"], await Deno.readFile(rpm)));
  const root = `${options.work}/root`;
  await Deno.mkdir(root);
  await tool("tar", ["-xf", tar, "-C", root]);
  await assertPayload(root, options.binary, options.unit);

  const scripts = await text("rpm", ["-qp", "--scripts", rpm]);
  if (!options.unit) assert.equal(scripts, "");
  else {
    const parts = scripts.split(/^(\w+) scriptlet \(using \/bin\/sh\):\n/m).slice(1);
    assert.deepEqual(parts.filter((_, i) => i % 2 === 0), ["postinstall", "postuninstall"]);
    for (const body of parts.filter((_, i) => i % 2 === 1)) assertReloadOnly(body);
  }
}

/** Builds both architectures from the stand-ins and checks every package. */
async function buildAndCheck(
  t: Deno.TestContext,
  w: Workspace,
  options: { repo: string; unit: boolean },
): Promise<void> {
  const r = await packageScript(["--binary", w.x86, "--binary", w.arm, "--out", w.out], {
    repo: options.repo,
    tmp: w.tmp,
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const head = `condor-store-cred ${VERSION}: SOURCE_DATE_EPOCH=${EPOCH} (environment); ` +
    `systemd unit: ${
      options.unit ? `${options.repo}/packaging/condor_store_cred.service` : "none"
    }`;
  assert.equal(r.stdout.split("\n")[0], head);
  const debs = [[w.x86, "amd64"], [w.arm, "arm64"]] as const;
  const rpms = [[w.x86, "x86_64"], [w.arm, "aarch64"]] as const;
  for (const [binary, arch] of debs) {
    const name = `condor-store-cred_${VERSION}_${arch}.deb`;
    await t.step({
      name: named(`${name} holds exactly the expected files`, MISSING_DEB),
      ignore: MISSING_DEB !== "",
      fn: async () => {
        assert.ok(r.stdout.includes(`\nbuilt   ${w.out}/${name} (from ${binary})\n`), r.stdout);
        const work = await Deno.makeTempDir({ dir: w.dir, prefix: "work-" });
        await checkDeb(`${w.out}/${name}`, { binary, arch, unit: options.unit, work });
      },
    });
  }
  for (const [binary, arch] of rpms) {
    const name = `condor-store-cred-${VERSION}-1.${arch}.rpm`;
    await t.step({
      name: named(`${name} holds exactly the expected files`, MISSING_RPM),
      ignore: MISSING_RPM !== "",
      fn: async () => {
        assert.ok(r.stdout.includes(`\nbuilt   ${w.out}/${name} (from ${binary})\n`), r.stdout);
        const work = await Deno.makeTempDir({ dir: w.dir, prefix: "work-" });
        await checkRpm(`${w.out}/${name}`, { binary, arch, unit: options.unit, work });
      },
    });
  }
  const expected = 2 * FORMATS;
  assert.match(r.stdout, new RegExp(`\n${expected} built, ${4 - expected} skipped, 0 failed\n$`));
  // Nothing else is left in the output directory, nor in the temp directory.
  assert.equal([...Deno.readDirSync(w.out)].length, expected);
  assert.deepEqual([...Deno.readDirSync(w.tmp)], []);
}

Deno.test(
  named("package.ts builds .deb and .rpm packages without a unit file", MISSING_BOTH),
  { ignore: MISSING_BOTH !== "" },
  async (t) => {
    await withWorkspace(async (w) => {
      const repo = await copyRepo(w.dir, null);
      await buildAndCheck(t, w, { repo, unit: false });

      // dpkg and rpm accept the host's packages: installed into a scratch root, not this system.
      const host = Deno.build.arch;
      await t.step({
        name: named(
          "dpkg installs the .deb into a scratch root",
          IS_ROOT ? MISSING_DEB : "not root",
        ),
        ignore: !IS_ROOT || MISSING_DEB !== "",
        fn: async () => {
          const root = `${w.dir}/dpkg-root`;
          await Deno.mkdir(`${root}/var/lib/dpkg/updates`, { recursive: true });
          await Deno.mkdir(`${root}/var/lib/dpkg/info`);
          await Deno.writeTextFile(`${root}/var/lib/dpkg/status`, "");
          const deb = `${w.out}/condor-store-cred_${VERSION}_${
            host === "x86_64" ? "amd64" : "arm64"
          }.deb`;
          await tool("dpkg", [`--instdir=${root}`, `--admindir=${root}/var/lib/dpkg`, "-i", deb]);
          await tool("dpkg", [
            `--instdir=${root}`,
            `--admindir=${root}/var/lib/dpkg`,
            "--verify",
            "condor-store-cred",
          ]);
          assert.equal(Deno.statSync(`${root}/usr/bin/condor_store_cred`).mode! & 0o7777, 0o755);
        },
      });
      await t.step({
        name: named(
          "rpm installs the .rpm into a scratch root",
          IS_ROOT ? MISSING_RPM : "not root",
        ),
        ignore: !IS_ROOT || MISSING_RPM !== "",
        fn: async () => {
          const root = `${w.dir}/rpm-root`;
          await Deno.mkdir(root);
          await tool("rpm", ["--root", root, "--initdb"]);
          await tool("rpm", [
            "--root",
            root,
            "-i",
            `${w.out}/condor-store-cred-${VERSION}-1.${host}.rpm`,
          ]);
          await tool("rpm", ["--root", root, "-V", "condor-store-cred"]);
          assert.equal(Deno.statSync(`${root}/usr/bin/condor_store_cred`).mode! & 0o7777, 0o755);
        },
      });
    });
  },
);

Deno.test(
  named(
    "package.ts adds packaging/condor_store_cred.service and daemon-reload scripts when present",
    MISSING_BOTH,
  ),
  { ignore: MISSING_BOTH !== "" },
  async (t) => {
    await withWorkspace(async (w) => {
      const repo = await copyRepo(w.dir, UNIT);
      await buildAndCheck(t, w, { repo, unit: true });
    });
  },
);

Deno.test(
  named(
    "package.ts --service FILE: the same inputs give byte-identical packages",
    MISSING_BOTH,
  ),
  { ignore: MISSING_BOTH !== "" },
  async () => {
    await withWorkspace(async (w) => {
      await Deno.writeTextFile(`${w.dir}/unit.service`, UNIT);
      const args = ["--binary", w.x86, "--service", `${w.dir}/unit.service`];
      const first = await packageScript([...args, "--out", `${w.dir}/a`]);
      const second = await packageScript([...args, "--out", `${w.dir}/b`]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      assert.match(first.stdout, new RegExp(`systemd unit: ${w.dir}/unit\\.service\n`));
      const names = [...Deno.readDirSync(`${w.dir}/a`)].map((e) => e.name).sort();
      assert.equal(names.length, FORMATS);
      for (const name of names) {
        assert.deepEqual(
          await Deno.readFile(`${w.dir}/a/${name}`),
          await Deno.readFile(`${w.dir}/b/${name}`),
          name,
        );
      }
      if (!MISSING_DEB) {
        const listing = await text("dpkg-deb", [
          "-c",
          `${w.dir}/a/condor-store-cred_${VERSION}_amd64.deb`,
        ]);
        assert.match(
          listing,
          /^-rw-r--r-- root\/root .* \.\/usr\/lib\/systemd\/system\/condor_store_cred\.service$/m,
        );
      }
    });
  },
);

Deno.test("package.ts reports missing tools and executables as SKIPPED and exits 0", async () => {
  await withWorkspace(async (w) => {
    // A PATH with every usual command except dpkg-deb and rpmbuild.
    const bin = `${w.dir}/bin`;
    await Deno.mkdir(bin);
    for (const dir of ["/usr/local/bin", "/usr/bin"]) {
      for (const entry of Deno.readDirSync(dir)) {
        if (["dpkg-deb", "rpmbuild"].includes(entry.name)) continue;
        await Deno.symlink(`${dir}/${entry.name}`, `${bin}/${entry.name}`).catch(() => {});
      }
    }
    await Deno.remove(w.arm);
    const r = await packageScript(["--binary", w.x86, "--binary", w.arm, "--out", w.out], {
      path: bin,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(
      r.stdout,
      [
        `condor-store-cred ${VERSION}: SOURCE_DATE_EPOCH=${EPOCH} (environment); systemd unit: ` +
        `${REPO}/packaging/condor_store_cred.service`,
        `SKIPPED condor-store-cred_${VERSION}_arm64.deb: ${w.arm} does not exist (deno task compile builds it)`,
        `SKIPPED condor-store-cred-${VERSION}-1.aarch64.rpm: ${w.arm} does not exist (deno task compile builds it)`,
        `SKIPPED condor-store-cred_${VERSION}_amd64.deb: dpkg-deb not installed: apt-get install dpkg`,
        `SKIPPED condor-store-cred-${VERSION}-1.x86_64.rpm: rpmbuild not installed: apt-get install rpm`,
        "0 built, 4 skipped, 0 failed",
        "",
      ].join("\n"),
    );
    assert.deepEqual([...Deno.readDirSync(w.out)], []);
  });
});

Deno.test("package.ts fails (exit 1) on a stale or mislabelled executable, 2 on bad usage", async () => {
  await withWorkspace(async (w) => {
    // The stand-in says another version than deno.json's: an old build, not packaged.
    const stale = await packageScript(["--binary", w.x86, "--out", w.out]);
    assert.equal(stale.code, 1, stale.stdout + stale.stderr);
    assert.ok(
      stale.stdout.includes(
        `FAILED  ${w.x86}: --version said "condor_store_cred 0.0.0-stale (stand-in)", ` +
          `not condor_store_cred ${VERSION} (an old build? run deno task compile)\n`,
      ),
      stale.stdout,
    );
    assert.match(stale.stdout, /\n0 built, 0 skipped, 1 failed\n$/);

    // An x86_64 ELF named for aarch64.
    const elf = new Uint8Array(64);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
    elf.set([62, 0], 18);
    await Deno.writeFile(w.arm, elf, { mode: 0o755 });
    const wrong = await packageScript(["--binary", w.arm, "--out", w.out]);
    assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
    assert.ok(
      wrong.stdout.includes(
        `FAILED  ${w.arm}: named for aarch64-unknown-linux-gnu but its ELF header says x86_64\n`,
      ),
      wrong.stdout,
    );
    assert.deepEqual([...Deno.readDirSync(w.out)], []);

    for (const args of [["--bogus"], ["--version", "1.0-1"], ["--out"]]) {
      const usage = await packageScript(args);
      assert.equal(usage.code, 2, args.join(" "));
      assert.equal(usage.stdout, "");
    }
  }, "0.0.0-stale");
});
