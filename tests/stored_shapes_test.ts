/**
 * What the store reads back is data, whatever its shape (issue 20, items 1 and 4): `.top`,
 * `.use` and `.meta` files written straight into the store as a credd, credmon or web flow
 * would (root, 0600) with fields of unexpected types, deep nesting, huge numbers, prototype keys,
 * bidirectional and control characters, invalid UTF-8 and megabyte sizes. `list`, `query-oauth`
 * and `doctor` show them as such (a field of the wrong type is null with a note naming the JSON
 * type), never fail unexpectedly, never print a secret, and `list` reads only the first 64 KiB
 * of a file and shows at most 2048 characters of a field. Through a real daemon, a user's odd credential leaves every user served.
 */

import assert from "node:assert/strict";
import { withDaemon } from "../testing/daemon.ts";
import { runCli, type Spool, withSpool } from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";
import { base64UrlEncode } from "../lib/jwt.ts";

const encoder = new TextEncoder();

function b64url(text: string): string {
  return base64UrlEncode(encoder.encode(text));
}

/** A JWT with these claims (as JSON text) and `signature` as its third part. */
function jwt(claims: string, signature = "c2ln"): string {
  return `${b64url('{"alg":"ES256","typ":"JWT"}')}.${b64url(claims)}.${signature}`;
}

/** Secrets the files hold where a listing must never show them. */
const SECRETS = ["SHAPE-SECRET-1", "SHAPE-SECRET-2", "SHAPE-SECRET-3", "SHAPE-SECRET-4"];

const DEEP = 30_000;

/** The files planted in the user's OAuth directory, by name. */
function plantedFiles(): Record<string, Uint8Array> {
  const text: Record<string, string> = {
    // The credential: an array of objects where text is expected.
    "p.top": `{"refresh_token":"${SECRETS[0]}","scopes":[{"toString":1}]}`,
    // Numbers where strings are expected, prototype keys.
    "q.top": `{"scopes":5,"audience":{"a":"${SECRETS[1]}"},"__proto__":{"scopes":"no"},` +
      `"constructor":1,"toString":"x"}`,
    // Arrays of strings are words; control and bidirectional characters are escaped on output.
    "r.top": '{"scopes":["read:/a","write:/b"],"audience":"aud\\u202eevil\\u0007"}',
    // Deep nesting.
    "deep.top": `{"scopes":${"[".repeat(DEEP)}${"]".repeat(DEEP)},"refresh_token":"${SECRETS[2]}"}`,
    // Scopes longer than a listing shows.
    "long.top": `{"scopes":"${"s".repeat(3000)}"}`,
    // A megabyte whose scopes lie past what list reads.
    "huge.top": `{"refresh_token":"${SECRETS[3]}${"x".repeat(900_000)}","scopes":"late"}`,
    // Claims of every wrong type; the secret is the signature.
    "t.use": jwt(
      '{"sub":42,"aud":["a",{"x":1}],"exp":"soon","scope":null,"iss":"https://i.example"}',
      b64url(SECRETS[0]),
    ),
    // Credmon JSON with an absurd exp.
    "u.use": JSON.stringify({
      access_token: jwt('{"exp":1e300,"sub":"alice"}', b64url(SECRETS[1])),
      expires_in: SECRETS[2],
    }),
  };
  const files = Object.fromEntries(Object.entries(text).map(([n, t]) => [n, encoder.encode(t)]));
  // Not UTF-8, not JSON.
  files["bad.top"] = Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
  files["p.meta"] = Uint8Array.from([0, 1, 2, 0xff, 0x1b, 0x5b]);
  return files;
}

/** Writes `files` into `<oauth>/<user>/` as the credd would (the directory made by a first add). */
async function plant(spool: Spool, user: string, files: Record<string, Uint8Array>) {
  for (const [name, content] of Object.entries(files)) {
    const path = `${spool.oauth}/${user}/${name}`;
    await Deno.writeFile(path, content, { mode: 0o600 });
    await Deno.chmod(path, 0o600);
  }
}

function assertNoSecret(...outputs: string[]) {
  for (const out of outputs) {
    for (const secret of SECRETS) assert.equal(out.includes(secret), false, `${secret} shown`);
    assert.doesNotMatch(out, /unexpected failure/);
  }
}

Deno.test("list, query-oauth and doctor treat stored JSON of any shape as data", async () => {
  await withSpool(async (spool) => {
    const seed = await runCli(["add-oauth", "-s", "seed", "-P", "-i", "-"], {
      env: spool.env,
      stdin: "x",
    });
    assert.equal(seed.code, 0, seed.stderr);
    const user = [...Deno.readDirSync(spool.oauth)].find((e) => !e.name.startsWith("."))!.name;
    await plant(spool, user, plantedFiles());

    const json = await runCli(["list-oauth", "--json"], { env: spool.env });
    assert.equal(json.code, 0, json.stderr);
    const rows = Object.fromEntries(
      JSON.parse(json.stdout).credentials.map((c: { name: string }) => [c.name, c]),
    );
    const shown = (name: string) => {
      const { scopes, audience, token, problem } = rows[name];
      return { scopes, audience, token, problem };
    };
    assert.deepEqual(shown("p"), {
      scopes: null,
      audience: null,
      token: null,
      problem: 'the "scopes" of p.top is a JSON array holding a JSON object, not text',
    });
    assert.deepEqual(shown("q"), {
      scopes: null,
      audience: null,
      token: null,
      problem: 'the "scopes" of q.top is a JSON number, not text; the "audience" of q.top is a ' +
        "JSON object, not text",
    });
    assert.deepEqual(shown("r"), {
      scopes: "read:/a write:/b",
      audience: "aud\u202eevil\u0007",
      token: null,
      problem: null,
    });
    assert.deepEqual(
      shown("deep").problem,
      'the "scopes" of deep.top is a JSON array holding a JSON array, not text',
    );
    // The first 64 KiB only: scopes that lie further are not looked for, and the row says so.
    assert.deepEqual(shown("huge"), {
      scopes: null,
      audience: null,
      token: null,
      problem: "only the first 65536 bytes of huge.top were read, and its scopes or audience " +
        "may lie beyond",
    });
    assert.deepEqual(shown("bad"), { scopes: null, audience: null, token: null, problem: null });
    assert.deepEqual(shown("long"), {
      scopes: "s".repeat(2048),
      audience: null,
      token: null,
      problem: 'the "scopes" of long.top is 3000 characters long; only the first 2048 are shown',
    });
    assert.deepEqual(shown("t").token, {
      iss: "https://i.example",
      sub: null,
      aud: null,
      scope: null,
      exp: null,
      expires_in: null,
    });
    assert.equal(
      shown("t").problem,
      'the access token\'s "sub" claim is a JSON number, not text; the access token\'s "aud" ' +
        'claim is a JSON array holding a JSON object, not text; the access token\'s "exp" ' +
        "claim is a JSON string that is not a time in seconds",
    );
    assert.deepEqual(shown("u").token.exp, null);
    assert.match(shown("u").problem, /"exp" claim is a JSON number that is not a time/);

    // The table: every row, the odd characters escaped, no secret.
    const text = await runCli(["list"], { env: spool.env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /audience "aud\\u202eevil\\u0007"/);
    assert.equal(text.stdout.includes("\u202e"), false);
    assertNoSecret(text.stdout, text.stderr, json.stdout, json.stderr);

    // Queries: a field of the wrong type is upstream's JSON error (exit 1), a mismatch exit 2.
    const runs: [string[], number, RegExp][] = [
      [["-s", "p"], 1, /^Failure parsing credential as JSON\n {4}the scopes in .* is a JSON array/],
      [["-s", "q", "-S", "5"], 1, /the scopes in .* is a JSON number, not a string/],
      [["-s", "r", "-S", "read:/a write:/b"], 1, /is a JSON array, not a string/],
      [["-s", "deep"], 1, /is a JSON array, not a string/],
      [["-s", "huge"], 2, /^Credential was found but it did not match/],
      [["-s", "huge", "-S", "late"], 0, /^$/],
      [["-s", "bad"], 0, /^$/],
      [["-s", "t", "--min-ttl", "60"], 1, /is not a JWT with an "exp" claim/],
      [["-s", "u", "--min-ttl", "60"], 1, /is not a JWT with an "exp" claim/],
      [["-s", "u"], 0, /^$/],
      [[], 0, /^$/],
    ];
    for (const [args, code, stderr] of runs) {
      for (const json of [[], ["--json"]]) {
        const r = await runCli(["query-oauth", ...args, ...json], { env: spool.env });
        assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
        if (json.length === 0) assert.match(r.stderr, stderr, args.join(" "));
        assertNoSecret(r.stdout, r.stderr);
      }
    }
    const doctor = await runCli(["doctor"], { env: spool.env });
    assert.equal(doctor.code, 1, doctor.stderr);
    assertNoSecret(doctor.stdout, doctor.stderr);
  });
});

Deno.test({
  name: "an odd credential stored through the daemon leaves every user served (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester, other] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const log = await withDaemon(spool, async (daemon) => {
        const as = (user: typeof tester, args: string[], stdin?: string) =>
          runCli(args, { env: daemon.env, user, stdin, timeoutMs: 60_000 });
        const add = await as(
          tester,
          ["add-oauth", "-s", "p", "-i", "-"],
          '{"refresh_token":"x","scopes":[{"toString":1}]}',
        );
        assert.equal(add.code, 0, add.stderr);
        // More listings than the daemon has workers: each is answered, and every worker lives.
        for (let i = 0; i < 8; i++) {
          const list = await as(tester, ["list"]);
          assert.equal(list.timedOut, undefined, `list ${i} hung`);
          assert.equal(list.code, 0, list.stderr);
          assert.match(list.stdout, /REFUSED: the "scopes" of p\.top is a JSON array holding/);
        }
        const query = await as(tester, ["query-oauth", "-s", "p"]);
        assert.equal(query.code, 1, query.stderr);
        assert.match(query.stderr, /^Failure parsing credential as JSON\n/);
        for (let i = 0; i < 4; i++) {
          const served = await as(other, ["add-oauth", "-s", `s${i}`, "-P", "-i", "-"], "tok");
          assert.equal(served.code, 0, served.stderr);
          const listed = await as(other, ["list"]);
          assert.equal(listed.code, 0, listed.stderr);
        }
      });
      assert.doesNotMatch(log, /TypeError|worker failed/);
    });
  },
});
