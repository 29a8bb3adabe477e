/**
 * Rules of lib/store and lib/fs that a broken line could change without any other quick test
 * noticing (issue 23, TESTING.md "Mutation testing"): the order of a listing, the bounded reads
 * of list and doctor at their exact limits, doctor's findings and their words, and the errors a
 * request gets for a bad configuration. In-process on temp directories, in a second or two; the
 * process runs as root, so owners and modes are real.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../lib/config/mod.ts";
import type { Caller, CredRequest } from "../lib/request.ts";
import { examineStore } from "../lib/store/doctor.ts";
import { kickCredmon, waitForFile } from "../lib/store/credmon.ts";
import { createStoreContext, perform, performList } from "../lib/store/service.ts";
import type { StoreContext } from "../lib/store/context.ts";
import { type Directory, storeDirectory } from "../lib/fs/directories.ts";
import { readFileStart } from "../lib/fs/files.ts";
import { openInputFile } from "../lib/fs/input_path.ts";
import { LOCK_DIRECTORY, withLock } from "../lib/fs/lock.ts";
import type { Owners } from "../lib/fs/owners.ts";
import { StoreError } from "../lib/errors.ts";
import { matchTypeSuffix } from "../lib/cli/grammar.ts";
import { writeCredential } from "../lib/store/write.ts";
import { isValidName } from "../lib/store/names.ts";
import { typeNames } from "../lib/store/types/mod.ts";
import { type Spool, withSpool } from "../testing/harness.ts";
import { CONDOR, storeConfig } from "../testing/store.ts";

const encoder = new TextEncoder();
const ROOT: Caller = { uid: 0, name: "root", domain: "test.example", inProcess: true };

function context(spool: Spool, extra: Record<string, string> = {}): StoreContext {
  return createStoreContext(storeConfig(spool, extra), { euid: 0 });
}

/** Adds `request` as root; fails unless it is stored. */
async function add(spool: Spool, request: Record<string, unknown>): Promise<void> {
  const reply = await perform(context(spool), ROOT, request as unknown as CredRequest);
  assert.ok(reply.ok, reply.ok ? "" : reply.error.message);
}

const krb = (user: string) => ({
  action: "add",
  type: "kerberos",
  user: `${user}@test.example`,
  credential: encoder.encode("T"),
});
const oauth = (user: string, service: string, handle: string | null = null) => ({
  action: "add",
  type: "oauth",
  user: `${user}@test.example`,
  service,
  handle,
  scopes: null,
  audience: null,
  accessToken: false,
  credential: encoder.encode("{}"),
});
const pwd = (user: string) => ({
  action: "add",
  type: "password",
  pool: false,
  user: `${user}@test.example`,
  credential: encoder.encode("pw"),
});
/** A fresh request each time: perform() zeroes the credential it is handed. */
const pool = () => ({
  action: "add",
  type: "password",
  pool: true,
  user: null,
  credential: encoder.encode("pool secret"),
});

// ---- list --------------------------------------------------------------------------------

Deno.test("list sorts by type, then user, then name, whatever order the files sort in", async () => {
  await withSpool(async (spool) => {
    // File names sort differently from the users and names they hold: "a-b.cred" before
    // "a.cred" ('-' < '.'), "s_x-y.top" before "s_x.top", and the pool file is read first.
    for (const user of ["a-b", "a"]) await add(spool, krb(user));
    for (const handle of ["x-y", "x"]) await add(spool, oauth("a", "s", handle));
    await add(spool, oauth("a-b", "s"));
    await add(spool, oauth("a", "s"));
    await add(spool, pool());
    for (const user of ["zed", "alice"]) await add(spool, pwd(user));
    const listed = performList(context(spool), ROOT, { action: "list", type: null, user: null });
    assert.ok(listed.ok);
    assert.deepEqual(listed.rows.map((r) => [r.type, r.user, r.name]), [
      ["password", "alice@test.example", null],
      ["password", "condor_pool@test.example", "POOL"],
      ["password", "zed@test.example", null],
      ["kerberos", "a", null],
      ["kerberos", "a-b", null],
      ["oauth", "a", "s"],
      ["oauth", "a", "s_x"],
      ["oauth", "a", "s_x-y"],
      ["oauth", "a-b", "s"],
    ]);
    // One type: only its rows.
    for (const type of ["password", "kerberos", "oauth"] as const) {
      const one = performList(context(spool), ROOT, { action: "list", type, user: null });
      assert.ok(one.ok);
      assert.deepEqual(
        one.rows.map((r) => [r.type, r.user, r.name]),
        listed.rows.filter((r) => r.type === type).map((r) => [r.type, r.user, r.name]),
      );
    }
  });
});

// ---- bounded reads -----------------------------------------------------------------------

Deno.test("readFileStart() reads a file of exactly the bound whole, one byte more as its start", async () => {
  const root = await Deno.makeTempDir({ prefix: "csc-store-fs-unit-" });
  try {
    const owners: Owners = { self: 0, condor: null, accounts: undefined! };
    const dir: Directory = storeDirectory(root, owners)!;
    for (const size of [0, 1, 99, 100, 101, 64 * 1024, 64 * 1024 + 1]) {
      const bytes = Uint8Array.from({ length: size }, (_, i) => 1 + i % 250);
      await Deno.writeFile(`${root}/f`, bytes, { mode: 0o600 });
      for (const bound of [size, size + 1]) {
        const read = readFileStart(dir, "f", owners, { role: "secret", bytes: bound });
        assert.deepEqual(read, { content: bytes, whole: true }, `${size} bytes, bound ${bound}`);
      }
      if (size > 0) {
        const read = readFileStart(dir, "f", owners, { role: "secret", bytes: size - 1 });
        assert.deepEqual(read, { content: bytes.subarray(0, size - 1), whole: false });
      }
    }
    assert.equal(readFileStart(dir, "none", owners, { role: "secret", bytes: 10 }), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---- doctor ------------------------------------------------------------------------------

/** doctor's findings about `path`, as [kind, problem]. */
async function findingsAbout(ctx: StoreContext, path: string, now = 0) {
  const findings = await examineStore(ctx, now);
  return findings.filter((f) => f.path === path).map((f) => [f.kind, f.problem]);
}

Deno.test("doctor reads a lock journal of up to 1024 bytes (what the next writer reads) and names it", async () => {
  await withSpool(async (spool) => {
    await add(spool, krb("alice"));
    const journal = `${spool.krb}/${LOCK_DIRECTORY}/alice.lock`;
    // A user name as long as a journal entry can hold.
    for (const size of [1, 1023, 1024]) {
      const text = "j".repeat(size);
      await Deno.writeTextFile(journal, text, { mode: 0o600 });
      assert.deepEqual(await findingsAbout(context(spool), journal), [[
        "interrupted-write",
        `a write was interrupted (its journal names ${text})`,
      ]]);
    }
    await Deno.writeTextFile(journal, "j".repeat(1025), { mode: 0o600 });
    assert.deepEqual(await findingsAbout(context(spool), journal), [[
      "insecure",
      `"${journal}" is larger than 1024 bytes; it is not a credential this program stores`,
    ]]);
    await Deno.writeTextFile(journal, "", { mode: 0o600 });
    assert.deepEqual(await findingsAbout(context(spool), journal), []);
  });
});

Deno.test("doctor: a .cred stuck without its .cc names the .cc it waits for, from one second past the threshold", async () => {
  await withSpool(async (spool) => {
    await add(spool, krb("alice"));
    const cred = `${spool.krb}/alice.cred`;
    const mtime = Math.floor((await Deno.stat(cred)).mtime!.getTime() / 1000);
    const at = (now: number) => findingsAbout(context(spool), cred, now);
    assert.deepEqual(await at(mtime + 600), []);
    assert.deepEqual(await at(mtime + 600 + 1), [[
      "credmon-stuck",
      `stored ${600 + 1} seconds ago and still not processed (no alice.cc)`,
    ]]);
    // Its .cc made, it is not stuck, however old.
    await Deno.writeTextFile(`${spool.krb}/alice.cc`, "CC", { mode: 0o600 });
    assert.deepEqual(await at(mtime + 10 * 600), []);
  });
});

Deno.test("doctor without a condor account: an OAuth directory shared with its group (2770) is a finding, 0770 or 2750 is not", async () => {
  await withSpool(async (spool) => {
    await add(spool, oauth("alice", "s"));
    const ctx = context(spool);
    const alone: StoreContext = { ...ctx, owners: { ...ctx.owners, condor: null } };
    const kinds = async () =>
      (await findingsAbout(alone, spool.oauth)).map(([kind]) => kind).filter((k) =>
        k === "no-condor"
      );
    for (const [mode, expected] of [[0o2770, 1], [0o770, 0], [0o2750, 0], [0o700, 0]] as const) {
      await Deno.chmod(spool.oauth, mode);
      assert.equal((await kinds()).length, expected, mode.toString(8));
    }
  });
});

// ---- configuration errors ----------------------------------------------------------------

Deno.test("a knob that is no number makes a request a config error naming it, not a crash", async () => {
  await withSpool(async (spool) => {
    const bad = { _CONDOR_CRED_LOCK_TIMEOUT: "soon" };
    const reply = await perform(context(spool, bad), ROOT, krb("alice") as unknown as CredRequest);
    assert.equal(reply.ok, false);
    assert.equal(!reply.ok && reply.error.code, "config");
    assert.match(!reply.ok ? reply.error.message : "", /CRED_LOCK_TIMEOUT/);
  });
});

Deno.test("a store path that is not absolute is a config error naming the knob and its origin; nothing is created", async () => {
  await withSpool(async (spool) => {
    const cwd = Deno.cwd();
    Deno.chdir(spool.root);
    try {
      for (
        const [knob, request] of [
          ["SEC_CREDENTIAL_DIRECTORY_KRB", krb("alice")],
          ["SEC_CREDENTIAL_DIRECTORY_OAUTH", oauth("alice", "s")],
          ["SEC_CREDENTIAL_DIRECTORY_PWD", pwd("alice")],
          ["SEC_PASSWORD_FILE", pool()],
        ] as const
      ) {
        const ctx = context(spool, { [`_CONDOR_${knob}`]: "spool/relative" });
        const reply = await perform(ctx, ROOT, { ...request } as unknown as CredRequest);
        assert.deepEqual(
          reply.ok ? "stored" : [reply.error.code, reply.error.message],
          [
            "config",
            `${knob} is "spool/relative" (from environment _CONDOR_${knob}); it must ` +
            "be an absolute path",
          ],
        );
        assert.equal(await Deno.lstat(`${spool.root}/spool`).catch(() => null), null, knob);
      }
    } finally {
      Deno.chdir(cwd);
    }
  });
});

/** A JWT whose payload is `claims` (unsigned: the store reads claims only). */
function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "HS256" })}.${b64(claims)}.c2ln`;
}

Deno.test("doctor: stale marks, stuck .top files and expired tokens from one second past their limit, with their ages", async () => {
  await withSpool(async (spool) => {
    const T = 1_700_000_000;
    await add(spool, krb("alice"));
    await add(spool, oauth("alice", "s"));
    await add(spool, { ...oauth("alice", "t"), accessToken: true });
    const user = `${spool.oauth}/alice`;
    await Deno.writeTextFile(`${user}/t.use`, JSON.stringify({ access_token: jwt({ exp: T }) }));
    await Deno.writeTextFile(`${spool.krb}/bob.mark`, "", { mode: 0o600 });
    await Deno.writeTextFile(`${spool.krb}/alice.cc`, "CC", { mode: 0o600 });
    for (const path of [`${user}/s.top`, `${user}/t.use`, `${spool.krb}/bob.mark`]) {
      await Deno.utime(path, T, T);
    }
    const ctx = context(spool, { _CONDOR_SEC_CREDENTIAL_SWEEP_DELAY: "100" });
    const at = async (now: number) =>
      (await examineStore(ctx, now)).filter((f) =>
        ["stale-mark", "credmon-stuck", "expired-token"].includes(f.kind)
      ).map((f) => [f.kind, f.path, f.problem]);
    assert.deepEqual(await at(T), []);
    assert.deepEqual(await at(T + 1), [
      ["expired-token", `${user}/t.use`, "the access token expired 1 seconds ago"],
    ]);
    assert.deepEqual(await at(T + 100), [
      ["expired-token", `${user}/t.use`, "the access token expired 100 seconds ago"],
    ]);
    const mark = [
      "stale-mark",
      `${spool.krb}/bob.mark`,
      "marked for removal 101 seconds ago, more than SEC_CREDENTIAL_SWEEP_DELAY (100): " +
      "nothing sweeps this directory",
    ];
    assert.deepEqual(await at(T + 101), [
      mark,
      ["expired-token", `${user}/t.use`, "the access token expired 101 seconds ago"],
    ]);
    // README "doctor": waiting more than 10 minutes.
    const later = await at(T + 600 + 1);
    assert.deepEqual(later.map(([kind, path]) => [kind, path]), [
      ["stale-mark", `${spool.krb}/bob.mark`],
      ["credmon-stuck", `${user}/s.top`],
      ["expired-token", `${user}/t.use`],
    ]);
    assert.equal(
      later[1][2],
      `stored ${600 + 1} seconds ago and still no s.use: the OAuth credmon is ` +
        "not processing it",
    );
    assert.deepEqual(
      (await at(T + 600)).map(([kind]) => kind),
      ["stale-mark", "expired-token"],
    );
    // A .top with its .use is not stuck, however old.
    await Deno.writeTextFile(`${user}/s.use`, "{}", { mode: 0o600 });
    assert.deepEqual(
      (await at(T + 10 * 600)).map(([kind]) => kind),
      ["stale-mark", "expired-token"],
    );
  });
});

Deno.test("doctor: each state of a credmon's pid file is its own finding with its fix", async () => {
  for (
    const [dir, credmon] of [
      ["krb", "the Kerberos credmon (condor_credmon_krb)"],
      ["oauth", "the OAuth credmon (condor_credmon_oauth, or the one your site runs)"],
    ] as const
  ) await credmonStates(dir, credmon);
});

async function credmonStates(which: "krb" | "oauth", credmon: string): Promise<void> {
  await withSpool(async (spool) => {
    await add(spool, which === "krb" ? krb("alice") : oauth("alice", "s"));
    const pid = `${spool[which]}/pid`;
    const complete = `${spool[which]}/CREDMON_COMPLETE`;
    const found = async () =>
      (await examineStore(context(spool), 0)).filter((f) => f.path === pid || f.path === complete)
        .map((f) => [f.kind, f.path, f.problem, f.fix]);
    assert.deepEqual(await found(), [[
      "no-credmon",
      pid,
      "no credmon has started for this directory (it has no pid file)",
      `start ${credmon}`,
    ]]);
    await Deno.writeTextFile(pid, "1", { mode: 0o644 });
    assert.deepEqual(await found(), [[
      "credmon-dead",
      pid,
      "the credmon pid file does not hold a valid process id",
      `restart ${credmon}`,
    ]]);
    const exited = new Deno.Command("true").spawn();
    await exited.status;
    await Deno.writeTextFile(pid, `${exited.pid}\n`, { mode: 0o644 });
    assert.deepEqual(await found(), [[
      "credmon-dead",
      pid,
      `the credmon pid file names process ${exited.pid}, which is not running`,
      `restart ${credmon}`,
    ]]);
    await Deno.writeTextFile(pid, `${Deno.pid}\n`, { mode: 0o644 });
    assert.deepEqual(await found(), [[
      "credmon-incomplete",
      complete,
      `the credmon (process ${Deno.pid}) has never completed a scan of this directory`,
      `if this lasts more than a few minutes, read the log of ${credmon}`,
    ]]);
    await Deno.writeTextFile(complete, "", { mode: 0o644 });
    assert.deepEqual(await found(), []);
    await Deno.chmod(pid, 0o664);
    assert.deepEqual((await found()).map(([kind]) => kind), ["insecure"]);
  });
}

Deno.test("a malformed CONDOR_IDS is a config error of the request's context, with the fix", async () => {
  await withSpool((spool) => {
    let error: unknown = null;
    try {
      context(spool, { _CONDOR_CONDOR_IDS: "condor" });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof StoreError, String(error));
    assert.equal(error.code, "config");
    assert.equal(
      error.message,
      'CONDOR_IDS is "condor"; it must be the condor account\'s uid and gid as "uid.gid", for ' +
        'example "990.990"',
    );
    return Promise.resolve();
  });
});

Deno.test("typeNames() lists the three types as a daemon's error message says them", () => {
  assert.equal(typeNames(), "password, kerberos or oauth");
  assert.equal(typeNames("and"), "password, kerberos and oauth");
});

Deno.test("doctor: an OAuth directory root runs with must have condor's group; a config warning names its file", async () => {
  await withSpool(async (spool) => {
    await add(spool, oauth("alice", "s"));
    const layout = async () =>
      (await examineStore(context(spool), 0)).filter((f) => f.kind === "layout").map((f) => [
        f.path,
        f.problem,
        f.fix,
      ]);
    // A private directory (0700) passes the storage rules, but the credd could not use it.
    await Deno.chmod(spool.oauth, 0o700);
    await Deno.chown(spool.oauth, 0, 0);
    assert.deepEqual(await layout(), [[
      spool.oauth,
      `its group is gid 0, not condor's (${CONDOR.gid}): the credd, which runs as condor, cannot ` +
      "create users' directories here",
      `chown root:${CONDOR.gid} ${spool.oauth} && chmod 2770 ${spool.oauth}`,
    ]]);
    await Deno.chown(spool.oauth, 0, CONDOR.gid);
    assert.deepEqual(await layout(), []);
  });
  // The file a warning names, included from the main one.
  await withSpool(async (spool) => {
    const extra = `${spool.root}/extra.conf`;
    await Deno.writeTextFile(extra, "X = 1\nFOO : bar\n");
    await Deno.writeTextFile(spool.config, `include : ${extra}\n`, { append: true });
    const config = (await examineStore(context(spool), 0)).filter((f) => f.kind === "config");
    assert.deepEqual(config.map((f) => [f.path, f.problem, f.fix]), [[
      extra,
      `Config source Warning "${extra}", Line 2: obsolete use of ':' for parameter ` +
      "assignment at FOO",
      "edit the configuration at the file and line named",
    ]]);
  });
});

Deno.test("doctor: a sealed password or the host key that others may read is refused", async () => {
  await withSpool(async (spool) => {
    await add(spool, pwd("alice"));
    const insecure = async () =>
      (await examineStore(context(spool), 0)).filter((f) => f.kind === "insecure").map((f) =>
        f.path
      );
    assert.deepEqual(await insecure(), []);
    for (const name of ["alice@test.example.pwd", "host.key"]) {
      const path = `${spool.pwd}/${name}`;
      const mode = (await Deno.stat(path)).mode! & 0o777;
      await Deno.chmod(path, 0o644);
      assert.deepEqual(await insecure(), [path]);
      await Deno.chmod(path, mode);
    }
  });
});

Deno.test("a Vault host not trusted is quoted up to 200 characters, the rest counted", async () => {
  await withSpool(async (spool) => {
    const env = { _CONDOR_TRUSTED_VAULT_HOSTS: "vault.example.org" };
    const refusal = async (host: string) => {
      const request = {
        ...oauth("alice", "s"),
        credential: encoder.encode(JSON.stringify({ vault_url: `https://${host}/v1` })),
      };
      const reply = await perform(context(spool, env), ROOT, request as unknown as CredRequest);
      return reply.ok ? "stored" : [reply.error.code, reply.error.message];
    };
    const label = "abcdefghij".repeat(5);
    const long = `${label}.${label}.${label}.${label}.${label}`; // 254 characters
    for (const length of [199, 200]) {
      const host = long.slice(0, length - 4) + ".org";
      assert.deepEqual(await refusal(host), [
        "untrusted-host",
        `the Vault host "${host}" is not listed in TRUSTED_VAULT_HOSTS`,
      ]);
    }
    for (const [host, more] of [[`${long.slice(0, 197)}.org`, 1], [long, 54]] as const) {
      assert.deepEqual(await refusal(host), [
        "untrusted-host",
        `the Vault host "${host.slice(0, 200)}" (and ${more} more characters) is not listed in ` +
        "TRUSTED_VAULT_HOSTS",
      ]);
    }
  });
});

Deno.test("list reads the first 64 KiB of a .top: scopes in them are shown, beyond them a note says so", async () => {
  await withSpool(async (spool) => {
    await add(spool, oauth("alice", "s"));
    const tail = ',"scopes":"s1","audience":"a1"}';
    const row = async (size: number) => {
      const pad = "x".repeat(size - '{"pad":""'.length - tail.length);
      await Deno.writeTextFile(`${spool.oauth}/alice/s.top`, `{"pad":"${pad}"${tail}`);
      assert.equal((await Deno.stat(`${spool.oauth}/alice/s.top`)).size, size);
      const listed = performList(context(spool), ROOT, {
        action: "list",
        type: "oauth",
        user: null,
      });
      assert.ok(listed.ok);
      return listed.rows.map((r) => [r.scopes, r.audience, r.problem]);
    };
    assert.deepEqual(await row(65536), [["s1", "a1", null]]);
    // The same members just past the first 64 KiB.
    assert.deepEqual(await row(65536 + tail.length), [[
      null,
      null,
      "only the first 65536 bytes of s.top were read, and its scopes or audience may lie beyond",
    ]]);
  });
});

Deno.test("CRED_MAX_CREDENTIALS_PER_USER counts each OAuth service once, its .top and .use together", async () => {
  await withSpool(async (spool) => {
    const env = { _CONDOR_CRED_MAX_CREDENTIALS_PER_USER: "2" };
    // The limits bind users (root is not bound).
    const alice: Caller = { uid: 2001, name: "alice", domain: "test.example", inProcess: false };
    const put = async (request: Record<string, unknown>) => {
      const reply = await perform(context(spool, env), alice, request as unknown as CredRequest);
      return reply.ok ? reply.outcome.status : [reply.error.code, reply.error.message];
    };
    assert.equal(await put(oauth("alice", "a")), "pending");
    assert.equal(await put({ ...oauth("alice", "a"), accessToken: true }), "success");
    assert.equal(await put(oauth("alice", "b")), "pending");
    // A credential already stored may be replaced; a third is refused.
    assert.equal(await put(oauth("alice", "b")), "pending");
    const refused = await put(oauth("alice", "c"));
    assert.equal(refused[0], "not-allowed");
    assert.match(
      refused[1],
      /^"alice(@test\.example)?" already has 2 credentials stored, the most CRED_MAX_CREDENTIALS_PER_USER \(2\) allows; /,
    );
  });
});

Deno.test("-S and -A rewrite a JSON credential one member a line, strings (escapes included) as given", async () => {
  await withSpool(async (spool) => {
    const credential = '{ "a" : "x \\" y\\\\" ,\n "b": [1, {"c": " } "}],"scopes":"old"\t}';
    await add(spool, {
      ...oauth("alice", "s"),
      scopes: "read write",
      audience: "https://aud",
      credential: encoder.encode(credential),
    });
    assert.equal(
      await Deno.readTextFile(`${spool.oauth}/alice/s.top`),
      '{\n  "a": "x \\" y\\\\",\n  "b": [1,{"c":" } "}],\n  "scopes": "read write",\n' +
        '  "audience": "https://aud"\n}\n',
    );
  });
});

// ---- credmon -----------------------------------------------------------------------------

Deno.test("kickCredmon() reads a pid file of up to 255 bytes (docs/upstream.md) and signals that process", async () => {
  await withSpool(async (spool) => {
    await add(spool, krb("alice"));
    const ctx = context(spool);
    const dir = storeDirectory(spool.krb, ctx.owners)!;
    const credmon = new Deno.Command("sleep", { args: ["600"] }).spawn();
    try {
      const pid = String(credmon.pid);
      await Deno.writeTextFile(`${spool.krb}/pid`, pid.padEnd(256, " "), { mode: 0o644 });
      const refused = await kickCredmon(ctx, dir);
      assert.equal(refused.signalled, false);
      assert.match(refused.reason!, /^its pid file was refused: .* is larger than 255 bytes/);
      await Deno.writeTextFile(`${spool.krb}/pid`, pid.padEnd(255, " "), { mode: 0o644 });
      assert.deepEqual(await kickCredmon(ctx, dir), { signalled: true });
      assert.equal((await credmon.status).signal, "SIGHUP");
    } finally {
      try {
        credmon.kill();
      } catch {
        // Already gone (the SIGHUP).
      }
      await credmon.status;
    }
  });
});

Deno.test("waitForFile() lets this process go on while it waits: a file created meanwhile is seen", async () => {
  await withSpool(async (spool) => {
    await add(spool, krb("alice"));
    const dir = storeDirectory(spool.krb, context(spool).owners)!;
    const since = Date.now() - 1000;
    const created = new Promise<void>((resolve) =>
      setTimeout(() => {
        Deno.writeTextFileSync(`${spool.krb}/alice.cc`, "CC", { mode: 0o600 });
        resolve();
      }, 20)
    );
    const found = await waitForFile(dir, "alice.cc", since, 10);
    await created;
    assert.ok(found !== null && found.isFile);
  });
});

Deno.test("doctor looks into users' OAuth directories only, not a mark's or a name no user has", async () => {
  await withSpool(async (spool) => {
    await add(spool, oauth("alice", "s"));
    for (const dir of [".hidden", "bob.mark", "bad name", "alice"]) {
      await Deno.mkdir(`${spool.oauth}/${dir}`, { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(`${spool.oauth}/${dir}/t.top`, "{}", { mode: 0o644 });
    }
    const insecure = (await examineStore(context(spool), 0)).filter((f) => f.kind === "insecure");
    assert.deepEqual(insecure.map((f) => f.path), [`${spool.oauth}/alice/t.top`]);
  });
});

Deno.test("CRED_MAX_CREDENTIALS_PER_USER counts a Kerberos credential and a sealed password; 0 or less turns it off", async () => {
  await withSpool(async (spool) => {
    const as = (name: string): Caller => ({
      uid: name === "alice" ? 2001 : 2002,
      name,
      domain: "test.example",
      inProcess: false,
    });
    const put = async (name: string, request: Record<string, unknown>, env = {}) => {
      const reply = await perform(
        context(spool, env),
        as(name),
        request as unknown as CredRequest,
      );
      return reply.ok ? reply.outcome.status : reply.error.code;
    };
    const one = { _CONDOR_CRED_MAX_CREDENTIALS_PER_USER: "1" };
    assert.equal(await put("alice", pwd("alice"), one), "success");
    assert.equal(await put("alice", krb("alice"), one), "not-allowed");
    assert.equal(await put("bob", krb("bob"), one), "pending");
    assert.equal(await put("bob", pwd("bob"), one), "not-allowed");
    for (const off of ["0", "-1"]) {
      const env = {
        _CONDOR_CRED_MAX_CREDENTIALS_PER_USER: off,
        _CONDOR_CRED_MAX_BYTES_PER_USER: off,
      };
      assert.equal(await put("alice", oauth("alice", `s${off}`), env), "pending", off);
    }
    // Off, the limits look at nothing: another type's directory refused does not matter.
    await Deno.chmod(spool.krb, 0o777);
    const off = {
      _CONDOR_CRED_MAX_CREDENTIALS_PER_USER: "-1",
      _CONDOR_CRED_MAX_BYTES_PER_USER: "0",
    };
    assert.equal(await put("bob", pwd("bob"), off), "success");
    await Deno.chmod(spool.krb, 0o755);
  });
});

Deno.test("query-oauth of a service with neither .top nor .use is not found", async () => {
  await withSpool(async (spool) => {
    await add(spool, oauth("alice", "s"));
    await add(spool, { ...oauth("alice", "u"), accessToken: true });
    const query = async (service: string, minTtl: number | null = null) => {
      const request = {
        ...oauth("alice", service),
        action: "query",
        credential: undefined,
        minTtl,
      };
      const reply = await perform(context(spool), ROOT, request as unknown as CredRequest);
      return reply.ok ? reply.outcome.status : reply.error.code;
    };
    assert.equal(await query("s"), "pending");
    assert.equal(await query("u"), "success");
    assert.equal(await query("t"), "not-found");
    assert.equal(await query("t", 60), "not-found");
  });
});

Deno.test("writeCredential() replacing a file (-f) writes a new one and replaces an old one of any mode, never a link", async () => {
  await withSpool(async (spool) => {
    await Deno.mkdir(`${spool.root}/out`, { mode: 0o755 });
    const ctx = context(spool);
    const store = storeDirectory(`${spool.root}/out`, ctx.owners)!;
    const write = (text: string) =>
      writeCredential(ctx, {
        store,
        lockKey: null,
        user: null,
        directory: () => store,
        name: "POOL",
        data: encoder.encode(text),
        previous: "replace",
      });
    await write("one");
    assert.equal(await Deno.readTextFile(`${spool.root}/out/POOL`), "one");
    await Deno.chmod(`${spool.root}/out/POOL`, 0o644);
    await write("two");
    assert.equal(await Deno.readTextFile(`${spool.root}/out/POOL`), "two");
    await Deno.remove(`${spool.root}/out/POOL`);
    await Deno.symlink(`${spool.root}/elsewhere`, `${spool.root}/out/POOL`);
    await assert.rejects(write("three"), /it is a symbolic link/);
    assert.equal(await Deno.lstat(`${spool.root}/elsewhere`).catch(() => null), null);
  });
});

Deno.test("doctor: a CRED_AUDIT_LOG not yet written is no problem; one others may write is", async () => {
  await withSpool(async (spool) => {
    const log = `${spool.root}/audit.log`;
    const audit = async () =>
      (await examineStore(context(spool, { _CONDOR_CRED_AUDIT_LOG: log }), 0)).filter((f) =>
        f.kind === "audit-log"
      ).map((f) => f.path);
    assert.deepEqual(await audit(), []);
    await Deno.writeTextFile(log, "", { mode: 0o666 });
    await Deno.chmod(log, 0o666);
    assert.deepEqual(await audit(), [log]);
  });
});

Deno.test("root through the daemon (not in-process) lists everyone's credentials", async () => {
  await withSpool(async (spool) => {
    await add(spool, krb("alice"));
    await add(spool, krb("bob"));
    const remoteRoot: Caller = { ...ROOT, inProcess: false };
    const listed = performList(context(spool), remoteRoot, {
      action: "list",
      type: "kerberos",
      user: null,
    });
    assert.deepEqual(listed.ok && [listed.user, listed.rows.map((r) => r.user)], [
      null,
      ["alice", "bob"],
    ]);
  });
});

Deno.test("list notes a .use read only in part without a JWT in that part, not a whole one without", async () => {
  await withSpool(async (spool) => {
    await add(spool, { ...oauth("alice", "s"), accessToken: true });
    const use = `${spool.oauth}/alice/s.use`;
    const problem = async (text: string) => {
      await Deno.writeTextFile(use, text);
      const listed = performList(context(spool), ROOT, {
        action: "list",
        type: "oauth",
        user: null,
      });
      assert.ok(listed.ok);
      return listed.rows.map((r) => r.problem);
    };
    assert.deepEqual(await problem('{"access_token":"opaque"}'), [null]);
    const pad = "x".repeat(65536);
    assert.deepEqual(await problem(`{"pad":"${pad}","access_token":"${jwt({ exp: 1 })}"}`), [
      "only the first 65536 bytes of s.use were read, and they hold no whole JWT header and claims",
    ]);
  });
});

Deno.test("a type suffix abbreviates scitokens to 3 letters at least (docs/upstream.md)", () => {
  assert.equal(matchTypeSuffix("-sci"), "oauth");
  assert.equal(matchTypeSuffix("-sc"), null);
  assert.equal(matchTypeSuffix("-oa"), "oauth");
  assert.equal(matchTypeSuffix("-o"), null);
});

Deno.test("names take every ASCII letter and digit, A to Z included", () => {
  for (const name of ["AZ", "az", "09", "Zed", "zed-Z_9"]) assert.ok(isValidName(name), name);
  for (const name of ["@", "[", "`", "{", "/", ":"]) assert.ok(!isValidName(`a${name}`), name);
});

Deno.test("-S on a credential that then exceeds 1 MiB is too large, and nothing is stored", async () => {
  await withSpool(async (spool) => {
    // The members fit; the added scopes do not (or only the closing brace does not).
    for (const extra of [10, 21]) {
      const pad = "x".repeat(1024 * 1024 - '{\n  "a": ""'.length - extra);
      const request = {
        ...oauth("alice", "s"),
        scopes: "read",
        credential: encoder.encode(`{"a":"${pad}"}`),
      };
      const reply = await perform(context(spool), ROOT, request as unknown as CredRequest);
      assert.deepEqual(reply.ok ? "stored" : reply.error.code, "too-large", String(extra));
      assert.match(!reply.ok ? reply.error.message : "", /would be larger than 1048576 bytes/);
      assert.equal(await Deno.lstat(`${spool.oauth}/alice/s.top`).catch(() => null), null);
    }
    // Exactly 1 MiB with the scopes and the closing brace: stored.
    const pad = "x".repeat(1024 * 1024 - '{\n  "a": ""'.length - 23);
    await add(spool, {
      ...oauth("alice", "s"),
      scopes: "read",
      credential: encoder.encode(`{"a":"${pad}"}`),
    });
    assert.equal((await Deno.stat(`${spool.oauth}/alice/s.top`)).size, 1024 * 1024);
  });
});

Deno.test("OAuth: a user directory holding nothing is not found; delete -s refuses a file it must not trust, removing nothing", async () => {
  await withSpool(async (spool) => {
    await add(spool, oauth("alice", "s"));
    const run = async (request: Record<string, unknown>) => {
      const reply = await perform(context(spool), ROOT, request as unknown as CredRequest);
      return reply.ok ? reply.outcome.status : [reply.error.code, reply.error.message];
    };
    const query = { ...oauth("alice", "s"), action: "query", service: null, minTtl: null };
    assert.equal(await run(query), "pending");
    // -s with a file that must be refused: nothing is removed.
    await Deno.chmod(`${spool.oauth}/alice/s.top`, 0o644);
    const del = { action: "delete", type: "oauth", user: "alice@test.example", handle: null };
    const refused = await run({ ...del, service: "s" });
    assert.equal(refused[0], "insecure");
    assert.ok(await Deno.lstat(`${spool.oauth}/alice/s.top`));
    await Deno.remove(`${spool.oauth}/alice/s.top`);
    assert.deepEqual(await run(query), ["not-found", ""]);
  });
});

Deno.test("an OAuth add with no credmon running says so in a warning; the credential is stored", async () => {
  await withSpool(async (spool) => {
    const reply = await perform(
      context(spool),
      ROOT,
      oauth("alice", "s") as unknown as CredRequest,
    );
    assert.ok(reply.ok);
    assert.deepEqual(reply.warnings, [
      `the OAuth credmon was not signalled (no pid file ${spool.oauth}/pid); the credential is ` +
      "stored and waits for processing",
    ]);
  });
});

Deno.test("the per-user limits bind users, not root; a listing checks a password account's domain", async () => {
  await withSpool(async (spool) => {
    const one = { _CONDOR_CRED_MAX_CREDENTIALS_PER_USER: "1" };
    for (const service of ["a", "b"]) {
      const reply = await perform(
        context(spool, one),
        { ...ROOT, inProcess: false },
        oauth("alice", service) as unknown as CredRequest,
      );
      assert.equal(reply.ok && reply.outcome.status, "pending", service);
    }
    const list = (type: "password" | "oauth") => {
      const listed = performList(context(spool), ROOT, {
        action: "list",
        type,
        user: "alice@bad domain",
      });
      return listed.ok ? listed.rows.map((r) => r.name) : listed.error.code;
    };
    assert.equal(list("password"), "bad-args");
    // OAuth credentials are the user part's: the domain is not looked at.
    assert.deepEqual(list("oauth"), ["a", "b"]);
    // A count limit turned off leaves the byte limit alone, and the other way round.
    const bytesOnly = {
      _CONDOR_CRED_MAX_CREDENTIALS_PER_USER: "0",
      _CONDOR_CRED_MAX_BYTES_PER_USER: "100000",
    };
    const bob: Caller = { uid: 2002, name: "bob", domain: "test.example", inProcess: false };
    for (const service of ["a", "b", "c"]) {
      const reply = await perform(
        context(spool, bytesOnly),
        bob,
        oauth("bob", service) as unknown as CredRequest,
      );
      assert.equal(reply.ok && reply.outcome.status, "pending", service);
    }
  });
});

Deno.test("root creates the store as HTCondor's packages lay it out; without a condor account, private", async () => {
  const layout = async (spool: Spool, paths: string[]) => {
    const out: [string, string, number, number][] = [];
    for (const path of paths) {
      const info = await Deno.stat(path);
      out.push([
        path.slice(spool.root.length),
        (info.mode! & 0o7777).toString(8),
        info.uid!,
        info.gid!,
      ]);
    }
    return out;
  };
  await withSpool(async (spool) => {
    for (const request of [krb("alice"), oauth("alice", "s"), pwd("alice"), pool()]) {
      await add(spool, request);
    }
    assert.deepEqual(
      await layout(spool, [
        spool.krb,
        spool.oauth,
        `${spool.oauth}/alice`,
        spool.pwd,
        `${spool.root}/spool/passwords.d`,
      ]),
      [
        ["/spool/krb", "755", 0, 0],
        ["/spool/oauth", "2770", 0, CONDOR.gid],
        // The user directory keeps the parent's setgid bit, as mkdir does.
        ["/spool/oauth/alice", "2700", CONDOR.uid, CONDOR.gid],
        ["/spool/pwd", "700", 0, 0],
        ["/spool/passwords.d", "700", 0, 0],
      ],
    );
  });
  await withSpool(async (spool) => {
    const ctx = context(spool);
    const alone: StoreContext = { ...ctx, owners: { ...ctx.owners, condor: null } };
    const reply = await perform(alone, ROOT, oauth("alice", "s") as unknown as CredRequest);
    assert.ok(reply.ok);
    assert.deepEqual(await layout(spool, [spool.oauth, `${spool.oauth}/alice`]), [
      ["/spool/oauth", "700", 0, 0],
      ["/spool/oauth/alice", "700", 0, 0],
    ]);
  });
});

Deno.test("openInputFile() reads a FIFO of root's for another user (root is trusted), not another user's", async () => {
  const root = await Deno.makeTempDir({ prefix: "csc-store-fs-unit-" });
  const writer = new Deno.Command("sh", {
    args: ["-c", `echo FROM_ROOT > ${root}/fifo`],
    stdout: "null",
    stderr: "null",
  });
  let child: Deno.ChildProcess | null = null;
  try {
    await Deno.chmod(root, 0o755);
    assert.ok((await new Deno.Command("mkfifo", { args: [`${root}/fifo`] }).output()).success);
    child = writer.spawn();
    const file = openInputFile(`${root}/fifo`, CONDOR.uid, root);
    try {
      const buffer = new Uint8Array(64);
      const n = file.readSync(buffer) ?? 0;
      assert.equal(new TextDecoder().decode(buffer.subarray(0, n)), "FROM_ROOT\n");
    } finally {
      file.close();
    }
  } finally {
    if (child !== null) {
      try {
        child.kill();
      } catch {
        // It has written and exited.
      }
      await child.status;
    }
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a personal spool (no configuration, not root) is laid out private, 0700 throughout, and found again", async () => {
  const home = await Deno.makeTempDir({ prefix: "csc-store-fs-unit-" });
  try {
    const config = loadConfig({
      env: { HOME: home, _CONDOR_CREDD_POLLING_TIMEOUT: "0", _CONDOR_UID_DOMAIN: "test.example" },
      uid: 2001,
      hostname: "node.test.example",
      systemConfigFile: `${home}/no_condor_config`,
    });
    const spool = `${home}/.local/share/condor_store_cred`;
    assert.equal(config.personalSpool, spool);
    // This process is root; the layout follows the personal spool, not the uid.
    const ctx = createStoreContext(config, { euid: 0 });
    const run = async (request: Record<string, unknown>) => {
      const reply = await perform(ctx, ROOT, request as unknown as CredRequest);
      return reply.ok ? reply.outcome.status : reply.error.code;
    };
    assert.equal(await run(krb("alice")), "pending");
    const query = { action: "query", type: "kerberos", user: "alice@test.example", minTtl: null };
    assert.equal(await run(query), "pending");
    for (const path of [spool, `${spool}/krb_credentials`]) {
      assert.equal((await Deno.stat(path)).mode! & 0o7777, 0o700, path);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

// ---- lock --------------------------------------------------------------------------------

Deno.test("withLock(): a 0 s wait says 0 ms and gives up; a journal of three parts removes nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "csc-store-fs-unit-" });
  try {
    const owners: Owners = { self: 0, condor: null, accounts: undefined! };
    const store: Directory = storeDirectory(root, owners)!;
    const lines: string[] = [];
    await withLock(store, "alice", owners, {
      timeoutSeconds: 1,
      fn: async () => {
        await assert.rejects(
          withLock(store, "alice", owners, {
            timeoutSeconds: 0,
            debug: (line) => lines.push(line),
            fn: () => assert.fail("the lock is held"),
          }),
          /timed out after 0 seconds waiting for the lock/,
        );
      },
    });
    assert.deepEqual(lines, [
      `the lock "${root}/.locks/alice.lock" is held; waiting for it at most 0 ms`,
    ]);
    // A journal naming a temp file two directories down is not ours: nothing is removed.
    const temp = ".x.0123456789abcdef.tmp";
    await Deno.mkdir(`${root}/a/b`, { recursive: true });
    for (const dir of ["a", "a/b"]) await Deno.writeTextFile(`${root}/${dir}/${temp}`, "k");
    await Deno.writeTextFile(`${root}/.locks/alice.lock`, `a/b/${temp}`);
    await withLock(store, "alice", owners, { timeoutSeconds: 1, fn: () => {} });
    for (const dir of ["a", "a/b"]) {
      assert.equal(await Deno.readTextFile(`${root}/${dir}/${temp}`), "k", dir);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("list shows the first 2048 characters of a field, joins an array of strings, and notes what it cannot show", async () => {
  await withSpool(async (spool) => {
    await add(spool, oauth("alice", "s"));
    const top = `${spool.oauth}/alice/s.top`;
    const row = async (json: Record<string, unknown>, pad = 0) => {
      const text = JSON.stringify(json);
      await Deno.writeTextFile(
        top,
        pad === 0 ? text : `${text.slice(0, -1)},"pad":"${"x".repeat(pad)}"}`,
      );
      const listed = performList(context(spool), ROOT, {
        action: "list",
        type: "oauth",
        user: null,
      });
      assert.ok(listed.ok);
      return listed.rows.map((r) => [r.scopes, r.audience, r.problem])[0];
    };
    const long = "abcdefghij".repeat(205) + "!"; // 2051 characters
    assert.deepEqual(await row({ scopes: long, audience: ["a", "b"] }), [
      long.slice(0, 2048),
      "a b",
      `the "scopes" of s.top is 2051 characters long; only the first 2048 are shown`,
    ]);
    assert.deepEqual(await row({ scopes: ["a", 1], audience: null }), [
      null,
      null,
      `the "scopes" of s.top is a JSON array holding a JSON number, not text`,
    ]);
    // Both found in the first 64 KiB: nothing to note about the rest.
    assert.deepEqual(await row({ scopes: "s", audience: "a" }, 70_000), ["s", "a", null]);
  });
});

Deno.test("CRED_MAX_BYTES_PER_USER allows exactly that many bytes, not one more", async () => {
  await withSpool(async (spool) => {
    const alice: Caller = { uid: 2001, name: "alice", domain: "test.example", inProcess: false };
    const put = async (limit: number, count = "0", service = "s") => {
      const env = {
        _CONDOR_CRED_MAX_BYTES_PER_USER: String(limit),
        _CONDOR_CRED_MAX_CREDENTIALS_PER_USER: count,
      };
      const reply = await perform(
        context(spool, env),
        alice,
        oauth("alice", service) as unknown as CredRequest, // "{}": 2 bytes
      );
      return reply.ok ? reply.outcome.status : reply.error.code;
    };
    assert.equal(await put(1), "not-allowed");
    assert.equal(await put(2), "pending");
    // Over the limit already, a credential may be replaced by one no larger.
    assert.equal(await put(1), "pending");
    // 0 turns the byte limit off, whatever the count limit.
    assert.equal(await put(0, "10", "t"), "pending");
  });
});
