/**
 * In-process unit tests of the daemon's core (lib/daemon/connections.ts, workers.ts, routes.ts,
 * challenge.ts, auth.ts, places.ts, server.ts): the limits and values a caller or a peer can see,
 * each at its boundary, so that a mutant of these files is killed in milliseconds rather than by
 * a black-box run (TESTING.md "Mutation testing"). The broader behaviour is in
 * tests/daemon_parts_test.ts and the daemon's black-box tests.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadConfig, type LoadConfigOptions } from "../lib/config/mod.ts";
import { StoreError } from "../lib/errors.ts";
import {
  acceptConnections,
  AcceptFailures,
  type ConnectionLimits,
  ConnectionTable,
} from "../lib/daemon/connections.ts";
import {
  FailureLimiter,
  type FailureLimits,
  localCaller,
  type Session,
  socketAuthenticator,
  tokenAuthenticator,
  tokenKey,
} from "../lib/daemon/auth.ts";
import { mintToken, signingKeyMaterial } from "../lib/auth/idtoken.ts";
import { AccountDb } from "../lib/accounts.ts";
import {
  ALICE,
  ALICE_CALLER,
  ALICE_WHOAMI,
  faultyPoolOptions as poolOptions,
} from "../testing/daemon.ts";
import type { Owners } from "../lib/fs/owners.ts";
import {
  answerChallenge,
  CHALLENGE_PREFIX,
  Challenges,
  challengeTime,
  checkChallengeDirectory,
} from "../lib/daemon/challenge.ts";
import { base64UrlEncode } from "../lib/jwt.ts";
import { ProtocolError } from "../lib/daemon/protocol.ts";
import { findRoute, requestDeadlineMs, type RouteContext } from "../lib/daemon/routes.ts";
import {
  describeError,
  type Executor,
  inThreadExecutor,
  withInlineReads,
  WorkerFailure,
  workerPool,
} from "../lib/daemon/workers.ts";
import { challengeDirectory, isSocket, socketPath, tlsAddress } from "../lib/daemon/places.ts";
import { MAX_SOCKET_PATH_BYTES, prepareSocket, serve } from "../lib/daemon/server.ts";
import { listCall, sendLocal } from "../lib/daemon/client.ts";
import type { Caller, CredRequest } from "../lib/request.ts";
import { sweep } from "../lib/daemon/sweep.ts";
import { storeRoot } from "../lib/store/layout.ts";
import { withLock } from "../lib/fs/lock.ts";
import { createStoreContext, perform } from "../lib/store/service.ts";
import { exists, withSpool } from "../testing/harness.ts";

const LIMITS: ConnectionLimits = {
  maxConnections: 100,
  maxUnproven: 100,
  maxCallerConnections: 2,
  maxCallerRequests: 2,
  smallBody: 100,
  bodyBudget: 1000,
  callerBodyBudget: 400,
  unprovenBodyBudget: 300,
};

const A = { account: "a@x", exempt: false };

/** A table whose connections record when they are closed. */
function table(limits: Partial<ConnectionLimits> = {}) {
  const closed: number[] = [];
  const t = new ConnectionTable({ ...LIMITS, ...limits });
  let clock = 1000;
  const open = () => {
    let id = 0;
    const got = t.open(() => closed.push(id), clock++);
    id = got ?? -1;
    return got!;
  };
  return { t, closed, open };
}

Deno.test("ConnectionTable keeps a caller's connections counted when one of its requests ends", () => {
  const { t, closed, open } = table();
  const [first, second, third] = [open(), open(), open()];
  t.claim(first, A);
  t.claim(second, A);
  const end = t.turn(A) as () => void;
  end();
  assert.equal(t.count("a@x"), 2, "the caller still holds both");
  // And when one of them goes, the other still counts.
  const extra = open();
  t.claim(extra, A);
  assert.deepEqual(closed, [first], "over its cap: its oldest idle one goes");
  t.remove(first);
  t.remove(second);
  assert.equal(t.count("a@x"), 1);
  // So its cap still holds: two more proofs close its oldest idle connection.
  assert.equal(t.claim(third, A), "ok");
  assert.equal(t.claim(open(), A), "ok");
  assert.deepEqual(closed, [first, third], "third was opened before extra");
  assert.deepEqual(t.evicted, { connections: 0, unproven: 0, caller: 2 });
});

Deno.test("ConnectionTable keeps a caller's requests counted while others run, and when its connections go", async () => {
  const { t, open } = table({ maxCallerRequests: 2 });
  const id = open();
  t.claim(id, A);
  const first = t.turn(A) as () => void;
  const second = t.turn(A) as () => void;
  // Its last connection goes while two of its requests run: they still count.
  t.remove(id);
  assert.deepEqual(t.requests("a@x"), { running: 2, waiting: 0 });
  first();
  assert.deepEqual(t.requests("a@x"), { running: 1, waiting: 0 }, "one still runs");
  const third = t.turn(A) as () => void;
  let fourthRan = false;
  const fourth = (t.turn(A) as Promise<() => void>).then((end) => {
    fourthRan = true;
    return end;
  });
  await Promise.resolve();
  assert.equal(fourthRan, false, "the cap holds: the fourth waits");
  assert.deepEqual(t.requests("a@x"), { running: 2, waiting: 1 });
  second();
  (await fourth)();
  third();
  assert.deepEqual(t.requests("a@x"), { running: 0, waiting: 0 });
  // A caller with nothing left is forgotten: a new one starts from nothing.
  assert.equal(t.count("a@x"), 0);
});

Deno.test("ConnectionTable: a connection that goes while another of its caller's waits keeps the queue", async () => {
  const { t, open } = table({ maxCallerRequests: 1 });
  const id = open();
  t.claim(id, A);
  const first = t.turn(A) as () => void;
  const waiting = t.turn(A) as Promise<() => void>;
  first();
  const second = await waiting;
  t.remove(id);
  assert.deepEqual(t.requests("a@x"), { running: 1, waiting: 0 });
  const third = t.turn(A);
  assert.ok(third instanceof Promise, "the cap of one still holds after the connection went");
  second();
  (await third)();
});

Deno.test("ConnectionTable: the unproven cap and the daemon's cap are exact", () => {
  {
    const { closed, open } = table({ maxUnproven: 2 });
    open();
    open();
    assert.deepEqual(closed, []);
    open();
    assert.equal(closed.length, 1, "the third unproven one closes the oldest");
  }
  {
    const { t, open } = table({ maxConnections: 2, maxUnproven: 10 });
    assert.ok(open() !== null);
    assert.ok(open() !== null);
    assert.equal(t.open(() => {}), null);
    assert.equal(t.refused, 1);
  }
  {
    // A caller holds exactly maxCallerConnections: the second proof closes nothing.
    const { t, closed, open } = table();
    t.claim(open(), A);
    t.claim(open(), A);
    assert.deepEqual(closed, []);
    assert.equal(t.count("a@x"), 2);
  }
});

Deno.test("ConnectionTable: body budgets are exact at their limits", () => {
  const { t, open } = table();
  const u = open();
  assert.equal(t.reserveBody(u, 300), "ok", "the unproven share, exactly");
  assert.equal(t.bodyBytes, 300);
  assert.equal(t.reserveBody(u, 301), "share", "one over (the previous body is released)");
  assert.equal(t.bodyBytes, 0);
  const a = open();
  t.claim(a, A);
  assert.equal(t.reserveBody(a, 400), "ok", "a caller's share, exactly");
  assert.equal(t.reserveBody(a, 401), "share");
  const root = open();
  t.claim(root, { account: "root@x", exempt: true });
  assert.equal(t.reserveBody(root, 1000), "ok", "root's share is the whole budget");
  const b = open();
  t.claim(b, { account: "b@x", exempt: false });
  assert.equal(t.reserveBody(b, 101), "all");
  t.remove(root);
  assert.equal(t.bodyBytes, 0);
  assert.equal(t.reserveBody(b, 101), "ok");
  assert.equal(t.entry(b)?.body, 101);
  // A connection that loses its proof takes its body back to the unproven share.
  t.disown(b);
  assert.equal(t.reserveBody(open(), 200), "share", "101 + 200 > 300");
  assert.equal(t.reserveBody(12345, 1), "all", "a connection it does not hold");
});

Deno.test("ConnectionTable: a connection closed at a stop counts until it is removed, and is not closed twice", () => {
  const { t, closed, open } = table();
  const [idle, busy] = [open(), open()];
  t.setBusy(busy, true);
  t.closeEvery({ idleOnly: true });
  assert.deepEqual(closed, [idle]);
  assert.equal(t.size, 2);
  t.closeEvery({ idleOnly: false });
  assert.deepEqual(closed, [idle, busy]);
  t.remove(idle);
  t.remove(busy);
  assert.equal(t.size, 0);
});

Deno.test("tokenKey is the SHA-256 of a token's signed part, in lowercase hex; a token without a dot is taken whole", async () => {
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  // Some digest bytes below 16 (a leading zero digit) and above.
  for (const signed of ["header.claims", "x", "eyJhbGciOiJIUzI1NiJ9.e30"]) {
    assert.equal(await tokenKey(`${signed}.signature`), sha(signed));
  }
  assert.equal(await tokenKey("nodots"), sha("nodots"));
  assert.equal(await tokenKey(".sig"), sha(".sig"));
  assert.match(await tokenKey("a.b.c"), /^[0-9a-f]{64}$/);
});

Deno.test("challengeTime is 2001-09-09 plus the nonce's first 40 bits, in milliseconds", () => {
  const nonce = (head: number[]) => {
    const bytes = new Uint8Array(32).fill(0xee);
    bytes.set(head);
    return base64UrlEncode(bytes);
  };
  assert.equal(challengeTime(nonce([0, 0, 0, 0, 0])), 1_000_000_000_000);
  assert.equal(challengeTime(nonce([1, 2, 3, 4, 5])), 1_000_000_000_000 + 0x0102030405);
  assert.equal(challengeTime(nonce([255, 255, 255, 255, 255])), 1_000_000_000_000 + 2 ** 40 - 1);
  // Fewer than five bytes: the missing ones are zero.
  assert.equal(challengeTime(base64UrlEncode(new Uint8Array([1]))), 1_000_000_000_000 + 2 ** 32);
});

/** Runs `fn` with a challenge directory of its own (removed after). */
async function withChallengeDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Challenges: issued in the directory, valid for their lifetime exactly, at most `max` pending", async () => {
  await withChallengeDir((dir) => {
    const challenges = new Challenges(`${dir}//`, { ttlMs: 1000, max: 2 });
    const first = challenges.issue(5000);
    assert.equal(first.path, `${dir}/${CHALLENGE_PREFIX}${first.id}`);
    assert.match(first.id, /^[0-9a-f]{32}$/);
    assert.equal(first.expires, 6000);
    challenges.issue(5500);
    assert.throws(
      () => challenges.issue(6000),
      (e: unknown) => e instanceof ProtocolError && e.status === 503,
      "at its expiry a challenge is still pending",
    );
    // One millisecond later the first has expired, and makes room.
    challenges.issue(6001);
    assert.equal(challenges.size, 2);
    assert.equal(new Challenges("/").dir, "/");
    assert.equal(new Challenges("///").dir, "/");
  });
});

Deno.test("Challenges: an answer is good up to its expiry; the file must not be writable by group or others", async () => {
  await withChallengeDir((dir) => {
    const challenges = new Challenges(dir, { ttlMs: 1000, max: 10 });
    const answered = (now: number, mode = 0o600) => {
      const challenge = challenges.issue(now);
      const cleanup = answerChallenge(challenge, dir);
      Deno.chmodSync(challenge.path, mode);
      return { challenge, cleanup };
    };
    const ok = answered(1000);
    assert.equal(challenges.verify(ok.challenge.id, ok.challenge.nonce, 2000), Deno.uid());
    const late = answered(1000);
    assert.throws(
      () => challenges.verify(late.challenge.id, late.challenge.nonce, 2001),
      /the identity challenge has expired/,
    );
    for (const mode of [0o620, 0o602, 0o622]) {
      const loose = answered(Date.now(), mode);
      assert.throws(
        () => challenges.verify(loose.challenge.id, loose.challenge.nonce),
        /may be written by group or others/,
        mode.toString(8),
      );
    }
    for (const mode of [0o400, 0o644, 0o755]) {
      const fine = answered(Date.now(), mode);
      assert.equal(challenges.verify(fine.challenge.id, fine.challenge.nonce), Deno.uid());
    }
    // A time one millisecond off proves nothing.
    const off = answered(Date.now());
    const time = new Date(challengeTime(off.challenge.nonce) + 1);
    Deno.utimeSync(off.challenge.path, time, time);
    assert.throws(
      () => challenges.verify(off.challenge.id, off.challenge.nonce),
      /does not carry the challenge's time/,
    );
    // Two links prove nothing.
    const linked = answered(Date.now());
    Deno.linkSync(linked.challenge.path, `${dir}/other`);
    assert.throws(
      () => challenges.verify(linked.challenge.id, linked.challenge.nonce),
      /more than one link/,
    );
  });
});

Deno.test("the store's deadline is the lock wait, an add-krb's credmon wait and 30 s; a negative wait counts as none", () => {
  const config = (lock: number, credmon: number) =>
    loadConfig({
      env: {
        CONDOR_CONFIG: "ONLY_ENV",
        _CONDOR_CRED_LOCK_TIMEOUT: String(lock),
        _CONDOR_CREDD_POLLING_TIMEOUT: String(credmon),
      },
      uid: 0,
      hostname: "h",
    });
  const addKrb = {
    action: "add",
    type: "kerberos",
    user: null,
    credential: new Uint8Array(1),
  } as CredRequest;
  const addOauth = { ...addKrb, type: "oauth" } as CredRequest;
  const queryKrb = { action: "query", type: "kerberos", user: null } as CredRequest;
  assert.equal(requestDeadlineMs(config(-5, -7), addKrb), 30_000);
  assert.equal(requestDeadlineMs(config(-5, 2), addKrb), 32_000);
  assert.equal(requestDeadlineMs(config(3, -7), addKrb), 33_000);
  assert.equal(requestDeadlineMs(config(3, 2), addOauth), 33_000, "no credmon wait");
  assert.equal(requestDeadlineMs(config(3, 2), queryKrb), 33_000, "no credmon wait");
  assert.equal(requestDeadlineMs(config(0, 0), addKrb), 30_000);
});

/** A route context whose executor records what it was asked, and answers `answer`. */
function routeContext(
  answer: Record<string, unknown> | WorkerFailure,
  overrides: Partial<RouteContext> = {},
) {
  const lines: string[] = [];
  const runs: { op: string; payload: unknown; options: Record<string, unknown> }[] = [];
  const executor: Executor = {
    run: (op, _caller, payload, options) => {
      runs.push({ op, payload, options });
      return answer instanceof WorkerFailure ? Promise.reject(answer) : Promise.resolve(answer);
    },
    health: () => ({ serving: 4, size: 4 }),
    failed: new Promise(() => {}),
    close: () => {},
  };
  const ctx: RouteContext = {
    config: loadConfig({
      env: { CONDOR_CONFIG: "ONLY_ENV", _CONDOR_CRED_LOCK_TIMEOUT: "7" },
      uid: 0,
      hostname: "h",
    }),
    log: (line) => lines.push(line),
    executor,
    transport: "unix",
    identity: ALICE,
    body: null,
    session: { peer: "local", challenges: new Set(), token: null },
    challenges: null,
    ...overrides,
  };
  return { ctx, lines, runs };
}

Deno.test("a store request gets its deadline, moves an add's credential, and is logged once with its result", async () => {
  const answer = { ok: true, warnings: [], target: { account: "alice@x.example" } };
  const { ctx, lines, runs } = routeContext(answer);
  const route = findRoute("POST", "/v1/request", "unix");
  const add = { action: "add", type: "oauth", user: null, service: "svc", credential: "dA" };
  const [status, body] = await route.handle({ ...ctx, body: { version: 1, request: add } });
  assert.equal(status, 200);
  assert.deepEqual(body, { version: 1, reply: answer });
  assert.equal(runs[0].op, "perform");
  assert.equal(runs[0].options.deadlineMs, 37_000);
  assert.equal(runs[0].options.inline, false);
  assert.equal((runs[0].options.transfer as unknown[]).length, 1, "the credential's buffer moves");
  assert.deepEqual(lines, [
    `unix "alice@x.example": add-oauth for "alice@x.example" service="svc": success`,
  ]);
  const list = findRoute("POST", "/v1/list", "unix");
  const { ctx: listCtx, lines: listLines, runs: listRuns } = routeContext({
    ok: true,
    rows: [{}, {}],
    warnings: [],
  });
  await list.handle({ ...listCtx, body: { version: 1, list: { type: null, user: null } } });
  assert.equal(listRuns[0].options.deadlineMs, 37_000);
  assert.match(listLines[0], /: 2 credentials$/);
});

Deno.test("health answers 503 naming how many store workers are not serving", () => {
  const route = findRoute("GET", "/v1/health", "unix");
  const ask = (serving: number, size: number) =>
    route.handle({
      ...routeContext({}).ctx,
      executor: { health: () => ({ serving, size }) } as unknown as Executor,
    });
  assert.equal((ask(4, 4) as [number, unknown])[0], 200);
  const [status, body] = ask(3, 4) as [number, Record<string, unknown>];
  assert.equal(status, 503);
  assert.equal(body.problem, "1 of 4 store workers are not serving");
});

Deno.test("a connection holds at most 8 unanswered challenges (429 for the ninth)", async () => {
  await withChallengeDir((dir) => {
    const challenges = new Challenges(dir);
    const { ctx } = routeContext({}, { challenges, identity: null });
    const route = findRoute("POST", "/v1/challenge", "unix");
    for (let i = 0; i < 8; i++) assert.equal((route.handle(ctx) as [number, unknown])[0], 200);
    assert.throws(
      () => route.handle(ctx),
      (e: unknown) => e instanceof ProtocolError && e.status === 429,
    );
    assert.equal(challenges.size, 8);
  });
});

Deno.test("places: the socket must be an absolute path; the challenge directory defaults to /tmp; a TLS host defaults to every address", () => {
  const config = (env: Record<string, string>) =>
    loadConfig({ env: { CONDOR_CONFIG: "ONLY_ENV", ...env }, uid: 0, hostname: "h" });
  assert.equal(socketPath(config({ _CONDOR_CREDD_SOCKET: "/run/x.sock" })), "/run/x.sock");
  assert.throws(
    () => socketPath(config({ _CONDOR_CREDD_SOCKET: "run/x.sock" })),
    (e: unknown) =>
      e instanceof StoreError && e.code === "config" && /"run\/x.sock"/.test(e.message),
  );
  assert.equal(challengeDirectory(config({})), "/tmp");
  assert.equal(challengeDirectory(config({ _CONDOR_CREDD_CHALLENGE_DIRECTORY: "/c" })), "/c");
  assert.equal(tlsAddress(config({})), null);
  assert.deepEqual(tlsAddress(config({ _CONDOR_CREDD_TLS_ADDRESS: ":9" })), {
    hostname: "0.0.0.0",
    port: 9,
  });
  assert.deepEqual(tlsAddress(config({ _CONDOR_CREDD_TLS_ADDRESS: "h.example" })), {
    hostname: "h.example",
    port: 9620,
  });
  assert.deepEqual(tlsAddress(config({ _CONDOR_CREDD_TLS_ADDRESS: "h:65535" }))?.port, 65535);
  assert.throws(() => tlsAddress(config({ _CONDOR_CREDD_TLS_ADDRESS: "h:65536" })), StoreError);
  assert.throws(
    () => tlsAddress(config({ _CONDOR_CREDD_TLS_ADDRESS: "a:b:c" })),
    /CREDD_TLS_ADDRESS is "a:b:c"; it must be host:port, :port or host/,
  );
});

Deno.test("a worker that threw finishes the request it still holds: that one meets its deadline, not the worker's end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  Deno.env.set("CSC_FAULT_DIR", dir);
  const log: string[] = [];
  const pool = await workerPool(poolOptions(dir, log));
  try {
    const hang = pool.run("perform", root, add("fault-hang"), { deadlineMs: 1500 })
      .catch((e) => e);
    const threw = await pool.run("perform", root, add("fault-throw"), { deadlineMs: 20_000 })
      .catch((e) => e);
    assert.equal(threw.kind, "threw");
    const held = await hang;
    assert.ok(held instanceof WorkerFailure);
    assert.equal(held.kind, "deadline", held.message);
    assert.equal(threw.message, "the perform operation failed");
    assert.equal(held.message, "the perform operation passed its deadline");
    // One line each (in either order: the deadline may pass first on a busy machine).
    assert.equal(log.length, 2, log.join("\n"));
    assert.ok(
      log.some((l) =>
        /^store worker store-0: a perform request failed unexpectedly: TypeError: the store tripped \(test fault\) \(at .*\); it was answered with an error, and the worker is replaced$/
          .test(l)
      ),
      log.join("\n"),
    );
    assert.ok(
      log.includes(
        "store worker store-0: a perform request passed its deadline; it was answered with an error",
      ),
      log.join("\n"),
    );
    // Its replacement serves; a payload that cannot be sent is refused; a stop fails what it holds.
    for (let i = 0; i < 2400 && pool.health().serving !== 1; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.deepEqual(pool.health(), { serving: 1, size: 1 });
    const unsendable = await pool.run(
      "perform",
      root,
      { ...add("svc"), handle: () => {} } as unknown as CredRequest,
      { deadlineMs: 20_000 },
    ).catch((e) => e);
    assert.equal(unsendable.kind, "threw");
    assert.match(unsendable.message, /^the request could not be sent: DataCloneError: /);
    assert.equal((await pool.run("perform", root, add("svc"), { deadlineMs: 20_000 })).ok, true);
    // A worker that fails: what it held is answered, and a replacement starts.
    const crashed = await pool.run("perform", root, add("fault-crash"), { deadlineMs: 20_000 })
      .catch((e) => e);
    assert.equal(crashed.kind, "crashed");
    assert.equal(crashed.message, "the store worker handling it failed");
    assert.match(
      log.at(-1)!,
      /^store worker store-0 failed: .*test fault.*; 1 request\(s\) it held were answered with an error; starting a replacement$/,
    );
    for (let i = 0; i < 2400 && pool.health().serving !== 1; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const stopped = pool.run("perform", root, add("fault-hang"), { deadlineMs: 20_000 })
      .catch((e) => e);
    pool.close();
    const failure = await stopped;
    assert.equal(failure.kind, "crashed");
    assert.equal(failure.message, "the store worker was stopped");
    assert.equal(pool.health().serving, 0);
  } finally {
    pool.close();
    Deno.env.delete("CSC_FAULT_DIR");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a worker that threw twice is replaced once: the second failure it held does not start a second replacement", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  Deno.env.set("CSC_FAULT_DIR", dir);
  const log: string[] = [];
  // Count the worker threads the pool makes and ends.
  const RealWorker = globalThis.Worker;
  let made = 0;
  let ended = 0;
  globalThis.Worker = class extends RealWorker {
    constructor(...args: ConstructorParameters<typeof Worker>) {
      super(...args);
      made++;
    }
    override terminate() {
      ended++;
      super.terminate();
    }
  };
  let pool: Executor | null = null;
  try {
    pool = await workerPool(poolOptions(dir, log));
    assert.equal(made, 1);
    // Both are sent to the one worker before either is answered; each makes it throw.
    const both = await Promise.all([
      pool.run("perform", root, add("fault-throw"), { deadlineMs: 20_000 }).catch((e) => e),
      pool.run("perform", root, add("fault-throw"), { deadlineMs: 20_000 }).catch((e) => e),
    ]);
    assert.deepEqual(both.map((f) => f.kind), ["threw", "threw"]);
    // A replacement is made at the first failure, and only then.
    assert.equal(made, 2, log.join("\n"));
    assert.equal(log.length, 2, log.join("\n"));
    for (let i = 0; i < 2400 && (pool.health().serving !== 1 || ended !== 1); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    // The retired worker has ended and one serves: no thread is left behind.
    assert.deepEqual({ made, ended, health: pool.health() }, {
      made: 2,
      ended: 1,
      health: { serving: 1, size: 1 },
    });
    assert.equal((await pool.run("perform", root, add("svc"), { deadlineMs: 20_000 })).ok, true);
  } finally {
    pool?.close();
    globalThis.Worker = RealWorker;
    Deno.env.delete("CSC_FAULT_DIR");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "sweep: a Kerberos mark goes once strictly older than SEC_CREDENTIAL_SWEEP_DELAY (default 3600 s), an OAuth mark once as old, never a directory (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withSpool(async (spool) => {
      const context = (extra: Record<string, string> = {}) =>
        createStoreContext(
          loadConfig({
            env: {
              ...spool.env,
              _CONDOR_CREDD_POLLING_TIMEOUT: "0",
              _CONDOR_CONDOR_IDS: "4000002.4000003",
              ...extra,
            },
            uid: 0,
            hostname: "node.test.example",
          }),
          { euid: 0 },
        );
      const root: Caller = { uid: 0, name: "root", domain: "test.example", inProcess: true };
      const credential = new TextEncoder().encode("T");
      await perform(context(), root, {
        action: "add",
        type: "kerberos",
        user: null,
        credential,
      } as CredRequest);
      await perform(context(), root, { ...add("s"), user: null });
      const marked = new Date(1_700_000_000_000);
      for (const dir of [spool.krb, spool.oauth]) {
        await Deno.writeTextFile(`${dir}/root.mark`, "", { mode: 0o600 });
        await Deno.utime(`${dir}/root.mark`, marked, marked);
        // Not marks: another name, and a mark that is a directory.
        await Deno.writeTextFile(`${dir}/rootmark`, "", { mode: 0o600 });
        await Deno.utime(`${dir}/rootmark`, marked, marked);
      }
      await Deno.mkdir(`${spool.oauth}/bob.mark`, { mode: 0o700 });
      await Deno.utime(`${spool.oauth}/bob.mark`, marked, marked);
      const at = (seconds: number) => marked.getTime() + seconds * 1000;
      assert.deepEqual(await sweep(context(), at(3599.999)), { kerberos: [], oauth: [] });
      assert.deepEqual(await sweep(context(), at(3600)), { kerberos: [], oauth: ["root"] });
      assert.equal(await exists(`${spool.oauth}/root`), false);
      assert.equal(await exists(`${spool.krb}/root.cred`), true);
      assert.deepEqual(
        await sweep(context({ _CONDOR_SEC_CREDENTIAL_SWEEP_DELAY: "7200" }), at(3601)),
        {
          kerberos: [],
          oauth: [],
        },
      );
      // A request that removes the mark while the sweep waits for the user's lock wins.
      const ctx = context();
      const krbStore = storeRoot(ctx, "krb", false)!;
      const raced = await withLock(krbStore, "root", ctx.owners, {
        timeoutSeconds: 10,
        fn: async () => {
          const pending = sweep(context(), at(3600.001));
          await new Promise((r) => setTimeout(r, 100));
          await Deno.remove(`${spool.krb}/root.mark`);
          return { pending };
        },
      });
      assert.deepEqual(await raced.pending, { kerberos: [], oauth: [] });
      assert.equal(await exists(`${spool.krb}/root.cred`), true);
      await Deno.writeTextFile(`${spool.krb}/root.mark`, "", { mode: 0o600 });
      await Deno.utime(`${spool.krb}/root.mark`, marked, marked);
      assert.deepEqual(await sweep(context(), at(3600.001)), { kerberos: ["root"], oauth: [] });
      assert.equal(await exists(`${spool.krb}/root.cred`), false);
      assert.equal(await exists(`${spool.krb}/root.mark`), false);
      for (
        const kept of [
          `${spool.krb}/rootmark`,
          `${spool.oauth}/rootmark`,
          `${spool.oauth}/bob.mark`,
        ]
      ) {
        assert.equal(await exists(kept), true, kept);
      }
    });
  },
});

/** Root on the socket, as the pool's tests call. */
const root: Caller = { uid: 0, name: "root", domain: "x.example", inProcess: false };

/** An add-oauth of service `service` (the faulty workers' faults are chosen by it). */
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

Deno.test("a worker that does not start in time is given up, naming the wait; debug lines come back prefixed with the worker", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  try {
    await assert.rejects(
      workerPool(poolOptions(dir, [], { startMs: 1 })),
      (e: unknown) =>
        e instanceof StoreError && e.code === "config" &&
        e.message === "a store worker could not start: it did not start within 0.001 seconds",
    );
    const debug: string[] = [];
    const pool = await workerPool(
      poolOptions(dir, [], { size: 2, debug: (line) => debug.push(line) }),
    );
    try {
      assert.deepEqual(pool.health(), { serving: 2, size: 2 });
      await pool.run("perform", root, {
        action: "query",
        type: "oauth",
        user: null,
        service: "s",
        handle: null,
        scopes: null,
        audience: null,
      } as unknown as CredRequest, { deadlineMs: 20_000 });
      assert.ok(debug.length > 0);
      assert.ok(debug.every((l) => /^store-[01]: /.test(l)), debug.join("\n"));
    } finally {
      pool.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the in-thread executor (CREDD_WORKERS=0) is one worker, serving; a failure is a WorkerFailure naming the operation", async () => {
  const config = loadConfig({ env: { CONDOR_CONFIG: "ONLY_ENV" }, uid: 0, hostname: "h" });
  const executor = inThreadExecutor(config, 0, () => {});
  assert.deepEqual(executor.health(), { serving: 1, size: 1 });
  const failure = await executor.run(
    "perform",
    ALICE_CALLER,
    null as unknown as CredRequest,
    { deadlineMs: 1000 },
  ).catch((e) => e);
  assert.ok(failure instanceof WorkerFailure);
  assert.equal(failure.kind, "threw");
  assert.match(failure.message, /^the perform operation failed: TypeError: /);
  executor.close();
});

Deno.test("describeError is one line: name, message and where, the path from lib/", () => {
  const error = new RangeError("too far");
  error.stack =
    "RangeError: too far\n    at f (file:///opt/x/lib/store/a.ts:12:5)\n    at g (file:///opt/x/lib/b.ts:1:1)";
  assert.equal(describeError(error), "RangeError: too far (at lib/store/a.ts:12:5)");
  error.stack = "RangeError: too far\n    at ext:core/01_core.js:1:2";
  assert.equal(describeError(error), "RangeError: too far");
  error.stack = undefined;
  assert.equal(describeError(error), "RangeError: too far");
  assert.equal(describeError("a string"), "a string");
  assert.equal(describeError(42), "42");
});

/** `acceptConnections`, which must stop by itself (before a generous deadline). */
async function accepting(...args: Parameters<typeof acceptConnections>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopped = await Promise.race([
    acceptConnections(...args).then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 10_000)),
  ]);
  clearTimeout(timer);
  assert.ok(stopped, "the accept loop did not stop");
}

/** A listener whose accepts return (or throw) `script`'s items in turn; counts its accepts. */
function scriptedListener(script: (unknown | (() => unknown))[]) {
  const state = { accepts: 0 };
  const listener = {
    accept: () => {
      state.accepts++;
      const next = script.shift() ?? new Deno.errors.BadResource("closed");
      const item = typeof next === "function" ? (next as () => unknown)() : next;
      // A macrotask each time: a loop that does not stop still lets the test's deadline fire.
      return new Promise((resolve, reject) =>
        setTimeout(() => item instanceof Error ? reject(item) : resolve(item), 0)
      );
    },
  } as unknown as Deno.Listener;
  return { listener, state };
}

Deno.test("acceptConnections: out of descriptors, it closes an idle connection and backs off; another failure is logged and the loop goes on", async () => {
  const error = (code: string | null, message: string) =>
    Object.assign(new Error(message), code === null ? {} : { code });
  for (
    const failure of [
      error("EMFILE", "x"),
      error("ENFILE", "x"),
      error("ENOBUFS", "x"),
      error("ENOMEM", "x"),
      error(null, "Too many open files (os error 24)"),
    ]
  ) {
    const { t, closed, open } = table();
    const idle = open();
    const log: string[] = [];
    const taken: unknown[] = [];
    const { listener } = scriptedListener([failure, "conn"]);
    await accepting(listener, {
      table: t,
      log: (line) => log.push(line),
      name: "the socket",
      stopping: () => false,
      take: (conn) => taken.push(conn),
    });
    assert.deepEqual(closed, [idle], failure.message);
    assert.equal(log.length, 1);
    assert.match(
      log[0],
      /^accept on the socket failed 1 time\(s\) since the last report: .*; backing off$/,
    );
    assert.deepEqual(taken, ["conn"], "the loop went on");
  }
  const { t, closed, open } = table();
  open();
  const log: string[] = [];
  const taken: unknown[] = [];
  await accepting(scriptedListener([error("EINVAL", "boom"), "conn"]).listener, {
    table: t,
    log: (line) => log.push(line),
    name: "the TLS port",
    stopping: () => false,
    take: (conn) => taken.push(conn),
  });
  assert.deepEqual(log, ["accept on the TLS port failed: boom"]);
  assert.deepEqual(closed, [], "nothing is closed for it");
  assert.deepEqual(taken, ["conn"]);
});

Deno.test("acceptConnections stops without logging once the daemon stops, and accepts nothing after waiting for room", async () => {
  let stopping = false;
  const log: string[] = [];
  const { t } = table();
  const { listener, state } = scriptedListener([() => {
    stopping = true;
    return new Error("interrupted");
  }]);
  await accepting(listener, {
    table: t,
    log: (line) => log.push(line),
    name: "the socket",
    stopping: () => stopping,
    take: () => {},
  });
  assert.equal(log.length, 0, log.join("\n"));
  assert.equal(state.accepts, 1);
  // At the cap, waiting for room, when the daemon stops: nothing more is accepted.
  stopping = false;
  const full = table({ maxConnections: 1 });
  const busy = full.open();
  full.t.setBusy(busy, true);
  const second = scriptedListener(["conn"]);
  const loop = acceptConnections(second.listener, {
    table: full.t,
    log: (line) => log.push(line),
    name: "the socket",
    stopping: () => stopping,
    take: () => {},
  });
  await new Promise((resolve) => setTimeout(resolve, 10));
  stopping = true;
  full.t.remove(busy);
  await loop;
  assert.equal(second.state.accepts, 0);
  assert.deepEqual(log, []);
});

Deno.test("ConnectionTable: a body given back is given back once; a request ended twice ends once", () => {
  const { t, open } = table();
  const id = open();
  assert.equal(t.reserveBody(id, 200), "ok");
  t.releaseBody(id);
  assert.equal(t.entry(id)?.body, 0);
  t.releaseBody(id);
  t.remove(id);
  assert.equal(t.bodyBytes, 0);
  // With no small bodies, a body of one byte counts, and is given back.
  const tiny = table({ smallBody: 0 });
  const one = tiny.open();
  assert.equal(tiny.t.reserveBody(one, 1), "ok");
  assert.equal(tiny.t.bodyBytes, 1);
  tiny.t.releaseBody(one);
  assert.equal(tiny.t.bodyBytes, 0);
  const first = t.turn(A) as () => void;
  t.turn(A);
  first();
  first();
  assert.deepEqual(t.requests("a@x"), { running: 1, waiting: 0 });
});

Deno.test("ConnectionTable makes room from a caller holding a single connection too", async () => {
  const { t, closed, open } = table({ maxConnections: 2 });
  const [x, y] = [open(), open()];
  t.claim(x, A);
  t.claim(y, { account: "b@x", exempt: false });
  t.setBusy(y, true);
  const room = t.room();
  await Promise.resolve();
  assert.deepEqual(closed, [x]);
  t.remove(x);
  await room;
});

Deno.test("acceptConnections waits before accepting again after running out of descriptors", async () => {
  const times: number[] = [];
  const stamp = (item: unknown) => () => {
    times.push(performance.now());
    return item;
  };
  const { t } = table();
  await accepting(
    scriptedListener([
      stamp(Object.assign(new Error("x"), { code: "EMFILE" })),
      stamp(new Deno.errors.BadResource("closed")),
    ]).listener,
    { table: t, log: () => {}, name: "the socket", stopping: () => false, take: () => {} },
  );
  assert.equal(times.length, 2);
  assert.ok(times[1] - times[0] >= 9, `${times[1] - times[0]} ms`);
});

Deno.test({
  name:
    "socketAuthenticator: a challenge answer in the head or the body proves its file's owner; root is exempt, others are not (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withChallengeDir((dir) => {
      const config = loadConfig({
        env: { CONDOR_CONFIG: "ONLY_ENV", _CONDOR_UID_DOMAIN: "x.example" },
        uid: 0,
        hostname: "h",
      });
      const challenges = new Challenges(dir);
      const auth = socketAuthenticator(config, challenges);
      const session = () => ({ peer: "local", challenges: new Set<string>(), token: null });
      const answered = (uid: number) => {
        const challenge = challenges.issue();
        answerChallenge(challenge, dir);
        Deno.chownSync(challenge.path, uid, uid);
        return challenge;
      };
      return (async () => {
        const root = answered(0);
        const s = session();
        s.challenges.add(root.id);
        const head = new Map([["authorization", `Challenge ${root.id} ${root.nonce}`]]);
        const identity = await auth.fromHead(head, s);
        assert.equal(identity?.account, "root@x.example");
        assert.equal(identity?.exempt, true);
        assert.equal(identity?.expires, null);
        assert.equal(s.challenges.size, 0, "no longer this connection's to answer");
        const nobody = answered(65534);
        const fromBody = auth.fromBody({ challenge: { id: nobody.id, nonce: nobody.nonce } }, s);
        assert.equal(fromBody?.caller.uid, 65534);
        assert.equal(fromBody?.exempt, false);
        // No proof: null; a token is no proof here; a malformed challenge is refused.
        assert.equal(await auth.fromHead(new Map(), s), null);
        assert.equal(await auth.fromHead(new Map([["authorization", "Bearer a.b.c"]]), s), null);
        assert.equal(auth.fromBody({}, s), null);
        assert.throws(
          () => auth.fromBody({ challenge: "x" }, s),
          (e: unknown) =>
            e instanceof ProtocolError && e.status === 401 &&
            e.message === "the request carries no identity challenge",
        );
        assert.equal(auth.missing().message, "the request carries no identity challenge");
        assert.equal(auth.transport, "unix");
      })();
    });
  },
});

Deno.test("ConnectionTable makes room from the largest group even when it came last; of two accepted at the same millisecond, the first is the oldest", async () => {
  const closed: number[] = [];
  const t = new ConnectionTable({ ...LIMITS, maxConnections: 5, maxCallerConnections: 10 });
  const open = (now: number) => {
    const id = t.open(() => closed.push(id), now)!;
    return id;
  };
  open(1); // unproven, the oldest of all
  t.claim(open(2), A);
  const b = [open(3), open(3), open(4)];
  for (const id of b) t.claim(id, { account: "b@x", exempt: false });
  const room = t.room();
  await Promise.resolve();
  assert.deepEqual(closed, [b[0]]);
  t.remove(b[0]);
  await room;
  // A caller's only connection still counts after its request ends.
  const end = t.turn(A) as () => void;
  end();
  assert.equal(t.count("a@x"), 1);
});

Deno.test("over TLS a store reply names no path of the daemon's host (message, warnings, listed problems); the log keeps the message", async () => {
  const request = findRoute("POST", "/v1/request", "tls");
  const query = { action: "query", type: "kerberos", user: "bob@x.example" };
  const failed = {
    ok: false,
    error: { code: "io", message: "cannot read /var/lib/condor/bob.cred" },
    warnings: ["the file /etc/x is odd"],
  };
  {
    const { ctx, lines } = routeContext(failed, { transport: "tls" });
    const [, body] = await request.handle({ ...ctx, body: { version: 1, request: query } });
    assert.deepEqual(body.reply, {
      ok: false,
      error: { code: "io", message: "cannot read <path on the daemon>" },
      warnings: ["the file <path on the daemon> is odd"],
    });
    assert.deepEqual(lines, [
      'tls "alice@x.example": query-krb for "bob@x.example": io (cannot read /var/lib/condor/bob.cred)',
    ]);
  }
  for (
    const [answer, shown, result] of [
      // The message alone names a path: hidden, and logged.
      [
        { ok: false, error: { code: "io", message: "no /etc/x" }, warnings: [] },
        { ok: false, error: { code: "io", message: "no <path on the daemon>" }, warnings: [] },
        "io (no /etc/x)",
      ],
      // Nothing to hide: the reply as it is, and no message in the log.
      [
        { ok: false, error: { code: "io", message: "disk full" }, warnings: ["slow"] },
        { ok: false, error: { code: "io", message: "disk full" }, warnings: ["slow"] },
        "io",
      ],
    ] as const
  ) {
    const { ctx, lines } = routeContext(answer, { transport: "tls" });
    const [, body] = await request.handle({ ...ctx, body: { version: 1, request: query } });
    assert.deepEqual(body.reply, shown);
    assert.deepEqual(lines, [`tls "alice@x.example": query-krb for "bob@x.example": ${result}`]);
  }
  {
    // On the socket, as it is.
    const { ctx, lines } = routeContext(failed);
    const [, body] = await request.handle({ ...ctx, body: { version: 1, request: query } });
    assert.deepEqual(body.reply, failed);
    assert.deepEqual(lines, ['unix "alice@x.example": query-krb for "bob@x.example": io']);
  }
  {
    // A warning alone is hidden too; nothing to hide: the reply as it is.
    const warned = { ok: true, outcome: { status: "pending" }, warnings: ["see /etc/x"] };
    const { ctx, lines } = routeContext(warned, { transport: "tls" });
    const [, body] = await request.handle({ ...ctx, body: { version: 1, request: query } });
    assert.deepEqual(body.reply, { ...warned, warnings: ["see <path on the daemon>"] });
    assert.deepEqual(lines, ['tls "alice@x.example": query-krb for "bob@x.example": pending']);
    const clean = { ok: true, warnings: ["fine"] };
    const other = routeContext(clean, { transport: "tls" });
    const [, same] = await request.handle({ ...other.ctx, body: { version: 1, request: query } });
    assert.deepEqual(same.reply, clean);
    assert.deepEqual(other.lines, [
      `tls "alice@x.example": query-krb for "bob@x.example": success`,
    ]);
  }
  {
    const rows = [{ user: "a", problem: "refused: /etc/passwd has no a" }, { user: "b" }];
    const listed = { ok: true, rows, warnings: [] };
    const list = findRoute("POST", "/v1/list", "tls");
    const { ctx, lines } = routeContext(listed, { transport: "tls" });
    const [, body] = await list.handle({
      ...ctx,
      body: { version: 1, list: { type: "kerberos", user: "a@x.example" } },
    });
    assert.deepEqual((body.reply as { rows: unknown }).rows, [
      { user: "a", problem: "refused: <path on the daemon> has no a" },
      { user: "b" },
    ]);
    assert.deepEqual(lines, [
      'tls "alice@x.example": list kerberos for "a@x.example": 2 credentials',
    ]);
    // Rows without a path: the reply as it is.
    const plain = { ok: true, rows: [{ user: "b", problem: "none here" }], warnings: [] };
    const again = routeContext(plain, { transport: "tls" });
    const [, same] = await list.handle({
      ...again.ctx,
      body: { version: 1, list: { type: null, user: null } },
    });
    assert.deepEqual(same.reply, plain);
    assert.deepEqual(again.lines, [
      `tls "alice@x.example": list all for "everyone": 1 credentials`,
    ]);
  }
});

Deno.test("a store request's log line: the account acted on, the service, and the result word when the store gave no answer", async () => {
  const request = findRoute("POST", "/v1/request", "unix");
  const list = findRoute("POST", "/v1/list", "unix");
  const ask = async (
    route: typeof request,
    answer: Record<string, unknown> | WorkerFailure,
    body: Record<string, unknown>,
  ) => {
    const { ctx, lines } = routeContext(answer);
    await Promise.resolve().then(() => route.handle({ ...ctx, body: { version: 1, ...body } }))
      .catch(() => {});
    return lines;
  };
  const del = { action: "delete", type: "oauth", user: null, service: "svc" };
  assert.deepEqual(await ask(request, new WorkerFailure("deadline", "x"), { request: del }), [
    'unix "alice@x.example": delete-oauth for "alice@x.example" service="svc": no answer in time',
  ]);
  assert.deepEqual(
    await ask(request, new WorkerFailure("crashed", "x"), {
      request: { ...del, user: "bob@x.example" },
    }),
    ['unix "alice@x.example": delete-oauth for "bob@x.example" service="svc": lost with its store worker'],
  );
  assert.deepEqual(
    await ask(request, { ok: false, error: {}, warnings: [] }, {
      request: { action: "delete", type: "kerberos", user: null },
    }),
    ['unix "alice@x.example": delete-krb for "-": failed'],
  );
  assert.deepEqual(
    await ask(list, new WorkerFailure("unavailable", "x"), { list: { type: null, user: null } }),
    ['unix "alice@x.example": list all for "own (alice@x.example)": no store worker serving'],
  );
  assert.deepEqual(
    await ask(list, { ok: true, warnings: [], user: null }, {
      list: { type: null, user: null },
    }),
    ['unix "alice@x.example": list all for "everyone": 0 credentials'],
  );
  assert.deepEqual(
    await ask(list, { ok: true, rows: [], warnings: [], user: "carol@x.example" }, {
      list: { type: null, user: null },
    }),
    ['unix "alice@x.example": list all for "carol@x.example": 0 credentials'],
  );
  assert.deepEqual(
    await ask(list, { ok: false, error: { code: "io" }, warnings: [] }, {
      list: { type: null, user: null },
    }),
    ['unix "alice@x.example": list all for "everyone": io'],
  );
  assert.deepEqual(
    await ask(request, new WorkerFailure("threw", "x"), {
      request: { action: "query", type: "oauth", user: null, service: "" },
    }),
    ['unix "alice@x.example": query-oauth for "alice@x.example": failed in the store worker'],
  );
});

Deno.test("whoami answers the proven caller as the protocol says", async () => {
  const { ctx } = routeContext({});
  const [status, body] = await findRoute("POST", "/v1/whoami", "unix").handle({
    ...ctx,
    body: { version: 1 },
  });
  assert.equal(status, 200);
  assert.deepEqual(body, {
    version: 1,
    whoami: ALICE_WHOAMI,
  });
});

Deno.test("AcceptFailures logs at most once a second: not 999 ms after the last line, at 1000 ms", () => {
  const lines: string[] = [];
  const failures = new AcceptFailures((line) => lines.push(line), "the socket");
  const error = Object.assign(new Error("x"), { code: "EMFILE" });
  failures.failed(error, 5000);
  failures.failed(error, 5999);
  assert.equal(lines.length, 1);
  failures.failed(error, 6000);
  assert.equal(lines.length, 2);
  assert.match(lines[1], / failed 2 time\(s\) since the last report: EMFILE: x; backing off$/);
});

Deno.test("tokenAuthenticator: a token is kept until a minute passes or it expires; limits answer 429; a refusal shows the token's fault, never the key's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  try {
    await Deno.mkdir(`${dir}/keys`, { mode: 0o700 });
    await Deno.writeFile(`${dir}/keys/k1`, new TextEncoder().encode("key-one"), { mode: 0o600 });
    const config = (extra: Record<string, string> = {}) =>
      loadConfig({
        env: {
          CONDOR_CONFIG: "ONLY_ENV",
          _CONDOR_SEC_PASSWORD_DIRECTORY: `${dir}/keys`,
          _CONDOR_TRUST_DOMAIN: "x.example",
          ...extra,
        },
        uid: Deno.uid()!,
        hostname: "h",
      });
    const owners: Owners = { self: Deno.uid()!, condor: null, accounts: new AccountDb() };
    const authOf = (limits: Partial<FailureLimits> = {}, extra: Record<string, string> = {}) =>
      tokenAuthenticator(config(extra), {
        owners: () => owners,
        limiter: new FailureLimiter({
          perToken: 10,
          total: 600,
          windowMs: 60_000,
          maxKeys: 100,
          ...limits,
        }),
      });
    const ikm = signingKeyMaterial(new TextEncoder().encode("key-one"), { pool: false });
    const now = Math.floor(Date.now() / 1000);
    const mint = (lifetime: number, issuedAt = now, subject = "alice@x.example") =>
      mintToken(ikm, { kid: "k1", issuer: "x.example", subject, issuedAt, lifetime });
    const bearer = (token: string) => new Map([["authorization", `Bearer ${token}`]]);
    const session = (): Session => ({ peer: "p", challenges: new Set(), token: null });
    const auth = authOf();

    // Expiring in 30 s: kept until then; in 10 minutes: kept for a minute.
    const soon = await mint(30);
    const s = session();
    const identity = await auth.fromHead(bearer(soon), s);
    assert.equal(identity?.expires, now + 30);
    assert.equal(identity?.exempt, false);
    assert.equal(s.token?.until, (now + 30) * 1000);
    const before = Date.now();
    await auth.fromHead(bearer(await mint(600)), s);
    const after = Date.now();
    assert.ok(
      s.token!.until >= before + 60_000 && s.token!.until <= after + 60_000,
      `${before} ${s.token!.until} ${after}`,
    );
    // A kept proof whose time is up is checked again (and refused, the key being gone meanwhile).
    const kept = s.token!;
    await Deno.rename(`${dir}/keys/k1`, `${dir}/k1`);
    assert.equal((await auth.fromHead(bearer(kept.text), s))?.account, "alice@x.example");
    s.token = { ...kept, until: Date.now() - 1 };
    await assert.rejects(auth.fromHead(bearer(kept.text), s), ProtocolError);
    assert.equal(s.token, null);
    await Deno.rename(`${dir}/k1`, `${dir}/keys/k1`);

    // No header: no proof; another kind of header, or a challenge in the body: refused.
    assert.equal(await auth.fromHead(new Map(), session()), null);
    const missing = (e: unknown) =>
      e instanceof ProtocolError && e.status === 401 &&
      e.message === "the request carries no IDTOKEN (Authorization: Bearer)";
    await assert.rejects(
      auth.fromHead(new Map([["authorization", "Basic eA=="]]), session()),
      missing,
    );
    assert.throws(() => auth.fromBody({ challenge: {} }, session()), missing);
    assert.equal(auth.fromBody({}, session()), null);

    // The token's own fault is shown; the key's is not.
    const expired = await mint(1, now - 100);
    await assert.rejects(
      auth.fromHead(bearer(expired), session()),
      (e: unknown) =>
        e instanceof ProtocolError &&
        e.message === "the IDTOKEN was refused: The token has expired.",
    );
    const forged = `${soon.slice(0, soon.lastIndexOf("."))}.AAAA`;
    await assert.rejects(
      auth.fromHead(bearer(forged), session()),
      (e: unknown) =>
        e instanceof ProtocolError && e.status === 401 &&
        e.message ===
          "the IDTOKEN was refused: unknown or unusable signing key (or a signature that does not match it)",
    );
    // SEC_TOKEN_MAX_AGE: an old token is refused.
    const old = await mint(3600, now - 1000);
    await assert.rejects(
      authOf({}, { _CONDOR_SEC_TOKEN_MAX_AGE: "60" }).fromHead(bearer(old), session()),
      /issued more than 60 seconds ago/,
    );
    assert.equal(
      (await authOf({}, { _CONDOR_SEC_TOKEN_MAX_AGE: "6000" }).fromHead(bearer(old), session()))
        ?.account,
      "alice@x.example",
    );

    // One failure per token allowed: the second try of the same token is 429, unverified.
    const limited = authOf({ perToken: 1, total: 0 });
    await assert.rejects(
      limited.fromHead(bearer(forged), session()),
      (e: unknown) => e instanceof ProtocolError && e.status === 401,
    );
    await assert.rejects(
      limited.fromHead(bearer(forged), session()),
      (e: unknown) =>
        e instanceof ProtocolError && e.status === 429 &&
        e.message ===
          "this IDTOKEN failed verification too often in the last minute; wait a minute",
    );
    // One failure in all: a token not verified lately is 429; one verified lately still passes.
    const flooded = authOf({ perToken: 0, total: 1 });
    const good = await mint(600);
    assert.equal((await flooded.fromHead(bearer(good), session()))?.account, "alice@x.example");
    await assert.rejects(flooded.fromHead(bearer(forged), session()));
    await assert.rejects(
      flooded.fromHead(bearer(await mint(600, now, "bob@x.example")), session()),
      (e: unknown) =>
        e instanceof ProtocolError && e.status === 429 &&
        e.message ===
          "too many failed authentications at this daemon in the last minute; retry later",
    );
    assert.equal((await flooded.fromHead(bearer(good), session()))?.account, "alice@x.example");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the Endpoints table's body limits (docs/protocol.md): 1,024 bytes, 2 MiB for a request, 64 KiB for a listing", () => {
  const limit = (method: string, path: string) => findRoute(method, path, "unix").maxBody;
  assert.equal(limit("GET", "/v1/health"), 1024);
  assert.equal(limit("POST", "/v1/challenge"), 1024);
  assert.equal(limit("POST", "/v1/whoami"), 1024);
  assert.equal(limit("POST", "/v1/list"), 65536);
  assert.equal(limit("POST", "/v1/request"), 2 * 1024 * 1024);
});

Deno.test("a store request without an answer: 503 when no worker serves or at the deadline, 500 when one failed, each saying what to do", async () => {
  const request = findRoute("POST", "/v1/request", "unix");
  const unknown = "for an add or delete, check whether it was done before you retry";
  for (
    const [kind, status, code, message] of [
      ["unavailable", 503, "unreachable", "the daemon's store workers are restarting; retry"],
      [
        "deadline",
        503,
        "unreachable",
        `the daemon's store did not answer in time (see the daemon's log); ${unknown}`,
      ],
      [
        "threw",
        500,
        "io",
        `the daemon's store worker failed while handling the request (see the daemon's log); ${unknown}`,
      ],
      [
        "crashed",
        500,
        "io",
        `the daemon's store worker failed while handling the request (see the daemon's log); ${unknown}`,
      ],
    ] as const
  ) {
    const { ctx } = routeContext(new WorkerFailure(kind, "x"));
    const refusal = await Promise.resolve().then(() =>
      request.handle({
        ...ctx,
        body: { version: 1, request: { action: "delete", type: "kerberos", user: null } },
      })
    ).catch((e) => e);
    assert.ok(refusal instanceof ProtocolError, kind);
    assert.deepEqual([refusal.status, refusal.code, refusal.message], [status, code, message]);
  }
});

Deno.test("an unknown endpoint, or one the listener does not offer, is 404 naming it", () => {
  const notFound = (message: string) => (e: unknown) =>
    e instanceof ProtocolError && e.status === 404 && e.code === "unsupported" &&
    e.message === message;
  assert.throws(() => findRoute("GET", "/v2/x", "unix"), notFound("no GET /v2/x here"));
  assert.throws(() => findRoute("GET", "/v1/request", "tls"), notFound("no GET /v1/request here"));
  assert.throws(
    () => findRoute("POST", "/v1/challenge", "tls"),
    notFound("challenges are issued on the Unix socket only"),
  );
  assert.equal(findRoute("POST", "/v1/challenge", "unix").path, "/v1/challenge");
});

Deno.test({
  name:
    "serve warns once, before it says it serves, of an audit log it cannot write; it logs its stop (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
    try {
      await Deno.writeTextFile(`${dir}/audit.log`, "");
      await Deno.chmod(`${dir}/audit.log`, 0o666);
      const { status, log } = await withServe({
        _CONDOR_CREDD_WORKERS: "0",
        _CONDOR_CRED_AUDIT_LOG: `${dir}/audit.log`,
      }, () => Promise.resolve());
      assert.equal(status, 0);
      const serving = log.findIndex((l) => l.startsWith("serving on "));
      const warnings = log.filter((l) => l.startsWith("WARNING: the audit log"));
      assert.equal(warnings.length, 1, log.join("\n"));
      assert.equal(log[serving - 1], warnings[0]);
      // The store's refusal, its remedy, and what it means for the daemon.
      assert.match(
        warnings[0],
        /^WARNING: the audit log cannot be written: refusing to use ".*\/audit\.log": its mode 0666 lets group or others change it; run "chmod go-w .*\/audit\.log" if you trust its content, or remove it; adds and deletes are served and not audited until it is fixed$/,
      );
      assert.match(log[serving], /^serving on \/.*\/run\/credd\.sock \(pid \d+\)$/);
      assert.deepEqual(log.slice(serving + 1), [
        "stopping: no new connections; finishing requests in progress",
        "stopped",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "serve refuses to start on an insecure store directory, and leaves no socket (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
    try {
      await Deno.mkdir(`${dir}/run`, { mode: 0o755 });
      await Deno.mkdir(`${dir}/oauth`);
      await Deno.chmod(`${dir}/oauth`, 0o777);
      const options = {
        env: {
          CONDOR_CONFIG: "ONLY_ENV",
          _CONDOR_CREDD_SOCKET: `${dir}/run/credd.sock`,
          _CONDOR_CREDD_WORKERS: "0",
          _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: `${dir}/oauth`,
        },
        uid: 0,
        hostname: "h",
      };
      await assert.rejects(
        startServe(options),
        (e: unknown) => e instanceof StoreError && e.code === "insecure",
      );
      assert.equal(await exists(`${dir}/run/credd.sock`), false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "checkChallengeDirectory: missing, a file, not root's, not sticky or not world-writable are refused, naming what it is (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withChallengeDir((dir) => {
      const refused = (path: string, code: string, text: string) =>
        assert.throws(
          () => checkChallengeDirectory(path),
          (e: unknown) => e instanceof StoreError && e.code === code && e.message.includes(text),
          text,
        );
      refused(`${dir}/none`, "config", `the challenge directory "${dir}/none" cannot be used: `);
      Deno.writeTextFileSync(`${dir}/file`, "");
      Deno.chmodSync(`${dir}/file`, 0o1777);
      refused(`${dir}/file`, "insecure", "it is not a directory owned by uid 0 with mode 01777");
      const sub = `${dir}/sub`;
      Deno.mkdirSync(sub);
      Deno.chmodSync(sub, 0o1777);
      checkChallengeDirectory(sub);
      Deno.chownSync(sub, 65534, 65534);
      refused(sub, "insecure", "it is a directory owned by uid 65534 with mode 01777");
      Deno.chownSync(sub, 0, 0);
      for (const mode of [0o777, 0o1775, 0o1770, 0o3777]) {
        Deno.chmodSync(sub, mode);
        if (mode === 0o3777) checkChallengeDirectory(sub);
        else refused(sub, "insecure", `owned by uid 0 with mode 0${mode.toString(8)}`);
      }
    });
  },
});

Deno.test("Challenges: a wrong nonce leaves the challenge to its owner; used, discarded or expired ones are gone with their files", async () => {
  await withChallengeDir((dir) => {
    const challenges = new Challenges(dir, { ttlMs: 1000, max: 10 });
    const refused = (id: unknown, nonce: unknown, why: string, now?: number) =>
      assert.throws(
        () => challenges.verify(id, nonce, now),
        (e: unknown) => e instanceof ProtocolError && e.status === 401 && e.message === why,
      );
    const c = challenges.issue();
    answerChallenge(c, dir);
    refused(c.id, undefined, "the request carries no identity challenge");
    refused(undefined, c.nonce, "the request carries no identity challenge");
    refused("f".repeat(32), c.nonce, "the identity challenge is unknown or already used");
    // One character changed (the nonce is random: its last one may already be "A").
    const wrong = `${c.nonce.slice(0, -1)}${c.nonce.endsWith("A") ? "B" : "A"}`;
    refused(c.id, wrong, "the identity challenge's nonce is not the one issued with it");
    assert.equal(challenges.size, 1);
    assert.equal(challenges.verify(c.id, c.nonce), Deno.uid());
    assert.equal(existsSync(c.path), false, "the file is removed");
    refused(c.id, c.nonce, "the identity challenge is unknown or already used");
    // Never created.
    const none = challenges.issue();
    refused(none.id, none.nonce, "the identity challenge file was not created");
    // A directory, or a link to a good file, is not a regular file.
    const directory = challenges.issue();
    Deno.mkdirSync(directory.path, { mode: 0o700 });
    refused(directory.id, directory.nonce, "the identity challenge is not a regular file");
    const target = challenges.issue();
    answerChallenge(target, dir);
    const linked = challenges.issue();
    Deno.symlinkSync(target.path, linked.path);
    refused(linked.id, linked.nonce, "the identity challenge is not a regular file");
    assert.equal(challenges.verify(target.id, target.nonce), Deno.uid(), "the link's target");
    // Discarded: forgotten, its file removed.
    const dropped = challenges.issue();
    answerChallenge(dropped, dir);
    challenges.discard(dropped.id);
    challenges.discard(dropped.id);
    assert.equal(existsSync(dropped.path), false);
    assert.equal(challenges.size, 0);
    // Expired: forgotten at the next issue, its file removed.
    const stale = challenges.issue(1000);
    answerChallenge(stale, dir);
    challenges.issue(2001);
    assert.equal(existsSync(stale.path), false);
    assert.equal(challenges.size, 1);
    // A challenge outside the client's directory is not answered.
    assert.throws(
      () => answerChallenge({ ...stale, path: `/elsewhere/${CHALLENGE_PREFIX}${stale.id}` }, dir),
      (e: unknown) =>
        e instanceof StoreError && e.code === "not-secure" &&
        e.message ===
          `the daemon asked for an identity file outside the challenge directory "${dir}"`,
    );
  });
});

function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("the client's challenge file is 0600", async () => {
  await withChallengeDir((dir) => {
    const answered = new Challenges(dir).issue();
    answerChallenge(answered, dir);
    assert.equal(Deno.lstatSync(answered.path).mode! & 0o7777, 0o600);
  });
});

Deno.test("a worker that stops answering is lost after its ping's wait; when no replacement can start, three tries, then the pool gives up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  Deno.env.set("CSC_FAULT_DIR", dir);
  const log: string[] = [];
  const pool = await workerPool(poolOptions(dir, log, { pingMs: 600 }));
  try {
    const silent = await pool.run("perform", root, add("fault-exit"), { deadlineMs: 100 })
      .catch((e) => e);
    assert.equal(silent.kind, "deadline");
    for (let i = 0; i < 2400 && !log.some((l) => / did not answer /.test(l)); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(
      log.includes(
        "store worker store-0 did not answer within 1 seconds; 0 request(s) it held were " +
          "answered with an error; starting a replacement",
      ),
      log.join("\n"),
    );
    for (let i = 0; i < 2400 && pool.health().serving !== 1; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await Deno.writeTextFile(`${dir}/no-start`, "");
    await pool.run("perform", root, add("fault-crash"), { deadlineMs: 20_000 }).catch(() => {});
    assert.deepEqual(pool.health(), { serving: 0, size: 1 });
    const none = await pool.run("perform", root, add("svc"), { deadlineMs: 20_000 })
      .catch((e) => e);
    assert.equal(none.kind, "unavailable");
    assert.equal(none.message, "no store worker is serving (they are restarting)");
    assert.equal(
      await pool.failed,
      "store worker store-0 could not be restarted: Error: this store worker cannot load (test fault)",
    );
    assert.equal(log.filter((l) => / could not be restarted .*; trying again$/.test(l)).length, 2);
  } finally {
    pool.close();
    Deno.env.delete("CSC_FAULT_DIR");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FailureLimiter: failures count for exactly the window; checks of unknown tokens evict nothing; the oldest token is forgotten beyond maxKeys", () => {
  const t0 = 1_000_000;
  const limiter = new FailureLimiter({ perToken: 2, total: 0, windowMs: 60_000, maxKeys: 2 });
  limiter.failed("bad", t0);
  limiter.failed("bad", t0 + 30_000);
  assert.equal(limiter.check("bad", t0 + 59_999), "token", "both in the window");
  assert.equal(limiter.check("bad", t0 + 60_000), "ok", "the first is out of it");
  limiter.failed("bad", t0 + 60_000);
  assert.equal(limiter.check("bad", t0 + 60_000), "token");
  // Checking tokens that never failed keeps no record of them: "bad" stays remembered.
  for (const key of ["a", "b", "c"]) assert.equal(limiter.check(key, t0 + 60_000), "ok");
  limiter.failed("d", t0 + 60_000);
  assert.equal(limiter.check("bad", t0 + 60_000), "token");
  // A third token failing: the oldest ("bad") is forgotten.
  limiter.failed("e", t0 + 60_000);
  assert.equal(limiter.check("bad", t0 + 60_000), "ok");
  assert.equal(limiter.check("d", t0 + 60_000), "ok", "one failure is under the limit");
  limiter.failed("d", t0 + 60_001);
  assert.equal(limiter.check("d", t0 + 60_001), "token");

  const total = new FailureLimiter({ perToken: 0, total: 2, windowMs: 60_000, maxKeys: 2 });
  total.verified("good", t0);
  total.failed("x", t0);
  assert.equal(total.check("new", t0), "ok", "one failure in all is under the limit");
  total.failed("y", t0 + 1);
  assert.equal(total.check("new", t0 + 1), "total");
  assert.equal(total.check("good", t0 + 59_999), "ok", "verified within the window");
  total.failed("w", t0 + 2);
  assert.equal(total.check("good", t0 + 60_000), "total", "verified a whole window ago");
  assert.equal(total.check("new", t0 + 60_001), "ok", "one failure is out of the window");
  // Beyond maxKeys verified tokens, the oldest is forgotten.
  const later = t0 + 60_001;
  total.failed("z", later);
  for (const key of ["v1", "v2", "v3"]) total.verified(key, later);
  assert.equal(total.check("v1", later), "total");
  assert.equal(total.check("v2", later), "ok");
  assert.equal(total.check("v3", later), "ok");
});

Deno.test("the pool sends a request to its least busy worker: a worker that goes silent takes none of another's requests with it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  Deno.env.set("CSC_FAULT_DIR", dir);
  const log: string[] = [];
  const pool = await workerPool(poolOptions(dir, log, { size: 2, pingMs: 600 }));
  try {
    const held = pool.run("perform", root, add("fault-hang"), { deadlineMs: 60_000 })
      .catch((e) => e);
    // It goes to the worker not holding the hanging request.
    const silent = await pool.run("perform", root, add("fault-exit"), { deadlineMs: 100 })
      .catch((e) => e);
    assert.equal(silent.kind, "deadline");
    for (let i = 0; i < 2400 && !log.some((l) => / did not answer /.test(l)); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(log.some((l) => / did not answer within 1 seconds; 0 request\(s\) it held/.test(l)));
    pool.close();
    const failure = await held;
    assert.equal(failure.message, "the store worker was stopped", "it was held to the end");
  } finally {
    pool.close();
    Deno.env.delete("CSC_FAULT_DIR");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pool whose worker cannot load is refused at the start, naming why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  Deno.env.set("CSC_FAULT_DIR", dir);
  try {
    await Deno.writeTextFile(`${dir}/no-start`, "");
    await assert.rejects(
      workerPool(poolOptions(dir, [], { size: 2 })),
      (e: unknown) =>
        e instanceof StoreError && e.code === "config" &&
        e.message ===
          "a store worker could not start: Error: this store worker cannot load (test fault)",
    );
  } finally {
    Deno.env.delete("CSC_FAULT_DIR");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withInlineReads: queries on the serving thread, the rest in the pool; only a WorkerFailure is logged", async () => {
  const calls: string[] = [];
  const log: string[] = [];
  let failWith: Error | null = null;
  const executor = (name: string, serving: number): Executor => ({
    run: (op) => {
      calls.push(`${name} ${op}`);
      return failWith === null ? Promise.resolve({ ok: true }) : Promise.reject(failWith);
    },
    health: () => ({ serving, size: 4 }),
    failed: Promise.resolve(`${name} failed`),
    close: () => calls.push(`${name} closed`),
  });
  const both = withInlineReads(executor("pool", 3), executor("local", 1), (l) => log.push(l));
  const request = null as unknown as CredRequest;
  await both.run("perform", ALICE_CALLER, request, { deadlineMs: 1, inline: true });
  await both.run("perform", ALICE_CALLER, request, { deadlineMs: 1, inline: false });
  await both.run("list", ALICE_CALLER, null as never, { deadlineMs: 1 });
  assert.deepEqual(calls, ["local perform", "pool perform", "pool list"]);
  assert.deepEqual(both.health(), { serving: 3, size: 4 });
  assert.equal(await both.failed, "pool failed");
  failWith = new TypeError("not a worker's");
  await assert.rejects(
    both.run("perform", ALICE_CALLER, request, { deadlineMs: 1, inline: true }),
    TypeError,
  );
  assert.deepEqual(log, []);
  failWith = new WorkerFailure("threw", "boom");
  await assert.rejects(both.run("perform", ALICE_CALLER, request, { deadlineMs: 1, inline: true }));
  assert.deepEqual(log, ["a perform request failed unexpectedly on the serving thread: boom"]);
  both.close();
  assert.deepEqual(calls.slice(-2), ["pool closed", "local closed"]);
});

Deno.test({
  name:
    "serve sweeps marked users every SEC_CREDENTIAL_SWEEP_INTERVAL seconds, and logs each (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withSpool(async (spool) => {
      const env = {
        ...spool.env,
        _CONDOR_CREDD_POLLING_TIMEOUT: "0",
        _CONDOR_CONDOR_IDS: "4000002.4000003",
      };
      const ctx = createStoreContext(
        loadConfig({ env, uid: 0, hostname: "node.test.example" }),
        { euid: 0 },
      );
      const self: Caller = { uid: 0, name: "root", domain: "test.example", inProcess: true };
      const krb = { action: "add", type: "kerberos", user: null, credential: new Uint8Array(1) };
      assert.equal((await perform(ctx, self, krb as CredRequest)).ok, true);
      assert.equal((await perform(ctx, self, { ...add("s"), user: null })).ok, true);
      const old = new Date(Date.now() - 10_000);
      for (const dir of [spool.krb, spool.oauth]) {
        await Deno.writeTextFile(`${dir}/root.mark`, "", { mode: 0o600 });
        await Deno.utime(`${dir}/root.mark`, old, old);
      }
      const { status, log } = await withServe({
        ...env,
        _CONDOR_CREDD_WORKERS: "0",
        // 0 (or less) is every second.
        _CONDOR_SEC_CREDENTIAL_SWEEP_INTERVAL: "0",
        _CONDOR_SEC_CREDENTIAL_SWEEP_DELAY: "5",
      }, async (_socket, _c, _options, log) => {
        const start = performance.now();
        for (let i = 0; i < 2400 && log.filter((l) => l.startsWith("swept")).length < 2; i++) {
          await new Promise((r) => setTimeout(r, 25));
        }
        // Not at once: the first sweep is a second after the start (less what the start took).
        assert.ok(performance.now() - start >= 500, `${performance.now() - start} ms`);
      });
      assert.equal(status, 0);
      assert.deepEqual(log.filter((l) => l.startsWith("swept")), [
        'swept the Kerberos credentials of "root"',
        'swept the OAuth credentials of "root"',
      ]);
      assert.equal(await exists(`${spool.krb}/root.cred`), false);
      assert.equal(await exists(`${spool.oauth}/root`), false);
    });
  },
});

/** `serve` with `options`, never told to stop: for a start that must be refused. */
function startServe(options: LoadConfigOptions): Promise<number> {
  return serve({
    config: loadConfig(options),
    euid: Deno.uid()!,
    log: () => {},
    debug: null,
    stop: new Promise(() => {}),
    configOptions: options,
  });
}

/** Serves in-process on a socket in a temp directory; `fn` gets the socket and challenge dir. */
async function withServe(
  env: Record<string, string>,
  fn: (
    socket: string,
    challengeDir: string,
    options: LoadConfigOptions,
    log: readonly string[],
  ) => Promise<void>,
): Promise<{ status: number; log: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  const challengeDir = `${dir}/challenges`;
  await Deno.mkdir(challengeDir);
  await Deno.chmod(challengeDir, 0o1777);
  const socket = `${dir}/run/credd.sock`;
  const options = {
    env: {
      CONDOR_CONFIG: "ONLY_ENV",
      _CONDOR_CREDD_SOCKET: socket,
      _CONDOR_CREDD_CHALLENGE_DIRECTORY: challengeDir,
      _CONDOR_UID_DOMAIN: "x.example",
      ...env,
    },
    uid: 0,
    hostname: "h",
  };
  const log: string[] = [];
  let stop = () => {};
  try {
    const served = serve({
      config: loadConfig(options),
      euid: Deno.uid()!,
      log: (line) => log.push(line),
      debug: null,
      stop: new Promise<void>((resolve) => stop = resolve),
      configOptions: options,
    });
    let outcome: { error: unknown } | null = null;
    served.catch((error) => outcome = { error });
    for (let i = 0; i < 2400 && !log.some((l) => l.startsWith("serving on")); i++) {
      if (outcome !== null) throw (outcome as { error: unknown }).error;
      await new Promise((r) => setTimeout(r, 25));
    }
    try {
      await fn(socket, challengeDir, options, log);
    } finally {
      stop();
    }
    return { status: await served, log };
  } finally {
    stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "serve with CREDD_WORKERS=0 performs every request on its own thread; its socket is 0666, its challenges live at least a second, and it is removed at the stop (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    let socketPath = "";
    const { status, log } = await withServe({
      _CONDOR_CREDD_WORKERS: "0",
      _CONDOR_CREDD_CHALLENGE_LIFETIME: "0",
    }, async (socket, c, options) => {
      socketPath = socket;
      assert.equal((await Deno.stat(socket)).mode! & 0o7777, 0o666);
      assert.equal(isSocket(socket), true);
      // Its directory was created, 0755.
      assert.equal((await Deno.stat(`${c}/../run`)).mode! & 0o7777, 0o755);
      // A second daemon on the same socket is refused, and leaves the first one's socket.
      await assert.rejects(
        startServe(options),
        (e: unknown) =>
          e instanceof StoreError && e.code === "unsupported" &&
          e.message === `another condor_store_cred serve is already listening on "${socket}"`,
      );
      assert.equal(isSocket(socket), true);
      assert.equal(isSocket(c), false, "a directory");
      assert.equal(isSocket(`${c}/none`), false);
      const reply = await sendLocal(
        socket,
        c,
        listCall({ action: "list", type: null, user: null }),
      );
      assert.ok(reply !== null);
      const before = Date.now();
      const challenge = await rawRequest(socket, "POST", "/v1/challenge");
      const after = Date.now();
      assert.equal(challenge.status, 200);
      const expires = challenge.body.expires as number;
      assert.ok(
        expires >= before + 1000 && expires <= after + 1000,
        `${before} ${expires} ${after}`,
      );
    });
    assert.equal(status, 0);
    assert.ok(log.some((l) => /: list all for .*: \d+ credentials$/.test(l)), log.join("\n"));
    assert.equal(log.at(-1), "stopped");
    assert.equal(await exists(socketPath), false);
  },
});

/** One HTTP request on the socket, answered and closed: its status and JSON body. */
async function rawRequest(
  socket: string,
  method: string,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    const text = `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n` +
      "Connection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(text));
    const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
    const status = Number(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1]);
    return { status, body: JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) };
  } finally {
    try {
      conn.close();
    } catch {
      // Closed with its readable stream.
    }
  }
}

Deno.test({
  name: "serve refuses to start when its socket path is not a socket, and leaves it (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
    try {
      await Deno.mkdir(`${dir}/run`, { mode: 0o755 });
      await Deno.writeTextFile(`${dir}/run/credd.sock`, "mine");
      const options = {
        env: {
          CONDOR_CONFIG: "ONLY_ENV",
          _CONDOR_CREDD_SOCKET: `${dir}/run/credd.sock`,
          _CONDOR_CREDD_WORKERS: "0",
        },
        uid: 0,
        hostname: "h",
      };
      await assert.rejects(
        startServe(options),
        (e: unknown) =>
          e instanceof StoreError && e.code === "insecure" &&
          /exists and is not a socket/.test(e.message),
      );
      assert.equal(await Deno.readTextFile(`${dir}/run/credd.sock`), "mine");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a socket path longer than a Unix socket may have is refused by name before anything is made; one at the limit is taken (needs root)",
  ignore: Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
    try {
      await Deno.chmod(dir, 0o755);
      const config = loadConfig({ env: { CONDOR_CONFIG: "ONLY_ENV" }, uid: 0, hostname: "h" });
      const at = (bytes: number) => `${dir}/run/${"s".repeat(bytes - dir.length - 5)}`;
      assert.equal(MAX_SOCKET_PATH_BYTES, 107);
      const long = at(108);
      await assert.rejects(
        prepareSocket(config, long, 0),
        (e: unknown) =>
          e instanceof StoreError && e.code === "config" &&
          e.message === `the socket path "${long}" is 108 bytes long; a Unix socket's path may ` +
              "have at most 107" &&
          e.remedy === "set CREDD_SOCKET to a shorter path",
      );
      // Nothing was made for it.
      assert.equal(await Deno.lstat(`${dir}/run`).catch(() => null), null);
      // At the limit: its directory is made, and a daemon can listen there.
      const path = at(107);
      await prepareSocket(config, path, 0);
      const listener = Deno.listen({ transport: "unix", path });
      listener.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a pool closed while it replaces a crashed worker stops there: no retry, nothing logged about the replacement", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-core-" });
  Deno.env.set("CSC_FAULT_DIR", dir);
  const log: string[] = [];
  const pool = await workerPool(poolOptions(dir, log));
  try {
    // The crash is answered once the worker is found dead, when its replacement starts.
    await pool.run("perform", root, add("fault-crash"), { deadlineMs: 20_000 }).catch(() => {});
    pool.close();
    // The replacement, stopped while it started, gives up at once (one turn of the event loop).
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(log.filter((l) => /could not be restarted/.test(l)), [], log.join("\n"));
  } finally {
    pool.close();
    Deno.env.delete("CSC_FAULT_DIR");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a local caller is named from the passwd file, in this node's UID_DOMAIN; a uid with no name there is refused, naming the uid", () => {
  const config = loadConfig({
    env: { CONDOR_CONFIG: "ONLY_ENV", _CONDOR_UID_DOMAIN: "d.example" },
    uid: 0,
    hostname: "h",
  });
  assert.deepEqual(localCaller(config, 0), {
    uid: 0,
    name: "root",
    domain: "d.example",
    inProcess: false,
  });
  const accounts = new AccountDb();
  let nobody = 3_999_999;
  while (accounts.byUid(nobody) !== undefined) nobody--;
  assert.throws(
    () => localCaller(config, nobody),
    (e: unknown) =>
      e instanceof ProtocolError && e.status === 401 && e.code === "not-secure" &&
      e.message === `uid ${nobody} has no name in the passwd file`,
  );
});
