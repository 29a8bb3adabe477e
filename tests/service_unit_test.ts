/**
 * The systemd unit the packages install (packaging/condor_store_cred.service): systemd itself
 * reads it without a warning, its hardening keeps an exposure level systemd calls OK, its paths
 * are the ones the packaged defaults use, and the daemon started as the unit starts it (its argv,
 * UMask=0077, no environment) serves a packaged node with the exact owners and modes HTCondor
 * expects.
 */

import assert from "node:assert/strict";
import { dirname } from "node:path";
import { withDaemon } from "../testing/daemon.ts";
import { runCli } from "../testing/harness.ts";
import { withNode } from "../testing/node.ts";
import { have, NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";
import { loadConfig } from "../lib/config/mod.ts";

const REPO = new URL("..", import.meta.url).pathname;
const UNIT_FILE = `${REPO}packaging/condor_store_cred.service`;
/** Where scripts/package.ts installs the executable and the unit. */
const BINARY = "/usr/bin/condor_store_cred";
const UNIT_PATH = "/usr/lib/systemd/system/condor_store_cred.service";
const MISSING_ANALYZE = !(await have("systemd-analyze"));

/** The unit's [Service] keys, each with every value it is given. */
function serviceKeys(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    const [key, ...rest] = line.split("=");
    if (section === "Service") keys.set(key, [...(keys.get(key) ?? []), rest.join("=")]);
  }
  return keys;
}

/** A root directory holding the system's units, the unit where the packages put it, and an
 * executable where ExecStart names it. */
async function unitRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "csc-unit-" });
  await Deno.mkdir(`${root}/usr/lib`, { recursive: true });
  const copy = await new Deno.Command("cp", {
    args: ["-a", "/usr/lib/systemd", `${root}/usr/lib/`],
  }).output();
  assert.equal(copy.code, 0, new TextDecoder().decode(copy.stderr));
  await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
  await Deno.writeTextFile(`${root}${BINARY}`, "#!/bin/sh\n", { mode: 0o755 });
  await Deno.copyFile(UNIT_FILE, `${root}${UNIT_PATH}`);
  return root;
}

async function analyze(args: string[]) {
  const out = await new Deno.Command("systemd-analyze", {
    args,
    env: { SYSTEMD_COLORS: "0", SYSTEMD_PAGER: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test({
  name:
    "systemd reads the unit without a warning; its exposure level is OK (needs systemd-analyze)",
  ignore: MISSING_ANALYZE,
  fn: async () => {
    const root = await unitRoot();
    try {
      const verify = await analyze([
        "verify",
        "--man=no",
        `--root=${root}`,
        "condor_store_cred.service",
      ]);
      assert.deepEqual([verify.code, verify.stdout, verify.stderr], [0, "", ""]);
      // The same check fails on a unit systemd would half-ignore: it can fail.
      const broken = (await Deno.readTextFile(UNIT_FILE)).replace(
        "NoNewPrivileges=yes",
        "NoNewPrivilege=yes",
      );
      await Deno.writeTextFile(`${root}${UNIT_PATH}`, broken);
      const typo = await analyze([
        "verify",
        "--man=no",
        `--root=${root}`,
        "condor_store_cred.service",
      ]);
      assert.match(typo.stderr, /Unknown key 'NoNewPrivilege'/);
      await Deno.copyFile(UNIT_FILE, `${root}${UNIT_PATH}`);
      // systemd's own score: 0 (locked down) .. 10 (exposed); "OK" is below 5.
      const security = await analyze([
        "security",
        "--offline=true",
        `--root=${root}`,
        "--threshold=49",
        "condor_store_cred.service",
      ]);
      assert.equal(security.code, 0, security.stdout + security.stderr);
      const level = /Overall exposure level for condor_store_cred\.service: ([\d.]+)/.exec(
        security.stdout,
      );
      assert.ok(level, security.stdout);
      assert.ok(Number(level[1]) < 5, `exposure ${level[1]}`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("the unit runs `serve` from the packaged path and may write every packaged store path", async () => {
  const keys = serviceKeys(await Deno.readTextFile(UNIT_FILE));
  assert.deepEqual(keys.get("ExecStart"), [`${BINARY} serve`]);
  assert.deepEqual(keys.get("UMask"), ["0077"]);
  assert.deepEqual(keys.get("ProtectSystem"), ["strict"]);
  // No Environment=: the daemon reads the configuration the rest of HTCondor reads.
  assert.equal(keys.has("Environment"), false);
  assert.equal(keys.has("User"), false, "the daemon runs as root, like upstream's credd");
  const writable = keys.get("ReadWritePaths")!.join(" ").split(/\s+/).map((p) =>
    p.replace(/^-/, "")
  );
  const runtime = keys.get("RuntimeDirectory")!.map((d) => `/run/${d}`);
  const covered = (path: string) =>
    [...writable, ...runtime].some((dir) => path === dir || path.startsWith(`${dir}/`));

  // The packaged defaults (no configuration file: the embedded root default), as the daemon
  // reads them.
  const config = loadConfig({
    env: {},
    uid: 0,
    hostname: "node.example",
    subsystem: "CREDD",
    systemConfigFile: "/nonexistent/condor_config",
  });
  assert.equal(config.embedded, true);
  const socket = config.get("CREDD_SOCKET")!;
  assert.equal(socket, "/run/condor/credd.sock");
  assert.ok(runtime.includes(dirname(socket)), `RuntimeDirectory must make ${dirname(socket)}`);
  for (
    const knob of [
      "SEC_CREDENTIAL_DIRECTORY_OAUTH",
      "SEC_CREDENTIAL_DIRECTORY_KRB",
      "SEC_CREDENTIAL_DIRECTORY_PWD",
      "SEC_PASSWORD_DIRECTORY",
      "CREDD_SOCKET",
    ]
  ) {
    const path = config.get(knob)!;
    assert.ok(covered(path), `${knob} (${path}) is read-only under the unit`);
  }
  // The challenge directory: the daemon removes the files its callers made there.
  assert.ok(covered("/tmp"), "CREDD_CHALLENGE_DIRECTORY (/tmp) is read-only under the unit");
  assert.deepEqual(keys.get("PrivateTmp"), ["no"], "callers and daemon must share /tmp");
});

Deno.test({
  name:
    "the daemon started as the unit starts it (UMask=0077) gives a user's credentials HTCondor's owners and modes (needs root)",
  ignore: NEEDS_ROOT,
  fn: () =>
    withNode(async (node) => {
      const [tester] = (await nonRootUsers())!;
      await node.credmon("oauth");
      await node.credmon("krb");
      const log = await withDaemon(node, { umask: 0o077 }, async (daemon) => {
        const add = (args: string[], stdin: string) =>
          runCli(args, { env: daemon.env, user: tester, stdin });
        const oauth = await add(["add-oauth", "-s", "box", "-i", "-"], '{"refresh_token":"r"}');
        assert.equal(oauth.code, 0, oauth.stderr);
        const krb = await add(["add-krb", "-i", "-"], "KRB");
        assert.equal(krb.code, 0, krb.stderr);
        const pwd = await add(["add", "-p", "-"], "userpw");
        assert.equal(pwd.code, 0, pwd.stderr);
      });
      const facts = async (path: string) => {
        const i = await Deno.lstat(path).catch(async (error) => {
          // Seen once, with another run of the suite on the machine: the adds answered 0 and the
          // directory was not there. Say what there was instead, and what the daemon logged.
          const id = await new Deno.Command("id", { args: [tester.name], stdout: "piped" })
            .output().then((o) => new TextDecoder().decode(o.stdout).trim(), String);
          throw new Error(
            `${path}: ${error}; the tester is uid ${tester.uid} (id: ${id}); ` +
              `${node.oauth} holds ${JSON.stringify(tree(node.oauth))}; the daemon's log:\n${log}`,
          );
        });
        return [i.uid, i.gid, i.mode! & 0o7777];
      };
      const c = node.condor;
      assert.deepEqual(await facts(`${node.oauth}/csc_tester`), [c.uid, c.gid, 0o2700]);
      assert.deepEqual(await facts(`${node.oauth}/csc_tester/box.top`), [0, c.gid, 0o600]);
      assert.deepEqual((await facts(`${node.krb}/csc_tester.cred`)).slice(0, 1), [0]);
      assert.equal((await facts(`${node.krb}/csc_tester.cred`))[2], 0o600);
      // The credmons, under umask 022, read and answered them (waited for within a generous
      // bound: a loaded machine runs the stand-ins slowly).
      for (let i = 0; i < 2400; i++) {
        const done = await Deno.lstat(`${node.oauth}/csc_tester/box.use`).then(() => true, () =>
          false);
        if (done) {
          break;
        }
        await new Promise((r) =>
          setTimeout(r, 50)
        );
      }
      assert.equal(
        (await facts(`${node.oauth}/csc_tester/box.use`))[0],
        0,
        "no .use from the credmon",
      );
    }),
});

/** Every name under `dir`, with its owner and mode (for a failure's message). */
function tree(dir: string): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      const i = Deno.lstatSync(`${dir}/${e.name}`);
      names.push(`${e.name} ${i.uid}:${i.gid} ${(i.mode! & 0o7777).toString(8)}`);
      if (e.isDirectory) names.push(...tree(`${dir}/${e.name}`).map((n) => `${e.name}/${n}`));
    }
  } catch (error) {
    names.push(String(error));
  }
  return names;
}
