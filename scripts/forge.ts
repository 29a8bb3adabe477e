/**
 * Forged and malformed IDTOKENS for the reliability suite's "forged tokens" section: a seeded
 * generator of tokens and requests a remote attacker could send to the daemon's TLS port, each
 * with the refusal it must meet. Signing is done here, independently of lib/auth/idtoken.ts
 * (WebCrypto HKDF and HMAC, from the rules in docs/upstream.md "IDTOKENS", as
 * testing/standins/idtoken.py does), so tokens signed with the real POOL key reach the checks
 * after the signature (expiry, issuer, claims) and a valid control token proves the signing right.
 *
 * Scripts only; never imported by lib/.
 */

import { generator, type Random } from "./random.ts";

const encoder = new TextEncoder();

/** One forged request. */
export interface ForgedCase {
  /** The family, for the report. */
  readonly family: string;
  /** The Authorization header value; null sends none. Ignored when `raw` is set. */
  readonly authorization: string | null;
  /** The request body (JSON) sent with `authorization`. */
  readonly body: unknown;
  /** Raw bytes sent on a fresh TLS connection instead (malformed HTTP). */
  readonly raw?: Uint8Array;
  /** Raw bytes sent on a fresh plain TCP connection to the TLS port (not TLS at all). */
  readonly plain?: Uint8Array;
  /** HTTP statuses that count as refused as expected; `0` means "closed without an answer". */
  readonly statuses: readonly number[];
  /** The refusal message must match this (ignored for status 0 and raw cases). */
  readonly reason: RegExp;
  /** What exactly was sent, for a report of an unexpected answer. */
  readonly detail?: string;
}

/** The daemon's key material for signing, as HTCondor derives it. */
export interface PoolKey {
  /** The POOL signing key file's bytes (the scrambled pool password). */
  readonly fileBytes: Uint8Array;
  readonly trustDomain: string;
}

function b64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64json(value: unknown): string {
  return b64url(encoder.encode(JSON.stringify(value)));
}

/** Unscrambles a pool password file (XOR with DE AD BE EF, as upstream's simple_scramble). */
function unscramble(bytes: Uint8Array): Uint8Array {
  const mask = [0xde, 0xad, 0xbe, 0xef];
  return bytes.map((b, i) => b ^ mask[i % 4]);
}

/** HKDF-SHA256(ikm, salt "htcondor", info "master jwt") → 32 bytes. */
async function hkdf(ikm: Uint8Array): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, [
    "deriveBits",
  ]);
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: encoder.encode("htcondor"),
        info: encoder.encode("master jwt"),
      },
      base,
      256,
    ),
  );
}

const HASHES: Readonly<Record<string, string>> = {
  HS256: "SHA-256",
  HS384: "SHA-384",
  HS512: "SHA-512",
};

/** HMAC signers keyed by raw HMAC key bytes. */
class Signer {
  readonly #keys = new Map<string, CryptoKey>();

  constructor(readonly rawKey: Uint8Array) {}

  async sign(alg: string, input: string): Promise<string> {
    const hash = HASHES[alg] ?? "SHA-256";
    let key = this.#keys.get(hash);
    if (key === undefined) {
      // An empty HMAC key is padded by HMAC itself; WebCrypto refuses a zero-length import.
      const raw = this.rawKey.length === 0 ? new Uint8Array(1) : this.rawKey;
      key = await crypto.subtle.importKey(
        "raw",
        raw as BufferSource,
        { name: "HMAC", hash },
        false,
        [
          "sign",
        ],
      );
      this.#keys.set(hash, key);
    }
    return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(input))));
  }
}

/** The signer of the real POOL key (doubled key material, HKDF), as the daemon verifies. */
export async function poolSigner(key: PoolKey): Promise<Signer> {
  const plain = unscramble(key.fileBytes);
  const doubled = new Uint8Array(plain.length * 2);
  doubled.set(plain);
  doubled.set(plain, plain.length);
  return new Signer(await hkdf(doubled));
}

/** A token: `header.claims.signature`, signed by `signer` under `alg` (or the header's alg). */
async function token(
  signer: Signer,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): Promise<string> {
  const input = `${b64json(header)}.${b64json(claims)}`;
  const alg = typeof header.alg === "string" ? header.alg : "HS256";
  return `${input}.${await signer.sign(alg, input)}`;
}

/** Claims a valid token carries for `subject`, issued now. */
function goodClaims(key: PoolKey, subject: string, now: number, random: Random) {
  return {
    iat: now - random.int(30),
    iss: key.trustDomain,
    jti: b64url(random.bytes(16)),
    sub: subject,
    exp: now + 600,
  };
}

/** A token the daemon must accept (the control that proves the signing here is right). */
export async function validToken(key: PoolKey, subject: string, now: number): Promise<string> {
  const random = generator(now);
  return await token(
    await poolSigner(key),
    { alg: "HS256", kid: "POOL" },
    goodClaims(key, subject, now, random),
  );
}

const REFUSED = /the IDTOKEN was refused|carries no IDTOKEN/;
const MALFORMED =
  /three dot-separated|not base64url text|not valid base64url|not canonical base64url|header is not a JSON object|payload is not a JSON object|longer than/;

/**
 * What a peer is told of a token whose signing key is missing or unusable, or whose signature does
 * not match it (one reason, so that it learns nothing of the daemon's files: docs/protocol.md).
 */
const KEY_REFUSED = /unknown or unusable signing key \(or a signature that does not match it\)/;

const SUBJECTS = ["csc_tester@", "root@", "condor@", "condor_pool@", "alice@"];

function requestBody(random: Random): unknown {
  return {
    version: 1,
    request: random.pick([
      {
        action: "add",
        type: "kerberos",
        user: null,
        credential: b64url(encoder.encode("forged")),
      },
      { action: "add", type: "password", pool: true, user: null, credential: "Zm9yZ2Vk" },
      { action: "query", type: "oauth", user: null },
      { action: "delete", type: "kerberos", user: "root@test.example" },
    ]),
  };
}

/** Raw HTTP requests that are malformed, some carrying a valid token. */
function malformedHttp(valid: string, random: Random): [string, Uint8Array, number[]] {
  const body = JSON.stringify({
    version: 1,
    request: { action: "query", type: "kerberos", user: null },
  });
  const auth = `authorization: Bearer ${valid}\r\n`;
  const wrongVersion = JSON.stringify({
    version: random.pick([0, 2, "1", null]),
    request: { action: "query", type: "kerberos", user: null },
  });
  const cases: [string, string | Uint8Array, number[]][] = [
    ["garbage request line", `GARBAGE ${random.int(1e9)}\r\n\r\n`, [400]],
    ["binary junk", random.bytes(random.between(1, 4000)), [0, 400, 431]],
    [
      "chunked body with a valid token",
      `POST /v1/request HTTP/1.1\r\n${auth}transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      [400],
    ],
    [
      "two Authorization headers (one valid)",
      `POST /v1/request HTTP/1.1\r\n${auth}authorization: Bearer x.y.z\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      [400],
    ],
    [
      "header injection in the token",
      `POST /v1/request HTTP/1.1\r\nauthorization: Bearer a.b.c\nauthorization: Bearer ${valid}\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      [400, 401],
    ],
    [
      "headers over 8 KiB",
      `POST /v1/request HTTP/1.1\r\n${auth}x-pad: ${
        "p".repeat(random.between(8200, 20000))
      }\r\n\r\n`,
      [431],
    ],
    [
      "a body over 2 MiB announced",
      `POST /v1/request HTTP/1.1\r\n${auth}content-length: ${
        random.between(2 * 1024 * 1024 + 1, 9e9)
      }\r\n\r\n`,
      [400, 413],
    ],
    [
      "a malformed Content-Length",
      `POST /v1/request HTTP/1.1\r\n${auth}content-length: ${
        random.pick(["-1", "1e3", "0x10", " ", "12345678901", "5, 5"])
      }\r\n\r\n`,
      [400],
    ],
    [
      "a body cut short",
      `POST /v1/request HTTP/1.1\r\n${auth}content-length: ${body.length + 10}\r\n\r\n${body}`,
      [0, 400],
    ],
    [
      "not JSON with a valid token",
      `POST /v1/request HTTP/1.1\r\n${auth}content-length: 7\r\n\r\nnot-js!`,
      [400],
    ],
    [
      "a wrong protocol version with a valid token",
      `POST /v1/request HTTP/1.1\r\n${auth}content-length: ${wrongVersion.length}\r\n\r\n${wrongVersion}`,
      [400],
    ],
    ["HTTP/1.0", `POST /v1/request HTTP/1.0\r\n${auth}\r\n`, [400]],
    ["a lower-case method", `post /v1/request HTTP/1.1\r\n${auth}\r\n`, [400]],
    ["a header without a colon", `POST /v1/request HTTP/1.1\r\n${auth}nonsense\r\n\r\n`, [400]],
    ["a NUL in the request line", `POST /v1/req\0uest HTTP/1.1\r\n${auth}\r\n`, [400, 404]],
    ["no path", `POST v1/request HTTP/1.1\r\n${auth}\r\n`, [400]],
    ["an unknown path", `POST /v2/request HTTP/1.1\r\n${auth}\r\n`, [404]],
    ["a challenge over TLS", `POST /v1/challenge HTTP/1.1\r\n${auth}\r\n`, [404]],
  ];
  const [name, text, statuses] = random.pick(cases);
  return [name, typeof text === "string" ? encoder.encode(text) : text, statuses];
}

/**
 * `count` forged or malformed requests (deterministic for `seed`), against a daemon whose POOL key
 * and trust domain are `key`, at Unix time `now`. Families: tokens signed with the real key but
 * expired, not yet valid, of a wrong issuer, missing or mistyped claims or limited scopes; wrong
 * signatures (other keys, mistaken key derivations, empty keys, HS512 without a key); tampered
 * claims, headers and signatures; bad `alg`; `kid`s naming paths or unknown keys; truncated, huge,
 * non-base64 and random tokens; missing or malformed Authorization headers; malformed HTTP over TLS
 * and plain bytes to the TLS port.
 */
export async function forgeCases(
  count: number,
  seed: number,
  key: PoolKey,
  now: number,
): Promise<ForgedCase[]> {
  const random = generator(seed);
  const pool = await poolSigner(key);
  const domain = key.trustDomain;
  const plain = unscramble(key.fileBytes);
  // Signers an attacker might try: other keys and every mistake in deriving the real one.
  const wrongSigners: [string, Signer][] = [
    ["an empty HMAC key", new Signer(new Uint8Array())],
    ["the pool password itself as HMAC key", new Signer(plain)],
    ["HKDF of the undoubled pool password", new Signer(await hkdf(plain))],
    ["HKDF of the scrambled file", new Signer(await hkdf(key.fileBytes))],
    ["the scrambled file as HMAC key", new Signer(key.fileBytes)],
  ];
  for (let i = 0; i < 8; i++) {
    wrongSigners.push([`random key ${i}`, new Signer(await hkdf(random.bytes(16 + i)))]);
  }
  const subject = () => `${random.pick(SUBJECTS)}${domain}`;
  const claims = () => goodClaims(key, subject(), now, random);
  const alg = () => random.pick(["HS256", "HS384", "HS512"]);
  const header = () => ({ alg: alg(), kid: "POOL" });
  const signed = (h: Record<string, unknown>, c: Record<string, unknown>) => token(pool, h, c);
  const valid = await signed({ alg: "HS256", kid: "POOL" }, claims());
  const withToken = (family: string, t: string, reason: RegExp, statuses = [401]): ForgedCase => ({
    family,
    authorization: `Bearer ${t}`,
    body: requestBody(random),
    statuses,
    reason,
  });

  const families: [string, number, () => Promise<ForgedCase>][] = [
    ["expired (real key)", 6, async () => {
      const c = { ...claims(), exp: now - random.between(120, 1e9) };
      return withToken("expired (real key)", await signed(header(), c), /has expired/);
    }],
    ["not yet valid: nbf (real key)", 3, async () => {
      const c = { ...claims(), nbf: now + random.between(120, 1e9) };
      return withToken("not yet valid: nbf (real key)", await signed(header(), c), /not valid yet/);
    }],
    ["not yet valid: iat (real key)", 3, async () => {
      const c = { ...claims(), iat: now + random.between(120, 1e9) };
      return withToken("not yet valid: iat (real key)", await signed(header(), c), /in the future/);
    }],
    ["wrong issuer (real key)", 6, async () => {
      const iss = random.pick([
        "evil.example",
        domain.toUpperCase(),
        `${domain}.`,
        ` ${domain}`,
        `${domain}\u0000`,
        `x${random.int(1e6)}.${domain}`,
        "",
      ]);
      const c = { ...claims(), iss };
      return withToken("wrong issuer (real key)", await signed(header(), c), /issuer/);
    }],
    ["missing or mistyped claims (real key)", 6, async () => {
      const c: Record<string, unknown> = claims();
      const [change, reason] = random.pick<[(c: Record<string, unknown>) => void, RegExp]>([
        [(c) => delete c.iss, /no issuer/],
        [(c) => delete c.sub, /no subject/],
        [(c) => (c.sub = ""), /no subject/],
        [(c) => (c.sub = 42), /no subject/],
        [(c) => delete c.jti, /no token ID/],
        [(c) => (c.jti = ""), /no token ID/],
        [(c) => (c.cap = true), /Capability tokens/],
        [(c) => (c.exp = String(now + 600)), /not a whole number/],
        [(c) => (c.exp = now + 600.5), /not a whole number/],
        [(c) => (c.exp = 1e300), /not a whole number/],
        [(c) => (c.iat = null), /not a whole number/],
        [(c) => (c.nbf = true), /not a whole number/],
        [(c) => (c.scope = 7), /"scope" claim is not a string/],
        [(c) => (c.scope = ["condor:/WRITE"]), /"scope" claim is not a string/],
      ]);
      change(c);
      return withToken("missing or mistyped claims (real key)", await signed(header(), c), reason);
    }],
    ["scopes without WRITE (real key)", 3, async () => {
      const scope = Array.from(
        { length: random.between(1, 3) },
        () => `condor:/${random.pick(["READ", "ADVERTISE_STARTD", "CONFIG", "NEGOTIATOR", "x"])}`,
      ).join(random.pick([" ", ",", "\t"]));
      const c = { ...claims(), scope };
      return withToken("scopes without WRITE (real key)", await signed(header(), c), /scopes/);
    }],
    ["wrong signing key", 10, async () => {
      const [, signer] = random.pick(wrongSigners);
      const t = await token(signer, header(), claims());
      return withToken("wrong signing key", t, KEY_REFUSED);
    }],
    ["HS512 without a key", 3, async () => {
      const input = `${b64json({ alg: "HS512", kid: "POOL" })}.${b64json(claims())}`;
      const signature = random.pick([
        "",
        b64url(random.bytes(64)),
        await new Signer(new Uint8Array()).sign("HS512", input),
      ]);
      return withToken("HS512 without a key", `${input}.${signature}`, KEY_REFUSED);
    }],
    ["tampered claims or header", 10, async () => {
      const good = await signed({ alg: "HS256", kid: "POOL" }, claims());
      const [h, p, s] = good.split(".");
      const decoded = JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")));
      const otherSubject = () => {
        let sub = decoded.sub;
        while (sub === decoded.sub) sub = subject();
        return sub;
      };
      const tamper = random.pick<() => string>([
        () => `${h}.${b64json({ ...decoded, sub: otherSubject() })}.${s}`,
        () => `${h}.${b64json({ ...decoded, sub: `${decoded.sub} ` })}.${s}`,
        () => `${h}.${b64json({ ...decoded, exp: now + 1e8 })}.${s}`,
        () => `${h}.${b64json({ ...decoded, scope: "condor:/ADMINISTRATOR" })}.${s}`,
        () => `${h}.${b64json({ ...decoded, iss: domain, extra: random.int(1e9) })}.${s}`,
        () => `${b64json({ alg: "HS384", kid: "POOL" })}.${p}.${s}`,
        () => `${b64json({ alg: "HS256", kid: "POOL", typ: "JWT" })}.${p}.${s}`,
        () => {
          const bytes = Uint8Array.from(
            atob(s.replace(/-/g, "+").replace(/_/g, "/")),
            (c) => c.charCodeAt(0),
          );
          bytes[random.int(bytes.length)] ^= 1 << random.int(8);
          return `${h}.${p}.${b64url(bytes)}`;
        },
        () => `${h}.${p}.${s.slice(0, -1)}`,
        () => `${h}.${p}.${s}${random.pick(["A", "AA", "AAAA"])}`,
      ]);
      const tampered = tamper();
      if (tampered === good) throw new Error("forge: a tampering changed nothing");
      return withToken(
        "tampered claims or header",
        tampered,
        new RegExp(`${KEY_REFUSED.source}|not canonical|not valid base64url`),
      );
    }],
    ["non-canonical signature", 2, async () => {
      const good = await signed({ alg: "HS256", kid: "POOL" }, claims());
      // 32 bytes in 43 characters: the last one carries 2 unused bits; set them.
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const last = alphabet.indexOf(good.at(-1)!);
      const changed = alphabet[(last & ~3) | (1 + random.int(3))];
      return withToken(
        "non-canonical signature",
        `${good.slice(0, -1)}${changed}`,
        /not canonical/,
      );
    }],
    ["bad alg", 8, async () => {
      const a = random.pick<unknown>([
        "none",
        "None",
        "NONE",
        "nOnE",
        "",
        "hs256",
        "HS256 ",
        "RS256",
        "ES256",
        "PS512",
        "EdDSA",
        "HS1",
        "HS256\u0000",
        "constructor",
        "__proto__",
        null,
        256,
        { name: "HS256" },
        ["HS256"],
        undefined,
        String.fromCharCode(...random.bytes(8).map((b) => 33 + (b % 90))),
      ]);
      const h: Record<string, unknown> = { kid: "POOL" };
      if (a !== undefined) h.alg = a;
      const input = `${b64json(h)}.${b64json(claims())}`;
      const signature = random.pick(["", await pool.sign("HS256", input)]);
      return withToken("bad alg", `${input}.${signature}`, /algorithm/);
    }],
    ["kid naming a path or nothing", 6, async () => {
      const kid = random.pick<unknown>([
        "../POOL",
        "/etc/shadow",
        "..",
        "a/b",
        `../../${random.int(1e6)}`,
        ".POOL",
        ".locks",
        "POOL/",
        "",
        "PO\u0000OL",
        "..\\POOL",
        null,
        7,
        undefined,
      ]);
      const h: Record<string, unknown> = { alg: alg() };
      if (kid !== undefined) h.kid = kid;
      return withToken("kid naming a path or nothing", await signed(h, claims()), /key ID/);
    }],
    ["kid of a key that does not exist", 3, async () => {
      const kid = random.pick(["pool", "POOL2", "host", `k${random.int(1e9)}`, "%2e%2e", "~root"]);
      return withToken(
        "kid of a key that does not exist",
        await signed({ alg: alg(), kid }, claims()),
        KEY_REFUSED,
      );
    }],
    ["truncated token", 6, () => {
      const cut = valid.slice(0, random.between(1, valid.length - 1));
      return Promise.resolve(withToken("truncated token", cut, REFUSED));
    }],
    ["huge token", 2, async () => {
      const size = random.pick([3000, 5000, 7800, 9000, 70_000]);
      const c = { ...claims(), pad: "x".repeat(size) };
      const [, signer] = random.pick(wrongSigners);
      // Over 8 KiB of headers the daemon answers 431 and closes the connection.
      return withToken("huge token", await token(signer, header(), c), /signature/, [401, 431]);
    }],
    ["non-base64url characters", 4, () => {
      const bad = random.pick(["+", "/", "=", "!", "~", "%", "*", "é", "\u00a0", '"', ";"]);
      const at = random.int(valid.length);
      const t = `${valid.slice(0, at)}${bad}${valid.slice(at)}`;
      return Promise.resolve(withToken("non-base64url characters", t, /carries no IDTOKEN/));
    }],
    ["bad base64url or JSON parts", 5, () => {
      const [h, p, s] = valid.split(".");
      const junk = (text: string) => b64url(encoder.encode(text));
      const t = random.pick([
        `${h}.${p}`,
        `${h}.${p}.${s}.${s}`,
        `${h}..${s}`,
        `..`,
        `${h}.${p.slice(0, -1)}A.${s}`,
        `${junk("[]")}.${p}.${s}`,
        `${junk("null")}.${p}.${s}`,
        `${junk('"HS256"')}.${p}.${s}`,
        `${h}.${junk("42")}.${s}`,
        `${h}.${junk("[1,2]")}.${s}`,
        `${b64url(random.bytes(30))}.${p}.${s}`,
        `${h}.${b64url(Uint8Array.of(0xff, 0xfe, 0x7b, 0x7d))}.${s}`,
        `A${h.slice(1, 2)}.${p}.${s}`,
        "W".repeat(3000),
      ]);
      return Promise.resolve(
        withToken("bad base64url or JSON parts", t, new RegExp(`${MALFORMED.source}|signature`)),
      );
    }],
    ["random bytes", 6, () => {
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
      const t = Array.from(
        { length: random.between(1, 3000) },
        () => alphabet[random.int(alphabet.length)],
      ).join("");
      return Promise.resolve(withToken("random bytes", t, REFUSED));
    }],
    ["no token or a bad Authorization header", 5, () => {
      const value = random.pick<string | null>([
        null,
        "",
        "Bearer",
        "Bearer ",
        "Basic Y3NjX3Rlc3Rlcjpwdw==",
        `bearer ${valid}`,
        `BEARER ${valid}`,
        `Bearer  ${valid}`,
        `Bearer ${valid} ${valid}`,
        `Bearer ${valid},`,
        `Token ${valid}`,
        `${valid}`,
        `Bearer "${valid}"`,
      ]);
      return Promise.resolve({
        family: "no token or a bad Authorization header",
        authorization: value,
        body: requestBody(random),
        statuses: [401],
        reason: /carries no IDTOKEN/,
      });
    }],
    ["malformed HTTP over TLS", 4, () => {
      const [name, raw, statuses] = malformedHttp(valid, random);
      return Promise.resolve({
        family: "malformed HTTP over TLS",
        detail: name,
        authorization: null,
        body: null,
        raw,
        statuses: [0, ...statuses],
        reason: /(?:)/,
      });
    }],
    ["plain bytes to the TLS port", 1, () => {
      const plainText = random.pick([
        encoder.encode(
          `POST /v1/request HTTP/1.1\r\nauthorization: Bearer ${valid}\r\ncontent-length: 2\r\n\r\n{}`,
        ),
        random.bytes(random.between(1, 2000)),
        // A TLS record header announcing a huge handshake message, then nothing.
        Uint8Array.of(0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0xff, 0xff, 0xff),
      ]);
      return Promise.resolve({
        family: "plain bytes to the TLS port",
        authorization: null,
        body: null,
        plain: plainText,
        statuses: [0],
        reason: /(?:)/,
      });
    }],
  ];
  const total = families.reduce((sum, [, weight]) => sum + weight, 0);
  const cases: ForgedCase[] = [];
  // Every family at least once, then by weight.
  for (const [, , make] of families) cases.push(await make());
  while (cases.length < count) {
    let roll = random.next() * total;
    for (const [, weight, make] of families) {
      roll -= weight;
      if (roll < 0) {
        cases.push(await make());
        break;
      }
    }
  }
  return cases.slice(0, count);
}
