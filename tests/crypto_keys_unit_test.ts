/**
 * The pool-password scrambling and the sealed passwords (lib/crypto), and the IDTOKEN key and
 * token files (lib/auth/keys.ts), in-process: formats byte for byte, every refusal, every
 * boundary (TESTING.md).
 */

import assert from "node:assert/strict";
import { AccountDb } from "../lib/accounts.ts";
import { type Config, loadConfig } from "../lib/config/mod.ts";
import {
  scramblePoolPassword,
  truncateAtNul,
  unscramblePoolPassword,
} from "../lib/crypto/scramble.ts";
import { HOST_KEY_BYTES, seal, unseal } from "../lib/crypto/seal.ts";
import {
  readSigningKey,
  readTokenDirectory,
  readTokenFile,
  signingKeyPath,
  tokenDirectory,
  tokenProblem,
  tokensIn,
} from "../lib/auth/keys.ts";
import type { Owners } from "../lib/fs/owners.ts";
import { StoreError } from "../lib/errors.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

Deno.test("scramblePoolPassword() XORs with DE AD BE EF from the first byte; unscrambling stops at NUL", () => {
  assert.deepEqual([...scramblePoolPassword(bytes("foobar2"))], [
    0xb8,
    0xc2,
    0xd1,
    0x8d,
    0xbf,
    0xdf,
    0x8c,
  ]);
  assert.deepEqual([...scramblePoolPassword(new Uint8Array(9))], [
    0xde,
    0xad,
    0xbe,
    0xef,
    0xde,
    0xad,
    0xbe,
    0xef,
    0xde,
  ]);
  assert.deepEqual(scramblePoolPassword(new Uint8Array(0)), new Uint8Array(0));
  const file = new Uint8Array(256);
  file.set(scramblePoolPassword(bytes("foobar2")));
  assert.equal(new TextDecoder().decode(unscramblePoolPassword(file)), "foobar2");
  assert.equal(
    new TextDecoder().decode(unscramblePoolPassword(scramblePoolPassword(bytes("x")))),
    "x",
  );
  // A scrambled byte that is 0 ends the password (upstream reads a C string).
  assert.deepEqual([...unscramblePoolPassword(Uint8Array.from([0xb8, 0, 0xd1]))], [0x66]);
  assert.deepEqual([...unscramblePoolPassword(Uint8Array.from([0, 1]))], []);
  assert.deepEqual([...truncateAtNul(Uint8Array.from([1, 2, 0, 3]))], [1, 2]);
  assert.deepEqual([...truncateAtNul(Uint8Array.from([0, 3]))], []);
  assert.deepEqual([...truncateAtNul(Uint8Array.from([4, 5]))], [4, 5]);
});

Deno.test("seal() and unseal(): the format, the account bound in, every tampering refused", async () => {
  const key = crypto.getRandomValues(new Uint8Array(HOST_KEY_BYTES));
  assert.equal(HOST_KEY_BYTES, 32);
  const sealed = await seal(bytes("hunter2"), "alice@d", key);
  assert.equal(new TextDecoder().decode(sealed.subarray(0, 8)), "CSCSEAL1");
  assert.equal(sealed.length, 8 + 12 + 7 + 16);
  assert.equal(new TextDecoder().decode((await unseal(sealed, "alice@d", key))!), "hunter2");
  const again = await seal(bytes("hunter2"), "alice@d", key);
  assert.notDeepEqual(again.subarray(8, 20), sealed.subarray(8, 20), "a fresh nonce per write");
  assert.equal(await unseal(sealed, "bob@d", key), null);
  assert.equal(await unseal(sealed, "alice@d", crypto.getRandomValues(new Uint8Array(32))), null);
  for (const at of [0, 7, 8, 19, 20, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[at] ^= 1;
    assert.equal(await unseal(bad, "alice@d", key), null, `byte ${at}`);
  }
  // The shortest file that can open: magic, nonce and tag around an empty secret.
  const empty = await seal(new Uint8Array(0), "alice@d", key);
  assert.equal(empty.length, 36);
  assert.deepEqual(await unseal(empty, "alice@d", key), new Uint8Array(0));
  assert.equal(await unseal(empty.subarray(0, 35), "alice@d", key), null);
  assert.equal(await unseal(new Uint8Array(0), "alice@d", key), null);
  // Only a 32-byte key: AES-128 and AES-192 keys are refused, not used.
  for (const length of [16, 24, 31, 33]) {
    const short = new Uint8Array(length);
    await assert.rejects(seal(bytes("x"), "a@d", short), /host key has the wrong length/);
    await assert.rejects(unseal(sealed, "alice@d", short), /host key has the wrong length/);
  }
});

/** A JWT with these header fields and claims (unsigned: tokenProblem reads claims only). */
function token(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "HS256", ...header })}.${b64(claims)}.c2ln`;
}

Deno.test("tokenProblem() says why a held token cannot be used: not a token, no kid, issuer, subject, expiry", () => {
  const good = { iss: "pool", sub: "alice@pool", exp: 1000 };
  assert.equal(tokenProblem(token({ kid: "POOL" }, good), "pool", 999), null);
  assert.equal(
    tokenProblem(token({ kid: "POOL" }, good), "pool", 1000),
    null,
    "exp is the last valid second",
  );
  assert.equal(tokenProblem(token({ kid: "POOL" }, good), "pool", 1001), "it has expired");
  assert.equal(
    tokenProblem(token({ kid: "POOL" }, { ...good, exp: undefined }), "pool", 5e9),
    null,
  );
  assert.equal(tokenProblem("junk", "pool", 0), "it is not a token");
  assert.equal(tokenProblem(token({}, good), "pool", 0), "it has no key ID");
  assert.equal(tokenProblem(token({ kid: 1 }, good), "pool", 0), "it has no key ID");
  assert.equal(tokenProblem(token({ kid: "POOL" }, good), "other", 0), `it was issued by "pool"`);
  assert.equal(
    tokenProblem(token({ kid: "POOL" }, { ...good, iss: undefined }), "pool", 0),
    `it was issued by "undefined"`,
  );
  assert.equal(
    tokenProblem(token({ kid: "POOL" }, { ...good, sub: 7 }), "pool", 0),
    "it names no identity",
  );
});

Deno.test("tokensIn() takes one token per line, trimmed, without comments, empty lines or what follows a NUL", () => {
  assert.deepEqual(tokensIn(" a \n\n# c\nb\r\n  #d\n"), ["a", "b"]);
  assert.deepEqual(tokensIn("a\nb\0c\nd"), ["a", "b"]);
  assert.deepEqual(tokensIn("\0a"), []);
  assert.deepEqual(tokensIn(""), []);
});

async function withDir(fn: (dir: string, owners: Owners) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "csc-keys-" });
  try {
    await fn(dir, { self: Deno.uid()!, condor: null, accounts: new AccountDb() });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A configuration without any knob (the embedded defaults always set the key and token ones). */
const NO_KNOBS = { get: (_: string) => undefined } as unknown as Config;

function config(env: Record<string, string>) {
  return loadConfig({ env: { CONDOR_CONFIG: "ONLY_ENV", ...env }, uid: 0, hostname: "h" });
}

Deno.test("tokenDirectory(): SEC_TOKEN_DIRECTORY, else a non-root caller's passwd home, else the system one", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/passwd`,
      "root:x:0:0::/root:/bin/sh\nalice:x:1234:1234::/home/alice:/bin/sh\nnohome:x:1235:1:::/bin/sh\n",
    );
    const accounts = new AccountDb(`${dir}/passwd`);
    const none = config({ _CONDOR_SEC_TOKEN_SYSTEM_DIRECTORY: "/etc/condor/tokens.d" });
    assert.equal(tokenDirectory(none, 1234, accounts), "/home/alice/.condor/tokens.d");
    assert.equal(tokenDirectory(none, 1235, accounts), null);
    assert.equal(tokenDirectory(none, 999, accounts), null);
    assert.equal(tokenDirectory(none, 0, accounts), "/etc/condor/tokens.d");
    assert.equal(tokenDirectory(config({}), 0, accounts), "/etc/condor/tokens.d", "the default");
    assert.equal(tokenDirectory(NO_KNOBS, 0, accounts), null);
    const set = config({ _CONDOR_SEC_TOKEN_DIRECTORY: "/t" });
    assert.equal(tokenDirectory(set, 1234, accounts), "/t");
    assert.equal(tokenDirectory(set, 0, accounts), "/t");
  });
});

Deno.test("signing keys: POOL from SEC_TOKEN_POOL_SIGNING_KEY_FILE, others from SEC_PASSWORD_DIRECTORY, checked", async () => {
  await withDir(async (dir, owners) => {
    const cfg = config({
      _CONDOR_SEC_TOKEN_POOL_SIGNING_KEY_FILE: `${dir}/pool`,
      _CONDOR_SEC_PASSWORD_DIRECTORY: `${dir}/keys`,
    });
    assert.equal(signingKeyPath(cfg, "POOL"), `${dir}/pool`);
    assert.equal(signingKeyPath(cfg, "k1"), `${dir}/keys/k1`);
    assert.equal(signingKeyPath(config({}), "POOL"), "/etc/condor/passwords.d/POOL", "the default");
    assert.throws(() => signingKeyPath(NO_KNOBS, "POOL"), /No master pool token key setup/);
    assert.throws(() => signingKeyPath(NO_KNOBS, "k1"), /SEC_PASSWORD_DIRECTORY is undefined/);
    assert.throws(
      () => signingKeyPath(cfg, "../k1"),
      /The key ID "..\/k1" is not a plain key name/,
    );
    assert.equal(readSigningKey(cfg, owners, "POOL"), null);
    assert.equal(readSigningKey(cfg, owners, "k1"), null, "a missing directory: no key");
    await Deno.writeFile(`${dir}/pool`, scramblePoolPassword(bytes("abc")), { mode: 0o600 });
    // The POOL key is doubled; a named one is not.
    assert.equal(new TextDecoder().decode(readSigningKey(cfg, owners, "POOL")!), "abcabc");
    await Deno.mkdir(`${dir}/keys`, { mode: 0o700 });
    await Deno.writeFile(`${dir}/keys/k1`, scramblePoolPassword(bytes("xyz")), { mode: 0o600 });
    assert.equal(new TextDecoder().decode(readSigningKey(cfg, owners, "k1")!), "xyz");
    // 64 KiB at most.
    await Deno.writeFile(`${dir}/keys/big`, new Uint8Array(64 * 1024).fill(1), { mode: 0o600 });
    assert.equal(readSigningKey(cfg, owners, "big")!.length, 64 * 1024);
    await Deno.writeFile(`${dir}/keys/big`, new Uint8Array(64 * 1024 + 1).fill(1), { mode: 0o600 });
    assert.throws(() => readSigningKey(cfg, owners, "big"), /is larger than 65536 bytes/);
    await Deno.chmod(`${dir}/pool`, 0o640);
    assert.throws(() => readSigningKey(cfg, owners, "POOL"), /gives access to group or others/);
    const relative = config({ _CONDOR_SEC_TOKEN_POOL_SIGNING_KEY_FILE: "pool" });
    assert.throws(
      () => readSigningKey(relative, owners, "POOL"),
      (e: StoreError) => e.code === "config" && /"pool" is not absolute/.test(e.message),
    );
  });
});

Deno.test("token files and directories: checked reads, upstream's order, excluded and unsafe files skipped", async () => {
  await withDir(async (dir, owners) => {
    await Deno.writeTextFile(`${dir}/file`, "t1\n# no\nt2\n", { mode: 0o600 });
    assert.deepEqual(readTokenFile(`${dir}/file`, owners, "/"), ["t1", "t2"]);
    assert.deepEqual(readTokenFile("file", owners, dir), ["t1", "t2"]);
    assert.throws(
      () => readTokenFile(`${dir}/none`, owners, "/"),
      (e: StoreError) =>
        e.code === "not-secure" && /the token file ".*none" does not exist/.test(e.message),
    );
    assert.throws(() => readTokenFile(`${dir}/nodir/x`, owners, "/"), /does not exist/);
    await Deno.chmod(`${dir}/file`, 0o644);
    assert.throws(() => readTokenFile(`${dir}/file`, owners, "/"), /gives access to group/);
    const tokens = `${dir}/tokens.d`;
    await Deno.mkdir(tokens, { mode: 0o700 });
    await Deno.writeTextFile(`${tokens}/b`, "B\n", { mode: 0o600 });
    await Deno.writeTextFile(`${tokens}/a`, "A1\nA2\n", { mode: 0o600 });
    await Deno.writeTextFile(`${tokens}/c.rpmsave`, "C\n", { mode: 0o600 });
    await Deno.writeTextFile(`${tokens}/open`, "O\n", { mode: 0o644 });
    await Deno.mkdir(`${tokens}/sub`);
    const cfg = config({ _CONDOR_LOCAL_CONFIG_DIR_EXCLUDE_REGEXP: "\\.rpmsave$" });
    assert.deepEqual(readTokenDirectory(cfg, tokens, owners).tokens, ["A1", "A2", "B"]);
    // Each file skipped is named with why (and the fix where there is one).
    const skipped = readTokenDirectory(cfg, tokens, owners).skipped;
    assert.deepEqual(
      skipped.map((s) => s.path),
      ["c.rpmsave", "open", "sub"].map((n) => `${tokens}/${n}`),
    );
    assert.equal(skipped[0].why, "its name is excluded by LOCAL_CONFIG_DIR_EXCLUDE_REGEXP");
    assert.match(skipped[1].why, /its mode 0644 gives access to group or others$/);
    assert.match(skipped[1].remedy!, /^run "chmod 600 .*\/open" if you trust its content/);
    assert.match(skipped[2].why, /it is not a regular file$/);
    assert.deepEqual(
      readTokenDirectory(config({}), tokens, owners).tokens,
      ["A1", "A2", "B"],
      "default",
    );
    assert.deepEqual(readTokenDirectory(NO_KNOBS, tokens, owners).tokens, ["A1", "A2", "B", "C"]);
    assert.deepEqual(
      readTokenDirectory(config({ _CONDOR_LOCAL_CONFIG_DIR_EXCLUDE_REGEXP: "(" }), tokens, owners)
        .tokens,
      ["A1", "A2", "B", "C"],
    );
    assert.deepEqual(readTokenDirectory(cfg, `${dir}/none`, owners).tokens, []);
    // 64 KiB per file at most, in a directory and named alone.
    const most = 64 * 1024;
    await Deno.writeTextFile(`${tokens}/b`, "B".repeat(most), { mode: 0o600 });
    assert.deepEqual(readTokenDirectory(cfg, tokens, owners).tokens, [
      "A1",
      "A2",
      "B".repeat(most),
    ]);
    assert.deepEqual(readTokenFile(`${tokens}/b`, owners, "/"), ["B".repeat(most)]);
    await Deno.writeTextFile(`${tokens}/b`, "B".repeat(most + 1), { mode: 0o600 });
    assert.deepEqual(readTokenDirectory(cfg, tokens, owners).tokens, ["A1", "A2"]);
    assert.throws(() => readTokenFile(`${tokens}/b`, owners, "/"), /is larger than 65536 bytes/);
    await Deno.chmod(tokens, 0o777);
    assert.deepEqual(
      readTokenDirectory(cfg, tokens, owners).tokens,
      [],
      "an unsafe directory: none",
    );
  });
});
