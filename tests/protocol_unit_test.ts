/**
 * The daemon's wire codecs (lib/daemon/protocol.ts, docs/protocol.md) in-process: every request
 * and reply survives a round trip field for field, and every malformed field of what a peer sends
 * is refused with its own message, never passed on. Milliseconds, so that a broken check fails
 * here before the daemon tests run (TESTING.md).
 */

import assert from "node:assert/strict";
import { StoreError } from "../lib/errors.ts";
import {
  decodeChallenge,
  decodeListReply,
  decodeListRequest,
  decodeReply,
  decodeRequest,
  encodeListReply,
  encodeReply,
  encodeRequest,
  MAX_BODY_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
} from "../lib/daemon/protocol.ts";
import type { CredRequest } from "../lib/request.ts";

/** The message of the ProtocolError `fn` throws (status 400, code bad-args). */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${error}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, "bad-args");
    return error.message;
  }
  assert.fail("nothing was thrown");
}

/** A request as it travels: encoded, then through JSON text. */
const wire = (request: CredRequest) => JSON.parse(JSON.stringify(encodeRequest(request)));

Deno.test("the protocol's constants: version 1, 2 MiB bodies", () => {
  assert.equal(PROTOCOL_VERSION, 1);
  assert.equal(MAX_BODY_BYTES, 2 * 1024 * 1024);
});

Deno.test("every request survives encodeRequest() and decodeRequest() field for field", () => {
  const credential = Uint8Array.from([0, 1, 2, 250, 255, 62, 63]);
  const requests: CredRequest[] = [
    { type: "password", pool: true, user: null, action: "add", credential },
    { type: "password", pool: false, user: "a@b", action: "delete" },
    { type: "password", pool: false, user: null, action: "query", minTtl: null },
    { type: "kerberos", user: "u@d", action: "add", credential: new Uint8Array(0) },
    { type: "kerberos", user: null, action: "query", minTtl: null },
    {
      type: "oauth",
      user: null,
      service: "s",
      handle: "h",
      scopes: "read,write",
      audience: "aud",
      accessToken: true,
      action: "add",
      credential,
    },
    {
      type: "oauth",
      user: "u",
      service: null,
      handle: null,
      scopes: null,
      audience: null,
      accessToken: false,
      action: "query",
      minTtl: 0,
    },
    {
      type: "oauth",
      user: "u",
      service: "s",
      handle: null,
      scopes: null,
      audience: null,
      accessToken: false,
      action: "query",
      minTtl: 3600,
    },
    {
      type: "oauth",
      user: null,
      service: "s",
      handle: null,
      scopes: null,
      audience: null,
      accessToken: false,
      action: "delete",
    },
  ];
  for (const request of requests) {
    const sent = wire(request);
    if (request.action === "add") {
      assert.equal(typeof sent.credential, "string");
      assert.doesNotMatch(sent.credential, /[+/=]/);
    }
    assert.deepEqual(decodeRequest(sent), request, JSON.stringify(sent));
  }
  // Absent optional fields read as null and false; an absent minTtl as null.
  assert.deepEqual(decodeRequest({ action: "query", type: "oauth" }), {
    type: "oauth",
    user: null,
    service: null,
    handle: null,
    scopes: null,
    audience: null,
    accessToken: false,
    action: "query",
    minTtl: null,
  });
  assert.deepEqual(decodeRequest({ action: "delete", type: "password" }), {
    type: "password",
    pool: false,
    user: null,
    action: "delete",
  });
});

Deno.test("decodeRequest() refuses every malformed field with its own message", () => {
  const good = { action: "add", type: "oauth", credential: "AAEC", service: "s" };
  const cases: [unknown, string][] = [
    [null, '"request" must be an object'],
    [[], '"request" must be an object'],
    ["add", '"request" must be an object'],
    [{ ...good, action: "list" }, '"action" must be add, delete or query'],
    [{ ...good, action: undefined }, '"action" must be add, delete or query'],
    [{ ...good, type: "krb" }, '"type" must be password, kerberos or oauth'],
    [{ ...good, user: 7 }, '"user" must be a string'],
    [{ ...good, user: "u".repeat(4097) }, '"user" must be a string'],
    [{ ...good, service: ["s"] }, '"service" must be a string'],
    [{ ...good, handle: {} }, '"handle" must be a string'],
    [{ ...good, scopes: 1 }, '"scopes" must be a string'],
    [{ ...good, audience: true }, '"audience" must be a string'],
    [{ ...good, accessToken: "yes" }, '"accessToken" must be true or false'],
    [{ ...good, accessToken: null }, '"accessToken" must be true or false'],
    [{ action: "add", type: "password", pool: 1, credential: "" }, '"pool" must be true or false'],
    [{ ...good, credential: undefined }, '"credential" must be base64url'],
    [{ ...good, credential: 5 }, '"credential" must be base64url'],
    [{ ...good, credential: "A+B/" }, '"credential" must be base64url'],
    [{ ...good, credential: "A" }, '"credential" must be base64url'],
    [
      { action: "query", type: "kerberos", minTtl: -1 },
      '"minTtl" must be a whole number of seconds',
    ],
    [
      { action: "query", type: "kerberos", minTtl: 1.5 },
      '"minTtl" must be a whole number of seconds',
    ],
    [
      { action: "query", type: "kerberos", minTtl: "60" },
      '"minTtl" must be a whole number of seconds',
    ],
    [
      { action: "query", type: "kerberos", minTtl: 2 ** 53 },
      '"minTtl" must be a whole number of seconds',
    ],
  ];
  for (const [value, message] of cases) {
    assert.equal(refusal(() => decodeRequest(value)), message, JSON.stringify(value));
  }
  // The longest string accepted, and the largest minTtl.
  assert.equal(decodeRequest({ ...good, user: "u".repeat(4096) }).user, "u".repeat(4096));
  const q = decodeRequest({ action: "query", type: "kerberos", minTtl: 2 ** 53 - 1 });
  assert.equal(q.action === "query" && q.minTtl, 2 ** 53 - 1);
  // A delete ignores a credential and a minTtl it does not use.
  assert.deepEqual(decodeRequest({ action: "delete", type: "kerberos", minTtl: -5 }), {
    type: "kerberos",
    user: null,
    action: "delete",
  });
});

Deno.test("a reply survives encodeReply() and decodeReply(); a remote caller gets no remedy", () => {
  const target = { account: "a@d", user: "a", domain: "d", pool: false };
  const ok = {
    ok: true as const,
    outcome: {
      status: "success" as const,
      time: 1700000000,
      ad: { fully_qualified_user: "a@d", n: 3 },
      changed: false,
      expires: 1800000000,
    },
    warnings: ["w1", "w2"],
    target,
    caller: "c@d",
  };
  assert.deepEqual(decodeReply(JSON.parse(JSON.stringify(encodeReply(ok)))), ok);
  const bare = {
    ok: true as const,
    outcome: { status: "pending" as const },
    warnings: [],
    target: null,
    caller: null,
  };
  assert.deepEqual(decodeReply(JSON.parse(JSON.stringify(encodeReply(bare)))), bare);
  const error = new StoreError("insecure", "refusing to use x", { path: "/p", remedy: "chmod" });
  const failed = { ok: false as const, error, warnings: [], target, caller: "c@d" };
  const sent = JSON.parse(JSON.stringify(encodeReply(failed)));
  assert.deepEqual(sent.error, { code: "insecure", message: "refusing to use x" });
  const back = decodeReply(sent);
  assert.equal(back.ok, false);
  if (!back.ok) {
    assert.ok(back.error instanceof StoreError);
    assert.equal(back.error.code, "insecure");
    assert.equal(back.error.message, "refusing to use x");
    assert.equal(back.error.remedy, undefined);
    assert.equal(back.error.path, undefined);
  }
  assert.deepEqual(back.target, target);
  assert.equal(back.caller, "c@d");
});

Deno.test("decodeReply() refuses every malformed part of a daemon's reply", () => {
  const outcome = { status: "success" };
  const base = { ok: true, outcome, warnings: [], target: null };
  const cases: [unknown, string][] = [
    [null, "the reply is not an object"],
    [[], "the reply is not an object"],
    [{ ...base, warnings: undefined }, "the reply's warnings are malformed"],
    [{ ...base, warnings: [1] }, "the reply's warnings are malformed"],
    [{ ...base, warnings: "w" }, "the reply's warnings are malformed"],
    [{ ...base, target: "a" }, "the reply's target is malformed"],
    [
      { ...base, target: { account: "a", user: "a", domain: "d" } },
      "the reply's target is malformed",
    ],
    [
      { ...base, target: { account: "a", user: 1, domain: "d", pool: false } },
      "the reply's target is malformed",
    ],
    [
      { ...base, target: { account: "a", user: "a", domain: null, pool: false } },
      "the reply's target is malformed",
    ],
    [
      { ...base, target: { account: 1, user: "a", domain: "d", pool: false } },
      "the reply's target is malformed",
    ],
    [{ ...base, outcome: null }, "the reply's outcome is malformed"],
    [{ ...base, outcome: { status: "stored" } }, "the reply's outcome is malformed"],
    [{ ...base, outcome: { ...outcome, time: "1" } }, "the reply's time is malformed"],
    [{ ...base, outcome: { ...outcome, time: Infinity } }, "the reply's time is malformed"],
    [{ ...base, outcome: { ...outcome, expires: null } }, "the reply's expires is malformed"],
    [{ ...base, outcome: { ...outcome, ad: [] } }, "the reply's ad is malformed"],
    [{ ...base, outcome: { ...outcome, ad: { a: null } } }, "the reply's ad is malformed"],
    [{ ...base, outcome: { ...outcome, ad: { a: true } } }, "the reply's ad is malformed"],
    [{ ...base, outcome: { ...outcome, changed: "no" } }, "malformed changed"],
    [{ ...base, ok: false, error: null }, "the reply's error is malformed"],
    [
      { ...base, ok: false, error: { code: "boom", message: "m" } },
      "the reply's error is malformed",
    ],
    [{ ...base, ok: false, error: { code: "io" } }, "the reply's error is malformed"],
    [{ ...base, ok: false, error: { code: "io", message: 1 } }, "the reply's error is malformed"],
    [{ ...base, ok: "true" }, "the reply's error is malformed"],
  ];
  for (const [value, message] of cases) {
    assert.equal(refusal(() => decodeReply(value)), message, JSON.stringify(value));
  }
  // Every code a daemon may send is known.
  for (
    const code of [
      "not-found",
      "mismatch",
      "json-parse",
      "untrusted-host",
      "bad-password",
      "bad-args",
      "config",
      "not-allowed",
      "credmon-timeout",
      "insecure",
      "permission",
      "too-large",
      "empty",
      "locked",
      "input",
      "io",
      "unsupported",
      "expiring",
      "unreachable",
      "not-secure",
    ]
  ) {
    const r = decodeReply({ ...base, ok: false, error: { code, message: "m" } });
    assert.equal(!r.ok && r.error.code, code);
  }
  // Optional outcome fields left out stay out.
  assert.deepEqual(decodeReply(base), {
    ok: true,
    outcome,
    warnings: [],
    target: null,
    caller: null,
  });
  for (const caller of [3, "x".repeat(1025)]) {
    assert.throws(() => decodeReply({ ...base, caller }), /the reply's caller is malformed/);
  }
  assert.deepEqual(decodeReply({ ...base, target: undefined }).target, null);
  const zero = decodeReply({ ...base, outcome: { ...outcome, time: 0, expires: 0, ad: {} } });
  assert.deepEqual(zero.ok && zero.outcome, { status: "success", time: 0, ad: {}, expires: 0 });
});

Deno.test("decodeChallenge() takes only a 32-hex id, a 43-character nonce, a path and a time", () => {
  const good = {
    id: "0123456789abcdef0123456789abcdef",
    path: "/tmp/x",
    nonce: "A".repeat(43),
    expires: 5,
  };
  assert.deepEqual(decodeChallenge(good), good);
  assert.deepEqual(decodeChallenge({ ...good, nonce: "aZ09_-".repeat(7) + "a" }), {
    ...good,
    nonce: "aZ09_-".repeat(7) + "a",
  });
  for (
    const bad of [
      null,
      [],
      { ...good, id: "0123456789ABCDEF0123456789ABCDEF" },
      { ...good, id: "0123456789abcdef0123456789abcde" },
      { ...good, id: "0123456789abcdef0123456789abcdef0" },
      { ...good, id: 1 },
      { ...good, path: 1 },
      { ...good, nonce: "A".repeat(42) },
      { ...good, nonce: "A".repeat(44) },
      { ...good, nonce: "A".repeat(42) + "=" },
      { ...good, nonce: "A".repeat(42) + "/" },
      { ...good, expires: "5" },
      { ...good, expires: undefined },
    ]
  ) {
    assert.match(
      refusal(() => decodeChallenge(bad)),
      /^the challenge is (malformed|not an object)$/,
    );
  }
});

Deno.test("listing requests and replies: round trip and refusals", () => {
  assert.deepEqual(decodeListRequest({}), { action: "list", type: null, user: null });
  assert.deepEqual(decodeListRequest({ type: "kerberos", user: "u@d" }), {
    action: "list",
    type: "kerberos",
    user: "u@d",
  });
  for (const type of ["password", "oauth"]) {
    assert.equal(decodeListRequest({ type }).type, type);
  }
  assert.equal(refusal(() => decodeListRequest(null)), '"list" must be an object');
  assert.equal(
    refusal(() => decodeListRequest({ type: "krb" })),
    '"type" must be password, kerberos, oauth or null',
  );
  assert.equal(refusal(() => decodeListRequest({ user: 3 })), '"user" must be a string');
  const rows = [{ user: "u", files: { "u.cred": { size: 3 } } }];
  const ok = { ok: true as const, rows, warnings: ["w"], user: "u@d", caller: "c@d" };
  assert.deepEqual(
    decodeListReply(JSON.parse(JSON.stringify(encodeListReply(ok as never)))),
    ok,
  );
  const failed = {
    ok: false as const,
    error: new StoreError("not-allowed", "no", { remedy: "secret" }),
    warnings: [],
    user: null,
  };
  const sent = JSON.parse(JSON.stringify(encodeListReply(failed)));
  assert.deepEqual(sent.error, { code: "not-allowed", message: "no" });
  const back = decodeListReply(sent);
  assert.equal(!back.ok && back.error.code, "not-allowed");
  assert.equal(back.user, null);
  for (
    const [value, message] of [
      [null, "the reply is not an object"],
      [{ ok: true, rows, warnings: null }, "the reply's warnings are malformed"],
      [{ ok: true, rows, warnings: [0] }, "the reply's warnings are malformed"],
      [{ ok: true, rows: {}, warnings: [] }, "the reply's rows are malformed"],
      [{ ok: true, rows: [null], warnings: [] }, "the reply's rows are malformed"],
      [{ ok: true, rows: [{ files: [] }], warnings: [] }, "the reply's rows are malformed"],
      [{ ok: true, rows: [{}], warnings: [] }, "the reply's rows are malformed"],
      [
        { ok: false, warnings: [], error: { code: "x", message: "m" } },
        "the reply's error is malformed",
      ],
    ] as [unknown, string][]
  ) {
    assert.equal(refusal(() => decodeListReply(value)), message, JSON.stringify(value));
  }
  assert.equal(decodeListReply({ ok: true, rows: [], warnings: [], user: 5 }).user, null);
});
