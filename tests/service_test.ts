/**
 * The store service used in-process, as the daemon uses it: many requests from several callers
 * in one process give the same outcomes, files and modes as the same requests run as separate
 * processes; the service itself refuses bad names and other callers' credentials; no caller
 * sees state cached for another, and no request sees state cached by an earlier one.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../lib/config/mod.ts";
import { jsonError, jsonOutcome } from "../lib/output/json.ts";
import type { Subject } from "../lib/output/text.ts";
import type { Caller, CredRequest } from "../lib/request.ts";
import { createStoreContext, perform, type Reply } from "../lib/store/service.ts";
import { runCli, type Spool, withSpool } from "../testing/harness.ts";

const DOMAIN = "test.example";

function caller(name: string, uid: number): Caller {
  return { uid, name, domain: DOMAIN, inProcess: false };
}

const CALLERS = [caller("alice", 2001), caller("bob", 2002), caller("carol", 2003)];

/** A deterministic pseudo-random sequence (xorshift32), so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** One step of the sequence: a request without its bytes, and the bytes of an add. */
interface Step {
  readonly who: Caller;
  readonly args: string[];
  readonly credential: string | null;
  readonly request: (bytes: Uint8Array | null) => CredRequest;
}

function steps(count: number, seed: number): Step[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
  const out: Step[] = [];
  for (let i = 0; i < count; i++) {
    const who = pick(CALLERS);
    const type = pick(["password", "kerberos", "oauth"] as const);
    const action = pick(["add", "add", "query", "delete"] as const);
    const service = pick(["svc", "box", "scitokens"]);
    const accessToken = next() < 0.5;
    const credential = action === "add" ? pick(["one", "two", `v${i % 7}`]) : null;
    const suffix = type === "password" ? "-pwd" : type === "kerberos" ? "-krb" : "-oauth";
    const oauthArgs = type === "oauth" && (action === "add" || next() < 0.7)
      ? ["-s", service, ...(accessToken && action === "add" ? ["-P"] : [])]
      : [];
    const args = [
      `${action}${suffix}`,
      "-u",
      `${who.name}@${DOMAIN}`,
      ...oauthArgs,
      ...(action === "add" ? (type === "password" ? ["-p", "-"] : ["-i", "-"]) : []),
    ];
    const oauth = {
      service: oauthArgs.length > 0 ? service : null,
      handle: null,
      scopes: null,
      audience: null,
      accessToken: accessToken && action === "add",
    };
    out.push({
      who,
      args,
      credential,
      request(bytes) {
        const subject = type === "password"
          ? { type, pool: false, user: null }
          : type === "kerberos"
          ? { type, user: null }
          : { type, user: null, ...oauth };
        return (action === "add"
          ? { ...subject, action, credential: bytes! }
          : { ...subject, action }) as CredRequest;
      },
    });
  }
  return out;
}

/** What is compared of an outcome: everything but times. */
function summary(json: { ok: boolean; status: string; reason: string; changed: unknown }) {
  return `${json.ok} ${json.status} ${json.reason} ${json.changed}`;
}

function replySummary(step: Step, reply: Reply): string {
  const [action, type] = [step.args[0].split("-")[0], step.args[0].split("-")[1]];
  const subject: Subject = {
    action: action as Subject["action"],
    type: ({ pwd: "password", krb: "kerberos", oauth: "oauth" } as const)[
      type as "pwd" | "krb" | "oauth"
    ],
    account: "",
    pool: false,
  };
  return summary(
    reply.ok
      ? jsonOutcome(subject, "", reply.outcome, reply.warnings)
      : jsonError(subject, null, reply.error, reply.warnings),
  );
}

/** Every file under `dir`: path, type, mode, owner and content hash (no times). */
async function layout(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(path: string, rel: string) {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      const info = await Deno.lstat(full);
      const name = `${rel}${entry.name}`;
      if (info.isDirectory) {
        out.push(`${name}/ ${(info.mode! & 0o7777).toString(8)} ${info.uid}`);
        await walk(full, `${name}/`);
      } else {
        const bytes = await Deno.readFile(full);
        // Sealed passwords differ in nonce and host key per spool: compare their length only.
        const digest = name.startsWith("pwd/") ? `len ${bytes.length > 0 ? "n" : 0}` : Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("").slice(0, 16);
        out.push(`${name} ${(info.mode! & 0o7777).toString(8)} ${info.uid} ${digest}`);
      }
    }
  }
  await walk(dir, "");
  return out.sort();
}

function load(spool: Spool) {
  return loadConfig({ env: { ...spool.env }, uid: 0, hostname: "node.test.example" });
}

/**
 * The condor account of both spools of the 1,200-request test, fixed: other test runs on the
 * machine create and remove a real `condor` account (testing/users.ts), which would change the
 * layout between the two halves of the test.
 */
const FIXED_CONDOR = { config: "CONDOR_IDS = 4000002.4000003" };

Deno.test("1,200 mixed requests from three callers in one process match 1,200 separate processes", async () => {
  const sequence = steps(1200, 20261201);
  const inProcess: string[] = [];
  const asProcesses: string[] = [];
  let inProcessLayout: string[] = [];
  await withSpool(async (spool) => {
    const config = load(spool);
    for (const step of sequence) {
      // A fresh context per request, as the daemon makes one: nothing carries over.
      const ctx = createStoreContext(config, { euid: 0 });
      const bytes = step.credential === null ? null : new TextEncoder().encode(step.credential);
      inProcess.push(replySummary(step, await perform(ctx, step.who, step.request(bytes))));
    }
    inProcessLayout = await layout(`${spool.root}/spool`);
  }, FIXED_CONDOR);
  await withSpool(async (spool) => {
    // One stream per caller: a caller's requests keep their order; callers share nothing.
    const results = new Array<string>(sequence.length);
    await Promise.all(CALLERS.map(async (who) => {
      for (const [i, step] of sequence.entries()) {
        if (step.who !== who) continue;
        const r = await runCli([...step.args, "--json"], {
          env: spool.env,
          stdin: step.credential ?? undefined,
        });
        results[i] = summary(JSON.parse(r.stdout));
      }
    }));
    asProcesses.push(...results);
    assert.deepEqual(await layout(`${spool.root}/spool`), inProcessLayout);
  }, FIXED_CONDOR);
  assert.equal(inProcess.length, 1200);
  assert.deepEqual(inProcess, asProcesses);
  // The mix really exercised every kind of outcome.
  for (const kind of ["stored", "pending", "deleted", "valid", "not-found", "unchanged"]) {
    assert.ok(inProcess.some((s) => s.includes(kind)), kind);
  }
});

Deno.test("the service refuses bad names and other callers' credentials itself; nothing is written", async () => {
  await withSpool(async (spool) => {
    const config = load(spool);
    const [alice, bob] = CALLERS;
    const run = (who: Caller, request: CredRequest) =>
      perform(createStoreContext(config, { euid: 0 }), who, request);
    const bytes = () => new TextEncoder().encode("secret");
    const refusals: [Caller, CredRequest, string, RegExp][] = [
      [
        alice,
        { action: "add", type: "kerberos", user: `../escape@${DOMAIN}`, credential: bytes() },
        "bad-args",
        /the user name "\.\.\/escape"/,
      ],
      [
        alice,
        {
          action: "add",
          type: "oauth",
          user: null,
          service: "../x",
          handle: null,
          scopes: null,
          audience: null,
          accessToken: true,
          credential: bytes(),
        },
        "bad-args",
        /the service name/,
      ],
      [
        alice,
        {
          action: "add",
          type: "oauth",
          user: null,
          service: "s",
          handle: "a/b",
          scopes: null,
          audience: null,
          accessToken: true,
          credential: bytes(),
        },
        "bad-args",
        /the handle name/,
      ],
      [
        alice,
        { action: "add", type: "kerberos", user: `bob@${DOMAIN}`, credential: bytes() },
        "not-allowed",
        /alice@test\.example may not act on the credentials of "bob@test\.example"/,
      ],
      [
        alice,
        { action: "query", type: "kerberos", user: `alice@other.example` },
        "not-allowed",
        /"alice@other\.example" is not a user of this pool's domain "test\.example"/,
      ],
      [
        alice,
        { action: "query", type: "password", pool: false, user: `alice@other.example` },
        "not-allowed",
        /alice@test\.example may not act on the credentials of "alice@other\.example"/,
      ],
      [
        bob,
        { action: "add", type: "password", pool: true, user: null, credential: bytes() },
        "not-allowed",
        /may not manage the pool password/,
      ],
      [
        bob,
        { action: "delete", type: "password", pool: false, user: `condor_pool@${DOMAIN}` },
        "not-allowed",
        /may not manage the pool password/,
      ],
    ];
    for (const [who, request, code, message] of refusals) {
      const reply = await run(who, request);
      assert.equal(reply.ok, false, JSON.stringify(request));
      if (reply.ok) continue;
      assert.equal(reply.error.code, code);
      assert.match(reply.error.message, message);
      // The refused add's bytes are wiped.
      if (request.action === "add") assert.deepEqual([...request.credential], [0, 0, 0, 0, 0, 0]);
    }
    // Nothing was created: not even the store's directories.
    assert.equal(await Deno.lstat(`${spool.root}/spool`).catch(() => null), null);
    // Root and CRED_SUPER_USERS may act for others.
    const root: Caller = { uid: 0, name: "root", domain: DOMAIN, inProcess: false };
    const admin = { ...caller("admin", 2009) };
    const superConfig = loadConfig({
      env: { ...spool.env, _CONDOR_CRED_SUPER_USERS: "admin" },
      uid: 0,
      hostname: "h",
    });
    for (const [who, cfg] of [[root, config], [admin, superConfig]] as const) {
      const reply = await perform(createStoreContext(cfg, { euid: 0 }), who, {
        action: "add",
        type: "kerberos",
        user: `bob@${DOMAIN}`,
        credential: bytes(),
      });
      assert.equal(reply.ok, true, who.name);
    }
  });
});

Deno.test("in one process a query after an add sees the add; callers see only their own", async () => {
  await withSpool(async (spool) => {
    const config = load(spool);
    const [alice, bob] = CALLERS;
    const run = (who: Caller, request: CredRequest) =>
      perform(createStoreContext(config, { euid: 0 }), who, request);
    const oauth = { service: "s", handle: null, scopes: null, audience: null, accessToken: true };
    const query = { action: "query", type: "oauth", user: null, ...oauth } as const;
    const before = await run(alice, query);
    assert.equal(before.ok ? "found" : before.error.code, "not-found");
    const add = await run(alice, {
      action: "add",
      type: "oauth",
      user: null,
      ...oauth,
      credential: new TextEncoder().encode("t"),
    });
    assert.equal(add.ok, true);
    const after = await run(alice, query);
    assert.equal(after.ok, true);
    assert.equal(after.ok && after.outcome.ad?.fully_qualified_user, "alice@test.example");
    // Bob's query is about bob, whatever alice's request left behind.
    const bobs = await run(bob, query);
    assert.equal(bobs.ok ? "found" : bobs.error.code, "not-found");
  });
});
