/**
 * Black-box tests of `query-oauth --min-ttl SECONDS` (README "Every action, with an example"): a JWT access token
 * must stay valid at least that long, as a bare token (-P) or inside credmon JSON.
 */

import assert from "node:assert/strict";
import { runCli, type Spool, withSpool } from "../testing/harness.ts";

function b64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function jwt(claims: Record<string, unknown>): string {
  return `${b64url('{"alg":"ES256","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.c2ln`;
}

const now = () => Math.floor(Date.now() / 1000);

async function store(spool: Spool, service: string, body: string) {
  const r = await runCli(["add-oauth", "-s", service, "-P", "-i", "-"], {
    env: spool.env,
    stdin: body,
  });
  assert.equal(r.code, 0, r.stderr);
}

const query = (spool: Spool, ...args: string[]) =>
  runCli(["query-oauth", ...args], { env: spool.env });

Deno.test("--min-ttl passes a JWT with enough life left, bare or in credmon JSON", async () => {
  await withSpool(async (spool) => {
    const exp = now() + 3600;
    await store(spool, "bare", jwt({ sub: "alice", exp }));
    await store(
      spool,
      "json",
      JSON.stringify({ access_token: jwt({ exp }), expires_in: 3600 }),
    );
    /** Asserts `seconds` left is what `exp` leaves at some moment of a query run from `t0`. */
    const assertLeft = (seconds: number, t0: number) => {
      assert.ok(seconds <= exp - t0 && seconds >= exp - now(), `${seconds} s left`);
    };
    for (const service of ["bare", "json"]) {
      const t0 = now();
      const r = await query(spool, "-s", service, "--min-ttl", "600");
      assert.equal(r.code, 0, r.stderr);
      // The result line, then how long is left (the harness runs with TZ=UTC).
      const lines = r.stdout.split("\n");
      assert.equal(lines[3], "A credential was stored and is valid.");
      const left =
        /^The access token expires on (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d), in (\d+) seconds \(--min-ttl 600\)\.$/
          .exec(lines[4]);
      assert.ok(left, r.stdout);
      assertLeft(Number(left[2]), t0);
      assert.equal(Date.parse(`${left[1].replace(" ", "T")}Z`) / 1000, exp, left[1]);
      // Without --min-ttl the line is not there: upstream's output is unchanged.
      const plain = await query(spool, "-s", service);
      assert.doesNotMatch(plain.stdout, /The access token expires/);
      // In JSON: expires_in, the seconds left.
      const t1 = now();
      const json = JSON.parse(
        (await query(spool, "-s", service, "--min-ttl", "600", "--json")).stdout,
      );
      assertLeft(json.info.expires_in, t1);
    }
  });
});

Deno.test("--min-ttl fails clearly when the token expires sooner, has expired, or is not a JWT", async () => {
  await withSpool(async (spool) => {
    await store(spool, "soon", jwt({ exp: now() + 100 }));
    await store(spool, "gone", jwt({ exp: now() - 50 }));
    await store(spool, "opaque", "not-a-jwt-token");
    await store(spool, "noexp", jwt({ sub: "x" }));
    const soon = await query(spool, "-s", "soon", "--min-ttl=600");
    assert.equal(soon.code, 1);
    assert.match(
      soon.stderr,
      /^ERROR: the access token in ".*soon\.use" expires in \d+ seconds \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\), less than --min-ttl 600; refresh it/,
    );
    const gone = await query(spool, "-s", "gone", "--min-ttl", "0");
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /expired \d+ seconds ago/);
    for (const service of ["opaque", "noexp"]) {
      const r = await query(spool, "-s", service, "--min-ttl", "1");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is not a JWT with an "exp" claim, so its lifetime cannot be checked/);
    }
    // Only a .top (waiting for the credmon): nothing to check yet.
    await runCli(["add-oauth", "-s", "seed", "-i", "-"], { env: spool.env, stdin: "s" });
    const pending = await query(spool, "-s", "seed", "--min-ttl", "1");
    assert.equal(pending.code, 1);
    assert.match(pending.stderr, /there is no access token ".*seed\.use" yet to check/);
  });
});

Deno.test("--min-ttl is refused outside query-oauth -s and with a bad number", async () => {
  await withSpool(async (spool) => {
    for (
      const args of [["query-oauth", "--min-ttl", "5"], ["query-krb", "--min-ttl", "5"], [
        "add-oauth",
        "-s",
        "s",
        "-i",
        "-",
        "--min-ttl",
        "5",
      ]]
    ) {
      const r = await runCli(args, { env: spool.env });
      assert.deepEqual(r, {
        code: 1,
        stdout: "",
        stderr: "ERROR: --min-ttl can only be used with query-oauth -s SERVICE\n",
      });
    }
    const bad = await runCli(["query-oauth", "-s", "s", "--min-ttl", "soon"], { env: spool.env });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^ERROR: --min-ttl needs a whole number of seconds, not 'soon'\n\nUsage:/,
    );
  });
});
