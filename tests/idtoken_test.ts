/**
 * Unit tests of lib/auth/idtoken.ts: HTCondor IDTOKENS (docs/upstream.md "IDTOKENS", README "The
 * daemon"). The vectors (also in docs/upstream.md "IDTOKENS") were computed three ways (Python,
 * OpenSSL's HKDF, WebCrypto); the last test checks minting and verification against an
 * independent Python implementation.
 */

import assert from "node:assert/strict";
import {
  checkKeyId,
  deriveJwtKey,
  mintToken,
  signingKeyMaterial,
  TokenError,
  type TokenRefusal,
  verifyToken,
  type VerifyTokenOptions,
} from "../lib/auth/idtoken.ts";
import { base64UrlDecode, base64UrlEncode } from "../lib/jwt.ts";
import { scramblePoolPassword } from "../lib/crypto/scramble.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  assert.match(text, /^([0-9a-f]{2})*$/);
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

const DOMAIN = "pool.example.com";

// Ref §1.8, Vector A: the POOL key, doubled.
const A_FILE = "deacbcecdaa8b8e8d6a4b4e4d2a0b0e0";
const A_IKM = "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f";
const A_PRK = "9dd7e0fc721245553747eade387e7367a44391c2f24698b2bb4733e4016404f3";
const A_KEY = "cf622e7b22f5b7d58d5392f17f140899b1c3b5850e100fc0aaecdee1d6367a47";
const A_UNDOUBLED_KEY = "edf40286b985df2851cd29dbf193cc9e07838e96beababd3d8f21447841d2d0f";
const A_PAYLOAD = '{"exp":1700003600,"iat":1700000000,"iss":"pool.example.com",' +
  '"jti":"0123456789abcdef0123456789abcdef","scope":"condor:\\/READ condor:\\/WRITE",' +
  '"sub":"alice@pool.example.com"}';
const A_SIGNATURE = "bc0009c0dbcb56962276c55777d83549ef8b2cc4561253ee503d8c45bcfef517";
const A_TOKEN = "eyJhbGciOiJIUzI1NiIsImtpZCI6IlBPT0wifQ." +
  "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwiaXNzIjoicG9vbC5leGFtcGxlLmNvbSIsImp0aSI6IjAx" +
  "MjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwic2NvcGUiOiJjb25kb3I6XC9SRUFEIGNvbmRvcjpcL1dSSVRF" +
  "Iiwic3ViIjoiYWxpY2VAcG9vbC5leGFtcGxlLmNvbSJ9." +
  "vAAJwNvLVpYidsVXd9g1Se-LLMRWElPuUD2MRbz-9Rc";

// Ref §1.8, Vector B: the named key `token_key`, not doubled.
const B_FILE = "ee9c8cdcea9888d8e694df8dbdc9db89ee9c8cdcea9888d8e694df8dbdc9db89";
const B_KEY = "5bcd29a842a55a09e71d7883dae152735a98bedf6786ed70a506ff97da754666";
const B_TOKEN = "eyJhbGciOiJIUzI1NiIsImtpZCI6InRva2VuX2tleSJ9." +
  "eyJpYXQiOjE3MDAwMDAwMDAsImlzcyI6InBvb2wuZXhhbXBsZS5jb20iLCJqdGkiOiJmZWRjYmE5ODc2NTQzMjEwZmVk" +
  "Y2JhOTg3NjU0MzIxMCIsInN1YiI6ImJvYkBwb29sLmV4YW1wbGUuY29tIn0." +
  "7ZjuMa6Ob0dX4iweW3aiIJrYPe5ydJPVItOldMPO6hU";

// Ref §1.8, Vector C: a legacy 256-byte pool file, scrambled `foobar2` padded with 249 zero bytes.
const C_FILE = new Uint8Array(256);
C_FILE.set(scramblePoolPassword(encoder.encode("foobar2")));
const C_KEY = "12920b4c1065be5ed4386b33f17997797647e976feac016627d261af45a1e5a0";
const C_PASSWORD_KEY = "383270b2b3cc0e738b91fd4406f426859d0900af598f56459fd5546b145fafda";

const POOL_IKM = signingKeyMaterial(fromHex(A_FILE), { pool: true });
const NAMED_IKM = signingKeyMaterial(fromHex(B_FILE), { pool: false });

/** The key material callback of a verifier that holds the POOL and `token_key` keys. */
function keys(kid: string): Uint8Array | null {
  if (kid === "POOL") return POOL_IKM.slice();
  if (kid === "token_key") return NAMED_IKM.slice();
  return null;
}

/** A time inside Vector A's validity window. */
const NOW = 1700000100;

function options(overrides: Partial<VerifyTokenOptions> = {}): VerifyTokenOptions {
  return { keyMaterial: keys, trustDomain: DOMAIN, now: NOW, ...overrides };
}

/** Claims that pass every check at NOW. */
const GOOD_CLAIMS: Record<string, unknown> = {
  iat: NOW - 100,
  exp: NOW + 3600,
  iss: DOMAIN,
  jti: "00112233445566778899aabbccddeeff",
  sub: "alice@pool.example.com",
};

/**
 * A token with any header and claims (JSON.stringify, not the minting code), signed with the key
 * derived from `ikm` under `hash`.
 */
async function craft(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  sign: { ikm?: Uint8Array; hash?: string } = {},
): Promise<string> {
  const input = `${base64UrlEncode(encoder.encode(JSON.stringify(header)))}.${
    base64UrlEncode(encoder.encode(JSON.stringify(claims)))
  }`;
  const raw = await deriveJwtKey(sign.ikm ?? POOL_IKM);
  const key = await crypto.subtle.importKey(
    "raw",
    raw as BufferSource,
    { name: "HMAC", hash: sign.hash ?? "SHA-256" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(input)));
  return `${input}.${base64UrlEncode(signature)}`;
}

const POOL_HEADER = { alg: "HS256", kid: "POOL" };

/** Asserts that verifyToken refuses `token` for `reason`, with a message free of the token. */
async function assertRefused(
  token: string,
  reason: TokenRefusal,
  overrides: Partial<VerifyTokenOptions> = {},
): Promise<TokenError> {
  let caught: unknown;
  try {
    await verifyToken(token, options(overrides));
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof TokenError, `expected a TokenError, got ${caught}`);
  assert.equal(caught.reason, reason, caught.message);
  for (const part of token.split(".")) {
    if (part.length >= 8) assert.ok(!caught.message.includes(part), caught.message);
  }
  return caught;
}

/** The error `fn` throws or rejects with, which must be a TokenError. */
async function tokenErrorOf(fn: () => unknown): Promise<TokenError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof TokenError, `expected a TokenError, got ${error}`);
    return error;
  }
  assert.fail("expected a TokenError, but nothing was thrown");
}

// ---- Key material and derivation (docs/upstream.md "IDTOKENS") ----

Deno.test("signingKeyMaterial() unscrambles and doubles Vector A's POOL file", () => {
  assert.equal(toHex(signingKeyMaterial(fromHex(A_FILE), { pool: true })), A_IKM);
});

Deno.test("deriveJwtKey() gives Vector A's HMAC key, through Vector A's PRK", async () => {
  assert.equal(toHex(await deriveJwtKey(fromHex(A_IKM))), A_KEY);
  // RFC 5869 by hand: PRK = HMAC(salt, IKM); OKM = HMAC(PRK, info || 0x01).
  const hmac = async (key: Uint8Array, data: Uint8Array) =>
    new Uint8Array(
      await crypto.subtle.sign(
        "HMAC",
        await crypto.subtle.importKey(
          "raw",
          key as BufferSource,
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        ),
        data as BufferSource,
      ),
    );
  const prk = await hmac(encoder.encode("htcondor"), fromHex(A_IKM));
  assert.equal(toHex(prk), A_PRK);
  const info = new Uint8Array([...encoder.encode("master jwt"), 1]);
  assert.equal(toHex(await hmac(prk, info)), A_KEY);
});

Deno.test("mintToken() reproduces Vector A byte for byte", async () => {
  const token = await mintToken(POOL_IKM, {
    kid: "POOL",
    issuer: DOMAIN,
    subject: "alice@pool.example.com",
    issuedAt: 1700000000,
    lifetime: 3600,
    authz: ["READ", "WRITE"],
    jti: "0123456789abcdef0123456789abcdef",
  });
  assert.equal(token, A_TOKEN);
  const [header, payload, signature] = token.split(".");
  assert.equal(decoder.decode(base64UrlDecode(header)!), '{"alg":"HS256","kid":"POOL"}');
  assert.equal(decoder.decode(base64UrlDecode(payload)!), A_PAYLOAD);
  assert.equal(toHex(base64UrlDecode(signature)!), A_SIGNATURE);
});

Deno.test("verifyToken() accepts Vector A inside its validity window", async () => {
  const verified = await verifyToken(A_TOKEN, options());
  assert.deepEqual(verified, {
    subject: "alice@pool.example.com",
    user: "alice",
    domain: "pool.example.com",
    kid: "POOL",
    claims: {
      exp: 1700003600,
      iat: 1700000000,
      iss: DOMAIN,
      jti: "0123456789abcdef0123456789abcdef",
      scope: "condor:/READ condor:/WRITE",
      sub: "alice@pool.example.com",
    },
    expires: 1700003600,
  });
  // The last second of the window plus the default 60 s skew still passes; one more does not.
  await verifyToken(A_TOKEN, options({ now: 1700003660 }));
  await assertRefused(A_TOKEN, "expired", { now: 1700003661 });
});

Deno.test("Vector A's negative check: the undoubled POOL key is a different key", async () => {
  const undoubled = scramblePoolPassword(fromHex(A_FILE));
  assert.equal(toHex(await deriveJwtKey(undoubled)), A_UNDOUBLED_KEY);
  await assertRefused(A_TOKEN, "signature", { keyMaterial: () => undoubled.slice() });
});

Deno.test("Vector B: a named key is not doubled; mint and verify match the vector", async () => {
  assert.equal(decoder.decode(NAMED_IKM), "0123456789abcdef0123456789abcdef");
  assert.equal(toHex(await deriveJwtKey(NAMED_IKM)), B_KEY);
  const token = await mintToken(NAMED_IKM, {
    kid: "token_key",
    issuer: DOMAIN,
    subject: "bob@pool.example.com",
    issuedAt: 1700000000,
    jti: "fedcba9876543210fedcba9876543210",
  });
  assert.equal(token, B_TOKEN);
  const verified = await verifyToken(B_TOKEN, options({ now: 1800000000 }));
  assert.equal(verified.subject, "bob@pool.example.com");
  assert.equal(verified.user, "bob");
  assert.equal(verified.kid, "token_key");
  assert.equal(verified.expires, null);
  // The same file used as the POOL key is doubled, so it yields another HMAC key.
  await assertRefused(B_TOKEN, "signature", {
    keyMaterial: () => signingKeyMaterial(fromHex(B_FILE), { pool: true }),
  });
});

Deno.test("Vector C: a legacy 256-byte pool file, whole by default", async () => {
  assert.equal(toHex(C_FILE.subarray(0, 7)), "b8c2d18dbfdf8c");
  const ikm = signingKeyMaterial(C_FILE, { pool: true });
  assert.equal(ikm.length, 512);
  assert.equal(decoder.decode(ikm.subarray(0, 7)), "foobar2");
  // Past the password the zero bytes unscramble to the repeating key, starting at index 7.
  assert.equal(toHex(ikm.subarray(7, 12)), "efdeadbeef");
  assert.equal(toHex(await deriveJwtKey(ikm)), C_KEY);
});

Deno.test("Vector C: SEC_TOKEN_POOL_SIGNING_KEY_IS_PASSWORD cuts at NUL, then doubles", async () => {
  const ikm = signingKeyMaterial(C_FILE, { pool: true, truncateAtNul: true });
  assert.equal(decoder.decode(ikm), "foobar2foobar2");
  assert.equal(toHex(await deriveJwtKey(ikm)), C_PASSWORD_KEY);
  // The knob is about the POOL key only: a named key is still read whole (and not doubled).
  const named = signingKeyMaterial(C_FILE, { pool: false, truncateAtNul: true });
  assert.deepEqual(named, scramblePoolPassword(C_FILE));
  assert.equal(named.length, 256);
});

Deno.test("signingKeyMaterial() cuts the scrambled bytes at NUL before unscrambling", () => {
  // At index 2 the key byte is 0xbe, so 0xbe scrambles to 0x00: only "ab" is kept (the
  // plaintext itself has no NUL, so cutting after unscrambling alone would keep all five bytes).
  const file = scramblePoolPassword(new Uint8Array([0x61, 0x62, 0xbe, 0x63, 0x64]));
  assert.equal(file[2], 0);
  const ikm = signingKeyMaterial(file, { pool: true, truncateAtNul: true });
  assert.equal(decoder.decode(ikm), "abab");
});

Deno.test("signingKeyMaterial() returns new bytes and leaves the file bytes alone", () => {
  const file = fromHex(B_FILE);
  const ikm = signingKeyMaterial(file, { pool: false });
  ikm.fill(0);
  assert.equal(toHex(file), B_FILE);
  assert.equal(
    decoder.decode(signingKeyMaterial(file, { pool: false })),
    "0123456789abcdef".repeat(2),
  );
});

Deno.test("signingKeyMaterial() and deriveJwtKey() refuse an empty key", async () => {
  for (
    const [file, opts] of [
      [new Uint8Array(), { pool: true }],
      [new Uint8Array(), { pool: false }],
      [scramblePoolPassword(new Uint8Array(8)), { pool: true, truncateAtNul: true }],
    ] as const
  ) {
    const error = await tokenErrorOf(() => signingKeyMaterial(file, opts));
    assert.equal(error.reason, "no-key");
  }
  assert.equal((await tokenErrorOf(() => deriveJwtKey(new Uint8Array()))).reason, "no-key");
});

// ---- Key IDs ----

Deno.test("checkKeyId() accepts plain names and refuses path-like ones", async () => {
  for (const kid of ["POOL", "token_key", "a.b", "key-2"]) assert.equal(checkKeyId(kid), kid);
  for (const kid of ["", "../x", "a/b", "/etc/shadow", ".hidden", "a..b", "..", "a\0b"]) {
    const error = await tokenErrorOf(() => checkKeyId(kid));
    assert.equal(error.reason, "kid", JSON.stringify(kid));
  }
});

Deno.test("checkKeyId() names a refused kid escaped", async () => {
  const error = await tokenErrorOf(() => checkKeyId("a/b\x1b[31m"));
  assert.equal(
    error.message,
    'The key ID "a/b\\x1b[31m" is not a plain key name (it contains "/", ".." or NUL, ' +
      'or starts with ".").',
  );
});

// ---- Minting ----

Deno.test("mintToken() escapes strings as picojson does", async () => {
  const subject = 'q"b\\s/\b\f\n\r\t\x01\x7fé@d';
  const token = await mintToken(POOL_IKM, {
    kid: "POOL",
    issuer: DOMAIN,
    subject,
    issuedAt: 1700000000,
    jti: "j",
  });
  const payload = base64UrlDecode(token.split(".")[1])!;
  assert.equal(
    decoder.decode(payload),
    '{"iat":1700000000,"iss":"pool.example.com","jti":"j",' +
      '"sub":"q\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u0001\\u007fé@d"}',
  );
  // Non-ASCII is raw UTF-8 (c3 a9), not \u00e9.
  assert.ok(toHex(payload).includes("c3a9"));
  const verified = await verifyToken(token, options());
  assert.equal(verified.subject, subject);
  assert.equal(verified.user, 'q"b\\s/\b\f\n\r\t\x01\x7fé');
  assert.equal(verified.domain, "d");
});

Deno.test("mintToken() writes exp only for a lifetime >= 0, scope only for authz", async () => {
  const claimsOf = async (extra: { lifetime?: number; authz?: string[] }) => {
    const token = await mintToken(POOL_IKM, {
      kid: "POOL",
      issuer: DOMAIN,
      subject: "u@d",
      issuedAt: 1700000000,
      jti: "j",
      ...extra,
    });
    return JSON.parse(decoder.decode(base64UrlDecode(token.split(".")[1])!));
  };
  assert.deepEqual(Object.keys(await claimsOf({})), ["iat", "iss", "jti", "sub"]);
  assert.deepEqual(Object.keys(await claimsOf({ lifetime: -1, authz: [] })), [
    "iat",
    "iss",
    "jti",
    "sub",
  ]);
  assert.equal((await claimsOf({ lifetime: 0 })).exp, 1700000000);
  assert.equal((await claimsOf({ authz: ["ADMINISTRATOR"] })).scope, "condor:/ADMINISTRATOR");
  assert.equal((await claimsOf({ authz: ["read", "WRITE"] })).scope, "condor:/read condor:/WRITE");
});

Deno.test("mintToken() makes a fresh 32-hex-digit jti by default", async () => {
  const jtiOf = async () => {
    const token = await mintToken(POOL_IKM, {
      kid: "POOL",
      issuer: DOMAIN,
      subject: "u@d",
      issuedAt: 1700000000,
    });
    return JSON.parse(decoder.decode(base64UrlDecode(token.split(".")[1])!)).jti;
  };
  const [a, b] = [await jtiOf(), await jtiOf()];
  assert.match(a, /^[0-9a-f]{32}$/);
  assert.match(b, /^[0-9a-f]{32}$/);
  assert.notEqual(a, b);
});

Deno.test("mintToken() refuses a bad kid, issuer, subject or jti", async () => {
  const base = { kid: "POOL", issuer: DOMAIN, subject: "u@d", issuedAt: 1700000000 };
  const cases: [Partial<typeof base & { jti: string }>, TokenRefusal][] = [
    [{ kid: "../POOL" }, "kid"],
    [{ kid: "" }, "kid"],
    [{ issuer: "" }, "issuer"],
    [{ issuer: "pool example" }, "issuer"],
    [{ issuer: "pool,example" }, "issuer"],
    [{ issuer: "pool\texample" }, "issuer"],
    [{ subject: "" }, "no-subject"],
    [{ jti: "" }, "no-jti"],
  ];
  for (const [change, reason] of cases) {
    const error = await tokenErrorOf(() => mintToken(POOL_IKM, { ...base, ...change }));
    assert.equal(error.reason, reason, JSON.stringify(change));
  }
  await assert.rejects(
    mintToken(POOL_IKM, { ...base, issuedAt: 1.5 }),
    RangeError,
  );
});

// ---- Verification: what passes ----

Deno.test("verifyToken() accepts alg HS512 and HS384 with a correct signature", async () => {
  for (const [alg, hash] of [["HS512", "SHA-512"], ["HS384", "SHA-384"]]) {
    const token = await craft({ alg, kid: "POOL" }, GOOD_CLAIMS, { hash });
    assert.equal(base64UrlDecode(token.split(".")[2])!.length, hash === "SHA-512" ? 64 : 48);
    const verified = await verifyToken(token, options());
    assert.equal(verified.subject, "alice@pool.example.com");
    assert.equal(verified.expires, NOW + 3600);
  }
});

Deno.test("verifyToken() splits sub at the last @", async () => {
  const cases = [
    ["a@b@c.example", "a@b", "c.example"],
    ["condor@password", "condor", "password"],
    ["nodomain", "nodomain", ""],
    ["@only.domain", "", "only.domain"],
    ["user@", "user", ""],
  ];
  for (const [sub, user, domain] of cases) {
    const verified = await verifyToken(
      await craft(POOL_HEADER, { ...GOOD_CLAIMS, sub }),
      options(),
    );
    assert.deepEqual([verified.user, verified.domain], [user, domain]);
  }
});

Deno.test("verifyToken() applies the clock skew at each boundary", async () => {
  const pass = (claims: Record<string, unknown>, extra: Partial<VerifyTokenOptions> = {}) =>
    craft(POOL_HEADER, { ...GOOD_CLAIMS, ...claims }).then((t) => verifyToken(t, options(extra)));
  await pass({ exp: NOW - 60 });
  await pass({ nbf: NOW + 60 });
  await pass({ iat: NOW + 60, exp: NOW + 3600 });
  await pass({ exp: NOW - 10 }, { skewSeconds: 10 });
  await assertRefused(await craft(POOL_HEADER, { ...GOOD_CLAIMS, exp: NOW - 10 }), "expired", {
    skewSeconds: 9,
  });
  await pass({ iat: NOW - 3660 }, { maxAge: 3600 });
});

Deno.test("verifyToken() ignores SEC_TOKEN_MAX_AGE when unset, 0 or -1", async () => {
  const old = await craft(POOL_HEADER, { ...GOOD_CLAIMS, iat: NOW - 1_000_000 });
  for (const maxAge of [undefined, null, 0, -1]) {
    assert.equal((await verifyToken(old, options({ maxAge }))).kid, "POOL");
  }
  await assertRefused(old, "too-old", { maxAge: 3600 });
});

Deno.test("verifyToken() passes scopes that include WRITE, DAEMON or ADMINISTRATOR", async () => {
  for (
    const scope of [
      "condor:/write",
      "condor:/DAEMON",
      "condor:/Administrator",
      "condor:/READ,condor:/WRITE",
      "condor:/READ\tcondor:/DAEMON",
      "condor:/READ\ncondor:/ADMINISTRATOR",
      "openid profile", // no condor:/ entries: no limit
      "",
    ]
  ) {
    const token = await craft(POOL_HEADER, { ...GOOD_CLAIMS, scope });
    assert.equal((await verifyToken(token, options())).claims.scope, scope);
  }
});

Deno.test("verifyToken() zeroes the key material it was handed", async () => {
  const handed: Uint8Array[] = [];
  await verifyToken(A_TOKEN, {
    ...options(),
    keyMaterial: (kid) => {
      const ikm = keys(kid)!;
      handed.push(ikm);
      return ikm;
    },
  });
  assert.equal(handed.length, 1);
  assert.ok(handed[0].length === 32 && handed[0].every((b) => b === 0));
});

// ---- Verification: every refusal ----

Deno.test("verifyToken() refuses alg none", async () => {
  const token = [{ alg: "none", kid: "POOL" }, GOOD_CLAIMS]
    .map((o) => base64UrlEncode(encoder.encode(JSON.stringify(o))))
    .join(".") + ".";
  await assertRefused(token, "alg");
});

Deno.test("verifyToken() refuses other or missing algorithms", async () => {
  for (
    const header of [{ alg: "RS256", kid: "POOL" }, { alg: "hs256", kid: "POOL" }, { kid: "POOL" }]
  ) {
    await assertRefused(await craft(header, GOOD_CLAIMS), "alg");
  }
  // A prototype key is not an algorithm.
  await assertRefused(await craft({ alg: "toString", kid: "POOL" }, GOOD_CLAIMS), "alg");
});

Deno.test("verifyToken() refuses kid ../x, kid a/b, an empty and a missing kid", async () => {
  let called = 0;
  const counting = (kid: string) => {
    called++;
    return keys(kid);
  };
  for (
    const header of [
      { alg: "HS256", kid: "../x" },
      { alg: "HS256", kid: "a/b" },
      { alg: "HS256", kid: "" },
      { alg: "HS256", kid: 7 },
      { alg: "HS256" },
    ]
  ) {
    await assertRefused(await craft(header, GOOD_CLAIMS), "kid", { keyMaterial: counting });
  }
  assert.equal(called, 0, "no key is looked up for a refused kid");
});

Deno.test("verifyToken() refuses a kid it holds no key for", async () => {
  const token = await craft({ alg: "HS256", kid: "other" }, GOOD_CLAIMS);
  const error = await assertRefused(token, "no-key");
  assert.equal(error.message, 'No signing key named "other" is available.');
  await assertRefused(token, "no-key", { keyMaterial: () => Promise.resolve(null) });
  await assertRefused(token, "no-key", { keyMaterial: () => new Uint8Array() });
});

Deno.test("verifyToken() refuses a token signed with the wrong key", async () => {
  const wrong = signingKeyMaterial(fromHex("00112233445566778899aabbccddeeff"), { pool: true });
  await assertRefused(await craft(POOL_HEADER, GOOD_CLAIMS, { ikm: wrong }), "signature");
  // A valid token of another kid relabelled as POOL.
  const relabelled = await craft(POOL_HEADER, GOOD_CLAIMS, { ikm: NAMED_IKM });
  await assertRefused(relabelled, "signature");
});

Deno.test("verifyToken() refuses a flipped signature byte", async () => {
  const [header, payload, signature] = A_TOKEN.split(".");
  for (const index of [0, 17, 31]) {
    const bytes = base64UrlDecode(signature)!;
    bytes[index] ^= 0x01;
    await assertRefused(`${header}.${payload}.${base64UrlEncode(bytes)}`, "signature");
  }
  // A truncated signature and an HS256 signature under an HS512 label fail too.
  await assertRefused(`${header}.${payload}.${signature.slice(0, 40)}`, "signature");
  const hs512 = base64UrlEncode(encoder.encode('{"alg":"HS512","kid":"POOL"}'));
  await assertRefused(`${hs512}.${payload}.${signature}`, "signature");
});

Deno.test("verifyToken() refuses a valid signature with bytes appended, a truncated one and an empty one", async () => {
  // The comparison must check lengths: a byte-by-byte loop over the expected MAC alone accepts
  // the valid signature followed by anything.
  const [header, payload, signature] = A_TOKEN.split(".");
  const valid = base64UrlDecode(signature)!;
  const withTail = (tail: number[]) => Uint8Array.from([...valid, ...tail]);
  for (
    const bytes of [
      withTail([0]),
      withTail([0x41]),
      withTail(Array(32).fill(0)),
      withTail([...valid]),
      valid.subarray(0, 31),
      valid.subarray(0, 1),
      new Uint8Array(0),
    ]
  ) {
    await assertRefused(`${header}.${payload}.${base64UrlEncode(bytes)}`, "signature");
  }
  // The same for the longer MACs of HS384 and HS512.
  for (const alg of ["HS384", "HS512"]) {
    const token = await craft({ alg, kid: "POOL" }, GOOD_CLAIMS, { hash: `SHA-${alg.slice(2)}` });
    await verifyToken(token, options());
    const [h, p, s] = token.split(".");
    const mac = base64UrlDecode(s)!;
    await assertRefused(`${h}.${p}.${base64UrlEncode(Uint8Array.from([...mac, 0]))}`, "signature");
    await assertRefused(`${h}.${p}.${base64UrlEncode(mac.subarray(0, 32))}`, "signature");
  }
});

Deno.test("verifyToken() refuses a token over 65,536 characters before decoding it", async () => {
  const [header, payload, signature] = A_TOKEN.split(".");
  // Padded in the payload, so the token stays three base64url parts.
  const pad = (length: number) =>
    `${header}.${payload}${"A".repeat(length - A_TOKEN.length)}.${signature}`;
  const long = await assertRefused(pad(65537), "malformed");
  assert.equal(long.message, "The token is longer than 65536 characters.");
  // At the limit it is decoded (and refused for what it then is).
  const most = await tokenErrorOf(() => verifyToken(pad(65536), options()));
  assert.notEqual(most.message, "The token is longer than 65536 characters.");
});

Deno.test("verifyToken() refuses a changed payload under the original signature", async () => {
  const [header, , signature] = A_TOKEN.split(".");
  const payload = base64UrlEncode(encoder.encode(A_PAYLOAD.replace("alice", "admin")));
  await assertRefused(`${header}.${payload}.${signature}`, "signature");
});

Deno.test("verifyToken() refuses an expired token", async () => {
  const error = await assertRefused(
    await craft(POOL_HEADER, { ...GOOD_CLAIMS, exp: NOW - 61 }),
    "expired",
  );
  assert.equal(error.message, "The token has expired.");
});

Deno.test("verifyToken() refuses nbf in the future", async () => {
  await assertRefused(await craft(POOL_HEADER, { ...GOOD_CLAIMS, nbf: NOW + 61 }), "not-yet-valid");
});

Deno.test("verifyToken() refuses iat in the future", async () => {
  const token = await craft(POOL_HEADER, { ...GOOD_CLAIMS, iat: NOW + 61 });
  await assertRefused(token, "not-yet-valid");
  await assertRefused(token, "not-yet-valid", { skewSeconds: 0, now: NOW + 60 });
});

Deno.test("verifyToken() refuses a token older than SEC_TOKEN_MAX_AGE", async () => {
  const token = await craft(POOL_HEADER, { ...GOOD_CLAIMS, iat: NOW - 3661 });
  await assertRefused(token, "too-old", { maxAge: 3600 });
  // A token without iat passes the age check, as upstream.
  const noIat = { ...GOOD_CLAIMS };
  delete noIat.iat;
  assert.equal(
    (await verifyToken(await craft(POOL_HEADER, noIat), options({ maxAge: 1 }))).kid,
    "POOL",
  );
});

Deno.test("verifyToken() refuses a wrong or missing iss", async () => {
  const wrong = await craft(POOL_HEADER, { ...GOOD_CLAIMS, iss: "other.example.com" });
  const error = await assertRefused(wrong, "issuer");
  assert.equal(
    error.message,
    'The token\'s issuer "other.example.com" is not the trust domain "pool.example.com".',
  );
  // Exact comparison: no case folding.
  await assertRefused(
    await craft(POOL_HEADER, { ...GOOD_CLAIMS, iss: "POOL.example.com" }),
    "issuer",
  );
  const noIss = { ...GOOD_CLAIMS };
  delete noIss.iss;
  await assertRefused(await craft(POOL_HEADER, noIss), "issuer");
  await assertRefused(await craft(POOL_HEADER, { ...GOOD_CLAIMS, iss: "" }), "issuer", {
    trustDomain: "",
  });
});

Deno.test("verifyToken() refuses a missing sub and capability tokens", async () => {
  const noSub = { ...GOOD_CLAIMS };
  delete noSub.sub;
  await assertRefused(await craft(POOL_HEADER, noSub), "no-subject");
  await assertRefused(await craft(POOL_HEADER, { ...GOOD_CLAIMS, sub: "" }), "no-subject");
  await assertRefused(await craft(POOL_HEADER, { ...GOOD_CLAIMS, cap: true }), "no-subject");
});

Deno.test("verifyToken() refuses a missing jti", async () => {
  const noJti = { ...GOOD_CLAIMS };
  delete noJti.jti;
  await assertRefused(await craft(POOL_HEADER, noJti), "no-jti");
  await assertRefused(await craft(POOL_HEADER, { ...GOOD_CLAIMS, jti: "" }), "no-jti");
});

Deno.test('verifyToken() refuses scope "condor:/READ" and other scopes without WRITE', async () => {
  for (const scope of ["condor:/READ", "condor:/READ openid", "condor:/NEGOTIATOR", "condor:/"]) {
    const token = await craft(POOL_HEADER, { ...GOOD_CLAIMS, scope });
    await assertRefused(token, "scope");
  }
  // The prefix is case-sensitive: "CONDOR:/WRITE" is not a condor scope, so READ limits alone.
  const token = await craft(POOL_HEADER, { ...GOOD_CLAIMS, scope: "CONDOR:/WRITE condor:/READ" });
  await assertRefused(token, "scope");
});

Deno.test("verifyToken() refuses malformed base64, a 2-part token and non-object parts", async () => {
  const [header, payload, signature] = A_TOKEN.split(".");
  const b64 = (text: string) => base64UrlEncode(encoder.encode(text));
  const cases = [
    `${header}.${payload}`,
    `${header}.${payload}.${signature}.${signature}`,
    "",
    `ey!!.${payload}.${signature}`,
    `${header}.${payload}.${signature}=`,
    `${header}=.${payload}.${signature}`,
    `${header}.a.${signature}`, // one base64 character cannot encode a byte
    `${header}.${payload}.${signature.slice(0, -1)}d`, // stray low bits in the last character
    `${b64("[1]")}.${payload}.${signature}`,
    `${header}.${b64("[1]")}.${signature}`,
    `${header}.${b64("42")}.${signature}`,
    `${header}.${b64("{not json")}.${signature}`,
    `${header}.${base64UrlEncode(new Uint8Array([0x7b, 0xff, 0x7d]))}.${signature}`,
    ` ${A_TOKEN}`,
    `${header}.${payload}.${"A".repeat(70000)}`,
  ];
  for (const token of cases) await assertRefused(token, "malformed");
});

Deno.test("verifyToken() refuses signed claims of the wrong type as malformed", async () => {
  for (
    const claims of [
      { exp: "soon" },
      { exp: NOW + 0.5 },
      { iat: null },
      { nbf: [1] },
      { scope: ["condor:/WRITE"] },
    ]
  ) {
    await assertRefused(await craft(POOL_HEADER, { ...GOOD_CLAIMS, ...claims }), "malformed");
  }
});

// ---- Cross check against an independent implementation ----

const PYTHON = (() => {
  try {
    return new Deno.Command("python3", {
      args: ["-c", "import hmac, hashlib, base64, json"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
})();

/**
 * Mints with and verifies against the reference algorithm (docs/upstream.md "IDTOKENS"–§1.4)
 * written with Python's hmac, hashlib, base64 and json only.
 */
const PYTHON_SCRIPT = `
import base64, hashlib, hmac, json, sys

req = json.load(sys.stdin)
scrambled = bytes.fromhex(req["pool_file_hex"])
plain = bytes(b ^ (0xDE, 0xAD, 0xBE, 0xEF)[i % 4] for i, b in enumerate(scrambled))
ikm = plain + plain  # the POOL key is doubled
prk = hmac.new(b"htcondor", ikm, hashlib.sha256).digest()
key = hmac.new(prk, b"master jwt\\x01", hashlib.sha256).digest()

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

def dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).replace("/", "\\\\/")

claims = {
    "iat": req["iat"],
    "exp": req["iat"] + req["lifetime"],
    "iss": req["iss"],
    "jti": req["jti"],
    "sub": req["sub"],
    "scope": " ".join("condor:/" + a for a in req["authz"]),
}
signing_input = b64(dumps({"alg": "HS256", "kid": "POOL"}).encode()) + "." + b64(dumps(claims).encode())
minted = signing_input + "." + b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())

def verify(token):
    head, body, sig = token.split(".")
    expected = hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest()
    ok = hmac.compare_digest(expected, unb64(sig))
    return {"ok": ok, "header": json.loads(unb64(head)), "claims": json.loads(unb64(body))}

print(json.dumps({
    "jwt_key_hex": key.hex(),
    "minted": minted,
    "verified": verify(req["token"]),
    "tampered": verify(req["tampered"]),
}))
`;

Deno.test({
  name: "mintToken() and verifyToken() agree with an independent Python implementation",
  ignore: !PYTHON,
  async fn() {
    // A stated POOL file: 24 scrambled bytes, among them ones that unscramble to 0x00 and 0xff.
    const poolFileHex = "dead10ef21524140de0042efdead5a5a0102030411223344";
    const ikm = signingKeyMaterial(fromHex(poolFileHex), { pool: true });
    const inputs = {
      kid: "POOL",
      issuer: "cross.example.org",
      subject: "carol@cross.example.org",
      issuedAt: 1712345678,
      lifetime: 600,
      authz: ["WRITE", "READ"],
      jti: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    };
    const token = await mintToken(ikm, inputs);
    const [header, payload, signature] = token.split(".");
    const forged = base64UrlEncode(encoder.encode(
      decoder.decode(base64UrlDecode(payload)!).replace("carol", "mallory"),
    ));
    const request = {
      pool_file_hex: poolFileHex,
      iat: inputs.issuedAt,
      lifetime: inputs.lifetime,
      iss: inputs.issuer,
      sub: inputs.subject,
      jti: inputs.jti,
      authz: inputs.authz,
      token,
      tampered: `${header}.${forged}.${signature}`,
    };
    const child = new Deno.Command("python3", {
      args: ["-c", PYTHON_SCRIPT],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(encoder.encode(JSON.stringify(request)));
    await writer.close();
    const out = await child.output();
    assert.equal(decoder.decode(out.stderr), "");
    assert.equal(out.code, 0);
    const result = JSON.parse(decoder.decode(out.stdout));

    // Same key derivation.
    assert.equal(result.jwt_key_hex, toHex(await deriveJwtKey(ikm)));
    // (b) Python verifies our token, reads the claims we wrote, and rejects a tampered copy.
    assert.equal(result.verified.ok, true);
    assert.deepEqual(result.verified.header, { alg: "HS256", kid: "POOL" });
    assert.deepEqual(result.verified.claims, {
      exp: 1712346278,
      iat: 1712345678,
      iss: "cross.example.org",
      jti: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
      scope: "condor:/WRITE condor:/READ",
      sub: "carol@cross.example.org",
    });
    assert.equal(result.tampered.ok, false);
    // (a) We verify Python's token, reading the key from the stated file as a verifier would.
    const verified = await verifyToken(result.minted, {
      keyMaterial: (kid) =>
        kid === "POOL" ? signingKeyMaterial(fromHex(poolFileHex), { pool: true }) : null,
      trustDomain: "cross.example.org",
      now: 1712345700,
    });
    assert.equal(verified.subject, "carol@cross.example.org");
    assert.equal(verified.expires, 1712346278);
    // And both produce the same bytes.
    assert.equal(result.minted, token);
  },
});
