/**
 * The store service in-process on a temp store (lib/store, docs/storage.md): every action of
 * every type through `perform()`, its outcome, files, modes and refusals, and the pure rules
 * (names, pid files, limits), and the daemon's mark-and-sweep over it, in a second or two, so that a broken store rule fails here before
 * any black-box test runs (TESTING.md). The black-box tests check the same through the program.
 */

import assert from "node:assert/strict";
import { scramblePoolPassword } from "../lib/crypto/scramble.ts";
import type { Caller, CredRequest } from "../lib/request.ts";
import { appendAudit } from "../lib/store/audit.ts";
import { addKerberos } from "../lib/store/kerberos.ts";
import { addOAuth } from "../lib/store/oauth.ts";
import { addPoolPassword, addUserPassword } from "../lib/store/password.ts";
import { examineStore, PENDING_THRESHOLD } from "../lib/store/doctor.ts";
import { parsePid, PID_LIMIT, waitForFile } from "../lib/store/credmon.ts";
import { checkName, checkNameLength, isValidName, oauthName } from "../lib/store/names.ts";
import {
  checkRequest,
  createStoreContext,
  credentialLimit,
  perform,
  performList,
  poolAccount,
} from "../lib/store/service.ts";
import { StoreError } from "../lib/errors.ts";
import { storeDirectory } from "../lib/fs/directories.ts";
import { sweep } from "../lib/daemon/sweep.ts";
import {
  exists,
  listTree,
  modeOf,
  readBytes,
  readText,
  type Spool,
  withSpool,
} from "../testing/harness.ts";
import { CONDOR, storeConfig } from "../testing/store.ts";

const DOMAIN = "test.example";
const encoder = new TextEncoder();
const ROOT: Caller = { uid: 0, name: "root", domain: DOMAIN, inProcess: true };
const ALICE: Caller = { uid: 2001, name: "alice", domain: DOMAIN, inProcess: false };

/** Runs one request in a fresh context; returns the reply and the context's debug lines. */
async function run(
  spool: Spool,
  request: CredRequest,
  options: { caller?: Caller; env?: Record<string, string> } = {},
) {
  const debug: string[] = [];
  const ctx = createStoreContext(storeConfig(spool, options.env), {
    euid: 0,
    debug: (line) => debug.push(line),
  });
  const reply = await perform(ctx, options.caller ?? ROOT, request);
  return { reply, debug };
}

const bytes = (text: string) => encoder.encode(text);
const krb = (action: "add" | "delete" | "query", text = "") =>
  (action === "add"
    ? { action, type: "kerberos", user: null, credential: bytes(text) }
    : action === "query"
    ? { action, type: "kerberos", user: null, minTtl: null }
    : { action, type: "kerberos", user: null }) as CredRequest;
const oauth = (
  action: "add" | "delete" | "query",
  fields: Record<string, unknown> = {},
  text = "",
) =>
  ({
    action,
    type: "oauth",
    user: null,
    service: "s",
    handle: null,
    scopes: null,
    audience: null,
    accessToken: false,
    ...(action === "add" ? { credential: bytes(text) } : {}),
    ...(action === "query" ? { minTtl: null } : {}),
    ...fields,
  }) as CredRequest;
const pool = (action: "add" | "delete" | "query", text = "") =>
  ({
    action,
    type: "password",
    pool: true,
    user: null,
    ...(action === "add" ? { credential: bytes(text) } : {}),
    ...(action === "query" ? { minTtl: null } : {}),
  }) as CredRequest;
const pwd = (action: "add" | "delete" | "query", text = "", user: string | null = null) =>
  ({
    action,
    type: "password",
    pool: false,
    user,
    ...(action === "add" ? { credential: bytes(text) } : {}),
    ...(action === "query" ? { minTtl: null } : {}),
  }) as CredRequest;

/** The outcome status, or the error code. */
function status(reply: Awaited<ReturnType<typeof perform>>): string {
  return reply.ok ? reply.outcome.status : reply.error.code;
}

/** A JWT whose payload is `claims` (unsigned: the store reads claims only). */
function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "HS256" })}.${b64(claims)}.c2ln`;
}

// ---- pure rules --------------------------------------------------------------------------

Deno.test("names: the charset, no leading dot, reserved user names, exact messages", () => {
  for (const ok of ["a", "A9+=_.-", "x.y", "a..b", "-", "=", "+"]) {
    assert.equal(isValidName(ok), true, ok);
    assert.equal(checkName("service", ok), ok);
  }
  for (const bad of ["", ".", "..", ".a", "a/b", "a b", "a@b", "é", "a\n", "a\0"]) {
    assert.equal(isValidName(bad), false, JSON.stringify(bad));
  }
  const refusal = (kind: "user" | "service", value: string) => {
    try {
      checkName(kind, value);
    } catch (e) {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, "bad-args");
      return e.message;
    }
    return "accepted";
  };
  assert.equal(refusal("user", ""), `the user name "" is empty`);
  assert.equal(
    refusal("user", ".locks"),
    `the user name ".locks" begins with a dot, which is reserved for the store's own files`,
  );
  assert.equal(
    refusal("service", "a/b"),
    `the service name "a/b" contains characters other than letters, digits and + = _ . -`,
  );
  for (const reserved of ["pid", "CREDMON_COMPLETE", "wsgi_session_key", "README.credentials"]) {
    assert.equal(
      refusal("user", reserved),
      `the user name "${reserved}" collides with a file the credential store itself uses`,
    );
    assert.equal(refusal("service", reserved), "accepted");
  }
  for (const suffix of [".mark", ".cred", ".cc"]) {
    assert.match(refusal("user", `bob${suffix}`), /collides with a file/);
    assert.equal(refusal("user", `bob${suffix}x`), "accepted");
  }
  assert.equal(refusal("user", "pidx"), "accepted");
  assert.equal(oauthName("s", null), "s");
  assert.equal(oauthName("s", ""), "s");
  assert.equal(oauthName("s", "h"), "s_h");
});

Deno.test("checkNameLength(): the longest name that fits, and one byte more", () => {
  // 255 bytes at most for `name` + extra + the 22 bytes of a temp name.
  for (const extra of [0, 4, 5]) {
    const most = 255 - extra - 22;
    checkNameLength("user", "u".repeat(most), extra);
    assert.throws(
      () => checkNameLength("user", "u".repeat(most + 1), extra),
      (e: StoreError) =>
        e.code === "bad-args" &&
        e.message ===
          `the user name "${"u".repeat(40)}…" is ${most + 1} bytes long; at most ${most} bytes ` +
            "fit in the file names this operation creates",
    );
  }
  assert.throws(
    () => checkNameLength("service", "é".repeat(120), 4),
    /is 240 bytes long; at most 229 bytes/,
  );
  assert.throws(() => checkNameLength("handle", "h".repeat(230), 4), /the handle name "h{40}…"/);
});

Deno.test("parsePid(): a decimal pid from 2 to PID_LIMIT - 1, white space around it, nothing else", () => {
  assert.equal(PID_LIMIT, 4194304);
  const cases: [string, number | null][] = [
    ["2", 2],
    ["1", null],
    ["0", null],
    ["-1", null],
    ["4194303", 4194303],
    ["4194304", null],
    ["12345\n", 12345],
    [" \t12\n ", 12],
    ["+12", null],
    ["12abc", null],
    ["1 2", null],
    ["", null],
    ["9999999999", null],
    ["99999999999", null],
    ["0x10", null],
    ["1e3", null],
  ];
  for (const [text, pid] of cases) assert.equal(parsePid(text), pid, JSON.stringify(text));
  assert.equal(parsePid("100", 100), null);
  assert.equal(parsePid("99", 100), 99);
});

Deno.test("credentialLimit() and poolAccount()", async () => {
  assert.equal(credentialLimit("password"), 255);
  assert.equal(credentialLimit("kerberos"), 1024 * 1024);
  assert.equal(credentialLimit("oauth"), 1024 * 1024);
  await withSpool((spool) => {
    assert.equal(poolAccount(storeConfig(spool)), "condor_pool@test.example");
    assert.equal(
      poolAccount(storeConfig(spool, { _CONDOR_SEC_PASSWORD_DOMAIN: "pw.example" })),
      "condor_pool@pw.example",
    );
    return Promise.resolve();
  });
});

// ---- the service -------------------------------------------------------------------------

Deno.test("Kerberos: add, query, delete; files 0600 in a 0755 directory; the mark goes first", async () => {
  await withSpool(async (spool) => {
    assert.equal(status((await run(spool, krb("query"))).reply), "not-found");
    assert.equal(status((await run(spool, krb("delete"))).reply), "success");
    const add = await run(spool, krb("add", "TICKET"));
    assert.equal(status(add.reply), "pending");
    assert.deepEqual(add.reply.warnings, [
      `the Kerberos credmon was not signalled (no pid file ${spool.krb}/pid); the credential ` +
      "is stored and waits for processing",
    ]);
    assert.equal(add.reply.ok && add.reply.outcome.changed, true);
    assert.equal(add.reply.ok && add.reply.outcome.ad?.fully_qualified_user, "root@test.example");
    assert.equal(await readText(`${spool.krb}/root.cred`), "TICKET");
    assert.equal(await modeOf(`${spool.krb}/root.cred`), 0o600);
    assert.equal(await modeOf(spool.krb), 0o755);
    const same = await run(spool, krb("add", "TICKET"));
    assert.equal(same.reply.ok && same.reply.outcome.changed, false);
    const other = await run(spool, krb("add", "TICKEX"));
    assert.equal(other.reply.ok && other.reply.outcome.changed, true);
    const query = await run(spool, krb("query"));
    assert.equal(status(query.reply), "pending");
    const credTime = Math.floor(
      (await Deno.stat(`${spool.krb}/root.cred`)).mtime!.getTime() / 1000,
    );
    assert.deepEqual(query.reply.ok && query.reply.outcome.ad, {
      fully_qualified_user: "root@test.example",
      CredTime: credTime,
    });
    await Deno.writeTextFile(`${spool.krb}/root.cc`, "CC", { mode: 0o600 });
    const valid = await run(spool, krb("query"));
    assert.equal(status(valid.reply), "success");
    await Deno.chmod(`${spool.krb}/root.cc`, 0o640);
    assert.equal(status((await run(spool, krb("query"))).reply), "insecure");
    assert.equal(status((await run(spool, krb("delete"))).reply), "insecure");
    assert.equal(await exists(`${spool.krb}/root.cred`), true, "a refusal removes nothing");
    await Deno.chmod(`${spool.krb}/root.cc`, 0o600);
    for (const action of ["query", "delete", "add"] as const) {
      await Deno.writeTextFile(`${spool.krb}/root.mark`, "", { mode: 0o600 });
      await run(spool, krb(action, "T"));
      assert.equal(await exists(`${spool.krb}/root.mark`), false, action);
    }
    assert.equal(status((await run(spool, krb("delete"))).reply), "success");
    assert.deepEqual(await listTree(spool.krb), [".locks/", ".locks/root.lock"]);
  });
});

Deno.test("Kerberos: a signalled credmon that never answers times out; a LOCAL: credential asks the OAuth issuer", async () => {
  await withSpool(async (spool) => {
    await Deno.mkdir(spool.krb, { recursive: true, mode: 0o755 });
    await Deno.writeTextFile(`${spool.krb}/pid`, String(Deno.pid), { mode: 0o644 });
    // SIGHUP to this test process would end it: point the pid at a child that ignores it.
    const child = new Deno.Command("sh", {
      args: ["-c", "trap '' HUP; echo ready; exec sleep 600"],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read();
    reader.releaseLock();
    try {
      await Deno.writeTextFile(`${spool.krb}/pid`, `${child.pid}\n`, { mode: 0o644 });
      const { reply, debug } = await run(spool, krb("add", "T"));
      assert.equal(status(reply), "credmon-timeout");
      assert.equal(
        !reply.ok && reply.error.message,
        `the credential was stored in ${spool.krb}/root.cred, but the Kerberos credmon did not ` +
          `write ${spool.krb}/root.cc within 0 seconds (CREDD_POLLING_TIMEOUT)`,
      );
      assert.ok(debug.includes(`SIGHUP to credmon pid ${child.pid}: sent`), debug.join("\n"));
      assert.ok(debug.includes(`waiting for ${spool.krb}/root.cc at most 0 ms`), debug.join("\n"));
    } finally {
      child.kill("SIGKILL");
      await child.stdout.cancel().catch(() => {});
      await child.status;
    }
    const local = await run(spool, krb("add", "LOCAL:scitokens"));
    assert.equal(status(local.reply), "pending");
    assert.equal(await readText(`${spool.oauth}/root/scitokens.top`), "root");
    for (const bad of ["LOCAL:../x", "LOCAL:.x", `LOCAL:${"s".repeat(230)}`]) {
      const r = await run(spool, krb("add", bad));
      assert.equal(status(r.reply), "bad-args", bad);
      assert.equal(!r.reply.ok && r.reply.error.message.includes(bad.slice(6)), false);
    }
    // "LOCAL:" alone is an ordinary ticket.
    assert.equal(status((await run(spool, krb("add", "LOCAL:"))).reply), "pending");
    assert.equal(await readText(`${spool.krb}/root.cred`), "LOCAL:");
  });
});

Deno.test("waitForFile() returns a file at least as new as asked, or null after the timeout", async () => {
  await withSpool(async (spool) => {
    await Deno.mkdir(spool.krb, { recursive: true });
    const dir = storeDirectory(
      spool.krb,
      createStoreContext(storeConfig(spool), { euid: 0 }).owners,
    )!;
    const lines: string[] = [];
    assert.equal(await waitForFile(dir, "x", 0, 0, (l) => lines.push(l)), null);
    assert.deepEqual(lines, [`waiting for ${spool.krb}/x at most 0 ms`]);
    await Deno.writeTextFile(`${spool.krb}/x`, "");
    const mtime = (await Deno.stat(`${spool.krb}/x`)).mtime!.getTime();
    assert.equal((await waitForFile(dir, "x", mtime, 0))?.mtime?.getTime(), mtime);
    assert.equal(await waitForFile(dir, "x", mtime + 1, 0), null);
    assert.equal(await waitForFile(dir, "x", mtime + 1, -5), null);
  });
});

Deno.test("OAuth: .top pending until .use, -S/-A merged and compared exactly, deletes", async () => {
  await withSpool(async (spool) => {
    assert.equal(status((await run(spool, oauth("query", { service: null }))).reply), "not-found");
    const top = await run(spool, oauth("add", { scopes: "a b", audience: "aud" }, '{"k":1}'));
    assert.equal(status(top.reply), "pending");
    assert.equal(
      await readText(`${spool.oauth}/root/s.top`),
      `{\n  "k": 1,\n  "scopes": "a b",\n  "audience": "aud"\n}\n`,
    );
    assert.equal(await modeOf(`${spool.oauth}/root/s.top`), 0o600);
    // The packaged layout: <oauth> root:condor 2770, each user's directory condor 0700 with the
    // setgid group inherited.
    assert.equal(await modeOf(`${spool.oauth}/root`), 0o2700);
    assert.equal(await modeOf(spool.oauth), 0o2770);
    const userDir = await Deno.stat(`${spool.oauth}/root`);
    assert.deepEqual([userDir.uid, userDir.gid], [CONDOR.uid, CONDOR.gid]);
    const oauthDir = await Deno.stat(spool.oauth);
    assert.deepEqual([oauthDir.uid, oauthDir.gid], [0, CONDOR.gid]);
    const match = await run(spool, oauth("query", { scopes: "a b", audience: "aud" }));
    assert.equal(status(match.reply), "pending");
    for (const fields of [{ scopes: "a" }, { scopes: "a b" }, { audience: "aud" }, {}]) {
      const r = await run(spool, oauth("query", fields));
      assert.equal(status(r.reply), "mismatch", JSON.stringify(fields));
    }
    assert.equal(
      (await run(spool, oauth("query", { scopes: "x", audience: "aud" }))).reply.ok,
      false,
    );
    const use = await run(spool, oauth("add", { accessToken: true }, jwt({ exp: 2000000000 })));
    assert.equal(status(use.reply), "success");
    assert.equal(use.reply.ok && use.reply.outcome.expires, 2000000000);
    const valid = await run(spool, oauth("query", { scopes: "a b", audience: "aud" }));
    assert.equal(status(valid.reply), "success");
    assert.equal(valid.reply.ok && valid.reply.outcome.expires, 2000000000);
    // A .top added while a .use exists answers with the .use's time, no signal.
    const again = await run(spool, oauth("add", {}, "seed"));
    assert.equal(status(again.reply), "success");
    assert.deepEqual(again.reply.warnings, []);
    // Handles.
    await run(spool, oauth("add", { handle: "h", accessToken: true }, "tok"));
    assert.equal(await readText(`${spool.oauth}/root/s_h.use`), "tok");
    const all = await run(spool, oauth("query", { service: null }));
    assert.equal(status(all.reply), "success");
    assert.deepEqual(
      Object.keys((all.reply.ok && all.reply.outcome.ad) || {}).sort(),
      ["fully_qualified_user", "s.top", "s.use", "s_h.use"],
    );
    // Without -s: pending while any .top lacks its .use.
    await run(spool, oauth("add", { service: "t" }, "seed"));
    assert.equal(status((await run(spool, oauth("query", { service: null }))).reply), "pending");
    assert.equal(status((await run(spool, oauth("delete", { service: "s" }))).reply), "success");
    assert.deepEqual(await listTree(`${spool.oauth}/root`), ["s_h.use", "t.top"]);
    assert.equal(status((await run(spool, oauth("delete", { service: null }))).reply), "success");
    assert.equal(await exists(`${spool.oauth}/root`), false);
    assert.equal(status((await run(spool, oauth("delete", { service: null }))).reply), "success");
  });
});

Deno.test("OAuth: JSON rules, --min-ttl, stored scopes that are not strings, TRUSTED_VAULT_HOSTS", async () => {
  await withSpool(async (spool) => {
    const notObject = await run(spool, oauth("add", { scopes: "a" }, "[1]"));
    assert.equal(status(notObject.reply), "json-parse");
    assert.equal(
      !notObject.reply.ok && notObject.reply.error.message,
      "-S and -A need the credential to be a JSON object; store it without them, or with -P",
    );
    assert.equal(await exists(`${spool.oauth}/root/s.top`), false);
    // Keys matching case-insensitively are replaced.
    await run(spool, oauth("add", { scopes: "new" }, '{"Scopes":"old","SCOPES":"x","a":1}'));
    assert.equal(
      await readText(`${spool.oauth}/root/s.top`),
      `{\n  "a": 1,\n  "scopes": "new"\n}\n`,
    );
    await Deno.writeTextFile(`${spool.oauth}/root/s.top`, '{"scopes":["a"]}', { mode: 0o600 });
    const r = await run(spool, oauth("query", { scopes: "a" }));
    assert.equal(status(r.reply), "json-parse");
    assert.match(
      !r.reply.ok ? r.reply.error.message : "",
      /the scopes in ".*s\.top" is a JSON array, not a string/,
    );
    await Deno.writeTextFile(`${spool.oauth}/root/s.top`, "not json", { mode: 0o600 });
    assert.equal(status((await run(spool, oauth("query"))).reply), "pending");
    assert.equal(status((await run(spool, oauth("query", { scopes: "a" }))).reply), "mismatch");
    const now = Math.floor(Date.now() / 1000);
    const ttl = (minTtl: number) => run(spool, oauth("query", { minTtl }));
    assert.equal(status((await ttl(60)).reply), "expiring");
    await run(spool, oauth("add", { accessToken: true }, jwt({ exp: now + 3600 })));
    assert.equal(status((await ttl(60)).reply), "success");
    assert.equal(status((await ttl(3500)).reply), "success");
    const short = await ttl(3700);
    assert.equal(status(short.reply), "expiring");
    assert.match(
      !short.reply.ok ? short.reply.error.message : "",
      /expires in (3599|3600) seconds \(.* UTC\), less than --min-ttl 3700$/,
    );
    await run(spool, oauth("add", { accessToken: true }, jwt({ exp: now - 100 })));
    assert.match(
      (await ttl(0)).reply.ok ? "" : ((await ttl(0)).reply as { error: StoreError }).error.message,
      /expired (100|101) seconds ago/,
    );
    // The token's last second is "expires in 0 seconds"; "expired" is a second or more after it.
    await run(spool, oauth("add", { accessToken: true }, jwt({ exp: now + 50 })));
    const realNow = Date.now;
    try {
      for (const [at, shown] of [[999, /expires in 0 seconds/], [1000, /expired 1 seconds ago/]]) {
        Date.now = () => (now + 50) * 1000 + (at as number);
        const last = await ttl(1);
        assert.match(!last.reply.ok ? last.reply.error.message : "", shown as RegExp);
      }
    } finally {
      Date.now = realNow;
    }
    await run(spool, oauth("add", { accessToken: true }, "opaque"));
    const opaque = await ttl(1);
    assert.match(
      !opaque.reply.ok ? opaque.reply.error.message : "",
      /is not a JWT with an "exp" claim/,
    );
    // Vault hosts: whole names, case-insensitive; no list means no check.
    const vault = (host: string, env: Record<string, string>) =>
      run(spool, oauth("add", { service: "v" }, `{"vault_url":"https://${host}/x"}`), { env });
    const trusted = { _CONDOR_TRUSTED_VAULT_HOSTS: "Vault.Example.org,b.example" };
    assert.equal(status((await vault("vault.example.org", trusted)).reply), "pending");
    assert.equal(status((await vault("b.example:8200", trusted)).reply), "pending");
    for (
      const host of ["evilvault.example.org", "vault.example.org.x", "example.org", "c.example"]
    ) {
      const refused = await vault(host, trusted);
      assert.equal(status(refused.reply), "untrusted-host", host);
    }
    assert.equal(status((await vault("anything.example", {})).reply), "pending");
    assert.equal(
      status(
        (await run(spool, oauth("add", { service: "v" }, '{"vault_url":"::"}'), { env: trusted }))
          .reply,
      ),
      "untrusted-host",
    );
  });
});

Deno.test("passwords: the pool file's bytes, sealed user passwords, query and delete", async () => {
  await withSpool(async (spool) => {
    assert.equal(status((await run(spool, pool("query"))).reply), "not-found");
    assert.equal(status((await run(spool, pool("delete"))).reply), "not-found");
    assert.equal(status((await run(spool, pool("add", "foobar2"))).reply), "success");
    assert.deepEqual([...(await readBytes(spool.pool))!], [
      0xb8,
      0xc2,
      0xd1,
      0x8d,
      0xbf,
      0xdf,
      0x8c,
    ]);
    assert.equal(await modeOf(spool.pool), 0o600);
    assert.equal(status((await run(spool, pool("query"))).reply), "success");
    // An old file padded with NULs reads the same; one holding only NULs holds nothing.
    const padded = new Uint8Array(256);
    padded.set(scramblePoolPassword(bytes("x")));
    await Deno.writeFile(spool.pool, padded, { mode: 0o600 });
    assert.equal(status((await run(spool, pool("query"))).reply), "success");
    await Deno.writeFile(spool.pool, new Uint8Array(4), { mode: 0o600 });
    assert.equal(status((await run(spool, pool("query"))).reply), "not-found");
    assert.equal(status((await run(spool, pool("add", "\0abc"))).reply), "empty");
    assert.equal(status((await run(spool, pool("delete"))).reply), "success");
    assert.equal(await exists(spool.pool), false);
    assert.equal(status((await run(spool, pool("delete"))).reply), "not-found");
    // Limits: 255 bytes, and not empty.
    assert.equal(status((await run(spool, pool("add", "p".repeat(255)))).reply), "success");
    assert.equal(status((await run(spool, pool("add", "p".repeat(256)))).reply), "too-large");
    assert.equal(status((await run(spool, pool("add", ""))).reply), "empty");
    assert.equal(status((await run(spool, krb("add", ""))).reply), "empty");
    // Sealed user passwords.
    const account = "root@test.example";
    assert.equal(status((await run(spool, pwd("query"))).reply), "not-found");
    const added = await run(spool, pwd("add", "hunter2"));
    assert.equal(status(added.reply), "success");
    assert.equal(added.reply.ok && added.reply.outcome.changed, true);
    assert.equal(await modeOf(`${spool.pwd}/host.key`), 0o400);
    assert.equal((await Deno.stat(`${spool.pwd}/host.key`)).size, 32);
    assert.equal(await modeOf(`${spool.pwd}/${account}.pwd`), 0o600);
    const sealed = (await readBytes(`${spool.pwd}/${account}.pwd`))!;
    assert.equal(new TextDecoder().decode(sealed).includes("hunter2"), false);
    const same = await run(spool, pwd("add", "hunter2"));
    assert.equal(same.reply.ok && same.reply.outcome.changed, false);
    const other = await run(spool, pwd("add", "hunter3"));
    assert.equal(other.reply.ok && other.reply.outcome.changed, true);
    assert.equal(status((await run(spool, pwd("query"))).reply), "success");
    // Copied to another account's name, it does not open.
    await Deno.copyFile(`${spool.pwd}/${account}.pwd`, `${spool.pwd}/bob@test.example.pwd`);
    assert.equal(
      status((await run(spool, pwd("query", "", "bob@test.example"))).reply),
      "bad-password",
    );
    // A damaged host key is refused, named.
    await Deno.chmod(`${spool.pwd}/host.key`, 0o600);
    await Deno.writeFile(`${spool.pwd}/host.key`, new Uint8Array(31));
    const damaged = await run(spool, pwd("query"));
    assert.equal(status(damaged.reply), "insecure");
    assert.match(
      !damaged.reply.ok ? damaged.reply.error.message : "",
      /the host key ".*host\.key" is damaged/,
    );
    await Deno.remove(`${spool.pwd}/host.key`);
    assert.equal(status((await run(spool, pwd("query"))).reply), "bad-password");
    assert.equal(status((await run(spool, pwd("delete"))).reply), "success");
    assert.equal(status((await run(spool, pwd("delete"))).reply), "not-found");
  });
});

Deno.test("authorization: own credentials, CRED_SUPER_USERS, domains, the pool password", async () => {
  await withSpool(async (spool) => {
    const asAlice = (request: CredRequest, env: Record<string, string> = {}) =>
      run(spool, request, { caller: ALICE, env });
    const mine = { ...krb("add", "T"), user: "alice@test.example" } as CredRequest;
    assert.equal(status((await asAlice(mine)).reply), "pending");
    assert.equal(
      status((await asAlice(krb("add", "T"))).reply),
      "pending",
      "null user: the caller",
    );
    const bobs = { ...krb("add", "T"), user: "bob@test.example" } as CredRequest;
    const refused = await asAlice(bobs);
    assert.equal(status(refused.reply), "not-allowed");
    assert.equal(
      !refused.reply.ok && refused.reply.error.message,
      `alice@test.example may not act on the credentials of "bob@test.example"; only root and ` +
        "CRED_SUPER_USERS may act for other users",
    );
    assert.equal(await exists(`${spool.krb}/bob.cred`), false);
    for (const supers of ["alice", "alice@test.example", "x, alice", "x alice"]) {
      const r = await asAlice({ ...krb("add", "T"), user: "bob@test.example" } as CredRequest, {
        _CONDOR_CRED_SUPER_USERS: supers,
      });
      assert.equal(status(r.reply), "pending", supers);
    }
    for (const supers of ["alicex", "alice@other.example", "", "ali"]) {
      const r = await asAlice({ ...krb("add", "T"), user: "bob@test.example" } as CredRequest, {
        _CONDOR_CRED_SUPER_USERS: supers,
      });
      assert.equal(status(r.reply), "not-allowed", supers);
    }
    // A bare super-user name stands for that user of this domain only.
    const foreign: Caller = { ...ALICE, domain: "other.example" };
    const f = await run(spool, { ...pwd("query"), user: "bob@other.example" } as CredRequest, {
      caller: foreign,
      env: { _CONDOR_CRED_SUPER_USERS: "alice" },
    });
    assert.equal(status(f.reply), "not-allowed");
    const remote: Caller = { ...ALICE, uid: null };
    const p = await run(spool, pool("add", "pw"), { caller: remote });
    assert.equal(
      !p.reply.ok && p.reply.error.message,
      "alice@test.example may not manage the pool password; only CRED_SUPER_USERS may (a remote " +
        "caller is never root)",
    );
    const local = await asAlice(pool("add", "pw"));
    assert.equal(
      !local.reply.ok && local.reply.error.message,
      "alice@test.example may not manage the pool password; only root and CRED_SUPER_USERS may",
    );
    assert.equal(
      status((await asAlice(pool("add", "pw"), { _CONDOR_CRED_SUPER_USERS: "alice" })).reply),
      "success",
    );
    const rootCaller: Caller = { ...ROOT, inProcess: false };
    assert.equal(
      status((await run(spool, pool("query"), { caller: rootCaller })).reply),
      "success",
    );
    // Kerberos and OAuth of another domain: refused for every daemon caller, root too.
    for (const who of [ALICE, rootCaller]) {
      const r = await run(spool, { ...krb("query"), user: "alice@other.example" } as CredRequest, {
        caller: who,
      });
      assert.equal(
        !r.reply.ok && r.reply.error.message,
        `"alice@other.example" is not a user of this pool's domain "test.example": Kerberos and ` +
          "OAuth credentials are stored by user name alone, so only its users' can be",
      );
    }
    // Passwords are kept per account: another domain's is fine for root.
    assert.equal(
      status(
        (await run(spool, { ...pwd("query"), user: "bob@other.example" } as CredRequest, {
          caller: rootCaller,
        })).reply,
      ),
      "not-found",
    );
    // In-process callers are never refused by authorization.
    assert.equal(
      status(
        (await run(spool, { ...krb("query"), user: "carol@other.example" } as CredRequest)).reply,
      ),
      "not-found",
    );
  });
});

Deno.test("checkRequest() resolves the account and refuses what the files could not hold", async () => {
  await withSpool((spool) => {
    const cfg = storeConfig(spool);
    assert.deepEqual(checkRequest(cfg, ALICE, krb("query")), {
      account: "alice@test.example",
      user: "alice",
      domain: "test.example",
      pool: false,
    });
    assert.deepEqual(checkRequest(cfg, ALICE, pool("query")), {
      account: "condor_pool@test.example",
      user: "condor_pool",
      domain: "test.example",
      pool: true,
    });
    const code = (request: CredRequest) => {
      try {
        checkRequest(cfg, ALICE, request);
        return "ok";
      } catch (e) {
        return (e as StoreError).code + ": " + (e as StoreError).message;
      }
    };
    assert.match(
      code({ ...krb("query"), user: "condor_pool@test.example" } as CredRequest),
      /^bad-args: the pool account \(condor_pool\) only has a password/,
    );
    assert.match(
      code({ ...pwd("query"), user: "bad name@d" } as CredRequest),
      /^bad-args: the user name "bad name"/,
    );
    assert.match(
      code({ ...pwd("query"), user: "u@bad/domain" } as CredRequest),
      /^bad-args: the domain name/,
    );
    assert.equal(code({ ...krb("query"), user: "u@bad/domain" } as CredRequest), "ok");
    // Lengths: <user>.cred for Kerberos, <account>.pwd for passwords, <service>.top for OAuth.
    assert.equal(code({ ...krb("query"), user: `${"u".repeat(228)}@d` } as CredRequest), "ok");
    assert.match(
      code({ ...krb("query"), user: `${"u".repeat(229)}@d` } as CredRequest),
      /is 229 bytes long; at most 228/,
    );
    assert.equal(code({ ...pwd("query"), user: `${"u".repeat(227)}@d` } as CredRequest), "ok");
    assert.match(
      code({ ...pwd("query"), user: `${"u".repeat(228)}@d` } as CredRequest),
      /at most 229 bytes/,
    );
    assert.equal(code(oauth("query", { service: "s".repeat(229) })), "ok");
    assert.match(
      code(oauth("query", { service: "s".repeat(230) })),
      /the service name .* at most 229/,
    );
    assert.match(
      code(oauth("query", { service: "s".repeat(200), handle: "h".repeat(29) })),
      /the service name .* is 230 bytes long/,
    );
    assert.match(code(oauth("query", { handle: "a/b" })), /the handle name "a\/b"/);
    assert.equal(
      code(oauth("query", { service: null, handle: "a/b" })),
      "ok",
      "a handle without a service is ignored",
    );
    return Promise.resolve();
  });
});

Deno.test("the audit log: one JSON line per add and delete, never for a query, refusals included", async () => {
  await withSpool(async (spool) => {
    const log = `${spool.root}/audit.log`;
    const env = { _CONDOR_CRED_AUDIT_LOG: log };
    await run(spool, krb("add", "SECRET"), { env });
    await run(spool, krb("query"), { env });
    await run(spool, { ...krb("add", "x"), user: "bad name" } as CredRequest, { env });
    await run(spool, oauth("delete", { handle: "h" }), { env });
    const lines = (await readText(log))!.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.equal((await readText(log))!.includes("SECRET"), false);
    assert.deepEqual(lines.map((l) => [l.action, l.type, l.user, l.result, l.by, l.uid, l.pool]), [
      ["add", "kerberos", "root@test.example", "pending", "root@test.example", 0, false],
      ["add", "kerberos", "bad name", "bad-args", "root@test.example", 0, false],
      ["delete", "oauth", "root@test.example", "success", "root@test.example", 0, false],
    ]);
    assert.deepEqual([lines[2].service, lines[2].handle], ["s", "h"]);
    assert.equal(lines[0].pid, Deno.pid);
    assert.ok(Math.abs(Date.parse(lines[0].time) - Date.now()) < 3_600_000);
    assert.equal(await modeOf(log), 0o600);
    const relative = await run(spool, krb("add", "x"), {
      env: { _CONDOR_CRED_AUDIT_LOG: "audit.log" },
    });
    assert.deepEqual(
      relative.reply.warnings.at(-1),
      `the audit log was not written: CRED_AUDIT_LOG "audit.log" is not an absolute path; the add itself is done and pending`,
    );
    const missing = await run(spool, krb("delete"), {
      env: { _CONDOR_CRED_AUDIT_LOG: `${spool.root}/none/a.log` },
    });
    assert.deepEqual(missing.reply.warnings, [
      `the audit log was not written: the directory of the audit log "${spool.root}/none/a.log" does not exist; the delete itself succeeded`,
    ]);
    const failedDelete = await run(spool, { ...pwd("delete"), user: "x@y" } as CredRequest, {
      env: { _CONDOR_CRED_AUDIT_LOG: `${spool.root}/none/a.log` },
    });
    assert.match(failedDelete.reply.warnings[0], /; the delete itself failed \(not-found\)$/);
    // appendAudit() without the knob writes nothing.
    const ctx = createStoreContext(storeConfig(spool), { euid: 0 });
    appendAudit(ctx, ROOT, {
      action: "add",
      type: "kerberos",
      user: "u",
      pool: false,
      service: null,
      handle: null,
      result: "success",
    });
  });
});

Deno.test("performList() lists the caller's own, or everyone's for root and super users", async () => {
  await withSpool(async (spool) => {
    await run(spool, krb("add", "T"));
    await run(spool, { ...krb("add", "T"), user: "alice@test.example" } as CredRequest);
    const list = (who: Caller, user: string | null, env: Record<string, string> = {}) =>
      performList(createStoreContext(storeConfig(spool, env), { euid: 0 }), who, {
        action: "list",
        type: "kerberos",
        user,
      });
    const everyone = list(ROOT, null);
    assert.equal(everyone.ok, true);
    assert.equal(everyone.user, null);
    assert.equal(everyone.ok && everyone.rows.length, 2);
    const own = list(ALICE, null);
    assert.equal(own.user, "alice@test.example");
    assert.equal(own.ok && own.rows.length, 1);
    const other = list(ALICE, "root@test.example");
    assert.equal(other.ok ? "ok" : other.error.code, "not-allowed");
    const asSuper = list(ALICE, null, { _CONDOR_CRED_SUPER_USERS: "alice" });
    assert.equal(asSuper.ok && asSuper.rows.length, 2);
    const bad = list(ROOT, "bad name@test.example");
    assert.equal(bad.ok ? "ok" : bad.error.code, "bad-args");
    // OAuth: one row per service of each user directory; what is not a user's is not listed.
    await run(spool, oauth("add", { accessToken: true }, "tok"));
    for (const dir of [".hidden", "bob.mark", "bad name"]) {
      await Deno.mkdir(`${spool.oauth}/${dir}`);
      await Deno.writeTextFile(`${spool.oauth}/${dir}/s.top`, "{}", { mode: 0o600 });
    }
    await Deno.writeTextFile(`${spool.oauth}/carol.top`, "{}", { mode: 0o600 });
    await Deno.writeTextFile(`${spool.oauth}/.locks/s.top`, "{}", { mode: 0o600 });
    const all = performList(createStoreContext(storeConfig(spool), { euid: 0 }), ROOT, {
      action: "list",
      type: "oauth",
      user: null,
    });
    assert.deepEqual(all.ok && all.rows.map((r) => [r.user, r.name]), [["root", "s"]]);
  });
});

Deno.test("every add zeroes the credential it was handed, stored or refused", async () => {
  await withSpool(async (spool) => {
    const ctx = () => createStoreContext(storeConfig(spool), { euid: 0 });
    const selector = { service: "s", handle: null, scopes: null, audience: null };
    const adds: [string, (b: Uint8Array) => Promise<unknown>][] = [
      ["pool", (b) => addPoolPassword(ctx(), b)],
      ["user password", (b) => addUserPassword(ctx(), "root@test.example", b)],
      ["kerberos", (b) => addKerberos(ctx(), "root", b)],
      ["oauth .top", (b) => addOAuth(ctx(), "root", { ...selector, accessToken: false }, b)],
      ["oauth .use", (b) => addOAuth(ctx(), "root", { ...selector, accessToken: true }, b)],
      [
        "oauth -S",
        (b) => addOAuth(ctx(), "root", { ...selector, scopes: "x", accessToken: false }, b),
      ],
    ];
    for (const [what, add] of adds) {
      const credential = bytes('{"secret":"value"}');
      await add(credential);
      assert.deepEqual([...credential], new Array(credential.length).fill(0), what);
    }
    // Refused (an insecure directory): the service zeroes it all the same.
    await Deno.chmod(spool.krb, 0o777);
    const refused = krb("add", "secret");
    const reply = await perform(ctx(), ROOT, refused);
    assert.equal(status(reply), "insecure");
    assert.deepEqual([...(refused as { credential: Uint8Array }).credential], [0, 0, 0, 0, 0, 0]);
  });
});

Deno.test("query-oauth: refresh tokens only are pending, access tokens only valid; --min-ttl passes with exactly that much left", async () => {
  await withSpool(async (spool) => {
    // A user with refresh tokens only: pending.
    await run(spool, oauth("add", { service: "r" }, "seed"));
    assert.equal(status((await run(spool, oauth("query", { service: null }))).reply), "pending");
    await run(spool, oauth("delete", { service: "r" }));
    await run(spool, oauth("add", { accessToken: true }, "opaque-token"));
    const all = await run(spool, oauth("query", { service: null }));
    assert.equal(status(all.reply), "success");
    // The boundary: a token with exactly --min-ttl seconds left passes, one second more fails
    // (retried when a second boundary passes during the call).
    const exp = Math.floor(Date.now() / 1000) + 600;
    await run(spool, oauth("add", { accessToken: true }, jwt({ exp })));
    for (const [more, expected] of [[0, "success"], [1, "expiring"]] as const) {
      for (let attempt = 0;; attempt++) {
        const before = Math.floor(Date.now() / 1000);
        const r = await run(spool, oauth("query", { minTtl: exp - before + more }));
        if (Math.floor(Date.now() / 1000) !== before && attempt < 5) continue;
        assert.equal(status(r.reply), expected, `${more}`);
        break;
      }
    }
  });
});

Deno.test("a credmon pid file that is no pid: its first 40 characters in the -d line, nobody signalled", async () => {
  await withSpool(async (spool) => {
    await Deno.mkdir(spool.krb, { recursive: true, mode: 0o755 });
    const junk = "0123456789".repeat(5);
    await Deno.writeTextFile(`${spool.krb}/pid`, junk, { mode: 0o644 });
    const { reply, debug } = await run(spool, krb("add", "T"));
    assert.equal(status(reply), "pending");
    assert.ok(
      debug.includes(
        `ignoring the credmon pid file ${spool.krb}/pid: "${junk.slice(0, 40)}" is not a pid`,
      ),
      debug.join("\n"),
    );
    assert.deepEqual(reply.warnings, [
      `the Kerberos credmon was not signalled (${spool.krb}/pid does not hold a valid process ` +
      "id); the credential is stored and waits for processing",
    ]);
  });
});

Deno.test("the pool file is read up to 4 KiB (old padded files included), a larger one refused", async () => {
  await withSpool(async (spool) => {
    await run(spool, pool("add", "pw"));
    const file = new Uint8Array(4096).fill(0x41);
    await Deno.writeFile(spool.pool, file, { mode: 0o600 });
    assert.equal(status((await run(spool, pool("query"))).reply), "success");
    await Deno.writeFile(spool.pool, new Uint8Array(4097).fill(0x41), { mode: 0o600 });
    const big = await run(spool, pool("query"));
    assert.equal(status(big.reply), "too-large");
  });
});

Deno.test("--min-ttl names the token's expiry to the second, in UTC", async () => {
  await withSpool(async (spool) => {
    const exp = Math.floor(Date.now() / 1000) + 100;
    await run(spool, oauth("add", { accessToken: true }, jwt({ exp })));
    const r = await run(spool, oauth("query", { minTtl: 3600 }));
    const when = new Date(exp * 1000).toISOString().replace("T", " ").slice(0, 19);
    assert.match(
      !r.reply.ok ? r.reply.error.message : "",
      new RegExp(`expires in \\d+ seconds \\(${when} UTC\\), less than --min-ttl 3600$`),
    );
  });
});

Deno.test("Kerberos rows and doctor: a refused file is its user's row's problem; a .cred without a .cc for long is stuck", async () => {
  await withSpool(async (spool) => {
    for (const user of ["alice", "bob"]) {
      await run(spool, { ...krb("add", "T"), user: `${user}@test.example` } as CredRequest);
    }
    await Deno.writeTextFile(`${spool.krb}/bob.cc`, "CC", { mode: 0o600 });
    await Deno.chmod(`${spool.krb}/alice.cred`, 0o644);
    const ctx = createStoreContext(storeConfig(spool), { euid: 0 });
    const listed = performList(ctx, ROOT, { action: "list", type: "kerberos", user: null });
    assert.deepEqual(
      listed.ok && listed.rows.map((r) => [r.user, Object.keys(r.files), r.problem !== null]),
      [["alice", [], true], ["bob", [".cred", ".cc"], false]],
    );
    await Deno.chmod(`${spool.krb}/alice.cred`, 0o600);
    // Long after the adds: alice's .cred still has no .cc, bob's has one.
    const later = Math.floor(Date.now() / 1000) + PENDING_THRESHOLD + 60;
    const findings = await examineStore(createStoreContext(storeConfig(spool), { euid: 0 }), later);
    const stuck = findings.filter((f) => f.kind === "credmon-stuck").map((f) => f.path);
    assert.deepEqual(stuck, [`${spool.krb}/alice.cred`]);
  });
});

Deno.test("password rows: one user's sealed password, or every account's", async () => {
  await withSpool(async (spool) => {
    for (const user of ["alice", "bob"]) {
      await run(spool, pwd("add", "pw", `${user}@test.example`));
    }
    const list = (user: string | null) => {
      const r = performList(createStoreContext(storeConfig(spool), { euid: 0 }), ROOT, {
        action: "list",
        type: "password",
        user,
      });
      return r.ok ? r.rows.map((row) => row.user) : r.error.code;
    };
    assert.deepEqual(list("alice@test.example"), ["alice@test.example"]);
    assert.deepEqual(list(null), ["alice@test.example", "bob@test.example"]);
  });
});

Deno.test("doctor reads a credmon pid file of up to 255 bytes; a longer one is refused", async () => {
  await withSpool(async (spool) => {
    await run(spool, krb("add", "T"));
    const pidFinding = async (text: string) => {
      await Deno.writeTextFile(`${spool.krb}/pid`, text, { mode: 0o644 });
      const findings = await examineStore(createStoreContext(storeConfig(spool), { euid: 0 }), 0);
      return findings.filter((f) => f.path === `${spool.krb}/pid`).map((f) => f.kind);
    };
    // This live process's pid, padded with white space (allowed around a pid).
    const pid = String(Deno.pid);
    assert.deepEqual(await pidFinding(pid.padEnd(255, " ")), []);
    assert.deepEqual(await pidFinding(pid.padEnd(256, " ")), ["insecure"]);
  });
});

Deno.test("sweep() sweeps the one credential directory configured (Kerberos alone, OAuth alone); a user it refuses does not stop it", async () => {
  await withSpool(async (spool) => {
    const old = new Date(Date.now() - 7200 * 1000);
    assert.equal((await run(spool, krb("add", "T"))).reply.ok, true);
    await Deno.writeTextFile(`${spool.krb}/root.mark`, "", { mode: 0o600 });
    await Deno.utime(`${spool.krb}/root.mark`, old, old);
    // A user whose files the sweep refuses (a .cred owned by a stranger) is that user's problem
    // only: the sweep goes on with the others.
    await Deno.writeTextFile(`${spool.krb}/alice.mark`, "", { mode: 0o600 });
    await Deno.utime(`${spool.krb}/alice.mark`, old, old);
    await Deno.writeTextFile(`${spool.krb}/alice.cred`, "x", { mode: 0o600 });
    await Deno.chown(`${spool.krb}/alice.cred`, 4_000_009, 4_000_009);
    assert.equal(await exists(`${spool.krb}/root.cred`), true);
    const krbOnly = createStoreContext(
      storeConfig(spool, { _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: "" }),
      { euid: 0 },
    );
    assert.deepEqual(await sweep(krbOnly), { kerberos: ["root"], oauth: [] });
    assert.equal(await exists(`${spool.krb}/root.cred`), false);
    assert.equal(await exists(`${spool.krb}/root.mark`), false);
    assert.equal(await exists(`${spool.krb}/alice.mark`), true);
    assert.equal(await exists(`${spool.krb}/alice.cred`), true);

    assert.equal((await run(spool, oauth("add", {}, "token"))).reply.ok, true);
    await Deno.writeTextFile(`${spool.oauth}/root.mark`, "", { mode: 0o600 });
    await Deno.utime(`${spool.oauth}/root.mark`, old, old);
    assert.equal(await exists(`${spool.oauth}/root`), true);
    const oauthOnly = createStoreContext(
      storeConfig(spool, { _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: "" }),
      { euid: 0 },
    );
    assert.deepEqual(await sweep(oauthOnly), { kerberos: [], oauth: ["root"] });
    assert.equal(await exists(`${spool.oauth}/root`), false);
  });
});
