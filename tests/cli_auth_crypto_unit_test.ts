/**
 * In-process unit tests, in milliseconds, of the rules of the command line's parsing and routing
 * (lib/cli/parse.ts, lib/cli/route.ts), the IDTOKENS code (lib/auth) and the crypto helpers
 * (lib/crypto) that the generated mutants showed only slow black-box tests (or none) would catch
 * (TESTING.md "Mutation testing", issue 23): each test checks what a caller or a peer sees.
 */

import assert from "node:assert/strict";
import { constantTimeEqual } from "../lib/crypto/equal.ts";
import { checkKeyId, mintToken, TokenError, verifyToken } from "../lib/auth/idtoken.ts";
import { HOST_KEY_BYTES, seal, unseal } from "../lib/crypto/seal.ts";
import { type Config, loadConfig, PACKAGED_SOCKET } from "../lib/config/mod.ts";
import { chooseRoute, daemonAddress, daemonRoute, type Route } from "../lib/cli/route.ts";
import { StoreError } from "../lib/errors.ts";
import type { CommandEntry } from "../lib/cli/command.ts";
import { COMMANDS } from "../lib/cli/commands.ts";
import { OPTIONS } from "../lib/cli/grammar.ts";
import { hasOption, identify } from "../lib/cli/parse.ts";
import type { CredType } from "../lib/request.ts";

Deno.test("constantTimeEqual sees a difference in the first and in the last place, of bytes and of strings", () => {
  for (const length of [1, 2, 5]) {
    const same = new Uint8Array(length).fill(7);
    assert.ok(constantTimeEqual(same, same.slice()), `${length} equal bytes`);
    for (const at of [0, length - 1]) {
      const other = same.slice();
      other[at] = 8;
      assert.ok(!constantTimeEqual(same, other), `${length} bytes, byte ${at} differs`);
      assert.ok(!constantTimeEqual(other, same), `${length} bytes, byte ${at} differs (swapped)`);
    }
    const text = "n".repeat(length);
    assert.ok(constantTimeEqual(text, "n".repeat(length)), `${length} equal characters`);
    for (const at of [0, length - 1]) {
      const other = `${text.slice(0, at)}m${text.slice(at + 1)}`;
      assert.ok(!constantTimeEqual(text, other), `${length} characters, character ${at} differs`);
    }
  }
  assert.ok(constantTimeEqual("", ""));
  assert.ok(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)));
  // A string and bytes are never the same value, even of the same code units.
  const compare = constantTimeEqual as (a: unknown, b: unknown) => boolean;
  assert.equal(compare("ab", new Uint8Array([97, 98])), false);
  assert.equal(compare(new Uint8Array([97, 98]), "ab"), false);
});

Deno.test("a key ID named in an error is shown whole up to 128 characters, cut after 128", () => {
  const message = (kid: string) => {
    try {
      checkKeyId(kid);
    } catch (error) {
      assert.ok(error instanceof TokenError && error.reason === "kid");
      return error.message;
    }
    assert.fail(`${kid} was accepted`);
  };
  const kid128 = `/${"k".repeat(126)}z`;
  assert.equal(kid128.length, 128);
  assert.ok(message(kid128).includes(` "${kid128}" `), message(kid128));
  const kid129 = `${kid128}Q`;
  assert.ok(message(kid129).includes(` "${kid128}..." `), message(kid129));
  const kid127 = kid128.slice(0, 127);
  assert.ok(message(kid127).includes(` "${kid127}" `), message(kid127));
});

Deno.test("a signing key of one byte signs and verifies; an empty one is no key, named", async () => {
  const issuedAt = 1_700_000_000;
  const claims = { kid: "k1", issuer: "d", subject: "alice@d", issuedAt, jti: "j" };
  const token = await mintToken(new Uint8Array([42]), claims);
  const verified = await verifyToken(token, {
    keyMaterial: () => new Uint8Array([42]),
    trustDomain: "d",
    now: issuedAt,
  });
  assert.equal(verified.subject, "alice@d");
  await assert.rejects(
    () =>
      verifyToken(token, { keyMaterial: () => new Uint8Array(0), trustDomain: "d", now: issuedAt }),
    (e: TokenError) =>
      e.reason === "no-key" && e.message === 'No signing key named "k1" is available.',
  );
});

Deno.test("a token claim with an unpaired surrogate is refused, not minted with a replacement character", async () => {
  const claims = { kid: "k1", issuer: "d", subject: "alice@d", issuedAt: 1_700_000_000, jti: "j" };
  for (const field of ["subject", "jti", "kid"] as const) {
    await assert.rejects(
      () => mintToken(new Uint8Array([1]), { ...claims, [field]: `a\uD800b` }),
      (e: Error) => e instanceof RangeError && /unpaired UTF-16 surrogate/.test(e.message),
      field,
    );
  }
  assert.match(await mintToken(new Uint8Array([1]), { ...claims, subject: "\u{1F600}@d" }), /\./);
});

Deno.test("unseal() opens a sealed empty secret, and refuses a file too short to be sealed before it uses the key", async () => {
  const key = crypto.getRandomValues(new Uint8Array(HOST_KEY_BYTES));
  const empty = await seal(new Uint8Array(0), "alice@x", key);
  assert.equal(empty.length, 8 + 12 + 16, "magic, nonce and tag only");
  assert.deepEqual(await unseal(empty, "alice@x", key), new Uint8Array(0));
  // Cut short, a sealed file is no sealed file: null, as for any other malformed file, even
  // under a key that could not open anything (the check of the key's length comes later).
  for (let length = 0; length < empty.length; length++) {
    const cut = empty.slice(0, length);
    assert.equal(await unseal(cut, "alice@x", key), null, `${length} bytes`);
    assert.equal(await unseal(cut, "alice@x", new Uint8Array(1)), null, `${length} bytes, bad key`);
  }
  await assert.rejects(() => unseal(empty, "alice@x", new Uint8Array(1)), /wrong length/);
});

// ---- lib/cli/parse.ts ----

Deno.test("--json and -d apply only where they stand as options, not as another option's value", () => {
  const cases: [string[], boolean][] = [
    [["--json"], true],
    [["query", "-u", "a@b", "--json"], true],
    [["-u", "--json"], false],
    [["--user", "--json", "query"], false],
    [["--user=a@b", "--json"], true],
    [["--json=yes"], false],
    [["-x", "--json"], true],
    [["--nonsense", "--json"], true],
    [["json"], false],
    [["query", "-s", "--json", "-d"], false],
    [[], false],
  ];
  for (const [args, json] of cases) {
    assert.equal(hasOption(args, OPTIONS, "json"), json, JSON.stringify(args));
  }
  assert.equal(hasOption(["-u", "-d", "-d"], OPTIONS, "debug"), true, "the second -d");
  assert.equal(hasOption(["-u", "-d"], OPTIONS, "debug"), false);
});

Deno.test("a command without words is reached only by a redirect, whatever its selects says", () => {
  const greedy = { name: "greedy", words: [], selects: () => true } as unknown as CommandEntry;
  assert.equal(identify(["doctor"], [greedy, ...COMMANDS])?.name, "doctor");
  assert.equal(identify(["anything"], [greedy, ...COMMANDS]), null);
});

// ---- lib/cli/route.ts ----

/** A configuration from the environment only, as a caller of `uid` with this HOME has it. */
function configOf(uid: number, env: Record<string, string>): Config {
  return loadConfig({ env: { CONDOR_CONFIG: "ONLY_ENV", ...env }, uid, hostname: "h" });
}

/** A uid no account of the test machine has: a non-root caller who owns nothing. */
const CALLER = 4242;
const NOT_REMOTE = { name: null, tokenFile: null } as const;

async function withTemp(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "csc-route-" }));
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What a route, or the StoreError refusing one, shows: its kind and fields, or code and text. */
async function routeOf(run: () => Promise<Route>): Promise<unknown> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return { code: error.code, message: error.message, remedy: error.remedy };
  }
}

Deno.test("daemonAddress reads host, host:port, [v6]:port, name@host and sinful forms, and nothing else", async () => {
  const cases: [string, { host: string; port: number } | null][] = [
    ["credd.example.org", { host: "credd.example.org", port: 9620 }],
    [" credd.example.org:4000 ", { host: "credd.example.org", port: 4000 }],
    ["[::1]:4000", { host: "::1", port: 4000 }],
    ["[::1]", { host: "::1", port: 9620 }],
    ["credd@h1.example.org:5", { host: "h1.example.org", port: 5 }],
    ["a@b@h2:6", { host: "h2", port: 6 }],
    ["@h3", { host: "h3", port: 9620 }],
    ["<10.0.0.1:9618?addrs=10.0.0.1-9618&alias=x>", { host: "10.0.0.1", port: 9618 }],
    ["<h4:7>", { host: "h4", port: 7 }],
    ["h5:65535", { host: "h5", port: 65535 }],
    ["h5:65536", null],
    ["", null],
    [":4000", null],
    ["name@", null],
    ["<>", null],
    ["<h6", null],
    ["h7>", null],
    ["two words", null],
    ["under_score", null],
    ["h8:port", null],
  ];
  for (const [value, expected] of cases) {
    assert.deepEqual(await daemonAddress(value), expected, JSON.stringify(value));
  }
});

Deno.test("-n names the remote daemon for every type; CREDD_HOST for all but the pool password", async () => {
  const env = { HOME: "/nonexistent-home", _CONDOR_CREDD_HOST: "credd.example.org:4000" };
  const config = configOf(CALLER, env);
  const viaCredd = {
    kind: "remote",
    host: "credd.example.org",
    port: 4000,
    shown: "credd.example.org:4000",
  };
  const subjects: [CredType, boolean | undefined, string | null, boolean][] = [
    ["password", undefined, null, true],
    ["password", false, "alice@x.org", true],
    ["password", true, null, false],
    ["password", undefined, "condor_pool@x.org", false],
    ["password", undefined, "alice@condor_pool@x.org", true],
    ["kerberos", true, null, true],
    ["kerberos", undefined, "condor_pool@x.org", true],
    ["oauth", undefined, null, true],
  ];
  for (const [type, pool, user, remote] of subjects) {
    const draft = { type, pool, user };
    const what = JSON.stringify(draft);
    const route = await chooseRoute(NOT_REMOTE, config, draft, CALLER);
    if (remote) assert.deepEqual(route, viaCredd, what);
    else assert.equal(route.kind, "local", what);
    // -n wins over CREDD_HOST, and applies to the pool password too; root is no exception.
    for (const euid of [0, CALLER]) {
      assert.deepEqual(
        await chooseRoute({ name: "other@h9:5", tokenFile: null }, config, draft, euid),
        { kind: "remote", host: "h9", port: 5, shown: "h9:5" },
        what,
      );
    }
    assert.deepEqual(
      await chooseRoute(NOT_REMOTE, config, draft, 0),
      remote ? viaCredd : {
        kind: "local",
        personal: null,
      },
      what,
    );
  }
});

Deno.test("a malformed CREDD_HOST and a --token-file without a remote daemon are refused, naming the fix", async () => {
  const bad = configOf(0, { _CONDOR_CREDD_HOST: "two words" });
  const draft = { type: "kerberos" as const, user: null };
  assert.deepEqual(await routeOf(() => chooseRoute(NOT_REMOTE, bad, draft, 0)), {
    code: "config",
    message: 'CREDD_HOST is "two words"; it must be host or host:port (the daemon\'s ' +
      "CREDD_TLS_ADDRESS)",
    remedy: undefined,
  });
  assert.deepEqual(await routeOf(() => daemonRoute(NOT_REMOTE, bad)), {
    code: "config",
    message: 'CREDD_HOST is "two words"; it must be host or host:port (the daemon\'s ' +
      "CREDD_TLS_ADDRESS)",
    remedy: undefined,
  });
  // whoami's daemon: -n, else CREDD_HOST.
  const credd = configOf(0, { _CONDOR_CREDD_HOST: "h:1" });
  assert.deepEqual(await daemonRoute(NOT_REMOTE, credd), {
    kind: "remote",
    host: "h",
    port: 1,
    shown: "h:1",
  });
  assert.deepEqual(await daemonRoute({ name: "g", tokenFile: "t" }, credd), {
    kind: "remote",
    host: "g",
    port: 9620,
    shown: "g:9620",
  });
  const tokenFile = { name: null, tokenFile: "t" };
  const refused = {
    code: "bad-args",
    message: "--token-file applies only to a remote daemon (named with -n or CREDD_HOST)",
    remedy: undefined,
  };
  const none = configOf(0, {});
  assert.deepEqual(await routeOf(() => chooseRoute(tokenFile, none, draft, 0)), refused);
  assert.deepEqual(await routeOf(() => daemonRoute(tokenFile, none)), refused);
  // CREDD_HOST does not name the pool password's daemon, so --token-file has none to go to.
  const pool = { type: "password" as const, pool: true, user: null };
  assert.deepEqual(await routeOf(() => chooseRoute(tokenFile, credd, pool, 0)), refused);
  assert.equal((await chooseRoute(tokenFile, credd, draft, 0)).kind, "remote");
  assert.equal((await chooseRoute({ name: "h", tokenFile: "t" }, none, pool, 0)).kind, "remote");
});

Deno.test("a non-root caller's personal spool is written in-process, and named as personal", async () => {
  await withTemp(async (dir) => {
    const spool = `${dir}/home/.local/share/condor_store_cred`;
    await Deno.mkdir(`${dir}/home`);
    const config = configOf(CALLER, { HOME: `${dir}/home` });
    assert.equal(config.personalSpool, spool);
    const route = (type: CredType, pool?: boolean) =>
      chooseRoute(NOT_REMOTE, config, { type, pool, user: null }, CALLER);
    assert.deepEqual(await route("kerberos"), {
      kind: "local",
      personal: `${spool}/krb_credentials`,
    });
    assert.deepEqual(await route("oauth"), {
      kind: "local",
      personal: `${spool}/oauth_credentials`,
    });
    assert.deepEqual(await route("password"), {
      kind: "local",
      personal: `${spool}/pwd_credentials`,
    });
    assert.deepEqual(await route("password", true), {
      kind: "local",
      personal: `${spool}/passwords.d`,
    });
    // The spool itself is in it; a directory beside it with a longer name is not.
    const at = (krb: string) =>
      routeOf(() =>
        chooseRoute(
          NOT_REMOTE,
          configOf(CALLER, { HOME: `${dir}/home`, _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: krb }),
          { type: "kerberos", user: null },
          CALLER,
        )
      );
    assert.deepEqual(await at(spool), { kind: "local", personal: spool });
    assert.deepEqual(await at(`${spool}/`), { kind: "local", personal: `${spool}/` });
    // Beside the spool the store is root's, and its daemon is the packaged node's (CREDD_SOCKET
    // still has the spool's value): refused, or that daemon when one runs on this machine.
    const beside = await at(`${spool}-other`);
    const socket = { kind: "socket", socket: PACKAGED_SOCKET, challengeDir: "/tmp" };
    if (JSON.stringify(beside) !== JSON.stringify(socket)) {
      assert.deepEqual(beside, {
        code: "unreachable",
        message: `you may not write the credential store "${spool}-other" ("${dir}/home" ` +
          `belongs to uid 0), and no condor_store_cred daemon listens on "${PACKAGED_SOCKET}"`,
        remedy: "ask an administrator to start it (systemctl start condor_store_cred), or " +
          "point CONDOR_CONFIG at a configuration whose credential directories you own",
      });
    }
  });
});

Deno.test("a store the caller does not own goes to the daemon's socket, or is refused naming both", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/store`);
    await Deno.mkdir(`${dir}/mine`);
    await Deno.chown(`${dir}/mine`, CALLER, CALLER);
    const env = {
      HOME: `${dir}/home`,
      _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: `${dir}/store/krb`,
      _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: `${dir}/mine/oauth`,
      _CONDOR_SEC_CREDENTIAL_DIRECTORY_PWD: "relative/pwd",
      _CONDOR_CREDD_SOCKET: `${dir}/credd.sock`,
    };
    const config = configOf(CALLER, env);
    const krb = { type: "kerberos" as const, user: null };
    const refused = {
      code: "unreachable",
      message: `you may not write the credential store "${dir}/store/krb" ("${dir}/store" ` +
        `belongs to uid 0), and no condor_store_cred daemon listens on "${dir}/credd.sock"`,
      remedy: "ask an administrator to start it (systemctl start condor_store_cred), or " +
        "point CONDOR_CONFIG at a configuration whose credential directories you own",
    };
    assert.deepEqual(await routeOf(() => chooseRoute(NOT_REMOTE, config, krb, CALLER)), refused);
    assert.deepEqual(await routeOf(() => daemonRoute(NOT_REMOTE, config)), {
      code: "unreachable",
      message: `no condor_store_cred daemon listens on "${dir}/credd.sock"`,
      remedy: "start it (systemctl start condor_store_cred), check that CREDD_SOCKET is the " +
        "daemon's, or name a remote daemon with -n",
    });
    // Root, the owner of the nearest existing directory, and a relative store: in-process.
    const local = { kind: "local", personal: null };
    assert.deepEqual(await chooseRoute(NOT_REMOTE, config, krb, 0), local);
    const mine = { type: "oauth" as const, user: null };
    assert.deepEqual(await chooseRoute(NOT_REMOTE, config, mine, CALLER), local);
    assert.deepEqual(await routeOf(() => chooseRoute(NOT_REMOTE, config, mine, CALLER + 1)), {
      ...refused,
      message: `you may not write the credential store "${dir}/mine/oauth" ("${dir}/mine" ` +
        `belongs to uid ${CALLER}), and no condor_store_cred daemon listens on "${dir}/credd.sock"`,
    });
    const pwd = { type: "password" as const, user: null };
    assert.deepEqual(await chooseRoute(NOT_REMOTE, config, pwd, CALLER), local);
    // The same from a configuration file, which gives no personal spool.
    await Deno.writeTextFile(
      `${dir}/condor_config`,
      `SEC_CREDENTIAL_DIRECTORY_KRB = ${dir}/store/krb\nCREDD_SOCKET = ${dir}/credd.sock\n`,
    );
    const fromFile = loadConfig({
      env: { CONDOR_CONFIG: `${dir}/condor_config` },
      uid: CALLER,
      hostname: "h",
    });
    assert.equal(fromFile.personalSpool, null);
    assert.deepEqual(await routeOf(() => chooseRoute(NOT_REMOTE, fromFile, krb, CALLER)), refused);
    // A socket there: the daemon, with its challenge directory.
    const listener = Deno.listen({ transport: "unix", path: `${dir}/credd.sock` });
    try {
      const socket = { kind: "socket", socket: `${dir}/credd.sock`, challengeDir: "/tmp" };
      assert.deepEqual(await chooseRoute(NOT_REMOTE, config, krb, CALLER), socket);
      assert.deepEqual(await daemonRoute(NOT_REMOTE, config), socket);
      const challenges = configOf(CALLER, {
        ...env,
        _CONDOR_CREDD_CHALLENGE_DIRECTORY: `${dir}/c`,
      });
      assert.deepEqual(await chooseRoute(NOT_REMOTE, challenges, krb, CALLER), {
        ...socket,
        challengeDir: `${dir}/c`,
      });
      assert.deepEqual(await daemonRoute(NOT_REMOTE, challenges), {
        ...socket,
        challengeDir: `${dir}/c`,
      });
      // Root asks the daemon too for whoami.
      assert.deepEqual(await daemonRoute(NOT_REMOTE, configOf(0, env)), socket);
    } finally {
      listener.close();
    }
  });
});

Deno.test("a store whose directory knob is unset is left to the in-process path, which names the knob", async () => {
  const unset = {
    get: (_: string) => undefined,
    origin: (_: string) => undefined,
    personalSpool: null,
  } as unknown as Config;
  for (const type of ["kerberos", "oauth", "password"] as const) {
    assert.deepEqual(
      await chooseRoute(NOT_REMOTE, unset, { type, pool: true, user: null }, CALLER),
      { kind: "local", personal: null },
    );
  }
});
