/**
 * The README's quick start (its first command, `deno task demo ...`): it stores into the
 * throwaway store `demo-store/` of the checkout, for root and for any other user, touches no
 * HTCondor path of the machine, and `rm -rf demo-store` removes everything it made.
 */

import assert from "node:assert/strict";
import { baseEnv, copyTree, denoForAll, REPO } from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers, setprivAs, type TestUser } from "../testing/users.ts";
import { RUNTIME_FLAGS } from "../lib/permissions.ts";

/** The README's quick-start block: the two commands. */
async function quickStart(): Promise<[string, string]> {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  const block = /## Quick start\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "the README has a quick-start sh block");
  const lines = block[1].trimEnd().split("\n");
  assert.equal(lines.length, 2, "the quick start is two commands");
  return [lines[0], lines[1]];
}

/** The paths of a packaged node, which the quick start must leave alone. */
const PACKAGED = ["/etc/condor", "/var/lib/condor", "/run/condor", "/var/lock/condor"];

async function state(paths: string[]): Promise<string> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await Deno.lstat(path).catch(() => null);
    out.push(`${path} ${info === null ? "-" : `${info.mtime?.getTime()} ${info.ino}`}`);
  }
  return out.join("\n");
}

/** A checkout with what `deno task demo` needs, owned by `owner`. */
async function checkout(owner: TestUser | null): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "csc-quickstart-" });
  await Deno.chmod(dir, 0o755);
  for (const file of ["main.ts", "deno.json"]) {
    await Deno.copyFile(`${REPO}/${file}`, `${dir}/${file}`);
  }
  await copyTree(`${REPO}/lib`, `${dir}/lib`);
  await copyTree(`${REPO}/demo`, `${dir}/demo`);
  if (owner !== null) {
    const chown = await new Deno.Command("chown", {
      args: ["-R", `${owner.uid}:${owner.gid}`, dir],
    })
      .output();
    assert.equal(chown.code, 0);
  }
  return dir;
}

async function listing(dir: string): Promise<string[]> {
  const out = await new Deno.Command("find", { args: [dir, "-printf", "%P %u %m\n"] }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).sort();
}

/** Runs the quick start's first command in `dir`, as `user` when given. */
async function runFirst(dir: string, user: TestUser | null) {
  const [first] = await quickStart();
  // The README runs Deno from npm; here the same Deno runs the same task.
  const deno = user === null ? Deno.execPath() : await denoForAll();
  const command = first.replace("npx -y deno@2.9.6", deno);
  assert.notEqual(command, first, "the quick start runs Deno 2.9.6 from npm");
  const argv = [...(user === null ? [] : setprivAs(user)), "sh", "-c", command];
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: dir,
    clearEnv: true,
    env: await baseEnv(user ?? undefined),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("the quick start is the demo task, then the test task; demo runs with RUNTIME_FLAGS", async () => {
  const [first, second] = await quickStart();
  assert.equal(first, "printf demo-token | npx -y deno@2.9.6 task demo add-oauth -s demo -P -i -");
  assert.equal(second, "npx -y deno@2.9.6 task test");
  const tasks = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).tasks;
  assert.equal(
    tasks.demo,
    `CONDOR_CONFIG=demo/condor_config deno run --quiet ${RUNTIME_FLAGS.join(" ")} main.ts`,
  );
});

for (const as of ["root", "a non-root user"] as const) {
  Deno.test({
    name:
      `the quick start, as ${as}, stores into demo-store/ only, and rm -rf demo-store undoes it (needs root)`,
    ignore: NEEDS_ROOT,
    fn: async () => {
      const user = as === "root" ? null : (await nonRootUsers())![0];
      const dir = await checkout(user);
      try {
        const before = await listing(dir);
        const packaged = await state(PACKAGED);
        const r = await runFirst(dir, user);
        assert.equal(r.code, 0, r.stderr);
        const name = user === null ? "root" : "csc_tester";
        assert.match(
          r.stdout,
          new RegExp(
            `^Account: <current> \\(${name}\\)\\nCredType: oauth\\n\\nOperation succeeded\\. Credential was stored on `,
          ),
        );
        assert.match(r.stdout, new RegExp(`fully_qualified_user = "${name}@demo\\.example"\\n`));
        const use = `${dir}/demo-store/oauth_credentials/${name}/demo.use`;
        assert.equal(await Deno.readTextFile(use), "demo-token");
        const info = await Deno.lstat(use);
        assert.deepEqual([info.uid, info.mode! & 0o777], [user?.uid ?? 0, 0o600]);
        // Nothing outside demo-store/ changed, in the checkout or on the machine.
        const after = (await listing(dir)).filter((l) => !l.startsWith("demo-store"));
        assert.deepEqual(after, before);
        assert.equal(await state(PACKAGED), packaged);
        // The README's way to remove it.
        const rm = await new Deno.Command("rm", { args: ["-rf", "demo-store"], cwd: dir }).output();
        assert.equal(rm.code, 0);
        assert.deepEqual(await listing(dir), before);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
