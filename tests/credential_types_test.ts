/**
 * The credential-type registry (lib/store/types/, README "Architecture"): it covers every type,
 * the grammar's keywords, the request codecs and the per-type answers come from it unchanged, and
 * each type's add, delete and query reach that type's files. In-process, in milliseconds (the
 * store part on a temp spool).
 */

import assert from "node:assert/strict";
import { matchTypeSuffix, TYPE_KEYWORDS } from "../lib/cli/grammar.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { decodeListRequest, decodeRequest, encodeRequest } from "../lib/daemon/protocol.ts";
import type { Caller, CredRequest, CredType } from "../lib/request.ts";
import { pathKnob } from "../lib/store/context.ts";
import { createStoreContext, credentialLimit, perform } from "../lib/store/service.ts";
import {
  CRED_TYPES,
  CREDENTIAL_TYPES,
  credentialType,
  isCredType,
  typeNames,
} from "../lib/store/types/mod.ts";
import { withSpool } from "../testing/harness.ts";

/** Every type of lib/request.ts: a type missing here or in the registry fails to compile. */
const EVERY_TYPE = { password: true, kerberos: true, oauth: true } satisfies Record<
  CredType,
  true
>;

Deno.test("the registry holds every credential type, in the order listings use", () => {
  assert.deepEqual(CRED_TYPES, Object.keys(EVERY_TYPE));
  for (const type of CRED_TYPES) {
    assert.equal(CREDENTIAL_TYPES[type].name, type);
    assert.equal(credentialType(type), CREDENTIAL_TYPES[type]);
    assert.ok(isCredType(type));
  }
  for (const other of ["", "pwd", "krb", "__proto__", "toString", "constructor", null, 1]) {
    assert.equal(isCredType(other), false, String(other));
  }
  assert.equal(typeNames(), "password, kerberos or oauth");
});

Deno.test("the grammar's type keywords are upstream's, in upstream's order, from the registry", () => {
  assert.deepEqual(TYPE_KEYWORDS.map((k) => [k.keyword, k.minLength, k.type]), [
    ["pwd", 1, "password"],
    ["password", 2, "password"],
    ["krb", 2, "kerberos"],
    ["kerberos", 2, "kerberos"],
    ["oauth", 2, "oauth"],
    ["oath", 2, "oauth"],
    ["scitokens", 3, "oauth"],
  ]);
  for (const type of CRED_TYPES) {
    for (const { keyword, minLength } of CREDENTIAL_TYPES[type].keywords) {
      assert.equal(matchTypeSuffix(`--${keyword}`), type, keyword);
      assert.equal(matchTypeSuffix(`-${keyword.slice(0, minLength)}`), type, keyword);
    }
    assert.equal(matchTypeSuffix(`-${CREDENTIAL_TYPES[type].word}`), type);
  }
});

Deno.test("each type's limit, word and directory are the documented ones", () => {
  assert.deepEqual(
    CRED_TYPES.map((t) => [
      t,
      credentialLimit(t),
      CREDENTIAL_TYPES[t].word,
      pathKnob(CREDENTIAL_TYPES[t].directory),
    ]),
    [
      ["password", 255, "pwd", "SEC_CREDENTIAL_DIRECTORY_PWD"],
      ["kerberos", 1024 * 1024, "krb", "SEC_CREDENTIAL_DIRECTORY_KRB"],
      ["oauth", 1024 * 1024, "oauth", "SEC_CREDENTIAL_DIRECTORY_OAUTH"],
    ],
  );
});

const OPTIONS = {
  pool: true,
  service: "box",
  handle: "h",
  scopes: "read",
  audience: "aud",
  accessToken: true,
};

Deno.test("a request's wire form is unchanged: the command line's and the daemon's codecs agree", () => {
  const wire = CRED_TYPES.map((type) => {
    const request: CredRequest = {
      action: "query",
      minTtl: null,
      ...credentialType(type).subject("alice@example.org", OPTIONS),
    };
    const encoded = JSON.stringify(encodeRequest(request));
    // The daemon reads back the same request, field for field.
    assert.deepEqual(encodeRequest(decodeRequest(JSON.parse(encoded))), JSON.parse(encoded));
    return encoded;
  });
  assert.deepEqual(wire, [
    '{"action":"query","minTtl":null,"type":"password","pool":true,"user":"alice@example.org"}',
    '{"action":"query","minTtl":null,"type":"kerberos","user":"alice@example.org"}',
    '{"action":"query","minTtl":null,"type":"oauth","user":"alice@example.org","service":"box",' +
    '"handle":"h","scopes":"read","audience":"aud","accessToken":true}',
  ]);
  assert.throws(
    () => decodeRequest({ action: "query", type: "__proto__" }),
    /"type" must be password, kerberos or oauth/,
  );
  assert.throws(
    () => decodeListRequest({ type: "constructor" }),
    /"type" must be password, kerberos, oauth or null/,
  );
});

Deno.test("each type's add, delete and query reach that type's files", async () => {
  await withSpool(async (spool) => {
    const config = loadConfig({ env: { ...spool.env }, uid: 0, hostname: "node.test.example" });
    const domain = config.get("UID_DOMAIN");
    const caller: Caller = { uid: 0, name: "alice", domain: domain ?? "", inProcess: true };
    const run = async (request: CredRequest) => {
      const reply = await perform(createStoreContext(config, { euid: 0 }), caller, request);
      assert.ok(reply.ok, reply.ok ? "" : reply.error.message);
      return reply.outcome;
    };
    const secret = () => new TextEncoder().encode("s3cret");
    const user = `alice@${domain}`;

    await run({ action: "add", type: "password", pool: false, user, credential: secret() });
    await Deno.stat(`${spool.pwd}/${user}.pwd`);
    assert.equal(
      (await run({ action: "query", type: "password", pool: false, user })).status,
      "success",
    );

    const selector = { service: "box", handle: null, scopes: null, audience: null };
    await run({
      action: "add",
      type: "oauth",
      user,
      ...selector,
      accessToken: true,
      credential: secret(),
    });
    await Deno.stat(`${spool.oauth}/alice/box.use`);
    const query = {
      action: "query",
      type: "oauth",
      user,
      ...selector,
      accessToken: false,
    } as const;
    assert.equal((await run(query)).status, "success");
    await run({ ...query, action: "delete" });
    await assert.rejects(Deno.stat(`${spool.oauth}/alice/box.use`), Deno.errors.NotFound);

    // The Kerberos directory and files as the Kerberos credmon leaves them.
    await Deno.mkdir(spool.krb, { recursive: true, mode: 0o755 });
    await Deno.writeFile(`${spool.krb}/alice.cc`, secret(), { mode: 0o600 });
    assert.equal((await run({ action: "query", type: "kerberos", user })).status, "success");
    await run({ action: "delete", type: "kerberos", user });
    await assert.rejects(Deno.stat(`${spool.krb}/alice.cc`), Deno.errors.NotFound);
  });
});
