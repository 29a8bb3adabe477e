/**
 * The project's one CI example (README "Recipes", GitHub Actions; docs/daemon.md "A CI example: GitHub Actions"
 * and the man page's EXAMPLES point at it): the token it says to make, made with its own command
 * line; its step's commands, run by bash as GitHub runs a `run:` step (`-eo pipefail`) with the
 * job's and the step's environment, as a real non-root user against a real daemon over TLS on
 * loopback. The step passes with a long-lived access token and fails with one that expires
 * within its --min-ttl.
 */

import assert from "node:assert/strict";
import { baseEnv, programCommand, readText, REPO } from "../testing/harness.ts";
import { withRemote } from "../testing/remote.ts";
import { NEEDS_ROOT, nonRootUsers, setprivAs, type TestUser } from "../testing/users.ts";

/** The example's parts, read from the README. */
interface Example {
  /** The `token create` command line the README gives for the IDTOKEN. */
  readonly tokenCreate: string[];
  /** The job's `env:`. */
  readonly jobEnv: Record<string, string>;
  /** The step's `env:`. */
  readonly stepEnv: Record<string, string>;
  /** The step's `run: |` script. */
  readonly run: string;
}

/** `KEY: value` lines at exactly `indent` spaces after `header` (`env:`), until the indent drops. */
function envAt(lines: string[], from: number, indent: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (let i = from; i < lines.length; i++) {
    const match = new RegExp(`^ {${indent}}([A-Z_]+): (.*)$`).exec(lines[i]);
    if (!match) break;
    env[match[1]] = match[2];
  }
  return env;
}

async function readExample(): Promise<Example> {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  const section = readme.slice(readme.indexOf("**GitHub Actions: provision"));
  const tokenCreate = /`condor_store_cred (token create [^`]*)`/.exec(section);
  assert.ok(tokenCreate, "the recipe says how to make the token");
  const block = /```yaml\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "the recipe has a yaml block");
  const lines = block[1].split("\n");
  const jobEnv = lines.indexOf(lines.find((l) => /^ {4}env:/.test(l))!);
  const stepEnv = lines.indexOf(lines.find((l) => /^ {8}env:/.test(l))!);
  const run = lines.indexOf("        run: |");
  assert.ok(jobEnv > 0 && stepEnv > jobEnv && run > stepEnv, "job env, step env, run");
  const script: string[] = [];
  for (const line of lines.slice(run + 1)) {
    if (!line.startsWith("          ")) break;
    script.push(line.slice(10));
  }
  return {
    tokenCreate: tokenCreate[1].split(" "),
    jobEnv: envAt(lines, jobEnv + 1, 6),
    stepEnv: envAt(lines, stepEnv + 1, 10),
    run: script.join("\n"),
  };
}

/** A directory holding `condor_store_cred`: the program under test, as `user` runs it. */
async function installed(dir: string, user: TestUser): Promise<string> {
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin, { mode: 0o755 });
  const argv = (await programCommand(user)).map((a) => `'${a.replace(/'/g, "'\\''")}'`);
  await Deno.writeTextFile(`${bin}/condor_store_cred`, `#!/bin/sh\nexec ${argv.join(" ")} "$@"\n`);
  await Deno.chmod(`${bin}/condor_store_cred`, 0o755);
  return bin;
}

function jwt(exp: number): string {
  const part = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "");
  return `${part({ alg: "ES256" })}.${part({ sub: "ci", exp })}.c2ln`;
}

Deno.test("the CI example's commands are the man page's", async () => {
  const example = await readExample();
  const man = (await Deno.readTextFile(`${REPO}/condor_store_cred.1`)).replace(/\\-/g, "-");
  for (const line of example.run.split("\n")) assert.ok(man.includes(line), line);
  const guide = await Deno.readTextFile(`${REPO}/docs/daemon.md`);
  assert.ok(guide.includes(`condor_store_cred ${example.tokenCreate.join(" ")}`));
  assert.doesNotMatch(guide, /```yaml/, "docs/daemon.md points at the README's example");
});

Deno.test({
  name: "the CI example's step stores the access token through a TLS daemon and fails when it " +
    "would not stay valid (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    const example = await readExample();
    // The daemon's domain stands for the example's.
    const domain = (text: string) => text.replaceAll("example.org", "test.example");
    await withRemote(async (remote) => {
      const tokenFile = `${remote.spool.root}/ci.token`;
      const args = example.tokenCreate.map((a) => a === "ci.token" ? tokenFile : domain(a));
      assert.deepEqual(args.slice(0, 2), ["token", "create"]);
      const program = await programCommand();
      const create = await new Deno.Command(program[0], {
        args: [...program.slice(1), ...args],
        clearEnv: true,
        env: { ...(await baseEnv()), ...remote.spool.env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(create.code, 0, new TextDecoder().decode(create.stderr));
      assert.equal(create.stderr.length, 0, "a lifetime: no warning");
      const token = (await readText(tokenFile))!.trim();
      const bin = await installed(remote.spool.root, tester);
      const substitute = (value: string, access: string) =>
        value
          .replace("${{ secrets.CREDD_IDTOKEN }}", token)
          .replace("${{ secrets.SCITOKEN }}", access)
          .replace("credd.example.org", `127.0.0.1:${remote.port}`)
          .replace("/etc/pki/credd-ca.pem", remote.certs.ca);
      const step = async (access: string) => {
        const env: Record<string, string> = { ...(await baseEnv(tester)) };
        for (const [k, v] of Object.entries({ ...example.jobEnv, ...example.stepEnv })) {
          env[k] = substitute(v.replace(/ *#.*$/, ""), access);
        }
        env.PATH = `${bin}:${env.PATH}`;
        const argv = [
          ...setprivAs(tester),
          "bash",
          "--noprofile",
          "--norc",
          "-eo",
          "pipefail",
          "-c",
          example.run,
        ];
        const out = await new Deno.Command(argv[0], {
          args: argv.slice(1),
          clearEnv: true,
          env,
          cwd: "/",
          stdout: "piped",
          stderr: "piped",
        }).output();
        const d = new TextDecoder();
        return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
      };
      const now = Math.floor(Date.now() / 1000);
      const good = jwt(now + 3600);
      const ok = await step(good);
      assert.equal(ok.code, 0, ok.stderr);
      // whoami checks the setup first: who the daemon takes the IDTOKEN to be, and until when.
      const [checked, first] = ok.stdout.split("\n");
      assert.match(
        checked,
        /^The daemon at 127\.0\.0\.1:\d+ takes you to be "ci@test\.example"; your IDTOKEN is valid until /,
      );
      const stored = JSON.parse(first);
      assert.deepEqual([stored.status, stored.info.caller], ["stored", "ci@test.example"]);
      assert.match(ok.stdout, /A credential was stored and is valid\.\nThe access token expires/);
      assert.equal(await readText(`${remote.spool.oauth}/ci/scitokens.use`), good);
      // An access token that dies within the ten minutes fails the step.
      const short = await step(jwt(now + 120));
      assert.equal(short.code, 1, short.stdout);
      assert.match(short.stderr, /less than --min-ttl 600/);
      assert.doesNotMatch(remote.daemon.log(), new RegExp(token.split(".")[2]));
    });
  },
});
