/**
 * What a daemon thread remembers between requests (docs/storage.md "What the daemon remembers"):
 * facts of unchanged files (lib/fs/facts.ts: an access token's expiry, a `.top`'s scopes and
 * audience, a name missing from a directory) and store roots whose ancestors passed lately (lib/fs/directories.ts CheckedRoots).
 * Each is shown to be used (the file is not opened again, the chain is not walked again) and to be
 * dropped the moment it could be wrong: a file replaced or written, a file too recent to tell, a
 * root replaced or made unsafe, an ancestor after the time-to-live. In-process on temp spools, as
 * root, so owners and modes are real.
 */

import assert from "node:assert/strict";
import type { Caller, CredRequest } from "../lib/request.ts";
import { createStoreContext, perform } from "../lib/store/service.ts";
import type { StoreContext } from "../lib/store/context.ts";
import { CheckedRoots, storeDirectory } from "../lib/fs/directories.ts";
import { FileFacts, settled, SETTLED_MS } from "../lib/fs/facts.ts";
import type { Owners } from "../lib/fs/owners.ts";
import { inspectFile } from "../lib/fs/files.ts";
import { AccountDb } from "../lib/accounts.ts";
import { StoreError } from "../lib/errors.ts";
import { type Spool, withSpool } from "../testing/harness.ts";
import { storeConfig } from "../testing/store.ts";

const encoder = new TextEncoder();
const ROOT: Caller = { uid: 0, name: "root", domain: "test.example", inProcess: true };
const OWNERS: Owners = { self: 0, condor: null, accounts: new AccountDb() };

/** An unsigned JWT whose `exp` is `exp` (what the store reads of an access token). */
function jwt(exp: number): string {
  const part = (value: unknown) =>
    btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return `${part({ alg: "none" })}.${part({ sub: "alice", exp })}.sig`;
}

function context(spool: Spool, memory: Pick<StoreContext, "facts" | "roots">): StoreContext {
  return createStoreContext(storeConfig(spool), { euid: 0, ...memory });
}

const subject = { type: "oauth", user: "alice@test.example", handle: null } as const;

async function addToken(ctx: StoreContext, service: string, token: string, top = false) {
  const reply = await perform(ctx, ROOT, {
    ...subject,
    action: "add",
    service,
    scopes: top ? "read" : null,
    audience: null,
    accessToken: !top,
    credential: encoder.encode(token),
  } as unknown as CredRequest);
  assert.ok(reply.ok, reply.ok ? "" : reply.error.message);
}

async function query(
  ctx: StoreContext,
  service: string,
  options: { scopes?: string; minTtl?: number } = {},
) {
  const reply = await perform(ctx, ROOT, {
    ...subject,
    action: "query",
    service,
    scopes: options.scopes ?? null,
    audience: null,
    accessToken: false,
    minTtl: options.minTtl ?? null,
  } as unknown as CredRequest);
  return reply;
}

/**
 * Runs `fn` counting the files opened (Deno.openSync) whose path ends with `suffix`, and every
 * `lstat` (Deno.lstatSync) and removal (Deno.removeSync).
 */
async function counting<T>(
  suffix: string,
  fn: () => T | Promise<T>,
): Promise<{ value: T; opened: number; lstats: number; removes: number }> {
  const { openSync, lstatSync, removeSync } = Deno;
  let opened = 0;
  let lstats = 0;
  let removes = 0;
  Deno.openSync = ((path: string | URL, options?: Deno.OpenOptions) => {
    if (String(path).endsWith(suffix)) opened++;
    return openSync(path, options);
  }) as typeof Deno.openSync;
  Deno.lstatSync = ((path: string | URL) => {
    lstats++;
    return lstatSync(path);
  }) as typeof Deno.lstatSync;
  Deno.removeSync = ((path: string | URL, options?: Deno.RemoveOptions) => {
    removes++;
    return removeSync(path, options);
  }) as typeof Deno.removeSync;
  try {
    const value = await fn();
    return { value, opened, lstats, removes };
  } finally {
    Deno.openSync = openSync;
    Deno.lstatSync = lstatSync;
    Deno.removeSync = removeSync;
  }
}

/** The number of files `fn` opens whose path ends with `suffix`, and its result. */
async function countingOpens<T>(suffix: string, fn: () => Promise<T>): Promise<[T, number]> {
  const { value, opened } = await counting(suffix, fn);
  return [value, opened];
}

// A clock SETTLED_MS and more ahead: every file just written counts as settled.
const later = () => Date.now() + SETTLED_MS + 60_000;

Deno.test("settled(): a file is trusted by its version only once its mtime is SETTLED_MS old", () => {
  const at = (mtime: number) => ({ mtime: new Date(mtime), ctime: new Date(0) }) as Deno.FileInfo;
  const now = 1_000_000;
  assert.equal(settled(at(now - SETTLED_MS), now), true);
  assert.equal(settled(at(now - SETTLED_MS + 1), now), false);
  assert.equal(settled(at(now + 5000), now), false);
  assert.equal(settled({ mtime: null } as unknown as Deno.FileInfo, now), false);
});

Deno.test("FileFacts keeps at most `capacity` facts, the oldest going first", () => {
  const facts = new FileFacts(2, () => 10_000_000);
  const info = (ino: number) =>
    ({ dev: 1, ino, size: 1, mtime: new Date(0), ctime: new Date(0) }) as Deno.FileInfo;
  facts.remember("exp", "/a", info(1), 1, 10_000_000);
  facts.remember("exp", "/b", info(2), 2, 10_000_000);
  facts.remember("exp", "/c", info(3), 3, 10_000_000);
  assert.equal(facts.size, 2);
  assert.equal(facts.get("exp", "/a", info(1)), undefined);
  assert.equal(facts.get("exp", "/b", info(2)), 2);
  assert.equal(facts.get("exp", "/c", info(3)), 3);
  // Another version of the same path, or another kind of fact, is not known.
  assert.equal(facts.get("exp", "/c", info(4)), undefined);
  assert.equal(facts.get("scopes", "/c", info(3)), undefined);
});

Deno.test("FileFacts judges a version settled when the read began, not when it is remembered", () => {
  const facts = new FileFacts(16, () => 10_000_000);
  const info = { dev: 1, ino: 1, size: 1, mtime: new Date(5000), ctime: new Date(5000) };
  // Begun less than SETTLED_MS after the mtime: a write after it could keep that mtime.
  facts.remember("exp", "/a", info as Deno.FileInfo, 1, 5000 + SETTLED_MS - 1);
  assert.equal(facts.get("exp", "/a", info as Deno.FileInfo), undefined);
  facts.remember("exp", "/a", info as Deno.FileInfo, 1, 5000 + SETTLED_MS);
  assert.equal(facts.get("exp", "/a", info as Deno.FileInfo), 1);
});

Deno.test("a name missing from a directory is remembered only while the directory is the version the lookup started from", async () => {
  await withSpool((spool) => {
    Deno.mkdirSync(spool.oauth, { recursive: true, mode: 0o700 });
    const facts = new FileFacts(16, later);
    const fresh = storeDirectory(spool.oauth, OWNERS)!;
    assert.equal(inspectFile(fresh, "x.top", OWNERS, "secret", facts), null);
    assert.equal(facts.size, 1);
    // The directory changed after it was looked at (its times set anew, as a move away and back
    // leaves them but for ctime): the miss is not remembered.
    const stale = storeDirectory(spool.oauth, OWNERS)!;
    Deno.utimeSync(spool.oauth, new Date(2001, 0, 1), new Date(2001, 0, 1));
    assert.equal(inspectFile(stale, "y.top", OWNERS, "secret", facts), null);
    assert.equal(facts.size, 1);
    assert.equal(facts.get("absent", `${spool.oauth}/y.top`, stale.info), undefined);
    return Promise.resolve();
  });
});

Deno.test("a query remembers an access token's expiry by the file's version: not read again while unchanged, read again once replaced or written", async () => {
  await withSpool(async (spool) => {
    const facts = new FileFacts(4096, later);
    const ctx = () => context(spool, { facts });
    await addToken(ctx(), "svc", jwt(2_000_000_000));
    const [first, readFirst] = await countingOpens("svc.use", () => query(ctx(), "svc"));
    assert.ok(first.ok && first.outcome.expires === 2_000_000_000, JSON.stringify(first));
    assert.equal(readFirst, 1);
    const [again, readAgain] = await countingOpens("svc.use", () => query(ctx(), "svc"));
    assert.ok(again.ok && again.outcome.expires === 2_000_000_000);
    assert.equal(readAgain, 0, "an unchanged .use is not opened again");
    // --min-ttl uses the same fact.
    const [ttl, readTtl] = await countingOpens(
      "svc.use",
      () => query(ctx(), "svc", { minTtl: 60 }),
    );
    assert.ok(ttl.ok && ttl.outcome.expires === 2_000_000_000);
    assert.equal(readTtl, 0);

    // Replaced (a new file renamed over it, as every writer does): read again.
    await addToken(ctx(), "svc", jwt(2_000_000_001));
    const [replaced, readReplaced] = await countingOpens("svc.use", () => query(ctx(), "svc"));
    assert.ok(replaced.ok && replaced.outcome.expires === 2_000_000_001);
    assert.equal(readReplaced, 1);

    // Written in place with a token of the same length: its mtime moves, so it is read again.
    const path = `${spool.oauth}/alice/svc.use`;
    Deno.utimeSync(path, 1_000_000, 1_000_000);
    await query(ctx(), "svc");
    Deno.writeFileSync(path, encoder.encode(jwt(2_000_000_002)));
    const [written, readWritten] = await countingOpens("svc.use", () => query(ctx(), "svc"));
    assert.ok(written.ok && written.outcome.expires === 2_000_000_002, JSON.stringify(written));
    assert.equal(readWritten, 1);

    // Made readable by others: refused, whatever was remembered (every check is made each time).
    Deno.chmodSync(path, 0o644);
    const refused = await query(ctx(), "svc");
    assert.ok(!refused.ok && refused.error.code === "insecure", JSON.stringify(refused));
  });
});

Deno.test("a file changed within SETTLED_MS is not remembered: the next query reads it again", async () => {
  await withSpool(async (spool) => {
    let clock = 0;
    const facts = new FileFacts(4096, () => clock);
    const ctx = () => context(spool, { facts });
    await addToken(ctx(), "svc", jwt(2_000_000_000));
    // The clock stays a millisecond short of the token's settling, however slow the machine.
    const path = `${spool.oauth}/alice/svc.use`;
    clock = Deno.lstatSync(path).mtime!.getTime() + SETTLED_MS - 1;
    for (let i = 0; i < 2; i++) {
      const [reply, read] = await countingOpens("svc.use", () => query(ctx(), "svc"));
      assert.ok(reply.ok && reply.outcome.expires === 2_000_000_000);
      assert.equal(read, 1);
    }
    assert.equal(facts.get("exp", path, Deno.lstatSync(path)), undefined);
    // A millisecond later it is settled: remembered, and not read again.
    clock++;
    await query(ctx(), "svc");
    const [reply, read] = await countingOpens("svc.use", () => query(ctx(), "svc"));
    assert.ok(reply.ok && reply.outcome.expires === 2_000_000_000);
    assert.equal(read, 0);
  });
});

Deno.test("a query remembers a .top's scopes by its version; a .top written anew is compared anew", async () => {
  await withSpool(async (spool) => {
    const facts = new FileFacts(4096, later);
    const ctx = () => context(spool, { facts });
    await addToken(ctx(), "svc", "{}", true);
    const [first, readFirst] = await countingOpens(
      "svc.top",
      () => query(ctx(), "svc", { scopes: "read" }),
    );
    assert.ok(first.ok && first.outcome.status === "pending", JSON.stringify(first));
    assert.equal(readFirst, 1);
    const [again, readAgain] = await countingOpens(
      "svc.top",
      () => query(ctx(), "svc", { scopes: "read" }),
    );
    assert.ok(again.ok && again.outcome.status === "pending");
    assert.equal(readAgain, 0);
    const mismatch = await query(ctx(), "svc", { scopes: "write" });
    assert.ok(!mismatch.ok && mismatch.error.code === "mismatch");

    // The credmon's web flow writes a .top with other scopes (a new file renamed over it).
    const path = `${spool.oauth}/alice/svc.top`;
    Deno.writeFileSync(`${path}.new`, encoder.encode('{"scopes": "write"}'), { mode: 0o600 });
    Deno.renameSync(`${path}.new`, path);
    const [now, readNow] = await countingOpens(
      "svc.top",
      () => query(ctx(), "svc", { scopes: "write" }),
    );
    assert.ok(now.ok, JSON.stringify(now));
    assert.equal(readNow, 1);
  });
});

Deno.test("CheckedRoots: within its time-to-live a root is lstat'ed and checked alone; replaced or made unsafe, it is walked or refused", async () => {
  await withSpool(async (spool) => {
    const oauth = spool.oauth;
    Deno.mkdirSync(oauth, { recursive: true, mode: 0o700 });
    let clock = 1_000_000;
    const roots = new CheckedRoots(1000, () => clock);
    const open = () => storeDirectory(oauth, OWNERS, { checked: roots });
    const lstatsOf = async (fn: () => unknown) => (await counting("", fn)).lstats;
    const depth = oauth.split("/").length;
    const walked = await lstatsOf(open);
    assert.ok(walked >= depth, `a full walk lstats every component (${walked})`);
    assert.equal(await lstatsOf(open), 1, "the root alone is lstat'ed within the time-to-live");
    const first = open()!;
    assert.equal(first.path, oauth);

    // The root made unsafe is refused at once.
    Deno.chmodSync(oauth, 0o777);
    assert.throws(open, (e) => e instanceof StoreError && e.code === "insecure");
    Deno.chmodSync(oauth, 0o700);

    // Another directory in its place: walked again, and that one is returned.
    open();
    Deno.renameSync(oauth, `${oauth}.old`);
    Deno.mkdirSync(oauth, { mode: 0o700 });
    assert.ok((await lstatsOf(open)) >= depth);
    assert.notEqual(open()?.info.ino, first.info.ino);

    // A link in its place is never taken for it.
    open();
    Deno.renameSync(oauth, `${oauth}.older`);
    Deno.symlinkSync(`${oauth}.old`, oauth);
    assert.ok((await lstatsOf(open)) >= depth);
    assert.equal(open()?.path, `${oauth}.old`);
    Deno.removeSync(oauth);
    Deno.renameSync(`${oauth}.older`, oauth);

    // An ancestor made unsafe by a trusted owner is seen by the next full walk, once the
    // time-to-live is over.
    open();
    const parent = `${spool.root}/spool`;
    Deno.chmodSync(parent, 0o777);
    try {
      assert.ok(open() !== null, "within the time-to-live, the ancestors are taken as checked");
      clock += 1000;
      assert.throws(open, (e) => e instanceof StoreError && e.code === "insecure");
    } finally {
      Deno.chmodSync(parent, 0o700);
    }
    assert.ok(open() !== null);
  });
});

Deno.test("a name found missing is not looked for again while its directory is unchanged: a .top or a mark created later is seen", async () => {
  await withSpool(async (spool) => {
    const memory = { facts: new FileFacts(4096, later), roots: new CheckedRoots(3_600_000) };
    const ctx = () => context(spool, memory);
    await addToken(ctx(), "svc", jwt(2_000_000_000));
    // Directory times set back: whatever is created next moves them, in any clock tick.
    const old = new Date(2001, 0, 1);
    const settle = () => {
      Deno.utimeSync(spool.oauth, old, old);
      Deno.utimeSync(`${spool.oauth}/alice`, old, old);
    };
    settle();
    const first = await query(ctx(), "svc");
    assert.ok(first.ok && first.outcome.status === "success");
    const next = ctx();
    const { value: again, lstats, removes } = await counting("", () => query(next, "svc"));
    assert.ok(again.ok && again.outcome.status === "success");
    // The OAuth directory, the user's directory and the .use: no .top, no mark looked for.
    assert.equal(lstats, 3);
    assert.equal(removes, 0);

    // A .top the credmon writes: the query compares its scopes (none) with the request's.
    const top = `${spool.oauth}/alice/svc.top`;
    Deno.writeFileSync(top, encoder.encode('{"scopes": "read"}'), { mode: 0o600 });
    const mismatch = await query(ctx(), "svc");
    assert.ok(!mismatch.ok && mismatch.error.code === "mismatch", JSON.stringify(mismatch));
    Deno.removeSync(top);
    settle();
    assert.ok((await query(ctx(), "svc")).ok);

    // A mark the schedd leaves: the next query removes it.
    const mark = `${spool.oauth}/alice.mark`;
    Deno.writeFileSync(mark, new Uint8Array(), { mode: 0o600 });
    assert.ok((await query(ctx(), "svc")).ok);
    assert.throws(() => Deno.lstatSync(mark), Deno.errors.NotFound);
  });
});

Deno.test("a daemon thread's query with both memories makes no open, no exception and walks no ancestor of the store", async () => {
  await withSpool(async (spool) => {
    const memory = { facts: new FileFacts(4096, later), roots: new CheckedRoots() };
    const ctx = () => context(spool, memory);
    await addToken(ctx(), "svc", jwt(2_000_000_000));
    await query(ctx(), "svc");
    const next = ctx();
    const { value: reply, opened, lstats, removes } = await counting(
      "",
      () => query(next, "svc"),
    );
    assert.ok(reply.ok);
    assert.equal(opened, 0);
    // The OAuth directory, the user's directory and the .use.
    assert.equal(lstats, 3);
    assert.equal(removes, 0);
  });
});
