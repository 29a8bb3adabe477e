/**
 * Black-box tests of `query-oauth --min-ttl SECONDS` (README "Every action, with an example"): a JWT access token
 * must stay valid at least that long, as a bare token (-P) or inside credmon JSON.
 */

import assert from "node:assert/strict";
import { startDaemon } from "../testing/daemon.ts";
import { localTime, runCli, type Spool, withSpool } from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers } from "../testing/users.ts";

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
    await store(spool, "bare", jwt({ sub: "alice", exp: now() + 3600 }));
    await store(
      spool,
      "json",
      JSON.stringify({ access_token: jwt({ exp: now() + 3600 }), expires_in: 3600 }),
    );
    for (const service of ["bare", "json"]) {
      const r = await query(spool, "-s", service, "--min-ttl", "600");
      assert.equal(r.code, 0, r.stderr);
      // The result line, then how long is left (the harness runs with TZ=UTC).
      const exp = now() + 3600;
      const lines = r.stdout.split("\n");
      assert.equal(lines[3], "A credential was stored and is valid.");
      const left =
        /^The access token expires on (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d), in (\d+) seconds \(--min-ttl 600\)\.$/
          .exec(lines[4]);
      assert.ok(left, r.stdout);
      assert.ok(Math.abs(Number(left[2]) - 3600) <= 5, left[2]);
      const shown = Date.parse(`${left[1].replace(" ", "T")}Z`) / 1000;
      assert.ok(Math.abs(shown - exp) <= 5, left[1]);
      // Without --min-ttl the line is not there: upstream's output is unchanged.
      const plain = await query(spool, "-s", service);
      assert.doesNotMatch(plain.stdout, /The access token expires/);
      // In JSON: expires_in, the seconds left.
      const json = JSON.parse(
        (await query(spool, "-s", service, "--min-ttl", "600", "--json")).stdout,
      );
      assert.ok(Math.abs(json.info.expires_in - 3600) <= 5, String(json.info.expires_in));
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

Deno.test("--min-ttl results: not-found when nothing is stored, expiry-unknown for a token without exp, the time left on a shortfall, no directory named", async () => {
  await withSpool(async (spool) => {
    const json = async (service: string, ttl: string) => {
      const r = await query(spool, "-s", service, "--min-ttl", ttl, "--json");
      assert.equal(r.code, 1, r.stdout);
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(spool.root), "no directory named");
      return JSON.parse(r.stdout);
    };
    // Nothing stored under that service: upstream's not-found, with or without --min-ttl.
    await store(spool, "other", jwt({ exp: now() + 3600 }));
    const missing = await query(spool, "-s", "nothing", "--min-ttl", "60");
    assert.deepEqual(missing, {
      code: 1,
      stdout: "Account: <current> (root)\nCredType: oauth\n\nNo credential is stored.\n",
      stderr: "",
    });
    assert.deepEqual([(await json("nothing", "60")).status], ["not-found"]);
    // A token whose expiry cannot be read has its own status.
    await store(spool, "opaque", "not-a-jwt-token");
    const opaque = await json("opaque", "60");
    assert.deepEqual([opaque.status, opaque.reason], ["expiry-unknown", "expiry-unknown"]);
    assert.equal(opaque.info.expires, null);
    // A shortfall says how long is left.
    const exp = now() + 100;
    await store(spool, "soon", jwt({ exp }));
    const soon = await json("soon", "600");
    assert.deepEqual([soon.status, soon.reason], ["expiring", "expiring"]);
    assert.equal(soon.info.expires_unix, exp);
    assert.equal(soon.info.expires, localTime(exp, "UTC"));
    assert.ok(
      soon.info.expires_in <= 100 && soon.info.expires_in > 0,
      String(soon.info.expires_in),
    );
    assert.match(soon.message, /^ERROR: the access token in "soon\.use" expires in \d+ seconds/);
  });
});

Deno.test({
  name: "--min-ttl results through the daemon are the same (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = (await nonRootUsers())!;
    await withSpool(async (spool) => {
      const daemon = await startDaemon(spool);
      try {
        const run = (args: string[], stdin?: string) =>
          runCli(args, { env: daemon.env, stdin, user: tester });
        const exp = now() + 100;
        assert.equal(
          (await run(["add-oauth", "-s", "soon", "-P", "-i", "-"], jwt({ exp }))).code,
          0,
        );
        await run(["add-oauth", "-s", "opaque", "-P", "-i", "-"], "opaque");
        const results: Record<string, { status: string; expires_unix: number | null }> = {};
        for (const service of ["soon", "opaque", "nothing"]) {
          const r = await run(["query-oauth", "-s", service, "--min-ttl", "600", "--json"]);
          assert.equal(r.code, 1, r.stdout);
          assert.doesNotMatch(r.stdout + r.stderr, new RegExp(spool.root), "no daemon path");
          const parsed = JSON.parse(r.stdout);
          results[service] = { status: parsed.status, expires_unix: parsed.info.expires_unix };
        }
        assert.deepEqual(results, {
          soon: { status: "expiring", expires_unix: exp },
          opaque: { status: "expiry-unknown", expires_unix: null },
          nothing: { status: "not-found", expires_unix: null },
        });
      } finally {
        await daemon.stop();
      }
    });
  },
});
