/**
 * `--json` (README "--json", docs/result.schema.json): every status the program can produce, each
 * from a real run, with its reason, upstream code, `changed`, warnings and exit status. The
 * harness also validates every --json output against the published schema.
 */

import assert from "node:assert/strict";
import { startDaemon } from "../testing/daemon.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";
import { localTime, runCli, type Spool, startCredmon, withSpool } from "../testing/harness.ts";

/** The fields every golden fixes, beside the exit status. */
interface Expected {
  readonly exit: number;
  readonly ok: boolean;
  readonly action: string | null;
  readonly type: string | null;
  readonly user: string | null;
  readonly status: string;
  readonly reason: string;
  readonly code: number;
  readonly changed: boolean | null;
  readonly warnings?: RegExp;
  readonly message: RegExp;
}

async function expectJson(
  spool: Spool,
  args: string[],
  expected: Expected,
  options: { stdin?: string; env?: Record<string, string>; user?: "tester" } = {},
): Promise<Record<string, unknown>> {
  const user = options.user ? (await nonRootUsers())![0] : undefined;
  const r = await runCli([...args, "--json"], {
    env: { ...spool.env, ...options.env },
    stdin: options.stdin,
    user,
  });
  const json = JSON.parse(r.stdout);
  const where = `${args.join(" ")}: ${r.stdout}${r.stderr}`;
  assert.equal(r.code, expected.exit, where);
  const { exit: _exit, warnings, message, ...fields } = expected;
  assert.deepEqual(
    Object.fromEntries(Object.keys(fields).map((k) => [k, json[k]])),
    fields,
    where,
  );
  assert.match(json.message, message, where);
  if (warnings) {
    assert.equal(json.warnings.length, 1, where);
    assert.match(json.warnings[0], warnings, where);
  } else {
    assert.deepEqual(json.warnings, [], where);
  }
  return json;
}

const ROOT = "root@test.example";

Deno.test("--json: stored, unchanged, pending, valid, deleted and not-found", async () => {
  await withSpool(async (spool) => {
    const stored = await expectJson(spool, ["add-oauth", "-s", "j", "-P", "-i", "-"], {
      exit: 0,
      ok: true,
      action: "add",
      type: "oauth",
      user: ROOT,
      status: "stored",
      reason: "stored",
      code: 1,
      changed: true,
      message: /^Operation succeeded\. Credential was stored on \d{4}-/,
    }, { stdin: "tok" });
    const mtime = Math.floor(
      (await Deno.stat(`${spool.oauth}/root/j.use`)).mtime!.getTime() / 1000,
    );
    assert.deepEqual(stored.info, {
      caller: ROOT,
      stored: localTime(mtime, "UTC"),
      stored_unix: mtime,
      expires: null,
      expires_unix: null,
      expires_in: null,
      ad: {},
    });
    await expectJson(spool, ["add-oauth", "-s", "j", "-P", "-i", "-"], {
      exit: 0,
      ok: true,
      action: "add",
      type: "oauth",
      user: ROOT,
      status: "stored",
      reason: "unchanged",
      code: 1,
      changed: false,
      message: /^Operation succeeded\./,
    }, { stdin: "tok" });
    await expectJson(spool, ["add-oauth", "-s", "p", "-i", "-"], {
      exit: 0,
      ok: true,
      action: "add",
      type: "oauth",
      user: ROOT,
      status: "pending",
      reason: "awaiting-credmon",
      code: 6,
      changed: true,
      warnings: /^the OAuth credmon was not signalled \(no pid file .*\/pid\)/,
      message: /^Operation succeeded and is waiting for processing\.$/,
    }, { stdin: "seed" });
    const valid = await expectJson(spool, ["query-oauth", "-s", "j"], {
      exit: 0,
      ok: true,
      action: "query",
      type: "oauth",
      user: ROOT,
      status: "valid",
      reason: "valid",
      code: 1,
      changed: null,
      message: /^A credential was stored and is valid\.$/,
    });
    // The unchanged add rewrote the file (as upstream does): its time is the new one.
    const again = Math.floor(
      (await Deno.stat(`${spool.oauth}/root/j.use`)).mtime!.getTime() / 1000,
    );
    assert.deepEqual((valid.info as { ad: unknown }).ad, { j: again });
    await expectJson(spool, ["query-oauth"], {
      exit: 0,
      ok: true,
      action: "query",
      type: "oauth",
      user: ROOT,
      status: "pending",
      reason: "awaiting-credmon",
      code: 6,
      changed: null,
      message: /^A credential was stored and is waiting for processing\.$/,
    });
    await expectJson(spool, ["delete-oauth", "-s", "j"], {
      exit: 0,
      ok: true,
      action: "delete",
      type: "oauth",
      user: ROOT,
      status: "deleted",
      reason: "deleted",
      code: 1,
      changed: null,
      message: /^Operation succeeded\.$/,
    });
    await expectJson(spool, ["query-krb"], {
      exit: 1,
      ok: false,
      action: "query",
      type: "kerberos",
      user: ROOT,
      status: "not-found",
      reason: "not-found",
      code: 5,
      changed: null,
      message: /^No credential is stored\.$/,
    });
    await expectJson(spool, ["delete", "-c"], {
      exit: 1,
      ok: false,
      action: "delete",
      type: "password",
      user: "condor_pool@test.example",
      status: "not-found",
      reason: "not-found",
      code: 5,
      changed: null,
      message: /^Operation failed: username not found\.$/,
    });
  });
});

Deno.test("--json: mismatch, expiring, denied, invalid, input and usage", async () => {
  await withSpool(async (spool) => {
    await runCli(["add-oauth", "-s", "m", "-S", "a", "-i", "-"], { env: spool.env, stdin: "{}" });
    await expectJson(spool, ["query-oauth", "-s", "m"], {
      exit: 2,
      ok: false,
      action: "query",
      type: "oauth",
      user: ROOT,
      status: "mismatch",
      reason: "mismatch",
      code: 13,
      changed: null,
      message:
        /^Credential was found but it did not match requested scopes or audience\n {4}stored scopes "a"/,
    });
    await runCli(["add-oauth", "-s", "e", "-P", "-i", "-"], { env: spool.env, stdin: "not-a-jwt" });
    // A token whose expiry cannot be read has its own status (issue 21 item 7).
    await expectJson(spool, ["query-oauth", "-s", "e", "--min-ttl", "60"], {
      exit: 1,
      ok: false,
      action: "query",
      type: "oauth",
      user: ROOT,
      status: "expiry-unknown",
      reason: "expiry-unknown",
      code: 0,
      changed: null,
      message: /^ERROR: --min-ttl: the access token in .* is not a JWT with an "exp" claim/,
    });
    const claims = btoa(JSON.stringify({ exp: Math.floor(Date.now() / 1000) - 10 }));
    await runCli(["add-oauth", "-s", "x", "-P", "-i", "-"], {
      env: spool.env,
      stdin: `eyJhbGciOiJFUzI1NiJ9.${claims.replace(/=+$/, "")}.c2ln`,
    });
    await expectJson(spool, ["query-oauth", "-s", "x", "--min-ttl", "60"], {
      exit: 1,
      ok: false,
      action: "query",
      type: "oauth",
      user: ROOT,
      status: "expiring",
      reason: "expiring",
      code: 0,
      changed: null,
      message: /^ERROR: the access token in .* expired \d+ seconds ago/,
    });
    await expectJson(spool, ["add-oauth", "-s", "v", "-i", "-"], {
      exit: 1,
      ok: false,
      action: "add",
      type: "oauth",
      user: ROOT,
      status: "denied",
      reason: "untrusted-host",
      code: 14,
      changed: false,
      message:
        /^Credential requires interacting with an untrusted host\n {4}the Vault host "evil\.example"/,
    }, {
      stdin: '{"vault_token":"t","vault_url":"https://evil.example/"}',
      env: { _CONDOR_TRUSTED_VAULT_HOSTS: "vault.example" },
    });
    await expectJson(spool, ["add-krb", "-u", "a b@test.example", "-i", "-"], {
      exit: 1,
      ok: false,
      action: "add",
      type: "kerberos",
      user: null,
      status: "invalid",
      reason: "bad-args",
      code: 8,
      changed: false,
      message:
        /^Operation aborted due to missing or bad arguments\n {4}the user name "a b" contains/,
    }, { stdin: "t" });
    await expectJson(spool, ["add-krb", "-i", "-"], {
      exit: 1,
      ok: false,
      action: "add",
      type: "kerberos",
      user: ROOT,
      status: "input",
      reason: "empty",
      code: 0,
      changed: false,
      message: /^ERROR: the credential is empty; nothing was stored$/,
    }, { stdin: "" });
    await expectJson(spool, ["add-krb", "-u", "x@y", "--bogus"], {
      exit: 1,
      ok: false,
      action: "add",
      type: "kerberos",
      user: null,
      status: "usage",
      reason: "usage",
      code: 8,
      changed: null,
      message: /^ERROR: Unrecognized option - '--bogus'$/,
    });
  });
});

Deno.test("--json: insecure, config, locked, io, timeout and unreachable", async () => {
  await withSpool(async (spool) => {
    await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
    await Deno.chmod(spool.krb, 0o777);
    await expectJson(spool, ["query-krb"], {
      exit: 1,
      ok: false,
      action: "query",
      type: "kerberos",
      user: ROOT,
      status: "insecure",
      reason: "insecure",
      code: 0,
      changed: null,
      message: /^ERROR: refusing to use the directory ".*krb": its mode 0777 makes it writable/,
    });
    await Deno.chmod(spool.krb, 0o755);
    await expectJson(spool, ["query-krb"], {
      exit: 1,
      ok: false,
      action: "query",
      type: "kerberos",
      user: ROOT,
      status: "config",
      reason: "config",
      code: 11,
      changed: null,
      message:
        /^Operation failed because of a configuration error\n {4}SEC_CREDENTIAL_DIRECTORY_KRB is not set/,
    }, { env: { _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: "" } });
    const holder = new Deno.Command("flock", {
      args: ["-o", `${spool.krb}/.locks/root.lock`, "-c", "echo held; sleep 10"],
      stdout: "piped",
    }).spawn();
    const reader = holder.stdout.getReader();
    await reader.read();
    try {
      await expectJson(spool, ["add-krb", "-i", "-"], {
        exit: 1,
        ok: false,
        action: "add",
        type: "kerberos",
        user: ROOT,
        status: "locked",
        reason: "locked",
        code: 0,
        changed: false,
        message: /^ERROR: timed out after 1 seconds waiting for the lock/,
      }, { stdin: "t", env: { _CONDOR_CRED_LOCK_TIMEOUT: "1" } });
    } finally {
      holder.kill("SIGKILL");
      reader.releaseLock();
      await holder.stdout.cancel().catch(() => {});
      await holder.status;
    }
    // -f into a directory that does not exist.
    await expectJson(spool, ["-f", `${spool.root}/no/such/dir/pool`, "-p", "-"], {
      exit: 1,
      ok: false,
      action: "add",
      type: "password",
      user: null,
      status: "io",
      reason: "io",
      code: 0,
      changed: false,
      message:
        /^ERROR: the directory of ".*\/no\/such\/dir\/pool" does not exist; create it first$/,
    }, { stdin: "pw" });
    await expectJson(spool, ["-f", `${spool.root}/poolfile`, "-p", "-"], {
      exit: 0,
      ok: true,
      action: "add",
      type: "password",
      user: null,
      status: "stored",
      reason: "stored",
      code: 1,
      changed: true,
      message: /^Operation succeeded\.$/,
    }, { stdin: "pw" });
    // A directory where the credential should be is refused, never replaced.
    await Deno.remove(`${spool.krb}/root.cred`);
    await Deno.mkdir(`${spool.krb}/root.cred/inner`, { recursive: true });
    await expectJson(spool, ["add-krb", "-i", "-"], {
      exit: 1,
      ok: false,
      action: "add",
      type: "kerberos",
      user: ROOT,
      status: "insecure",
      reason: "insecure",
      code: 0,
      changed: false,
      message: /^ERROR: refusing to use ".*root\.cred": it is not a regular file/,
    }, { stdin: "t" });
    await Deno.remove(`${spool.krb}/root.cred`, { recursive: true });
    await Deno.writeTextFile(`${spool.root}/notadir`, "");
    await expectJson(spool, ["add-krb", "-i", "-"], {
      exit: 1,
      ok: false,
      action: "add",
      type: "kerberos",
      user: ROOT,
      status: "insecure",
      reason: "insecure",
      code: 0,
      changed: false,
      message: /^ERROR: refusing to use the directory ".*notadir": it is not a directory/,
    }, { stdin: "t", env: { _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: `${spool.root}/notadir` } });
    const credmon = await startCredmon(spool.krb, {
      mode: "krb",
      log: `${spool.root}/log`,
      ignore: true,
    });
    try {
      await expectJson(spool, ["add-krb", "-i", "-"], {
        exit: 1,
        ok: false,
        action: "add",
        type: "kerberos",
        user: ROOT,
        status: "timeout",
        reason: "credmon-timeout",
        code: 10,
        changed: false,
        message: /^The credmon did not process credentials within the timeout period\n/,
      }, { stdin: "t", env: { _CONDOR_CREDD_POLLING_TIMEOUT: "1" } });
    } finally {
      await credmon.stop();
    }
    await expectJson(spool, ["query-krb", "-n", "127.0.0.1:1"], {
      exit: 1,
      ok: false,
      action: "query",
      type: "kerberos",
      user: ROOT,
      status: "unreachable",
      reason: "unreachable",
      code: 0,
      changed: null,
      message: /^ERROR: could not connect to the condor_store_cred daemon at 127\.0\.0\.1:1/,
    });
  });
});

Deno.test({
  name: "--json: permission and unreachable (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    // The user's own spool, with a refresh token root took over: reading it is refused.
    await withSpool(async (spool) => {
      await runCli(["add-oauth", "-s", "svc", "-i", "-"], {
        env: spool.env,
        stdin: "{}",
        user: tester,
      });
      await Deno.chown(`${spool.oauth}/csc_tester/svc.top`, 0, 0);
      await expectJson(spool, ["query-oauth", "-s", "svc"], {
        exit: 1,
        ok: false,
        action: "query",
        type: "oauth",
        user: "csc_tester@test.example",
        status: "permission",
        reason: "permission",
        code: 0,
        changed: null,
        message: /^ERROR: permission denied to open ".*svc\.top"; run as root/,
      }, { user: "tester" });
    }, { owner: tester });
    // Root's store and no daemon.
    await withSpool(async (spool) => {
      await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
      await expectJson(spool, ["query-krb"], {
        exit: 1,
        ok: false,
        action: "query",
        type: "kerberos",
        user: "csc_tester@test.example",
        status: "unreachable",
        reason: "unreachable",
        code: 0,
        changed: null,
        message:
          /^ERROR: you may not write the credential store ".*krb" .*and no condor_store_cred daemon listens on/,
      }, { user: "tester" });
    });
  },
});

Deno.test("--json: caller is who asked, for list, doctor and the pool password too", async () => {
  await withSpool(async (spool) => {
    const run = async (args: string[], stdin?: string) => {
      const r = await runCli([...args, "--json"], { env: spool.env, stdin });
      return JSON.parse(r.stdout);
    };
    const pool = await run(["add", "-c", "-p", "-"], "pool");
    assert.equal(pool.status, "stored");
    assert.equal(pool.info.caller, ROOT);
    assert.equal((await run(["delete", "-c"])).info.caller, ROOT);
    assert.equal((await run(["query", "-c"])).info.caller, ROOT, "refused before anything runs");
    const file = await run(["-f", `${spool.root}/POOL`, "-p", "-"], "pool");
    assert.deepEqual([file.status, file.info.caller], ["stored", ROOT]);
    await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
    const list = await run(["list"]);
    assert.deepEqual([list.status, list.info.caller], ["listed", ROOT]);
    const doctor = await run(["doctor"]);
    assert.equal(doctor.info.caller, ROOT);
    // A refusal before the store is reached still says who asked.
    const bad = await run(["query-krb", "-u", "a b@test.example"]);
    assert.deepEqual([bad.status, bad.info.caller], ["invalid", ROOT]);
  });
});

Deno.test({
  name: "--json: caller through the daemon is the account the daemon served (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const daemon = await startDaemon(spool);
      try {
        const run = async (args: string[], stdin?: string) => {
          const r = await runCli([...args, "--json"], { env: daemon.env, stdin, user: tester });
          return JSON.parse(r.stdout);
        };
        const me = "csc_tester@test.example";
        const service = "fully_qualified_user";
        assert.equal(
          (await run(["add-oauth", "-s", service, "-P", "-i", "-"], "t")).info.caller,
          me,
        );
        const use = Math.floor(
          (await Deno.stat(`${spool.oauth}/csc_tester/${service}.use`)).mtime!.getTime() / 1000,
        );
        const query = await run(["query-oauth", "-s", service]);
        assert.equal(query.info.caller, me);
        assert.deepEqual(query.info.ad, { "fully_qualified_user.use": use });
        await run(["add-oauth", "-s", "__proto__", "-P", "-i", "-"], "t");
        assert.deepEqual(Object.keys((await run(["query-oauth", "-s", "__proto__"])).info.ad), [
          "__proto__",
        ]);
        const list = await run(["list"]);
        assert.deepEqual([list.status, list.info.caller], ["listed", me]);
        const pool = await run(["add", "-c", "-p", "-"], "pool");
        assert.deepEqual([pool.status, pool.info.caller], ["denied", me]);
      } finally {
        await daemon.stop();
      }
    });
  },
});
