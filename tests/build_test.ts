/**
 * Tests of the build scripts: `scripts/bundle.ts` produces a bundle that runs with the program's
 * permission flags, and `scripts/compile.ts` reports every target honestly (built, skipped with
 * the exact reason, or failed) with the right exit status. They never need Deno's release
 * server: it is pointed at a closed local port.
 */

import assert from "node:assert/strict";
import { RUNTIME_PERMISSIONS } from "../lib/permissions.ts";
import { REPO, withSpool } from "./helpers.ts";

const decoder = new TextDecoder();
const CLOSED = "http://127.0.0.1:9/release";

async function script(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}/scripts/${name}`, ...args],
    env: { CSC_RELEASE_URL: CLOSED, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "csc-build-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the bundle runs with the program's permission flags and stores a credential", async () => {
  await withTemp(async (dir) => {
    const bundle = `${dir}/condor_store_cred.js`;
    const built = await script("bundle.ts", ["--out", bundle]);
    assert.equal(built.code, 0, built.stderr);
    assert.match(
      built.stdout,
      /^built .*condor_store_cred\.js \(condor_store_cred \d+\.\d+\.\d+, \d+ bytes\)\nsha256 [0-9a-f]{64}\n/,
    );
    await withSpool(async (spool) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          ...RUNTIME_PERMISSIONS,
          bundle,
          "add-oauth",
          "-s",
          "b",
          "-P",
          "-i",
          "-",
        ],
        clearEnv: true,
        env: { ...spool.env, PATH: "/usr/bin:/bin", TZ: "UTC" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("bundled-token"));
      await w.close();
      const out = await child.output();
      assert.equal(out.code, 0, decoder.decode(out.stderr));
      assert.match(decoder.decode(out.stdout), /Operation succeeded\. Credential was stored on /);
      assert.equal(await Deno.readTextFile(`${spool.oauth}/root/b.use`), "bundled-token");
    });
  });
});

Deno.test("compile skips every target with the exact reason when no denort exists", async () => {
  await withTemp(async (dir) => {
    const r = await script("compile.ts", ["--out", `${dir}/dist`], { DENO_DIR: `${dir}/deno` });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    for (
      const target of [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
      ]
    ) {
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
