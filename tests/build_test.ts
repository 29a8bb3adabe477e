/**
 * Tests of the build scripts: `scripts/bundle.ts` produces a bundle that runs with the program's
 * permission flags, and `scripts/compile.ts` reports every target honestly (built, skipped with
 * the exact reason, or failed) with the right exit status. They never need Deno's release
 * server: it is pointed at a closed local port.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { BINARY_FLAGS, RUNTIME_FLAGS, RUNTIME_PERMISSIONS } from "../lib/permissions.ts";
import { compileArgs, outputName, TARGETS } from "../scripts/compile.ts";
import { REPO, withSpool } from "../testing/harness.ts";
import { have } from "../testing/users.ts";

const decoder = new TextDecoder();
const CLOSED = "http://127.0.0.1:9/release";

/** A clean environment: nothing of the caller's (a DENORT_BIN, say) leaks into a build. */
function cleanEnv(): Record<string, string> {
  const dir = Deno.env.get("DENO_DIR");
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
    ...(dir ? { DENO_DIR: dir } : {}),
  };
}

async function script(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/scripts/${name}`, ...args],
    clearEnv: true,
    env: { ...cleanEnv(), CSC_RELEASE_URL: CLOSED, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Runs the bundle's entry with the program's flags (after `prefix`, a wrapper such as strace),
 * `stdin` written to it, in `env` with a plain PATH and TZ; its output.
 */
async function runBundle(
  prefix: string[],
  entry: string,
  args: string[],
  env: Record<string, string>,
  stdin: string,
): Promise<Deno.CommandOutput> {
  const argv = [...prefix, Deno.execPath(), "run", "--quiet", ...RUNTIME_FLAGS, entry, ...args];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: { ...env, PATH: "/usr/bin:/bin", TZ: "UTC" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  return await child.output();
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "csc-build-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the bundle (a directory of chunks) runs with the program's permission flags and stores a credential", async () => {
  await withTemp(async (dir) => {
    const out = `${dir}/bundle`;
    const bundle = `${out}/condor_store_cred.js`;
    const built = await script("bundle.ts", ["--out", out]);
    assert.equal(built.code, 0, built.stderr);
    assert.match(
      built.stdout,
      /^built .*condor_store_cred\.js \(condor_store_cred \d+\.\d+\.\d+, \d+ bytes in .*\/\)\nsha256 [0-9a-f]{64}\n/,
    );
    assert.ok(built.stdout.startsWith(`built ${bundle} `), built.stdout);
    // A self-contained directory: its entry and chunks import only each other, by relative
    // name, and every chunk they name is there (it runs with no lib/ beside).
    const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assert.ok(files.includes("condor_store_cred.js") && files.length > 5, files.join(" "));
    for (const file of files) {
      const text = await Deno.readTextFile(`${out}/${file}`);
      // A dynamic import names its chunk through a URL made at run time (see below).
      assert.doesNotMatch(text, /\bimport\s*\(\s*"\.\//, `${file} names a chunk in import()`);
      const named =
        /\b(?:from|import)\s*\(?\s*"([^"]+)"|\bimport\(new URL\("([^"]+)", import\.meta\.url\)\.href\)/g;
      for (const m of text.matchAll(named)) {
        // Deno's own node: modules (the daemon's TLS) are part of the runtime, not files.
        const chunk = m[1] ?? m[2];
        if (/^node:[a-z_]+$/.test(chunk)) continue;
        assert.match(chunk, /^\.\/[\w-]+\.js$/, `${file} imports ${chunk}`);
        assert.ok(files.includes(chunk.slice(2)), `${file} imports the missing ${chunk}`);
      }
      assert.doesNotMatch(text, /\brequire\s*\(/);
    }
    await withSpool(async (spool) => {
      const out = await runBundle(
        [],
        bundle,
        ["add-oauth", "-s", "b", "-P", "-i", "-"],
        spool.env,
        "bundled-token",
      );
      assert.equal(out.code, 0, decoder.decode(out.stderr));
      assert.match(decoder.decode(out.stdout), /Operation succeeded\. Credential was stored on /);
      assert.equal(await Deno.readTextFile(`${spool.oauth}/root/b.use`), "bundled-token");
    });
  });
});

Deno.test({
  name:
    "a run of the bundle reads only its command's chunks: an add of one type opens neither another command's nor another type's (strace)",
  ignore: !(await have("strace")),
  async fn() {
    await withTemp(async (dir) => {
      const out = `${dir}/bundle`;
      const built = await script("bundle.ts", ["--out", out]);
      assert.equal(built.code, 0, built.stderr);
      const files = [...Deno.readDirSync(out)].map((e) => e.name);
      await withSpool(async (spool) => {
        /** The bundle's files one run opens, by the name before their hash. */
        const opened = async (args: string[], stdin: string) => {
          const trace = `${dir}/trace-${args[0]}`;
          const result = await runBundle(
            ["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", trace],
            `${out}/condor_store_cred.js`,
            args,
            spool.env,
            stdin,
          );
          assert.equal(result.code, 0, decoder.decode(result.stderr));
          const names = new Set<string>();
          // The chunks it opened, by the path on each open's line (with -f, a call another thread
          // interrupts ends on a later line). Deno also looks for a deno.json there.
          for (const m of (await Deno.readTextFile(trace)).matchAll(/"([^"]+)"/g)) {
            if (!m[1].startsWith(`${out}/`) || !m[1].endsWith(".js")) continue;
            const file = m[1].slice(out.length + 1);
            assert.ok(files.includes(file), file);
            if (!file.startsWith("chunk-")) names.add(file.replace(/-[A-Z0-9]+\.js$/, ""));
          }
          return [...names].sort();
        };
        // The entry, the action's module and its type's: no daemon, list, doctor, token or
        // completions code, and no other type's, is read.
        assert.deepEqual(await opened(["add-oauth", "-s", "b", "-P", "-i", "-"], "tok"), [
          "action",
          "condor_store_cred.js",
          "oauth",
        ]);
        assert.equal(await Deno.readTextFile(`${spool.oauth}/root/b.use`), "tok");
        // A list reads the store's metadata without any type's module or the action's.
        assert.deepEqual(await opened(["list"], ""), ["condor_store_cred.js", "list"]);
      });
    });
  },
});

Deno.test("compile skips every target with the exact reason when no denort exists", async () => {
  await withTemp(async (dir) => {
    const r = await script("compile.ts", ["--out", `${dir}/dist`], { DENO_DIR: `${dir}/deno` });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    const expected = [
      "x86_64-unknown-linux-gnu",
      "aarch64-unknown-linux-gnu",
      "x86_64-apple-darwin",
      "aarch64-apple-darwin",
      "x86_64-pc-windows-msvc",
    ];
    assert.deepEqual([...TARGETS], expected);
    for (const target of expected) {
      const line = lines.find((l) => l.startsWith(`skipped ${target}:`));
      assert.ok(line, `no line for ${target}: ${r.stdout}`);
      assert.ok(
        line.includes(
          `${dir}/deno/dl/release/v${Deno.version.deno}/denort-${target}.zip does not exist`,
        ),
        line,
      );
      assert.ok(
        line.includes(`${CLOSED}/v${Deno.version.deno}/denort-${target}.zip cannot be reached`),
        line,
      );
    }
    assert.match(r.stdout, /0 built, 5 skipped, 0 failed\n$/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/dist`)], []);
  });
});

Deno.test("compile fails (exit 1) when a denort is there but the build does not work", async () => {
  await withTemp(async (dir) => {
    const fake = `${dir}/denort`;
    await Deno.writeTextFile(fake, "not an executable");
    const host = Deno.build.target;
    const r = await script("compile.ts", ["--target", host, "--out", `${dir}/dist`], {
      DENO_DIR: `${dir}/deno`,
      DENORT_BIN: fake,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      new RegExp(`FAILED  ${host}: denort from DENORT_BIN=${fake}, but deno compile exited with 1`),
    );
    assert.match(r.stdout, /0 built, 0 skipped, 1 failed\n$/);

    // A cached denort for another target is used from the cache, and fails the same way.
    const other = host.startsWith("x86_64")
      ? "aarch64-unknown-linux-gnu"
      : "x86_64-unknown-linux-gnu";
    const cache = `${dir}/deno/dl/release/v${Deno.version.deno}`;
    await Deno.mkdir(cache, { recursive: true });
    await Deno.writeTextFile(`${cache}/denort-${other}.zip`, "not a zip");
    const c = await script("compile.ts", ["--target", other, "--out", `${dir}/dist`], {
      DENO_DIR: `${dir}/deno`,
    });
    assert.equal(c.code, 1);
    assert.match(
      c.stdout,
      new RegExp(`FAILED  ${other}: denort from cache ${cache}/denort-${other}\\.zip`),
    );
  });
});

Deno.test("compile refuses unknown targets and bad arguments with exit 2", async () => {
  const r = await script("compile.ts", ["--target", "sparc-sun-solaris"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown target\(s\): sparc-sun-solaris; known: x86_64-unknown-linux-gnu/);
  assert.equal((await script("compile.ts", ["--bogus"])).code, 2);
});

/** The host target, when it is one the release ships (the tests below build for it). */
const HOST = (TARGETS as readonly string[]).includes(Deno.build.target) ? Deno.build.target : null;

/**
 * The metadata JSON `deno compile` embeds in an executable (`{"argv":[],…,"permissions":…}`),
 * found by scanning the bytes; null when there is none.
 */
function embeddedMetadata(bytes: Uint8Array): Record<string, unknown> | null {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = buffer.indexOf('{"argv":');
  if (start < 0) return null;
  // Match braces, minding strings, to find where the object ends.
  let depth = 0;
  let inString = false;
  for (let i = start; i < buffer.length; i++) {
    const c = buffer[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      return JSON.parse(decoder.decode(bytes.subarray(start, i + 1)));
    }
  }
  return null;
}

/** What `deno compile` records for RUNTIME_PERMISSIONS: `--allow-x[=a,b]` → list, else null. */
function expectedPermissions(): Record<string, unknown> {
  const expected: Record<string, unknown> = {
    prompt: !RUNTIME_PERMISSIONS.includes("--no-prompt"),
  };
  for (const kind of ["read", "write", "env", "net", "ffi", "run", "sys"]) {
    const flag = RUNTIME_PERMISSIONS.find((f) =>
      f === `--allow-${kind}` || f.startsWith(`--allow-${kind}=`)
    );
    expected[`allow_${kind}`] = flag === undefined
      ? null
      : flag.includes("=")
      ? flag.slice(flag.indexOf("=") + 1).split(",")
      : [];
  }
  return expected;
}

Deno.test({
  name:
    "compileArgs() bakes exactly BINARY_FLAGS into the executable (needs a release-target host)",
  ignore: HOST === null,
  fn: async (t) => {
    const args = compileArgs(HOST!, "OUT");
    assert.equal(args.includes("-A") || args.includes("--allow-all"), false);
    await withTemp(async (dir) => {
      // The full deno binary stands in for denort: deno compile writes the same executable
      // layout around it (it runs as plain deno, which the next test shows compile.ts catches).
      const output = `${dir}/${outputName(HOST!)}`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: compileArgs(HOST!, output),
        clearEnv: true,
        env: { ...cleanEnv(), DENORT_BIN: Deno.execPath() },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, decoder.decode(out.stderr));
      const bytes = await Deno.readFile(output);
      const metadata = embeddedMetadata(bytes);
      assert.ok(metadata, "no deno compile metadata in the executable");
      const permissions = metadata.permissions as Record<string, unknown>;
      await t.step("the permissions are RUNTIME_PERMISSIONS, nothing more", () => {
        for (const [key, value] of Object.entries(expectedPermissions())) {
          assert.deepEqual(permissions[key], value, key);
        }
        assert.deepEqual(permissions.allow_run, ["/bin/kill"]);
        // The Unix socket and TLS: any host (it comes from -n and the configuration).
        assert.deepEqual(permissions.allow_net, []);
        assert.equal(permissions.allow_ffi, null);
      });
      await t.step("no code cache (a shared file in the temp directory) and no V8 flags", () => {
        // A code cache key makes the binary read and write $TMPDIR/deno-compile-<name>.cache,
        // which any local user can plant first (lib/permissions.ts, BINARY_FLAGS).
        assert.ok(BINARY_FLAGS.includes("--no-code-cache"));
        assert.equal(metadata.code_cache_key, null);
        // Deno records only its own defaults (argv0, stack size, …): nothing of ours.
        const flags = metadata.v8_flags as string[];
        assert.equal(flags.some((f) => f === "--no-lazy" || f === "--jitless"), false);
      });
      await t.step("the program itself is embedded", () => {
        const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        assert.ok(buffer.includes("ERROR: only one '-c' or '-u' arg may be provided"));
      });
    });
  },
});

Deno.test({
  name:
    "compile refuses a base binary that builds but does not run as the program (needs a release-target host)",
  ignore: HOST === null,
  fn: async () => {
    await withTemp(async (dir) => {
      const dist = `${dir}/dist`;
      await Deno.mkdir(dist);
      // Left by an earlier run: removed first, so nothing stale poses as this run's output.
      await Deno.writeTextFile(`${dist}/${outputName(HOST!)}`, "old binary");
      await Deno.writeTextFile(`${dist}/SHA256SUMS`, "old sums\n");
      const r = await script("compile.ts", ["--target", HOST!, "--out", dist], {
        DENO_DIR: `${dir}/deno`,
        DENORT_BIN: Deno.execPath(),
      });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(
        r.stdout,
        [
          `condor_store_cred ${
            JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).version
          }: deno compile with Deno ${Deno.version.deno} (host ${HOST})`,
          `removed ${dist}/${outputName(HOST!)} (earlier run)`,
          `removed ${dist}/SHA256SUMS (earlier run)`,
          `FAILED  ${HOST}: denort from DENORT_BIN=${Deno.execPath()}, but the built binary does ` +
          `not run as condor_store_cred (--version said "deno ${Deno.version.deno} (stable, ` +
          `release, ${HOST})"); removed it`,
          `nothing built; ${dist}/SHA256SUMS not written`,
          "0 built, 0 skipped, 1 failed",
          "",
        ].join("\n"),
      );
      assert.deepEqual([...Deno.readDirSync(dist)], []);
    });
  },
});

/** The release workflow as a real YAML parser (Debian's python3-yaml) reads it, or null. */
async function parseWorkflow(path: string): Promise<Record<string, unknown> | null> {
  const parsed = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output().catch(() => null);
  return parsed?.success ? JSON.parse(decoder.decode(parsed.stdout)) : null;
}

const WORKFLOW = `${REPO}/.github/workflows/release.yml`;
/** .ci/run installs python3-yaml, and fails when this test is ignored there. */
const HAS_YAML = await parseWorkflow(WORKFLOW) !== null;

Deno.test({
  name: "the release workflow checks, compiles, packages and publishes with SHA256SUMS " +
    "(needs python3-yaml)",
  ignore: !HAS_YAML,
  fn: async () => {
    const workflow = (await parseWorkflow(WORKFLOW))! as {
      on?: unknown;
      true?: unknown;
      jobs: { release: { steps: { run?: string }[] } };
    };
    // YAML 1.1 reads the key `on` as true.
    const on = workflow.on ?? workflow.true;
    assert.deepEqual(on, { push: { tags: ["v*"] } });
    const steps: { run?: string }[] = workflow.jobs.release.steps;
    const runs = steps.map((s) => s.run ?? "");
    const index = (pattern: RegExp) => runs.findIndex((r) => pattern.test(r));
    const ok = index(/\btask ok\b/);
    const compile = index(/\btask compile\b/);
    const smoke = index(/CSC_TARGET=.*condor_store_cred-x86_64-unknown-linux-gnu.*task smoke/s);
    const publish = index(/gh release create/);
    assert.ok(ok >= 0 && compile > ok && smoke > compile && publish > smoke, runs.join("\n---\n"));
    assert.match(runs[publish], /dist\/condor_store_cred-\*/);
    assert.match(runs[publish], /dist\/SHA256SUMS/);
    assert.ok(runs.some((r) => r.includes(`-eq ${TARGETS.length}`)), "checks every target built");
    // The packaging tools are installed before the tests (so the package tests run, not ignored),
    // and both Linux binaries are packaged after the smoke tests, summed and published.
    const tools = index(/apt-get install\b.*\bdpkg\b.*\brpm\b/);
    const packaging = index(/\btask package\b/);
    assert.ok(tools >= 0 && tools < ok, runs.join("\n---\n"));
    assert.ok(packaging > smoke && publish > packaging, runs.join("\n---\n"));
    assert.match(runs[packaging], /-eq 4\b/, "checks that two .deb and two .rpm were built");
    assert.match(runs[packaging], /sha256sum \*\.deb \*\.rpm >> SHA256SUMS/);
    assert.match(runs[publish], /dist\/\*\.deb/);
    assert.match(runs[publish], /dist\/\*\.rpm/);
  },
});

Deno.test("the release workflow runs the Deno the project pins", async () => {
  const text = await Deno.readTextFile(WORKFLOW);
  for (const version of text.matchAll(/deno@(\d+\.\d+\.\d+)/g)) {
    assert.equal(version[1], Deno.version.deno);
  }
  assert.match(text, /deno@\d/);
});
