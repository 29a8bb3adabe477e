/**
 * The daemon's parts, in-process and fast (they guard mutations): the connection table (caps,
 * eviction, per-caller shares, the large-body budget, turns), the accept back-off, the token
 * failure limiter and the per-connection token cache, the codecs (a credential over its limit
 * never decoded, whoami), paths hidden from remote callers, log escaping, the worker pool
 * replacing workers that fail (with testing/faulty_main.ts as the workers' module), a store
 * route's refusal when the workers give no answer, listen addresses, the challenge directory's
 * rules and challenges answered with something other than a regular file.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../lib/config/mod.ts";
import { printable } from "../lib/errors.ts";
import { constantTimeEqual } from "../lib/crypto/equal.ts";
import { mintToken, signingKeyMaterial } from "../lib/auth/idtoken.ts";
import { AccountDb } from "../lib/accounts.ts";
import { ALICE, ALICE_WHOAMI, faultyPoolOptions } from "../testing/daemon.ts";
import { FailureLimiter, type Session, tokenAuthenticator, tokenKey } from "../lib/daemon/auth.ts";
import { type ConnectionLimits, ConnectionTable } from "../lib/daemon/connections.ts";
import {
  decodeRequest,
  decodeWhoami,
  encodeWhoami,
  hidePaths,
  ProtocolError,
} from "../lib/daemon/protocol.ts";
import { findRoute, requestDeadlineMs, ROUTES } from "../lib/daemon/routes.ts";
import { AcceptFailures } from "../lib/daemon/connections.ts";
import { daemonLimits } from "../lib/daemon/exchange.ts";
import { Challenges, challengeTime, checkChallengeDirectory } from "../lib/daemon/challenge.ts";
import { DEFAULT_TLS_PORT, parseAddress } from "../lib/daemon/places.ts";
import { StoreError } from "../lib/errors.ts";
import { ConnReader, HttpError } from "../lib/daemon/http.ts";
import type { ByteConn } from "../lib/daemon/stream.ts";
import {
  type Executor,
  withInlineReads,
  WorkerFailure,
  workerPool,
} from "../lib/daemon/workers.ts";
import type { Caller, CredRequest } from "../lib/request.ts";
import type { Owners } from "../lib/fs/owners.ts";

const LIMITS: ConnectionLimits = {
  maxConnections: 6,
  maxUnproven: 4,
  maxCallerConnections: 3,
  maxCallerRequests: 2,
  smallBody: 100,
  bodyBudget: 1000,
  callerBodyBudget: 400,
  unprovenBodyBudget: 300,
};

/** A table whose connections record when they are closed. */
function table(limits: Partial<ConnectionLimits> = {}) {
  const closed: number[] = [];
  const t = new ConnectionTable({ ...LIMITS, ...limits });
  let clock = 1000;
  const open = () => {
    let id = 0;
    const got = t.open(() => closed.push(id), clock++);
    id = got ?? -1;
    return got;
  };
  return { t, closed, open };
}

Deno.test("ConnectionTable counts every connection until its descriptor is gone: at the cap nothing is accepted, and an idle one is closed to make room", async () => {
  const { t, closed, open } = table({ maxUnproven: 10 });
  const ids = Array.from({ length: 6 }, () => open()!);
  assert.equal(t.size, 6);
  assert.equal(open(), null, "accepted past the cap: refused");
  assert.equal(t.refused, 1);
  for (const id of ids) t.setBusy(id, true);
  let roomy = false;
  const room = t.room().then(() => roomy = true);
  await Promise.resolve();
  assert.deepEqual(closed, [], "all busy: nothing is closed, the accept waits");
  t.setBusy(ids[2], false);
  t.remove(ids[5]);
  await room;
  assert.ok(roomy, "a connection gone: room");
  t.setBusy(ids[5], false);
  open();
  const second = t.room();
  await Promise.resolve();
  assert.deepEqual(closed, [ids[2]], "the idle one is closed to make room");
  assert.equal(t.entry(ids[2])?.closing, true);
  assert.equal(t.size, 6, "closing, it still counts");
  const third = t.room();
  await Promise.resolve();
  assert.deepEqual(closed, [ids[2]], "no second one is closed while the first is on its way out");
  t.remove(ids[2]);
  await Promise.all([second, third]);
  assert.equal(t.size, 5);
  t.remove(ids[2]);
  assert.equal(t.size, 5, "remove is idempotent");
});

Deno.test("ConnectionTable makes room from the caller holding the most, its oldest idle connection first", async () => {
  const { t, closed, open } = table({
    maxConnections: 7,
    maxCallerConnections: 10,
    maxUnproven: 10,
  });
  const a = [open()!, open()!, open()!];
  const b = [open()!, open()!];
  const c = [open()!];
  for (const id of a) assert.equal(t.claim(id, { account: "a@x", exempt: false }), "ok");
  for (const id of b) assert.equal(t.claim(id, { account: "b@x", exempt: false }), "ok");
  assert.equal(t.claim(c[0], { account: "c@x", exempt: false }), "ok");
  const u = open()!; // unproven: 1
  assert.equal(t.size, 7);
  t.setBusy(a[0], true);
  const room = t.room();
  await Promise.resolve();
  assert.deepEqual(closed, [a[1]], "a holds the most: its oldest idle one goes (a[0] is busy)");
  t.remove(a[1]);
  await room;
  assert.equal(t.count("a@x"), 2);
  assert.ok(open() !== null);
  const again = t.room();
  await Promise.resolve();
  // a, b and the unproven hold 2 each now: the oldest idle one of one of them goes, not c's.
  assert.equal(closed.length, 2);
  assert.ok([a[2], b[0], u].includes(closed[1]), String(closed));
  assert.ok(t.entry(c[0]) !== null);
  assert.equal(t.size, 7);
  t.remove(closed[1]);
  await again;
});

Deno.test("ConnectionTable bounds unproven connections apart: the oldest unproven goes, never a proven one", () => {
  const { t, closed, open } = table({ maxConnections: 100, maxUnproven: 3 });
  const proven = open()!;
  t.claim(proven, { account: "a@x", exempt: false });
  const u = [open()!, open()!, open()!];
  open();
  assert.deepEqual(closed, [u[0]]);
  t.setBusy(u[1], true);
  open();
  assert.deepEqual(closed, [u[0], u[2]], "the busy one is skipped");
  assert.ok(t.entry(proven) !== null);
  assert.deepEqual(t.evicted, { connections: 0, unproven: 2, caller: 0 });
});

Deno.test("ConnectionTable refuses a proof for a connection it no longer holds", () => {
  const { t, open } = table();
  const id = open()!;
  t.remove(id);
  assert.equal(t.claim(id, { account: "a@x", exempt: false }), "refused");
  assert.equal(t.claim(12345, { account: "a@x", exempt: false }), "refused");
  assert.equal(t.size, 0);
});

Deno.test("ConnectionTable: a connection proving its own caller again (each TLS request) closes nothing, even at the caller's cap", () => {
  const { t, closed, open } = table({ maxConnections: 100, maxUnproven: 100 });
  const ids = Array.from({ length: 3 }, () => open()!);
  for (const id of ids) assert.equal(t.claim(id, { account: "a@x", exempt: false }), "ok");
  assert.equal(t.claim(ids[2], { account: "a@x", exempt: false }), "ok");
  t.setBusy(ids[0], true);
  t.setBusy(ids[1], true);
  assert.equal(t.claim(ids[2], { account: "a@x", exempt: false }), "ok");
  assert.deepEqual(closed, []);
  assert.equal(t.count("a@x"), 3);
  assert.deepEqual(t.evicted, { connections: 0, unproven: 0, caller: 0 });
});

Deno.test("ConnectionTable holds a caller to its connections: its own oldest idle one goes, or the proof is refused; root is not held", () => {
  const { t, closed, open } = table({ maxConnections: 100, maxUnproven: 100 });
  const ids = Array.from({ length: 4 }, () => open()!);
  for (const id of ids.slice(0, 3)) {
    assert.equal(t.claim(id, { account: "a@x", exempt: false }), "ok");
  }
  assert.equal(t.claim(ids[3], { account: "a@x", exempt: false }), "ok");
  assert.deepEqual(closed, [ids[0]]);
  assert.equal(t.count("a@x"), 3);
  for (const id of ids.slice(1)) t.setBusy(id, true);
  const more = open()!;
  assert.equal(t.claim(more, { account: "a@x", exempt: false }), "refused");
  assert.equal(t.entry(more)?.owner, null, "left unproven");
  const roots = Array.from({ length: 5 }, () => open()!);
  for (const id of roots) assert.equal(t.claim(id, { account: "root@x", exempt: true }), "ok");
  assert.equal(t.count("root@x"), 5);
  t.disown(roots[0]);
  assert.equal(t.count("root@x"), 4);
  assert.equal(t.entry(roots[0])?.owner, null);
});

Deno.test("ConnectionTable counts only large bodies against the budgets: per caller, unproven, in all", () => {
  const { t, open } = table({ maxConnections: 100, maxUnproven: 100, maxCallerConnections: 100 });
  // Small bodies never count, however many (the connection caps bound them).
  const small = Array.from({ length: 50 }, () => open()!);
  for (const id of small) assert.equal(t.reserveBody(id, 100), "ok");
  assert.equal(t.bodyBytes, 0);
  // Unproven: 300 together.
  const u = [open()!, open()!];
  assert.equal(t.reserveBody(u[0], 200), "ok");
  assert.equal(t.reserveBody(u[1], 200), "share");
  assert.equal(t.bodyBytes, 200);
  // A proven caller: 400; another caller is not held up by the first.
  const a = [open()!, open()!, open()!];
  for (const id of a) t.claim(id, { account: "a@x", exempt: false });
  assert.equal(t.reserveBody(a[0], 300), "ok");
  assert.equal(t.reserveBody(a[1], 200), "share");
  const b = open()!;
  t.claim(b, { account: "b@x", exempt: false });
  assert.equal(t.reserveBody(b, 400), "ok");
  // In all: 1000; 900 are held (200 + 300 + 400).
  const c = open()!;
  t.claim(c, { account: "c@x", exempt: false });
  assert.equal(t.reserveBody(c, 101), "all");
  assert.equal(t.reserveBody(c, 100), "ok", "a small one still is read");
  // Released when read and handled, and when the connection goes.
  t.releaseBody(a[0]);
  t.remove(b);
  assert.equal(t.bodyBytes, 200);
  assert.equal(t.reserveBody(a[1], 400), "ok");
  // A body held when the connection proves its caller counts for that caller from then on.
  t.remove(u[0]);
  const e = open()!;
  assert.equal(t.reserveBody(e, 250), "ok");
  t.claim(e, { account: "e@x", exempt: false });
  assert.equal(t.reserveBody(open()!, 250), "ok", "the unproven share got it back");
  assert.equal(t.bodyBytes, 900);
});

Deno.test("ConnectionTable gives each caller its turns: at most maxCallerRequests at once, in order; root has no such cap", async () => {
  const { t } = table();
  const first = t.turn({ account: "a@x", exempt: false }) as () => void;
  const second = t.turn({ account: "a@x", exempt: false }) as () => void;
  assert.equal(typeof first, "function");
  assert.equal(typeof second, "function");
  const order: string[] = [];
  const third = (t.turn({ account: "a@x", exempt: false }) as Promise<() => void>).then((end) => {
    order.push("third");
    return end;
  });
  const fourth = (t.turn({ account: "a@x", exempt: false }) as Promise<() => void>).then((end) => {
    order.push("fourth");
    return end;
  });
  assert.deepEqual(t.requests("a@x"), { running: 2, waiting: 2 });
  // Another caller is not held up.
  assert.equal(typeof t.turn({ account: "b@x", exempt: false }), "function");
  for (let i = 0; i < 10; i++) {
    assert.equal(typeof t.turn({ account: "root@x", exempt: true }), "function");
  }
  first();
  first();
  (await third)();
  second();
  (await fourth)();
  assert.deepEqual(order, ["third", "fourth"]);
  assert.deepEqual(t.requests("a@x"), { running: 0, waiting: 0 });
});

Deno.test("AcceptFailures backs off and logs at most once a second, with the count", () => {
  const lines: string[] = [];
  const failures = new AcceptFailures((l) => lines.push(l), "the socket");
  const emfile = Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
  const delays: number[] = [];
  for (let ms = 0; ms < 2500; ms += 10) delays.push(failures.failed(emfile, 10_000 + ms));
  assert.deepEqual(lines, [
    "accept on the socket failed 1 time(s) since the last report: EMFILE: Too many open files; backing off",
    "accept on the socket failed 100 time(s) since the last report: EMFILE: Too many open files; backing off",
    "accept on the socket failed 100 time(s) since the last report: EMFILE: Too many open files; backing off",
  ]);
  assert.deepEqual(delays.slice(0, 8), [10, 20, 40, 80, 160, 320, 640, 1000]);
  assert.equal(failures.logged, 3);
  failures.succeeded();
  assert.equal(failures.failed(emfile, 20_000), 10);
});

Deno.test("FailureLimiter: a token is limited by its own failures only; in all, only tokens not verified lately are", () => {
  const limiter = new FailureLimiter({ perToken: 3, total: 5, windowMs: 60_000, maxKeys: 100 });
  const now = 1_000_000;
  limiter.verified("good", now);
  for (let i = 0; i < 3; i++) limiter.failed("bad", now);
  assert.equal(limiter.check("bad", now), "token");
  assert.equal(limiter.check("good", now), "ok", "another token's failures do not count");
  assert.equal(limiter.check("new", now), "ok");
  limiter.failed("x", now);
  limiter.failed("y", now);
  assert.equal(limiter.check("new", now), "total", "5 failures in the window: new tokens wait");
  assert.equal(limiter.check("good", now), "ok", "a token verified in the window still is");
  assert.equal(limiter.check("new", now + 60_000), "ok", "the window passed");
  assert.equal(limiter.check("bad", now + 60_000), "ok");
  const off = new FailureLimiter({ perToken: 0, total: 0, windowMs: 60_000, maxKeys: 10 });
  for (let i = 0; i < 50; i++) off.failed("bad", now);
  assert.equal(off.check("bad", now), "ok");
});

Deno.test("tokenKey is the token's signed part: a wrong signature on the same claims shares it", async () => {
  assert.equal(await tokenKey("h.p.sig"), await tokenKey("h.p.other"));
  assert.notEqual(await tokenKey("h.p.sig"), await tokenKey("h.q.sig"));
  assert.match(await tokenKey("garbage"), /^[0-9a-f]{64}$/);
});

Deno.test("a TLS connection keeps its verified token: the next request with it is not verified again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/keys`, { mode: 0o700 });
    await Deno.writeFile(`${dir}/keys/k1`, new TextEncoder().encode("key-one"), { mode: 0o600 });
    const config = loadConfig({
      env: {
        CONDOR_CONFIG: "ONLY_ENV",
        _CONDOR_SEC_PASSWORD_DIRECTORY: `${dir}/keys`,
        _CONDOR_TRUST_DOMAIN: "x.example",
      },
      uid: Deno.uid()!,
      hostname: "h",
    });
    const owners: Owners = { self: Deno.uid()!, condor: null, accounts: new AccountDb() };
    const auth = tokenAuthenticator(config, {
      owners: () => owners,
      limiter: new FailureLimiter({ perToken: 10, total: 600, windowMs: 60_000, maxKeys: 100 }),
    });
    const ikm = signingKeyMaterial(new TextEncoder().encode("key-one"), { pool: false });
    const token = await mintToken(ikm, {
      kid: "k1",
      issuer: "x.example",
      subject: "alice@x.example",
      issuedAt: Math.floor(Date.now() / 1000),
      lifetime: 600,
    });
    const headers = new Map([["authorization", `Bearer ${token}`]]);
    const session: Session = { peer: "p", challenges: new Set(), token: null };
    const first = await auth.fromHead(headers, session);
    assert.equal(first?.account, "alice@x.example");
    assert.equal(typeof first?.expires, "number");
    // The key is gone: a new connection is refused, this one keeps what it proved.
    await Deno.remove(`${dir}/keys/k1`);
    assert.equal((await auth.fromHead(headers, session))?.account, "alice@x.example");
    const fresh: Session = { peer: "p", challenges: new Set(), token: null };
    const refused = await auth.fromHead(headers, fresh).catch((e) => e);
    assert.ok(refused instanceof ProtocolError);
    // The peer learns nothing of the key's file; the log does.
    assert.equal(
      refused.message,
      "the IDTOKEN was refused: unknown or unusable signing key (or a signature that does not match it)",
    );
    assert.equal(
      refused.detail,
      'the IDTOKEN was refused: No signing key named "k1" is available.',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeRequest refuses a credential by its encoded length, without decoding it", () => {
  const limit = (type: string) => (type === "password" ? 255 : 1024);
  const request = (type: string, credential: string) =>
    decodeRequest({ action: "add", type, user: null, credential }, { limit });
  // 344 characters could hold 258 bytes: over 255, whatever they are (these are not even base64).
  const over = request("password", "!".repeat(344)) as CredRequest & { credential: Uint8Array };
  assert.deepEqual(over.credential, new Uint8Array(256));
  // 340 characters may hold up to 255 bytes: decoded (and refused for what they are).
  assert.throws(() => request("password", "!".repeat(340)), /"credential" must be base64url/);
  const ok = request("kerberos", btoa("x".repeat(1024)).replace(/=+$/, "")) as CredRequest & {
    credential: Uint8Array;
  };
  assert.equal(ok.credential.length, 1024);
});

Deno.test("whoami answers encode and decode, and malformed ones are refused", () => {
  const value = encodeWhoami({ ...ALICE, transport: "unix" });
  assert.deepEqual(decodeWhoami(value), ALICE_WHOAMI);
  for (
    const bad of [
      { ...value, account: "bob@x.example" },
      { ...value, uid: -1 },
      { ...value, transport: "tcp" },
      { ...value, expires: "soon" },
      null,
    ]
  ) {
    assert.throws(() => decodeWhoami(bad), ProtocolError);
  }
});

Deno.test("hidePaths takes every path of the daemon's host out of a message for a remote caller", () => {
  assert.equal(
    hidePaths('refusing to use "/var/lib/condor/oauth/a\\"b": it is owned by uid 5'),
    "refusing to use <path on the daemon>: it is owned by uid 5",
  );
  assert.equal(
    hidePaths("stored in /var/krb/a.cred, but no /var/krb/a.cc within 3 seconds"),
    "stored in <path on the daemon>, but no <path on the daemon> within 3 seconds",
  );
  assert.equal(hidePaths("open '/x/y'"), "open <path on the daemon>");
  assert.equal(hidePaths("nothing to hide"), "nothing to hide");
});

Deno.test("printable escapes bidirectional, zero-width and other non-printing characters", () => {
  assert.equal(
    printable("a\u202eb\u2066c\u2069d\u200ee\u200ff\u200bg\u00adh\ufeffi\u{e0041}j\u0085k\u007f"),
    "a\\u202eb\\u2066c\\u2069d\\u200ee\\u200ff\\u200bg\\xadh\\ufeffi\\u{e0041}j\\x85k\\x7f",
  );
  assert.equal(printable("caf\u00e9 \u65e5\u672c \u{1f600}"), "caf\u00e9 \u65e5\u672c \u{1f600}");
  assert.equal(printable("lone \ud800 surrogate"), "lone \\ud800 surrogate");
});

Deno.test("constantTimeEqual compares bytes and strings, and nothing of another length", () => {
  assert.ok(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])));
  assert.ok(constantTimeEqual("nonce", "nonce"));
  assert.ok(!constantTimeEqual("nonce", "nonc"));
  assert.ok(!constantTimeEqual("nonce", "nonse"));
});

Deno.test("routes are data: each path once, a body limit, who may call; unknown ones are 404", () => {
  const seen = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
  assert.equal(seen.size, ROUTES.length);
  assert.deepEqual(
    ROUTES.map((r) => [r.method, r.path, r.proven, r.transports.join("+")]),
    [
      ["GET", "/v1/health", false, "unix+tls"],
      ["POST", "/v1/challenge", false, "unix"],
      ["POST", "/v1/request", true, "unix+tls"],
      ["POST", "/v1/list", true, "unix+tls"],
      ["POST", "/v1/whoami", true, "unix+tls"],
    ],
  );
  assert.throws(() => findRoute("GET", "/v1/request", "unix"), /no GET \/v1\/request here/);
  assert.throws(
    () => findRoute("POST", "/v1/challenge", "tls"),
    /challenges are issued on the Unix socket only/,
  );
  const config = loadConfig({
    env: {
      CONDOR_CONFIG: "ONLY_ENV",
      _CONDOR_CRED_LOCK_TIMEOUT: "7",
      _CONDOR_CREDD_POLLING_TIMEOUT: "40",
    },
    uid: 0,
    hostname: "h",
  });
  const addKrb = { action: "add", type: "kerberos", user: null, credential: new Uint8Array(1) };
  // An add-krb may wait for the lock and for the credmon: its deadline is longer than both.
  assert.equal(requestDeadlineMs(config, addKrb as CredRequest), (7 + 40) * 1000 + 30_000);
  assert.equal(requestDeadlineMs(config, null), 7 * 1000 + 30_000);
  const limits = daemonLimits(config);
  assert.equal(limits.table.maxUnproven, 256);
  assert.equal(limits.table.maxCallerConnections, 64);
  assert.equal(limits.table.maxCallerRequests, 4);
});

/** A pool of the faulty workers (testing/faulty_main.ts) on a temp store, with short timings. */
async function withPool(
  fn: (pool: Executor, log: string[], faults: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const faults = `${dir}/faults`;
  await Deno.mkdir(faults);
  Deno.env.set("CSC_FAULT_DIR", faults);
  const log: string[] = [];
  const pool = await workerPool(
    faultyPoolOptions(dir, log, { size: 2, pingMs: 300 }),
  );
  try {
    await fn(pool, log, faults);
  } finally {
    pool.close();
    Deno.env.delete("CSC_FAULT_DIR");
    await Deno.remove(dir, { recursive: true });
  }
}

const ROOT: Caller = { uid: 0, name: "root", domain: "x.example", inProcess: false };

function add(service: string): CredRequest {
  return {
    action: "add",
    type: "oauth",
    user: "u@x.example",
    service,
    handle: null,
    scopes: null,
    audience: null,
    accessToken: true,
    credential: new TextEncoder().encode("t"),
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(check());
}

Deno.test("the worker pool answers every request: a failed worker is replaced, a silent one too, and it gives up when none can start", async () => {
  await withPool(async (pool, log, faults) => {
    const run = (service: string, deadlineMs = 20_000) =>
      pool.run("perform", ROOT, add(service), { deadlineMs });
    const ok = await run("svc");
    assert.equal(ok.ok, true);
    for (
      const [fault, kind] of [["fault-crash", "crashed"], ["fault-throw", "threw"], [
        "fault-clone",
        "threw",
      ]]
    ) {
      const failure = await run(fault).catch((e) => e);
      assert.ok(failure instanceof WorkerFailure, fault);
      assert.equal(failure.kind, kind, fault);
      await until(() => pool.health().serving === 2);
      assert.equal((await run("svc")).ok, true);
    }
    const hang = await run("fault-hang", 200).catch((e) => e);
    assert.equal(hang.kind, "deadline");
    const exit = await run("fault-exit", 200).catch((e) => e);
    assert.equal(exit.kind, "deadline");
    await until(() => log.some((l) => / did not answer within 0 seconds; 0 request/.test(l)));
    await until(() => pool.health().serving === 2);
    assert.equal(log.filter((l) => /passed its deadline/.test(l)).length, 2);
    // No worker can start any more: the lost one stays lost, then the pool gives up.
    await Deno.writeTextFile(`${faults}/no-start`, "");
    await run("fault-crash").catch(() => {});
    assert.equal(pool.health().serving, 1);
    const reason = await pool.failed;
    assert.match(
      reason,
      /^store worker store-\d could not be restarted: Error: this store worker cannot load \(test fault\)$/,
    );
    assert.equal(log.filter((l) => /could not be restarted .* trying again/.test(l)).length, 2);
  });
});

Deno.test("parseAddress reads host:port, :port, [v6]:port and a bare host (the default port)", () => {
  assert.deepEqual(parseAddress("127.0.0.1:9"), { hostname: "127.0.0.1", port: 9 });
  assert.deepEqual(parseAddress(" node.example:65535 "), { hostname: "node.example", port: 65535 });
  assert.deepEqual(parseAddress(":0"), { hostname: "", port: 0 });
  assert.deepEqual(parseAddress("[::1]:443"), { hostname: "::1", port: 443 });
  assert.deepEqual(parseAddress("node.example"), {
    hostname: "node.example",
    port: DEFAULT_TLS_PORT,
  });
  assert.deepEqual(parseAddress("[::1]", 1), { hostname: "::1", port: 1 });
  assert.equal(parseAddress("node.example:65536"), null);
  assert.equal(parseAddress("a:b:c"), null);
});

Deno.test({
  name:
    "checkChallengeDirectory takes only a root-owned, sticky, world-writable directory (needs root)",
  ignore: Deno.uid() !== 0,
  fn() {
    const dir = Deno.makeTempDirSync({ prefix: "csc-challenge-dir-" });
    try {
      Deno.chmodSync(dir, 0o1777);
      checkChallengeDirectory(dir);
      for (const mode of [0o777, 0o1775, 0o755]) {
        Deno.chmodSync(dir, mode);
        assert.throws(
          () => checkChallengeDirectory(dir),
          (e: unknown) =>
            e instanceof StoreError && e.code === "insecure" &&
            e.message.includes(`with mode 0${mode.toString(8)}`),
          mode.toString(8),
        );
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("a store request the workers cannot answer is refused: 503 at its deadline or with none serving, 500 when a worker failed", async () => {
  const config = loadConfig({ env: { CONDOR_CONFIG: "ONLY_ENV" }, uid: 0, hostname: "h" });
  const route = findRoute("POST", "/v1/request", "unix");
  for (
    const [kind, status, code] of [
      ["deadline", 503, "unreachable"],
      ["unavailable", 503, "unreachable"],
      ["threw", 500, "io"],
      ["crashed", 500, "io"],
    ] as const
  ) {
    const lines: string[] = [];
    const executor = {
      run: () => Promise.reject(new WorkerFailure(kind, "no answer")),
    } as unknown as Executor;
    await assert.rejects(
      async () =>
        await route.handle({
          config,
          log: (line) => lines.push(line),
          executor,
          transport: "unix",
          identity: ALICE,
          body: { version: 1, request: { action: "query", type: "kerberos", user: null } },
          session: { peer: "local", challenges: new Set(), token: null },
          challenges: null,
        }),
      (e: unknown) => e instanceof ProtocolError && e.status === status && e.code === code,
      kind,
    );
    assert.equal(lines.length, 1, kind);
  }
});

Deno.test("queries are performed on the serving thread, every other store request in the pool; an inline failure is answered as a worker's and logged once", async () => {
  const config = loadConfig({ env: { CONDOR_CONFIG: "ONLY_ENV" }, uid: 0, hostname: "h" });
  const calls: string[] = [];
  /** An executor that records which of the two ran what, and can be made to fail. */
  const recorder = (name: string, fail: () => boolean): Executor => ({
    run: (op, _caller, payload) => {
      calls.push(`${name} ${op} ${(payload as { action: string }).action}`);
      return fail()
        ? Promise.reject(new WorkerFailure("threw", `the ${op} operation failed: boom`))
        : Promise.resolve({ ok: true, warnings: [] });
    },
    health: () => ({ serving: 3, size: 4 }),
    failed: new Promise(() => {}),
    close: () => calls.push(`${name} closed`),
  });
  let failing = false;
  const lines: string[] = [];
  const executor = withInlineReads(
    recorder("pool", () => false),
    recorder("local", () => failing),
    (line) => lines.push(line),
  );
  const ask = (route: string, body: Record<string, unknown>) =>
    findRoute("POST", route, "unix").handle({
      config,
      log: () => {},
      executor,
      transport: "unix",
      identity: ALICE,
      body: { version: 1, ...body },
      session: { peer: "local", challenges: new Set(), token: null },
      challenges: null,
    });
  await ask("/v1/request", { request: { action: "query", type: "kerberos", user: null } });
  await ask("/v1/request", {
    request: { action: "add", type: "kerberos", user: null, credential: "c2VjcmV0" },
  });
  await ask("/v1/request", { request: { action: "delete", type: "kerberos", user: null } });
  await ask("/v1/list", { list: { type: null, user: null } });
  assert.deepEqual(calls, [
    "local perform query",
    "pool perform add",
    "pool perform delete",
    "pool list list",
  ]);
  // The pool's health is the daemon's, and closing closes both.
  assert.deepEqual(executor.health(), { serving: 3, size: 4 });
  executor.close();
  assert.deepEqual(calls.slice(-2), ["pool closed", "local closed"]);
  assert.deepEqual(lines, []);
  failing = true;
  await assert.rejects(
    async () =>
      await ask("/v1/request", { request: { action: "query", type: "kerberos", user: null } }),
    (e: unknown) => e instanceof ProtocolError && e.status === 500 && e.code === "io",
  );
  assert.deepEqual(lines, [
    "a perform request failed unexpectedly on the serving thread: the perform operation failed: boom",
  ]);
});

Deno.test("a challenge answered with a FIFO or a symbolic link instead of a regular file proves nobody", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-challenge-" });
  try {
    const challenges = new Challenges(dir);
    const fifo = challenges.issue();
    const made = await new Deno.Command("mkfifo", { args: ["-m", "600", fifo.path] }).output();
    assert.ok(made.success);
    const time = new Date(challengeTime(fifo.nonce));
    await Deno.utime(fifo.path, time, time);
    assert.throws(
      () => challenges.verify(fifo.id, fifo.nonce),
      /the identity challenge is not a regular file/,
    );
    const link = challenges.issue();
    await Deno.writeTextFile(`${dir}/target`, "", { mode: 0o600 });
    await Deno.symlink(`${dir}/target`, link.path);
    assert.throws(
      () => challenges.verify(link.id, link.nonce),
      /the identity challenge is not a regular file/,
    );
    // The same answer as a regular file proves its owner.
    const file = challenges.issue();
    await Deno.writeTextFile(file.path, "", { mode: 0o600 });
    const fileTime = new Date(challengeTime(file.nonce));
    await Deno.utime(file.path, fileTime, fileTime);
    assert.equal(challenges.verify(file.id, file.nonce), Deno.uid());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ConnReader: a message still arriving when its time is up is a 408 (dropped unanswered), the head and the body alike", async () => {
  /** A peer that sends one byte of a head at a time, never its end. */
  const trickle: ByteConn = {
    read: (p) => {
      p[0] = 65;
      return Promise.resolve(1);
    },
    write: (p) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close: () => {},
  };
  const timedOut = (e: unknown) =>
    e instanceof HttpError && e.status === 408 && e.message === "timed out reading from the peer";
  // The first byte comes in time; the message's deadline has passed before the next read.
  await assert.rejects(
    () => new ConnReader(trickle).readHead(Date.now() + 60_000, Date.now() - 1),
    timedOut,
  );
  await assert.rejects(() => new ConnReader(trickle).readBody(10, Date.now() - 1), timedOut);
});
