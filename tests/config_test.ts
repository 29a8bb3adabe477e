/**
 * Unit tests of lib/config: HTCondor configuration reading (README "Configuration",
 * docs/upstream.md "Output").
 *
 * Run with `deno test --allow-read --allow-write --allow-env --trace-leaks tests/config_test.ts`.
 */

import assert from "node:assert/strict";
import {
  type Config,
  ConfigError,
  DEFAULT_EXCLUDE_REGEXP,
  KNOB_DEFAULTS,
  KNOBS_WITHOUT_DEFAULT,
  loadConfig,
  type LoadConfigOptions,
  MAX_CONFIG_BYTES,
  MAX_CONFIG_FILES,
  MAX_EXPANSION_STEPS,
} from "../lib/config/mod.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Fixture {
  readonly dir: string;
  /** Absolute path of `name` inside the fixture directory. */
  path(name: string): string;
  /** Writes `text` to `name` (creating parent directories) and returns its path. */
  write(name: string, text: string): string;
  /** Creates directory `name` and returns its path. */
  mkdir(name: string): string;
  /** Options with CONDOR_CONFIG unset, no passwd file and no system config file. */
  options(env?: Record<string, string>, extra?: Partial<LoadConfigOptions>): LoadConfigOptions;
  /** Writes `text` as the root file and loads it as root via CONDOR_CONFIG. */
  load(text: string, env?: Record<string, string>, extra?: Partial<LoadConfigOptions>): Config;
  /** The root file path used by {@link load}. */
  readonly root: string;
}

async function withFixture(fn: (fx: Fixture) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "config_test_" });
  try {
    const path = (name: string) => `${dir}/${name}`;
    const fx: Fixture = {
      dir,
      root: path("condor_config"),
      path,
      write(name, text) {
        const p = path(name);
        Deno.mkdirSync(p.slice(0, p.lastIndexOf("/")), { recursive: true });
        Deno.writeTextFileSync(p, text);
        return p;
      },
      mkdir(name) {
        Deno.mkdirSync(path(name), { recursive: true });
        return path(name);
      },
      options(env = {}, extra = {}) {
        return {
          env,
          uid: 0,
          hostname: "node1.example.org",
          passwdFile: path("no-passwd"),
          systemConfigFile: path("no-system-config"),
          ...extra,
        };
      },
      load(text, env = {}, extra = {}) {
        fx.write("condor_config", text);
        return loadConfig(fx.options({ CONDOR_CONFIG: fx.root, ...env }, extra));
      },
    };
    await fn(fx);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `fn` throws a ConfigError with exactly this message (and file/line if given). */
function assertConfigError(
  fn: () => unknown,
  message: string,
  where: { file?: string; line?: number } = {},
): void {
  let caught: unknown = undefined;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
  assert.equal(caught.message, message);
  if ("file" in where) assert.equal(caught.file, where.file);
  if ("line" in where) assert.equal(caught.line, where.line);
}

function values(config: Config, names: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((n) => [n, config.get(n)]));
}

// ---------------------------------------------------------------------------------------------
// Locating the root file (docs/upstream.md "Output")

Deno.test("loadConfig() reads the file CONDOR_CONFIG names", async () => {
  await withFixture((fx) => {
    const config = fx.load("A = 1\n");
    assert.equal(config.rootFile, fx.root);
    assert.equal(config.embedded, false);
    assert.equal(config.personalSpool, null);
    assert.equal(config.get("A"), "1");
    assert.equal(config.get("CONFIG_ROOT"), fx.dir);
  });
});

Deno.test("loadConfig() treats CONDOR_CONFIG=ONLY_ENV (any case) as no files", async () => {
  await withFixture((fx) => {
    fx.write("no-system-config", "A = from-system-file\n");
    for (const value of ["ONLY_ENV", "only_env", "Only_Env"]) {
      const config = loadConfig(fx.options({ CONDOR_CONFIG: value, _CONDOR_B: "2" }));
      assert.equal(config.rootFile, null, value);
      assert.equal(config.embedded, true, value);
      assert.equal(config.get("A"), undefined, value);
      assert.equal(config.get("B"), "2", value);
      assert.equal(config.get("SEC_PASSWORD_FILE"), "/etc/condor/passwords.d/POOL", value);
    }
  });
});

Deno.test("loadConfig() treats CONDOR_CONFIG=/dev/null as no root file", async () => {
  await withFixture((fx) => {
    const config = loadConfig(fx.options({ CONDOR_CONFIG: "/dev/null" }));
    assert.equal(config.rootFile, null);
    assert.equal(config.embedded, true);
    assert.equal(config.get("SEC_CREDENTIAL_DIRECTORY_KRB"), "/var/lib/condor/krb_credentials");
  });
});

Deno.test("loadConfig() rejects a CONDOR_CONFIG that is a directory", async () => {
  await withFixture((fx) => {
    assertConfigError(
      () => loadConfig(fx.options({ CONDOR_CONFIG: fx.dir })),
      `File specified in CONDOR_CONFIG environment variable:\n"${fx.dir}" is a directory.  ` +
        "Please specify a file.",
    );
  });
});

Deno.test("loadConfig() rejects a CONDOR_CONFIG that does not exist, even empty", async () => {
  await withFixture((fx) => {
    for (const path of [fx.path("missing"), ""]) {
      assertConfigError(
        () => loadConfig(fx.options({ CONDOR_CONFIG: path })),
        `File specified in CONDOR_CONFIG environment variable:\n"${path}" does not exist.`,
      );
    }
  });
});

Deno.test("loadConfig() reports a CONDOR_CONFIG that cannot be stat'ed with its errno", async () => {
  await withFixture((fx) => {
    const path = `${fx.write("file", "")}/below`;
    assertConfigError(
      () => loadConfig(fx.options({ CONDOR_CONFIG: path })),
      `Cannot stat file specified in CONDOR_CONFIG environment variable:\n"${path}", errno: 20`,
    );
  });
});

// An unreadable CONDOR_CONFIG ("Can't read global config source") needs a caller that mode 000
// stops, which root is not: tests/config_cli_test.ts runs that case as a real non-root user.

Deno.test("loadConfig() refuses a piped CONDOR_CONFIG command", async () => {
  await withFixture((fx) => {
    assertConfigError(
      () => loadConfig(fx.options({ CONDOR_CONFIG: "/bin/echo A=1 |" })),
      'File specified in CONDOR_CONFIG environment variable:\n"/bin/echo A=1 |" is a command; ' +
        "piped configuration commands are not supported.",
    );
  });
});

Deno.test("loadConfig() reads the system config file when CONDOR_CONFIG is unset", async () => {
  await withFixture((fx) => {
    const system = fx.write("etc/condor_config", "A = system\n");
    const config = loadConfig(fx.options({}, { systemConfigFile: system }));
    assert.equal(config.rootFile, system);
    assert.equal(config.embedded, false);
    assert.equal(config.get("A"), "system");
  });
});

Deno.test("loadConfig() uses the embedded default when no config file exists", async () => {
  await withFixture((fx) => {
    const config = loadConfig(fx.options({}));
    assert.equal(config.rootFile, null);
    assert.equal(config.embedded, true);
    assert.deepEqual(config.warnings, []);
  });
});

// ---------------------------------------------------------------------------------------------
// The embedded default (README "Configuration")

Deno.test("loadConfig() embedded default for root uses the package paths", async () => {
  await withFixture((fx) => {
    const config = loadConfig(fx.options({ CONDOR_CONFIG: "ONLY_ENV" }));
    assert.deepEqual(
      values(config, [
        "ETC",
        "LOCAL_DIR",
        "SEC_PASSWORD_DIRECTORY",
        "SEC_PASSWORD_FILE",
        "SEC_TOKEN_POOL_SIGNING_KEY_FILE",
        "SEC_CREDENTIAL_DIRECTORY_OAUTH",
        "SEC_CREDENTIAL_DIRECTORY_KRB",
        "SEC_CREDENTIAL_DIRECTORY_PWD",
        "CREDD_SOCKET",
      ]),
      {
        ETC: "/etc/condor",
        LOCAL_DIR: "/var",
        SEC_PASSWORD_DIRECTORY: "/etc/condor/passwords.d",
        SEC_PASSWORD_FILE: "/etc/condor/passwords.d/POOL",
        SEC_TOKEN_POOL_SIGNING_KEY_FILE: "/etc/condor/passwords.d/POOL",
        SEC_CREDENTIAL_DIRECTORY_OAUTH: "/var/lib/condor/oauth_credentials",
        SEC_CREDENTIAL_DIRECTORY_KRB: "/var/lib/condor/krb_credentials",
        SEC_CREDENTIAL_DIRECTORY_PWD: "/var/lib/condor/pwd_credentials",
        CREDD_SOCKET: "/run/condor/credd.sock",
      },
    );
    assert.equal(config.personalSpool, null);
    assert.equal(config.origin("ETC"), "embedded default");
    assert.equal(config.origin("SEC_PASSWORD_FILE"), "built-in default");
  });
});

Deno.test("loadConfig() embedded default for a user is a personal spool", async () => {
  const cases: {
    what: string;
    env: Record<string, string>;
    home?: string;
    spool: string;
  }[] = [
    {
      what: "absolute XDG_DATA_HOME",
      env: { XDG_DATA_HOME: "/data/xdg", HOME: "/home/alice" },
      spool: "/data/xdg/condor_store_cred",
    },
    {
      what: "XDG_DATA_HOME with a trailing slash",
      env: { XDG_DATA_HOME: "/data/xdg/", HOME: "/home/alice" },
      spool: "/data/xdg/condor_store_cred",
    },
    {
      what: "relative XDG_DATA_HOME is ignored",
      env: { XDG_DATA_HOME: "data/xdg", HOME: "/home/alice" },
      spool: "/home/alice/.local/share/condor_store_cred",
    },
    {
      what: "XDG_DATA_HOME unset",
      env: { HOME: "/home/alice" },
      spool: "/home/alice/.local/share/condor_store_cred",
    },
    {
      what: "HOME unset, passwd home",
      env: {},
      home: "/home/bob",
      spool: "/home/bob/.local/share/condor_store_cred",
    },
    {
      what: "env HOME wins over the passwd home",
      env: { HOME: "/home/alice" },
      home: "/home/bob",
      spool: "/home/alice/.local/share/condor_store_cred",
    },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      const extra: Partial<LoadConfigOptions> = { uid: 1000 };
      if (c.home !== undefined) extra.home = c.home;
      const config = loadConfig(fx.options(c.env, extra));
      const s = c.spool;
      assert.equal(config.embedded, true, c.what);
      assert.equal(config.rootFile, null, c.what);
      assert.equal(config.personalSpool, s, c.what);
      assert.deepEqual(
        values(config, [
          "SEC_PASSWORD_DIRECTORY",
          "SEC_PASSWORD_FILE",
          "SEC_CREDENTIAL_DIRECTORY_OAUTH",
          "SEC_CREDENTIAL_DIRECTORY_KRB",
          "SEC_CREDENTIAL_DIRECTORY_PWD",
          "CREDD_SOCKET",
          "SEC_TOKEN_SYSTEM_DIRECTORY",
        ]),
        {
          SEC_PASSWORD_DIRECTORY: `${s}/passwords.d`,
          SEC_PASSWORD_FILE: `${s}/passwords.d/POOL`,
          SEC_CREDENTIAL_DIRECTORY_OAUTH: `${s}/oauth_credentials`,
          SEC_CREDENTIAL_DIRECTORY_KRB: `${s}/krb_credentials`,
          SEC_CREDENTIAL_DIRECTORY_PWD: `${s}/pwd_credentials`,
          CREDD_SOCKET: `${s}/credd.sock`,
          SEC_TOKEN_SYSTEM_DIRECTORY: `${s}/tokens.d`,
        },
        c.what,
      );
    }
  });
});

Deno.test("loadConfig() embedded default for a user without a home directory fails when the personal spool is used", async () => {
  await withFixture((fx) => {
    const envs: Record<string, string>[] = [{}, { HOME: "" }, { HOME: "relative" }];
    for (const env of envs) {
      // Loading succeeds: only reading a knob that still has the personal spool's value fails.
      const config = loadConfig(fx.options(env, { uid: 1000 }));
      assert.equal(config.personalSpool, null);
      for (const knob of ["SEC_CREDENTIAL_DIRECTORY_OAUTH", "SEC_PASSWORD_FILE", "CREDD_SOCKET"]) {
        assertConfigError(
          () => config.get(knob),
          "Cannot find a home directory for the personal credential spool: set HOME to your " +
            "home directory, or set CONDOR_CONFIG to an HTCondor configuration file.",
        );
      }
    }
  });
});

Deno.test("loadConfig() without a home directory serves the knobs _CONDOR_ variables set (SPEC §4)", async () => {
  await withFixture((fx) => {
    const config = loadConfig(
      fx.options({
        CONDOR_CONFIG: "ONLY_ENV",
        _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: "/srv/oauth",
      }, {
        uid: 1000,
      }),
    );
    assert.equal(config.get("SEC_CREDENTIAL_DIRECTORY_OAUTH"), "/srv/oauth");
    assert.equal(config.get("UID_DOMAIN"), config.get("FULL_HOSTNAME"));
    assert.equal(config.origin("CREDD_SOCKET"), "embedded default");
    assert.throws(() => config.get("SEC_CREDENTIAL_DIRECTORY_KRB"), /Cannot find a home directory/);
  });
});

Deno.test("loadConfig() applies _CONDOR_ overrides on top of the embedded default", async () => {
  await withFixture((fx) => {
    const config = loadConfig(
      fx.options({ HOME: "/home/alice", _CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH: "/srv/oauth" }, {
        uid: 1000,
      }),
    );
    assert.equal(config.get("SEC_CREDENTIAL_DIRECTORY_OAUTH"), "/srv/oauth");
    assert.equal(
      config.origin("SEC_CREDENTIAL_DIRECTORY_OAUTH"),
      "environment " +
        "_CONDOR_SEC_CREDENTIAL_DIRECTORY_OAUTH",
    );
    assert.equal(
      config.get("SEC_CREDENTIAL_DIRECTORY_KRB"),
      "/home/alice/.local/share/condor_store_cred/krb_credentials",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Built-in defaults (docs/upstream.md "Output")

Deno.test("KNOB_DEFAULTS is frozen and holds the documented defaults", () => {
  assert.ok(Object.isFrozen(KNOB_DEFAULTS));
  assert.deepEqual({ ...KNOB_DEFAULTS }, {
    RELEASE_DIR: "/usr",
    LOCAL_DIR: "$(TILDE)",
    ETC: "$(LOCAL_DIR)",
    LOG: "$(LOCAL_DIR)/log",
    LOCK: "$(LOG)",
    RUN: "$(LOCK)",
    SPOOL: "$(LOCAL_DIR)/spool",
    LIBEXEC: "$(RELEASE_DIR)/libexec",
    UID_DOMAIN: "$(FULL_HOSTNAME)",
    TRUST_DOMAIN: "$(UID_DOMAIN)",
    SEC_PASSWORD_DIRECTORY: "$(ETC)/passwords.d",
    SEC_PASSWORD_FILE: "$(SEC_PASSWORD_DIRECTORY)/POOL",
    SEC_TOKEN_POOL_SIGNING_KEY_FILE: "$(SEC_PASSWORD_FILE)",
    SEC_TOKEN_SYSTEM_DIRECTORY: "$(ETC)/tokens.d",
    SEC_CREDENTIAL_DIRECTORY_PWD: "$(LOCAL_DIR)/lib/condor/pwd_credentials",
    SEC_CREDENTIAL_REFRESH_INTERVAL: "-1",
    CREDD_POLLING_TIMEOUT: "20",
    SEC_CREDENTIAL_SWEEP_INTERVAL: "300",
    SEC_CREDENTIAL_SWEEP_DELAY: "3600",
    CREDD_OAUTH_MODE: "true",
    TRUST_CREDENTIAL_DIRECTORY: "false",
    CREDMON_ALLOW_SPECIAL_CHAR_NAMES: "false",
    LOCAL_CONFIG_DIR_EXCLUDE_REGEXP:
      "^((\\..*)|(.*\\.pl)|(.*\\.py)|(.*\\.sh)|(.*~)|(#.*)|(.*\\.rpmsave)|(.*\\.rpmnew)|" +
      "(.*\\.dpkg-old)|(.*\\.dpkg-dist)|(.*\\.cfsaved))$",
    REQUIRE_LOCAL_CONFIG_FILE: "true",
    CRED_LOCK_TIMEOUT: "10",
    CREDD_SOCKET: "$(RUN)/credd.sock",
    COLLECTOR_PORT: "9618",
    // The daemon's limits, once defaults in its code, now rows of the knob table.
    CREDD_CHALLENGE_DIRECTORY: "/tmp",
    CREDD_CHALLENGE_LIFETIME: "10",
    CREDD_MAX_CONNECTIONS: "4096",
    CREDD_MAX_UNPROVEN_CONNECTIONS: "256",
    CREDD_MAX_CALLER_CONNECTIONS: "64",
    CREDD_MAX_CALLER_REQUESTS: "4",
    CREDD_WORKERS: "4",
    CREDD_AUTH_FAILURE_LIMIT: "10",
    CREDD_AUTH_FAILURES_PER_MINUTE: "600",
    SEC_TOKEN_POOL_SIGNING_KEY_IS_PASSWORD: "false",
    // The per-user limits of daemon callers (lib/store/quota.ts).
    CRED_MAX_CREDENTIALS_PER_USER: "100",
    CRED_MAX_BYTES_PER_USER: "16777216",
  });
  assert.equal(KNOB_DEFAULTS.LOCAL_CONFIG_DIR_EXCLUDE_REGEXP, DEFAULT_EXCLUDE_REGEXP);
  assert.ok(Object.isFrozen(KNOBS_WITHOUT_DEFAULT));
});

Deno.test("loadConfig() expands the built-in defaults from TILDE (~condor)", async () => {
  await withFixture((fx) => {
    const passwd = fx.write(
      "passwd",
      "root:x:0:0:root:/root:/bin/bash\ncondor:x:990:990:Owner of HTCondor:/var/lib/condor:/sbin/nologin\n",
    );
    const config = fx.load("", {}, { passwdFile: passwd });
    assert.deepEqual(
      values(config, [
        "TILDE",
        "LOCAL_DIR",
        "ETC",
        "LOG",
        "LOCK",
        "RUN",
        "SPOOL",
        "LIBEXEC",
        "SEC_PASSWORD_FILE",
        "SEC_TOKEN_SYSTEM_DIRECTORY",
        "SEC_CREDENTIAL_DIRECTORY_PWD",
        "CREDD_SOCKET",
        "SEC_CREDENTIAL_REFRESH_INTERVAL",
        "CREDD_POLLING_TIMEOUT",
        "COLLECTOR_PORT",
      ]),
      {
        TILDE: "/var/lib/condor",
        LOCAL_DIR: "/var/lib/condor",
        ETC: "/var/lib/condor",
        LOG: "/var/lib/condor/log",
        LOCK: "/var/lib/condor/log",
        RUN: "/var/lib/condor/log",
        SPOOL: "/var/lib/condor/spool",
        LIBEXEC: "/usr/libexec",
        SEC_PASSWORD_FILE: "/var/lib/condor/passwords.d/POOL",
        SEC_TOKEN_SYSTEM_DIRECTORY: "/var/lib/condor/tokens.d",
        SEC_CREDENTIAL_DIRECTORY_PWD: "/var/lib/condor/lib/condor/pwd_credentials",
        CREDD_SOCKET: "/var/lib/condor/log/credd.sock",
        SEC_CREDENTIAL_REFRESH_INTERVAL: "-1",
        CREDD_POLLING_TIMEOUT: "20",
        COLLECTOR_PORT: "9618",
      },
    );
    assert.equal(config.origin("TILDE"), "detected");
    assert.equal(config.origin("LOG"), "built-in default");
  });
});

Deno.test("loadConfig() leaves knobs without a default undefined", async () => {
  await withFixture((fx) => {
    const config = fx.load("");
    for (const name of KNOBS_WITHOUT_DEFAULT) {
      assert.equal(config.get(name), undefined, name);
      assert.equal(config.origin(name), undefined, name);
    }
    assert.equal(config.get("TILDE"), undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// Host names and domains (docs/upstream.md "The -f branch", "Output")

Deno.test("loadConfig() derives FULL_HOSTNAME, HOSTNAME, UID_DOMAIN and TRUST_DOMAIN", async () => {
  const cases: {
    what: string;
    text: string;
    env?: Record<string, string>;
    host: string;
    want: Record<string, string>;
  }[] = [
    {
      what: "host name with a domain",
      text: "",
      host: "node1.example.org",
      want: {
        FULL_HOSTNAME: "node1.example.org",
        HOSTNAME: "node1",
        UID_DOMAIN: "node1.example.org",
        TRUST_DOMAIN: "node1.example.org",
      },
    },
    {
      what: "DEFAULT_DOMAIN_NAME appended to a short name",
      text: "DEFAULT_DOMAIN_NAME = cluster.local\n",
      host: "node2",
      want: {
        FULL_HOSTNAME: "node2.cluster.local",
        HOSTNAME: "node2",
        UID_DOMAIN: "node2.cluster.local",
        TRUST_DOMAIN: "node2.cluster.local",
      },
    },
    {
      what: "DEFAULT_DOMAIN_NAME not appended to a full name",
      text: "DEFAULT_DOMAIN_NAME = cluster.local\n",
      host: "node3.example.org",
      want: { FULL_HOSTNAME: "node3.example.org", HOSTNAME: "node3" },
    },
    {
      what: "NETWORK_HOSTNAME wins over the host name",
      text: "NETWORK_HOSTNAME = submit.example.net\n",
      host: "node4",
      want: {
        FULL_HOSTNAME: "submit.example.net",
        HOSTNAME: "submit",
        UID_DOMAIN: "submit.example.net",
      },
    },
    {
      what: "NETWORK_HOSTNAME from the environment",
      text: "",
      env: { _CONDOR_NETWORK_HOSTNAME: "ce.example.com" },
      host: "node5",
      want: { FULL_HOSTNAME: "ce.example.com", HOSTNAME: "ce" },
    },
    {
      what: "UID_DOMAIN set",
      text: "UID_DOMAIN = example.org\n",
      host: "node6.example.org",
      want: { UID_DOMAIN: "example.org", TRUST_DOMAIN: "example.org" },
    },
    {
      what: "UID_DOMAIN set to empty falls back to FULL_HOSTNAME",
      text: "UID_DOMAIN =\n",
      host: "node7.example.org",
      want: { UID_DOMAIN: "node7.example.org", TRUST_DOMAIN: "node7.example.org" },
    },
    {
      what: "UID_DOMAIN expanding to empty falls back to FULL_HOSTNAME",
      text: "UID_DOMAIN = $(NOTHING)\n",
      host: "node8.example.org",
      want: { UID_DOMAIN: "node8.example.org" },
    },
    {
      what: "HOSTNAME and FULL_HOSTNAME in a file are ignored",
      text: "HOSTNAME = fake\nFULL_HOSTNAME = fake.example\n",
      host: "node9.example.org",
      want: { HOSTNAME: "node9", FULL_HOSTNAME: "node9.example.org" },
    },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      const config = fx.load(c.text, c.env ?? {}, { hostname: c.host });
      assert.deepEqual(values(config, Object.keys(c.want)), c.want, c.what);
    }
  });
});

Deno.test("loadConfig() reports where UID_DOMAIN comes from", async () => {
  await withFixture((fx) => {
    assert.equal(fx.load("").origin("UID_DOMAIN"), "built-in default");
    assert.equal(fx.load("UID_DOMAIN = x\n").origin("UID_DOMAIN"), `"${fx.root}", line 1`);
    assert.equal(fx.load("UID_DOMAIN =\n").origin("UID_DOMAIN"), "detected");
    assert.equal(fx.load("").origin("FULL_HOSTNAME"), "detected");
  });
});

// ---------------------------------------------------------------------------------------------
// Processing order (docs/upstream.md "The -f branch", "Account and header")

Deno.test("loadConfig() reads LOCAL_CONFIG_DIR files in byte order, skipping excluded names", async () => {
  await withFixture((fx) => {
    const d1 = fx.mkdir("d1");
    const d2 = fx.mkdir("d2");
    const names = [
      "10-ten",
      "9-nine",
      "B-upper",
      "a-lower",
      "\u00e9-accent",
      "x.rpmsave",
      "x.rpmnew",
      "x.dpkg-old",
      "x.dpkg-dist",
      "x.cfsaved",
      "x.sh",
      "x.py",
      "x.pl",
      "backup~",
      "#emacs#",
      ".hidden",
    ];
    for (const name of names) fx.write(`d1/${name}`, `ORDER = $(ORDER) ${name}\n`);
    fx.mkdir("d1/subdir.conf");
    fx.write("d2/00-second-dir", "ORDER = $(ORDER) d2\n");
    Deno.symlinkSync(fx.path("d1/10-ten"), fx.path("d2/50-link"));
    Deno.symlinkSync(fx.path("d1"), fx.path("d2/60-dir-link"));
    const config = fx.load(
      `LOCAL_CONFIG_DIR = ${d1}, ${fx.path("missing")}  ${d2}\nORDER = root\n`,
    );
    assert.equal(
      config.get("ORDER"),
      "root 10-ten 9-nine B-upper a-lower \u00e9-accent d2 10-ten",
    );
    assert.deepEqual(config.warnings, []);
  });
});

Deno.test("loadConfig() honours a custom LOCAL_CONFIG_DIR_EXCLUDE_REGEXP", async () => {
  await withFixture((fx) => {
    const d = fx.mkdir("d");
    fx.write("d/keep.conf", "ORDER = $(ORDER) keep.conf\n");
    fx.write("d/skip.conf", "ORDER = $(ORDER) skip.conf\n");
    fx.write("d/x.rpmsave", "ORDER = $(ORDER) x.rpmsave\n");
    const config = fx.load(
      `LOCAL_CONFIG_DIR = ${d}\nLOCAL_CONFIG_DIR_EXCLUDE_REGEXP = ^skip\nORDER = root\n`,
    );
    assert.equal(config.get("ORDER"), "root keep.conf x.rpmsave");
  });
});

Deno.test("loadConfig() rejects an invalid LOCAL_CONFIG_DIR_EXCLUDE_REGEXP", async () => {
  await withFixture((fx) => {
    const d = fx.mkdir("d");
    assertConfigError(
      () => fx.load(`LOCAL_CONFIG_DIR = ${d}\nLOCAL_CONFIG_DIR_EXCLUDE_REGEXP = ([a\n`),
      `Config source Error "${fx.root}", Line 2: LOCAL_CONFIG_DIR_EXCLUDE_REGEXP is not a valid ` +
        "regular expression: Invalid regular expression: /([a/: Unterminated character class",
      { file: fx.root, line: 2 },
    );
  });
});

Deno.test("loadConfig() reads LOCAL_CONFIG_FILE after LOCAL_CONFIG_DIR, left to right", async () => {
  await withFixture((fx) => {
    const d = fx.mkdir("d");
    fx.write("d/a", "ORDER = $(ORDER) dir\nX = dir\n");
    const l1 = fx.write("local1", "ORDER = $(ORDER) local1\nX = local1\n");
    const l2 = fx.write("local2", "ORDER = $(ORDER) local2\n");
    const config = fx.load(
      `LOCAL_CONFIG_FILE = ${l1},${l2}\nLOCAL_CONFIG_DIR = ${d}\nORDER = root\nX = root\n`,
    );
    assert.equal(config.get("ORDER"), "root dir local1 local2");
    assert.equal(config.get("X"), "local1");
    assert.equal(config.origin("X"), `"${l1}", line 2`);
  });
});

Deno.test("loadConfig() requires LOCAL_CONFIG_FILE files unless REQUIRE_LOCAL_CONFIG_FILE is false", async () => {
  await withFixture((fx) => {
    const missing = fx.path("missing.local");
    assertConfigError(
      () => fx.load(`LOCAL_CONFIG_FILE = ${missing}\n`),
      `ERROR: Can't read config source ${missing}`,
      { file: missing },
    );
    const other = fx.write("other.local", "B = 2\n");
    for (const off of ["false", "FALSE", "no", "f", "0"]) {
      const config = fx.load(
        `REQUIRE_LOCAL_CONFIG_FILE = ${off}\nLOCAL_CONFIG_FILE = ${missing} ${other}\nA = 1\n`,
      );
      assert.deepEqual(values(config, ["A", "B"]), { A: "1", B: "2" }, off);
    }
  });
});

Deno.test("loadConfig() rejects an invalid REQUIRE_LOCAL_CONFIG_FILE", async () => {
  await withFixture((fx) => {
    assertConfigError(
      () => fx.load(`REQUIRE_LOCAL_CONFIG_FILE = maybe\nLOCAL_CONFIG_FILE = ${fx.root}.x\n`),
      `Configuration error: REQUIRE_LOCAL_CONFIG_FILE is set to "maybe", which is not a boolean ` +
        `(true or false) (from "${fx.root}", line 1)`,
    );
  });
});

Deno.test("loadConfig() requires readable LOCAL_CONFIG_DIR files like LOCAL_CONFIG_FILE", async () => {
  await withFixture((fx) => {
    const d = fx.mkdir("d");
    Deno.symlinkSync(fx.path("nowhere"), fx.path("d/dangling"));
    assertConfigError(
      () => fx.load(`LOCAL_CONFIG_DIR = ${d}\n`),
      `ERROR: Can't read config source ${d}/dangling`,
    );
    const config = fx.load(`LOCAL_CONFIG_DIR = ${d}\nREQUIRE_LOCAL_CONFIG_FILE = false\nA = 1\n`);
    assert.equal(config.get("A"), "1");
  });
});

Deno.test("loadConfig() names the LOCAL_CONFIG_DIR file and line of a syntax error", async () => {
  await withFixture((fx) => {
    const bad = fx.write("config.d/20-bad", "A = 1\n\nBAD NAME\n");
    assertConfigError(
      () => fx.load(`LOCAL_CONFIG_DIR = ${fx.path("config.d")}\n`),
      `Config source Error "${bad}", Line 3: Syntax Error, missing : or =`,
      { file: bad, line: 3 },
    );
  });
});

Deno.test("loadConfig() follows a LOCAL_CONFIG_FILE list changed by a local file", async () => {
  await withFixture((fx) => {
    const l3 = fx.write("local3", "ORDER = $(ORDER) local3\n");
    const l2 = fx.write("local2", "ORDER = $(ORDER) local2\n");
    const l1 = fx.write(
      "local1",
      `ORDER = $(ORDER) local1\nLOCAL_CONFIG_FILE = ${fx.path("local1")} ${l3}\n`,
    );
    const config = fx.load(`LOCAL_CONFIG_FILE = ${l1} ${l2}\nORDER = root\n`);
    assert.equal(config.get("ORDER"), "root local1 local3");
  });
});

Deno.test("loadConfig() re-reads LOCAL_CONFIG_DIR only when a local file changed it", async () => {
  await withFixture((fx) => {
    fx.write("d1/a", "ORDER = $(ORDER) d1\n");
    fx.write("d2/a", "ORDER = $(ORDER) d2\n");
    const change = fx.write("change.local", `LOCAL_CONFIG_DIR = ${fx.path("d2")}\n`);
    const same = fx.write("same.local", `LOCAL_CONFIG_DIR = ${fx.path("d1")}\n`);
    const changed = fx.load(
      `LOCAL_CONFIG_DIR = ${fx.path("d1")}\nLOCAL_CONFIG_FILE = ${change}\nORDER = root\n`,
    );
    assert.equal(changed.get("ORDER"), "root d1 d2");
    const unchanged = fx.load(
      `LOCAL_CONFIG_DIR = ${fx.path("d1")}\nLOCAL_CONFIG_FILE = ${same}\nORDER = root\n`,
    );
    assert.equal(unchanged.get("ORDER"), "root d1");
  });
});

Deno.test("loadConfig() expands HOSTNAME in LOCAL_CONFIG_FILE", async () => {
  await withFixture((fx) => {
    fx.write("node1.local", "A = per-host\n");
    const config = fx.load("LOCAL_CONFIG_FILE = $(CONFIG_ROOT)/$(HOSTNAME).local\n");
    assert.equal(config.get("A"), "per-host");
  });
});

Deno.test("loadConfig() refuses a piped LOCAL_CONFIG_FILE", async () => {
  await withFixture((fx) => {
    assertConfigError(
      () => fx.load("A = 1\nLOCAL_CONFIG_FILE = /bin/make_config |\n"),
      `Config source Error "${fx.root}", Line 2: LOCAL_CONFIG_FILE: piped configuration ` +
        "commands are not supported",
      { file: fx.root, line: 2 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Environment overrides (docs/upstream.md "Output")

Deno.test("loadConfig() applies _CONDOR_ overrides with the right precedence", async () => {
  const cases: {
    what: string;
    text: string;
    env: Record<string, string>;
    subsystem?: string;
    name: string;
    want: string | undefined;
    origin: string | undefined;
  }[] = [
    {
      what: "override beats the file",
      text: "X = file\n",
      env: { _CONDOR_X: "env" },
      name: "X",
      want: "env",
      origin: "environment _CONDOR_X",
    },
    {
      what: "prefix matched case-insensitively",
      text: "X = file\n",
      env: { _condor_X: "env" },
      name: "x",
      want: "env",
      origin: "environment _condor_X",
    },
    {
      what: "TOOL.X in a file beats _CONDOR_X",
      text: "TOOL.X = tool\n",
      env: { _CONDOR_X: "env" },
      name: "X",
      want: "tool",
      origin: '"FILE", line 1',
    },
    {
      what: "_CONDOR_TOOL.X beats TOOL.X in a file",
      text: "TOOL.X = tool\n",
      env: { "_CONDOR_TOOL.X": "env-tool" },
      name: "X",
      want: "env-tool",
      origin: "environment _CONDOR_TOOL.X",
    },
    {
      what: "CREDD.X for subsystem CREDD",
      text: "CREDD.X = credd\nTOOL.X = tool\nX = plain\n",
      env: {},
      subsystem: "CREDD",
      name: "X",
      want: "credd",
      origin: '"FILE", line 1',
    },
    {
      what: "an empty override is defined-empty and hides the default",
      text: "",
      env: { _CONDOR_LOG: "" },
      name: "LOG",
      want: undefined,
      origin: "environment _CONDOR_LOG",
    },
    {
      what: "leading whitespace of the value is dropped",
      text: "",
      env: { _CONDOR_Y: "  spaced value" },
      name: "Y",
      want: "spaced value",
      origin: "environment _CONDOR_Y",
    },
    {
      what: "a self-reference appends",
      text: "Z = one\n",
      env: { _CONDOR_Z: "$(Z) two" },
      name: "Z",
      want: "one two",
      origin: "environment _CONDOR_Z",
    },
    {
      what: "a self-reference to a built-in default",
      text: "LOCAL_DIR = /srv\n",
      env: { _CONDOR_LOG: "$(LOG)/tool" },
      name: "LOG",
      want: "/srv/log/tool",
      origin: "environment _CONDOR_LOG",
    },
    {
      what: "macros in an override are expanded",
      text: "BASE = /opt\n",
      env: { _CONDOR_W: "$(BASE)/w" },
      name: "W",
      want: "/opt/w",
      origin: "environment _CONDOR_W",
    },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      const extra: Partial<LoadConfigOptions> = {};
      if (c.subsystem !== undefined) extra.subsystem = c.subsystem;
      const config = fx.load(c.text, c.env, extra);
      assert.equal(config.get(c.name), c.want, c.what);
      assert.equal(config.origin(c.name), c.origin?.replace("FILE", fx.root), c.what);
    }
  });
});

Deno.test("loadConfig() ignores a bare _CONDOR_ and warns about invalid override names", async () => {
  await withFixture((fx) => {
    const config = fx.load("", { _CONDOR_: "x", "_CONDOR_A-B": "1" });
    assert.deepEqual(config.warnings, [
      'Ignoring environment variable _CONDOR_A-B: "A-B" is not a valid knob name',
    ]);
  });
});

Deno.test("loadConfig() applies overrides after the files are chosen", async () => {
  await withFixture((fx) => {
    const local = fx.write("local", "A = local\n");
    const config = fx.load("A = root\n", { _CONDOR_LOCAL_CONFIG_FILE: local });
    assert.equal(config.get("A"), "root");
    assert.equal(config.get("LOCAL_CONFIG_FILE"), local);
  });
});

// ---------------------------------------------------------------------------------------------
// Line syntax (docs/upstream.md "Account and header")

Deno.test("loadConfig() joins continuation lines like upstream", async () => {
  const cases: {
    what: string;
    text: string;
    want: Record<string, string | undefined>;
    warnings?: string[];
  }[] = [
    {
      what: "leading whitespace of the next line is dropped",
      text: "A = x \\\n   y\n",
      want: { A: "x y" },
    },
    { what: "no space before the backslash", text: "A = x\\\ny\n", want: { A: "xy" } },
    {
      what: "three lines",
      text: "A = one \\\n two \\\n three\n",
      want: { A: "one two three" },
    },
    {
      what: "a comment line ending in a backslash inside a continuation is blank",
      text: "B = b\nC = c\nD = d\nA = $(B) \\\n# $(C) \\\n$(D)\n",
      want: { A: "b d" },
    },
    {
      what: "a comment line without a backslash keeps its last character",
      text: "A = x \\\n# c\nB = 2\n",
      want: { A: "x c", B: "2" },
      warnings: [
        'Config source Warning "FILE", Line 2: comment line inside a continued line does not ' +
        "end with '\\'; its last character is kept and the line ends here",
      ],
    },
    {
      what: "a backslash does not continue a comment",
      text: "# comment \\\nA = 1\n",
      want: { A: "1" },
    },
    {
      what: "a blank line ends a continuation",
      text: "A = 1 \\\n\nB = 2\n",
      want: { A: "1 ", B: "2" },
    },
    { what: "CRLF line ends", text: "A = 1\r\nB = 2 \r\n", want: { A: "1", B: "2" } },
    { what: "a last line without a newline is trimmed", text: "A = v ", want: { A: "v" } },
    {
      what: "a # inside a line is part of the value",
      text: "A = x # not a comment\n",
      want: { A: "x # not a comment" },
    },
    { what: "leading whitespace", text: "   A =    1\n\t B=2\n", want: { A: "1", B: "2" } },
    {
      what: "blank lines and [section] lines are ignored",
      text: "\n   \n[Global]\n[Section Name]\nA = 1\n",
      want: { A: "1" },
    },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      const config = fx.load(c.text);
      assert.deepEqual(values(config, Object.keys(c.want)), c.want, c.what);
      assert.deepEqual(
        config.warnings,
        (c.warnings ?? []).map((w) => w.replace("FILE", fx.root)),
        c.what,
      );
    }
  });
});

Deno.test("loadConfig() rejects a file that ends inside a continuation", async () => {
  await withFixture((fx) => {
    for (
      const text of ["A = 1\nB = x \\\n", "A = 1\nB = x \\\n  y \\", "A = 1\nB = x \\\n# c \\\n"]
    ) {
      assertConfigError(
        () => fx.load(text),
        `Config source Error "${fx.root}", Line 2: unterminated line continuation at end of file`,
        { file: fx.root, line: 2 },
      );
    }
  });
});

Deno.test("loadConfig() treats names case-insensitively", async () => {
  await withFixture((fx) => {
    const config = fx.load("sec_password_file = /x/POOL\nMixed_Case = $(SEC_PASSWORD_FILE)\n");
    assert.equal(config.get("SEC_PASSWORD_FILE"), "/x/POOL");
    assert.equal(config.get("mixed_case"), "/x/POOL");
    assert.equal(config.get("MIXED_CASE"), "/x/POOL");
  });
});

Deno.test("loadConfig() accepts NAME : value with a warning", async () => {
  await withFixture((fx) => {
    const config = fx.load("A : 1\nB:2\n");
    assert.deepEqual(values(config, ["A", "B"]), { A: "1", B: "2" });
    assert.deepEqual(config.warnings, [
      `Config source Warning "${fx.root}", Line 1: obsolete use of ':' for parameter assignment at A`,
      `Config source Warning "${fx.root}", Line 2: obsolete use of ':' for parameter assignment at B`,
    ]);
  });
});

Deno.test("loadConfig() ignores words between the name and '=' with a warning", async () => {
  await withFixture((fx) => {
    const config = fx.load("foo bar = baz\n");
    assert.equal(config.get("FOO"), "baz");
    assert.deepEqual(config.warnings, [
      `Config source Warning "${fx.root}", Line 1: text between foo and the operator is ignored`,
    ]);
  });
});

Deno.test("loadConfig() rejects illegal identifiers and lines without an operator", async () => {
  const cases: { text: string; line: number; problem: string }[] = [
    { text: "A = 1\nA-B = 1\n", line: 2, problem: "Illegal Identifier: <A-B>" },
    { text: "A$ = 1\n", line: 1, problem: "Illegal Identifier: <A$>" },
    { text: "H@=end\nx\n@end\n", line: 1, problem: "Illegal Identifier: <H@>" },
    { text: "= 1\n", line: 1, problem: "Illegal Identifier: <>" },
    { text: "A = 1\n\nfoo bar\n", line: 3, problem: "Syntax Error, missing : or =" },
    { text: "justaword\n", line: 1, problem: "Syntax Error, missing : or =" },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      assertConfigError(
        () => fx.load(c.text),
        `Config source Error "${fx.root}", Line ${c.line}: ${c.problem}`,
        { file: fx.root, line: c.line },
      );
    }
  });
});

Deno.test("loadConfig() expands macros in a knob name", async () => {
  await withFixture((fx) => {
    const config = fx.load("N = FOO\n$(N)_BAR = 1\n");
    assert.equal(config.get("FOO_BAR"), "1");
  });
});

Deno.test("loadConfig() appends with the += family", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "A = 1\nA += 2\nL = a\nL +,= b\nM = a\nM +&&= b\nN += z\nS = x\nS +;= y\nP = p\nP+=q\n" +
        "E =\nE += e\nR = $(UNDEF)\nR += r\n",
    );
    assert.deepEqual(values(config, ["A", "L", "M", "N", "S", "P", "E", "R"]), {
      A: "1 2",
      L: "a,b",
      M: "a && b",
      N: "z",
      S: "x;y",
      P: "p q",
      E: "e",
      R: " r",
    });
  });
});

Deno.test("loadConfig() reads @=TAG multi-line values", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "H = old\nH @=end\n  first $(H)\n# a comment\n\nsecond \\\n continued\n@end\nAFTER = 1\n",
    );
    assert.equal(config.get("H"), "first old\nsecond continued");
    assert.equal(config.origin("H"), `"${fx.root}", line 2`);
    assert.equal(config.get("AFTER"), "1");
  });
});

Deno.test("loadConfig() rejects an unterminated @=TAG value", async () => {
  await withFixture((fx) => {
    assertConfigError(
      () => fx.load("A = 1\nH @=end\nx\n@END\n"),
      `Config source Error "${fx.root}", Line 2: unterminated @= value of H: end of file before ` +
        "its closing tag",
      { file: fx.root, line: 2 },
    );
  });
});

Deno.test("loadConfig() keeps a defined-but-empty knob, hiding its default", async () => {
  await withFixture((fx) => {
    const config = fx.load("LOG =\nA =\n");
    assert.equal(config.get("LOG"), undefined);
    assert.equal(config.origin("LOG"), `"${fx.root}", line 1`);
    assert.equal(config.get("LOCK"), undefined);
    assert.equal(config.get("A"), undefined);
    assert.equal(config.origin("A"), `"${fx.root}", line 2`);
  });
});

// ---------------------------------------------------------------------------------------------
// include (docs/upstream.md "Account and header")

Deno.test("loadConfig() includes files in place", async () => {
  await withFixture((fx) => {
    const inc = fx.write("inc.conf", "A = included\nB = included\n");
    const config = fx.load(`A = before\ninclude : ${inc}\nB = after\n`);
    assert.deepEqual(values(config, ["A", "B"]), { A: "included", B: "after" });
    assert.equal(config.origin("A"), `"${inc}", line 1`);
  });
});

Deno.test("loadConfig() accepts include keyword variants", async () => {
  await withFixture((fx) => {
    fx.write("inc.conf", "ORDER = $(ORDER) x\n");
    const config = fx.load(
      "ORDER = root\ninclude : $(CONFIG_ROOT)/inc.conf\n@include: $(CONFIG_ROOT)/inc.conf\n" +
        "INCLUDE ifexist : $(CONFIG_ROOT)/inc.conf\ninclude IFEXISTS:$(CONFIG_ROOT)/inc.conf\n" +
        "include ifexist : $(CONFIG_ROOT)/missing.conf\n",
    );
    assert.equal(config.get("ORDER"), "root x x x x");
  });
});

Deno.test("loadConfig() rejects bad includes, naming file and line", async () => {
  await withFixture((fx) => {
    const missing = fx.path("missing.conf");
    const cases: { text: string; line: number; problem: string }[] = [
      {
        text: `A = 1\ninclude : ${missing}\n`,
        line: 2,
        problem: `can't open include file "${missing}": no such file`,
      },
      {
        text: `include : ${fx.dir}\n`,
        line: 1,
        problem: `can't open include file "${fx.dir}": is a directory`,
      },
      {
        text: "include : /bin/make_config |\n",
        line: 1,
        problem: "piped configuration commands are not supported",
      },
      {
        text: "include command : /bin/make_config\n",
        line: 1,
        problem: "piped configuration commands are not supported",
      },
      {
        text: `include sometimes : ${missing}\n`,
        line: 1,
        problem: "unexpected keyword(s) 'sometimes' after include",
      },
    ];
    for (const c of cases) {
      assertConfigError(
        () => fx.load(c.text),
        `Config source Error "${fx.root}", Line ${c.line}: ${c.problem}`,
        { file: fx.root, line: c.line },
      );
    }
  });
});

Deno.test("loadConfig() allows 20 nested includes and rejects 21", async () => {
  await withFixture((fx) => {
    const chain = (levels: number) => {
      for (let i = 1; i <= levels; i++) {
        const next = i < levels ? `include : ${fx.path(`inc${i + 1}`)}\n` : "";
        fx.write(`inc${i}`, `DEPTH = ${i}\n${next}`);
      }
      return `include : ${fx.path("inc1")}\n`;
    };
    assert.equal(fx.load(chain(20)).get("DEPTH"), "20");
    const last = fx.path("inc20");
    assertConfigError(
      () => fx.load(chain(21)),
      `Config source Error "${last}", Line 2: includes nested too deep`,
      { file: last, line: 2 },
    );
    const self = fx.write("self.conf", `A = 1\ninclude : ${fx.path("self.conf")}\n`);
    assertConfigError(
      () => fx.load(`include : ${self}\n`),
      `Config source Error "${self}", Line 2: includes nested too deep`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Metaknobs (docs/upstream.md "Output")

Deno.test("loadConfig() use feature:OAUTH sets exactly its knobs", async () => {
  await withFixture((fx) => {
    const config = fx.load("LOG = /var/log/condor\nuse feature:OAUTH\n");
    assert.deepEqual(
      values(config, [
        "SEC_CREDENTIAL_DIRECTORY_OAUTH",
        "CREDMON_OAUTH_LOG",
        "DAEMON_LIST",
        "AUTO_INCLUDE_CREDD_IN_DAEMON_LIST",
        "TRUST_CREDENTIAL_DIRECTORY",
        "SEC_CREDENTIAL_DIRECTORY_KRB",
        "USE_KEYRING_SESSIONS",
      ]),
      {
        SEC_CREDENTIAL_DIRECTORY_OAUTH: "/var/lib/condor/oauth_credentials",
        CREDMON_OAUTH_LOG: "/var/log/condor/CredMonOAuthLog",
        DAEMON_LIST: " CREDMON_OAUTH",
        AUTO_INCLUDE_CREDD_IN_DAEMON_LIST: "True",
        TRUST_CREDENTIAL_DIRECTORY: "True",
        SEC_CREDENTIAL_DIRECTORY_KRB: undefined,
        USE_KEYRING_SESSIONS: undefined,
      },
    );
    assert.equal(config.getBool("TRUST_CREDENTIAL_DIRECTORY", false), true);
    assert.equal(config.origin("SEC_CREDENTIAL_DIRECTORY_OAUTH"), `"${fx.root}", line 2`);
    assert.deepEqual(config.warnings, []);
  });
});

Deno.test("loadConfig() use feature:KRB sets exactly its knobs", async () => {
  await withFixture((fx) => {
    const config = fx.load("DAEMON_LIST = MASTER\n@USE Feature : krb\n");
    assert.deepEqual(
      values(config, [
        "SEC_CREDENTIAL_DIRECTORY_KRB",
        "DAEMON_LIST",
        "SEC_CREDENTIAL_PRODUCER",
        "SEC_CREDENTIAL_MONITOR_KRB_LOG",
        "AUTO_INCLUDE_CREDD_IN_DAEMON_LIST",
        "USE_KEYRING_SESSIONS",
        "SEC_CREDENTIAL_DIRECTORY_OAUTH",
        "TRUST_CREDENTIAL_DIRECTORY",
      ]),
      {
        SEC_CREDENTIAL_DIRECTORY_KRB: "/var/lib/condor/krb_credentials",
        DAEMON_LIST: "MASTER CREDMON_KRB",
        SEC_CREDENTIAL_PRODUCER: "/usr/libexec/cred_producer_krb",
        SEC_CREDENTIAL_MONITOR_KRB_LOG: "/log/CredMonKrbLog",
        AUTO_INCLUDE_CREDD_IN_DAEMON_LIST: "True",
        USE_KEYRING_SESSIONS: "True",
        SEC_CREDENTIAL_DIRECTORY_OAUTH: undefined,
        TRUST_CREDENTIAL_DIRECTORY: "false",
      },
    );
  });
});

Deno.test("loadConfig() use accepts a list, and later lines override a metaknob", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "use FEATURE : oauth, KRB\nSEC_CREDENTIAL_DIRECTORY_OAUTH = /srv/oauth\n",
    );
    assert.equal(config.get("DAEMON_LIST"), " CREDMON_OAUTH CREDMON_KRB");
    assert.equal(config.get("SEC_CREDENTIAL_DIRECTORY_OAUTH"), "/srv/oauth");
    assert.equal(config.get("SEC_CREDENTIAL_DIRECTORY_KRB"), "/var/lib/condor/krb_credentials");
  });
});

Deno.test("loadConfig() warns about and ignores other metaknobs", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "use security:recommended\nuse feature:GPUs\nuse role : execute\nuse feature : OAUTH, GPUs\n",
    );
    const w = (line: number, what: string) =>
      `Config source Warning "${fx.root}", Line ${line}: use ${what} is not supported and was ignored`;
    assert.deepEqual(config.warnings, [
      w(1, "security:recommended"),
      w(2, "feature:GPUs"),
      w(3, "role:execute"),
      w(4, "feature:GPUs"),
    ]);
    assert.equal(config.get("SEC_CREDENTIAL_DIRECTORY_OAUTH"), "/var/lib/condor/oauth_credentials");
    assert.equal(config.get("ALLOW_WRITE"), undefined);
  });
});

// ---------------------------------------------------------------------------------------------
// if / elif / else / endif, error and warning (docs/upstream.md "Account and header")

Deno.test("loadConfig() evaluates if conditions", async () => {
  const cases: { condition: string; want: boolean }[] = [
    { condition: "true", want: true },
    { condition: "TRUE", want: true },
    { condition: "false", want: false },
    { condition: "yes", want: true },
    { condition: "no", want: false },
    { condition: "t", want: true },
    { condition: "F", want: false },
    { condition: "1", want: true },
    { condition: "0", want: false },
    { condition: "0.0", want: false },
    { condition: "2.5", want: true },
    { condition: "-1", want: true },
    { condition: "! true", want: false },
    { condition: "defined SET", want: true },
    { condition: "defined set", want: true },
    { condition: "defined UNSET", want: false },
    { condition: "defined EMPTY", want: false },
    { condition: "defined REFERS_TO_EMPTY", want: true },
    { condition: "!defined UNSET", want: true },
    { condition: "! defined SET", want: false },
    { condition: "defined LOG", want: true },
    { condition: "defined TOOL_ONLY", want: true },
    { condition: "defined", want: false },
    { condition: "defined 7", want: true },
    { condition: "defined false", want: true },
    { condition: "defined use feature:oauth", want: true },
    { condition: "defined use FEATURE:KRB", want: true },
    { condition: "defined use feature", want: true },
    { condition: "version >= 8.1.2", want: true },
    { condition: "version > 24.9", want: true },
    { condition: "version == 25.0.0", want: true },
    { condition: "version == 25.0", want: true },
    { condition: "version < 25.0.1", want: true },
    { condition: "version <= 24.12.3", want: false },
    { condition: "version != 25.0.0", want: false },
    { condition: "version >= v26.0.0", want: false },
    { condition: "$(SET)", want: true },
    { condition: "$(ZERO)", want: false },
    { condition: "$(UNSET)", want: false },
    { condition: "!$(UNSET)", want: true },
    { condition: "$(EMPTY)", want: false },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      const config = fx.load(
        "SET = yes\nZERO = 0\nEMPTY =\nREFERS_TO_EMPTY = $(EMPTY)\nTOOL.TOOL_ONLY = 1\n" +
          `if ${c.condition}\nR = then\nelse\nR = else\nendif\n`,
      );
      assert.equal(config.get("R"), c.want ? "then" : "else", c.condition);
    }
  });
});

Deno.test("loadConfig() takes the first true branch of an if/elif/else chain", async () => {
  await withFixture((fx) => {
    const chain = (a: string, b: string) =>
      `if ${a}\nR = if\nelif ${b}\nR = elif\nelif true\nR = elif2\nelse\nR = else\nendif\n`;
    assert.equal(fx.load(chain("true", "true")).get("R"), "if");
    assert.equal(fx.load(chain("false", "true")).get("R"), "elif");
    assert.equal(fx.load(chain("false", "false")).get("R"), "elif2");
    assert.equal(
      fx.load("if false\nR = a\nelif false\nR = b\nelse\nR = c\nendif\n").get("R"),
      "c",
    );
  });
});

Deno.test("loadConfig() does not evaluate conditions inside a false branch", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "if false\n  if $(X) > 1\n  A = inner\n  elif complex && stuff\n  endif\n  B = 1\n" +
        "else\n  if true\n    C = nested\n  endif\nendif\n",
    );
    assert.deepEqual(values(config, ["A", "B", "C"]), { A: undefined, B: undefined, C: "nested" });
  });
});

Deno.test("loadConfig() ignores a leading ':' on lines of an if body", async () => {
  await withFixture((fx) => {
    const config = fx.load(":if true\n:A = 1\nendif\n");
    assert.equal(config.get("A"), "1");
  });
});

Deno.test("loadConfig() parses an include inside an if branch", async () => {
  await withFixture((fx) => {
    fx.write("inc.conf", "A = included\n");
    const config = fx.load(
      "if true\ninclude : $(CONFIG_ROOT)/inc.conf\nendif\nif false\ninclude : /missing\nendif\n",
    );
    assert.equal(config.get("A"), "included");
  });
});

Deno.test("loadConfig() rejects malformed if blocks, naming file and line", async () => {
  const cases: { text: string; line: number; problem: string }[] = [
    { text: "A = 1\nelse\n", line: 2, problem: "else without matching if" },
    { text: "endif\n", line: 1, problem: "endif without matching if" },
    { text: "elif true\n", line: 1, problem: "elif without matching if" },
    { text: "if true\nelse\nelse\nendif\n", line: 3, problem: "else is not allowed after else" },
    {
      text: "if true\nelse\nelif true\nendif\n",
      line: 3,
      problem: "elif is not allowed after else",
    },
    {
      text: "A = 1\nif true\nif false\nendif\n",
      line: 2,
      problem: "if without matching endif: endif(s) not found before end-of-file",
    },
    {
      text: "B = 2\nif $(B) > 1\nendif\n",
      line: 2,
      problem: "not a valid if condition because complex conditionals are not supported",
    },
    {
      text: "if A && B\nendif\n",
      line: 1,
      problem: "not a valid if condition because complex conditionals are not supported",
    },
    {
      text: "if FOO\nendif\n",
      line: 1,
      problem: "not a valid if condition because expression is not a conditional",
    },
    {
      text: "if\nendif\n",
      line: 1,
      problem: "not a valid if condition because expression is not a conditional",
    },
    {
      text: "if version >= 5.1\nendif\n",
      line: 1,
      problem: "not a valid if condition because the version literal is invalid",
    },
    {
      text: "if false\nelif defined A-B\nendif\n",
      line: 2,
      problem: "not a valid elif condition because defined argument must be param name, " +
        "boolean, or number",
    },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      assertConfigError(
        () => fx.load(c.text),
        `Config source Error "${fx.root}", Line ${c.line}: ${c.problem}`,
        { file: fx.root, line: c.line },
      );
    }
  });
});

Deno.test("loadConfig() keeps if blocks per file", async () => {
  await withFixture((fx) => {
    const inc = fx.write("inc.conf", "if true\nA = 1\n");
    assertConfigError(
      () => fx.load(`include : ${inc}\nendif\n`),
      `Config source Error "${inc}", Line 1: if without matching endif: endif(s) not found ` +
        "before end-of-file",
      { file: inc, line: 1 },
    );
  });
});

Deno.test("loadConfig() stops at error : and records warning :", async () => {
  await withFixture((fx) => {
    assertConfigError(
      () => fx.load("WHO = ops\nif true\nerror : please ask $(WHO)\nendif\n"),
      `Config source Error "${fx.root}", Line 3: please ask ops`,
      { file: fx.root, line: 3 },
    );
    const config = fx.load("warning : check $(DOLLAR)this\n@WARNING:second\nA = 1\n");
    assert.equal(config.get("A"), "1");
    assert.deepEqual(config.warnings, [
      `Config source Warning "${fx.root}", Line 1: check $this`,
      `Config source Warning "${fx.root}", Line 2: second`,
    ]);
    assert.equal(fx.load("if false\nerror : not reached\nendif\nA = 2\n").get("A"), "2");
  });
});

// ---------------------------------------------------------------------------------------------
// Macro expansion (docs/upstream.md "Reading the credential")

Deno.test("loadConfig() expands $(NAME:default)", async () => {
  const cases: { value: string; want: string | undefined }[] = [
    { value: "$(SET:dflt)", want: "set" },
    { value: "$(UNSET:dflt)", want: "dflt" },
    { value: "$(EMPTY:dflt)", want: "dflt" },
    { value: "$(UNSET:/a/b c,d\\e:f)", want: "/a/b c,d\\e:f" },
    { value: "$(UNSET:$(SET))", want: "set" },
    { value: "$(UNSET:$(UNSET2:deep))", want: "deep" },
    { value: "$(UNSET:a-b)", want: "$(UNSET:a-b)" },
    { value: "$(UNSET:a@b)", want: "$(UNSET:a@b)" },
    { value: "$(NOT-A-NAME)", want: "$(NOT-A-NAME)" },
    { value: "$(UNSET)", want: undefined },
    { value: "x$(UNSET)y", want: "xy" },
    { value: "$(set)", want: "set" },
    { value: "$(RAW_NOT_EMPTY:dflt)", want: undefined },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      const config = fx.load(`SET = set\nEMPTY =\nRAW_NOT_EMPTY = $(EMPTY)\nV = ${c.value}\n`);
      assert.equal(config.get("V"), c.want, c.value);
    }
  });
});

Deno.test("loadConfig() expands lazily, so later definitions count", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "A = $(B)/a\nB = first\nB = second\nNAME = MINUTE\nMINUTE = 60\nVAL = $($(NAME))\n",
    );
    assert.equal(config.get("A"), "second/a");
    assert.equal(config.get("VAL"), "60");
  });
});

Deno.test("loadConfig() expands self-references at definition time", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "P = one\nP = $(p) two\nS = $(S)\nQ = $(Q:dflt)\nLOCAL_DIR = /srv\nLOG = $(LOG)/tool\n" +
        "TOOL.T = base\nTOOL.T = $(T) more\n",
    );
    assert.deepEqual(values(config, ["P", "S", "Q", "LOG", "T"]), {
      P: "one two",
      S: undefined,
      Q: "dflt",
      LOG: "/srv/log/tool",
      T: "base more",
    });
  });
});

Deno.test("loadConfig() expands $ENV()", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "A = $ENV(SET_VAR)\nB = $ENV(UNSET_VAR)\nC = $ENV(UNSET_VAR:dflt)\nD = $ENV(EMPTY_VAR:dflt)\n" +
        "E = x$ENV(EMPTY_VAR)y\nF = $ENV(SET_VAR:dflt)\nG = $ENV(constructor)\n",
      { SET_VAR: "value", EMPTY_VAR: "" },
    );
    assert.deepEqual(values(config, ["A", "B", "C", "D", "E", "F", "G"]), {
      A: "value",
      B: "UNDEFINED",
      C: "dflt",
      D: "dflt",
      E: "xy",
      F: "value",
      G: "UNDEFINED",
    });
  });
});

Deno.test("loadConfig() handles $(DOLLAR) and leaves $$() alone", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "D = a$(DOLLAR)(D)b\nPRICE = $(DOLLAR)5\nMATCH = $$(Memory)\nMIXED = $$(X:$(SET))\nSET = s\n" +
        "INDIRECT = $(PRICE)\n",
    );
    assert.deepEqual(values(config, ["D", "PRICE", "MATCH", "MIXED", "INDIRECT"]), {
      D: "a$(D)b",
      PRICE: "$5",
      MATCH: "$$(Memory)",
      MIXED: "$$(X:s)",
      INDIRECT: "$5",
    });
  });
});

Deno.test("loadConfig() leaves other $FUNC() forms literal, with a warning", async () => {
  await withFixture((fx) => {
    const config = fx.load("A = $INT(X)\nB = x $RANDOM_CHOICE(a,b) $Fqd(P) $BASENAME(/a/b)\n");
    assert.equal(config.get("A"), "$INT(X)");
    assert.equal(config.get("B"), "x $RANDOM_CHOICE(a,b) $Fqd(P) $BASENAME(/a/b)");
    const w = (line: number, func: string, name: string) =>
      `Config source Warning "${fx.root}", Line ${line}: ${func} is not supported; it is left as ` +
      `literal text in ${name}`;
    assert.deepEqual(config.warnings, [
      w(1, "$INT()", "A"),
      w(2, "$RANDOM_CHOICE()", "B"),
      w(2, "$Fqd()", "B"),
      w(2, "$BASENAME()", "B"),
    ]);
  });
});

Deno.test("loadConfig() resolves $(X) through the subsystem prefix", async () => {
  await withFixture((fx) => {
    const text = "TOOL.DIR = /tool\nCREDD.DIR = /credd\nDIR = /plain\nPATH_X = $(DIR)/x\n";
    assert.equal(fx.load(text).get("PATH_X"), "/tool/x");
    assert.equal(fx.load(text, {}, { subsystem: "CREDD" }).get("PATH_X"), "/credd/x");
    assert.equal(fx.load(text, {}, { subsystem: "SCHEDD" }).get("PATH_X"), "/plain/x");
  });
});

Deno.test("loadConfig() rejects a value with an unterminated macro reference", async () => {
  await withFixture((fx) => {
    for (const value of ["$(FOO", "x $(A:$(B)", "$ENV(HOME", "$$(X"]) {
      assertConfigError(
        () => fx.load(`A = 1\nBAD = ${value}\n`),
        `Config source Error "${fx.root}", Line 2: unterminated macro reference in the value of BAD`,
        { file: fx.root, line: 2 },
      );
    }
  });
});

Deno.test("loadConfig() reports recursive macros on get(), naming the chain and location", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "OK = fine\nA = $(B)\nB = x $(C)\nC = $(a)\nTOP = $(A)\nSELF = $(U:$(SELF))\n",
    );
    assert.equal(config.get("OK"), "fine");
    const message =
      `Config source Error "${fx.root}", Line 2: recursive macro reference: A -> B -> C -> A`;
    assertConfigError(() => config.get("A"), message, { file: fx.root, line: 2 });
    // Failures are not memoized: asking again fails again.
    assertConfigError(() => config.get("A"), message);
    assertConfigError(
      () => config.get("TOP"),
      `Config source Error "${fx.root}", Line 2: recursive macro reference: TOP -> A -> B -> C -> A`,
    );
    assertConfigError(
      () => config.get("SELF"),
      `Config source Error "${fx.root}", Line 6: recursive macro reference: SELF -> SELF`,
    );
    assert.equal(config.get("OK"), "fine");
  });
});

Deno.test("loadConfig() reports a recursive macro from the environment", async () => {
  await withFixture((fx) => {
    const config = fx.load("B = $(A)\n", { _CONDOR_A: "$(B)" });
    assertConfigError(
      () => config.get("A"),
      "Configuration error: recursive macro reference: A -> B -> A (from environment _CONDOR_A)",
    );
  });
});

Deno.test("loadConfig() reports a recursive macro used while reading files", async () => {
  await withFixture((fx) => {
    assertConfigError(
      () => fx.load("A = $(B)\nB = $(A)\ninclude : $(A)\n"),
      `Config source Error "${fx.root}", Line 1: recursive macro reference: A -> B -> A`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Typed getters and origins

Deno.test("Config.getInt() parses integers and reports bad values", async () => {
  await withFixture((fx) => {
    const config = fx.load(
      "N = 42\nNEG = -1\nPADDED = $(SP) 7\nSP =\nBAD = abc\nFRACTION = 1.5\nHUGE = 99999999999999999999\n",
      { _CONDOR_ENVBAD: "x1" },
    );
    assert.equal(config.getInt("N", 0), 42);
    assert.equal(config.getInt("NEG", 0), -1);
    assert.equal(config.getInt("PADDED", 0), 7);
    assert.equal(config.getInt("UNSET", 5), 5);
    assert.equal(config.getInt("CREDD_POLLING_TIMEOUT", 0), 20);
    assert.equal(config.getInt("SEC_CREDENTIAL_REFRESH_INTERVAL", 0), -1);
    const where = (line: number) => `(from "${fx.root}", line ${line})`;
    assertConfigError(
      () => config.getInt("BAD", 0),
      `Configuration error: BAD is set to "abc", which is not an integer ${where(5)}`,
    );
    assertConfigError(
      () => config.getInt("fraction", 0),
      `Configuration error: FRACTION is set to "1.5", which is not an integer ${where(6)}`,
    );
    assertConfigError(
      () => config.getInt("HUGE", 0),
      `Configuration error: HUGE is set to "99999999999999999999", which is not an integer ${
        where(7)
      }`,
    );
    assertConfigError(
      () => config.getInt("ENVBAD", 0),
      'Configuration error: ENVBAD is set to "x1", which is not an integer (from environment ' +
        "_CONDOR_ENVBAD)",
    );
  });
});

Deno.test("Config.getBool() accepts HTCondor's boolean spellings", async () => {
  const cases: { value: string; want: boolean }[] = [
    { value: "true", want: true },
    { value: "TRUE", want: true },
    { value: "yes", want: true },
    { value: "T", want: true },
    { value: "1", want: true },
    { value: "false", want: false },
    { value: "No", want: false },
    { value: "f", want: false },
    { value: "0", want: false },
  ];
  await withFixture((fx) => {
    for (const c of cases) {
      const config = fx.load(`B = ${c.value}\n`);
      assert.equal(config.getBool("B", !c.want), c.want, c.value);
    }
    const config = fx.load("B = maybe\n");
    assert.equal(config.getBool("UNSET", true), true);
    assert.equal(config.getBool("UNSET", false), false);
    assert.equal(config.getBool("CREDD_OAUTH_MODE", false), true);
    assertConfigError(
      () => config.getBool("B", false),
      `Configuration error: B is set to "maybe", which is not a boolean (true or false) (from "${fx.root}", line 1)`,
    );
  });
});

Deno.test("Config.get() memoizes and Config.warnings is read-only", async () => {
  await withFixture((fx) => {
    const config = fx.load("A = $ENV(V)\nuse role:execute\n", { V: "1" });
    assert.equal(config.get("A"), "1");
    assert.equal(config.get("a"), "1");
    assert.ok(Object.isFrozen(config.warnings));
    assert.equal(config.warnings.length, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Budgets of one load (lib/config/budget.ts)

const TOO_MANY_FILES = "configuration too large: more than 1000 files read (includes fan out); " +
  "check the include statements";
const TOO_MANY_BYTES = "configuration too large: more than 16 MiB read; check the include " +
  "statements and the size of the files they name";
const tooManySteps = (knob: string) =>
  "configuration too large: more than 1000000 macro expansion steps (long values count more) " +
  `while expanding ${knob}; check for macros that expand into many copies of others`;

Deno.test("MAX_CONFIG_FILES, MAX_CONFIG_BYTES and MAX_EXPANSION_STEPS are the documented budgets", () => {
  assert.equal(MAX_CONFIG_FILES, 1000);
  assert.equal(MAX_CONFIG_BYTES, 16 * 1024 * 1024);
  assert.equal(MAX_EXPANSION_STEPS, 1_000_000);
});

/**
 * Writes f1…f20 where each file includes the next `fanOut` times (on lines 2, 3, …), and returns
 * the include statement that asks for read number MAX_CONFIG_FILES + 1, the root being read 1.
 */
function writeFanOut(fx: Fixture, fanOut: number): { file: string; line: number } {
  const levels = 20; // the deepest include is at the nesting limit, so only the budget stops it
  for (let i = 1; i <= levels; i++) {
    const includes = i < levels ? `include : ${fx.path(`f${i + 1}`)}\n`.repeat(fanOut) : "";
    fx.write(`f${i}`, `LEVEL${i} = ${i}\n${includes}`);
  }
  fx.write("condor_config", `include : ${fx.path("f1")}\n`);
  // Includes are read depth first, in place: count the reads in that order.
  let reads = 1;
  const visit = (
    from: string,
    line: number,
    level: number,
  ): { file: string; line: number } | null => {
    if (++reads > MAX_CONFIG_FILES) return { file: from, line };
    for (let i = 0; level < levels && i < fanOut; i++) {
      const found = visit(fx.path(`f${level}`), i + 2, level + 1);
      if (found !== null) return found;
    }
    return null;
  };
  return visit(fx.root, 1, 1)!;
}

for (const fanOut of [2, 3]) {
  Deno.test(`loadConfig() refuses 20 files that each include the next ${fanOut} times, quickly`, async () => {
    await withFixture((fx) => {
      const where = writeFanOut(fx, fanOut);
      const start = performance.now();
      assertConfigError(
        () => loadConfig(fx.options({ CONDOR_CONFIG: fx.root })),
        `Config source Error "${where.file}", Line ${where.line}: ${TOO_MANY_FILES}`,
        where,
      );
      // The one timing assertion in this file, on purpose: without the file budget this load
      // runs for 24 s (fan-out 2) or hours (fan-out 3), so the bound guards against a hang. It
      // is generous: the refusal takes well under 100 ms.
      assert.ok(performance.now() - start < 5000, "the refusal took over 5 s");
    });
  });
}

Deno.test("loadConfig() reads at most MAX_CONFIG_FILES files, local config ones included", async () => {
  await withFixture((fx) => {
    const inc = fx.write("inc.conf", "COUNT = $(COUNT)x\n");
    const includes = (n: number) => `include : ${inc}\n`.repeat(n);
    // The root and 999 includes: exactly at the budget.
    assert.equal(fx.load(includes(MAX_CONFIG_FILES - 1)).get("COUNT"), "x".repeat(999));
    assertConfigError(
      () => fx.load(includes(MAX_CONFIG_FILES)),
      `Config source Error "${fx.root}", Line 1000: ${TOO_MANY_FILES}`,
      { file: fx.root, line: 1000 },
    );
    // The directory counts, each file in it, and each LOCAL_CONFIG_FILE tried, even missing.
    const dir = fx.mkdir("config.d");
    fx.write("config.d/a", "A = 1\n");
    fx.write("config.d/b", "B = 1\n");
    const local = fx.write("local.conf", "L = 1\n");
    const head = `LOCAL_CONFIG_DIR = ${dir}\nREQUIRE_LOCAL_CONFIG_FILE = false\n`;
    const text = (files: string) => `${head}LOCAL_CONFIG_FILE = ${files}\n${includes(994)}`;
    // 1 root + 994 includes + 1 directory + 2 files in it + 1 local file + 1 missing one = 1000.
    const config = fx.load(text(`${local} ${fx.path("missing.conf")}`));
    assert.deepEqual(values(config, ["COUNT", "A", "B", "L"]), {
      COUNT: "x".repeat(994),
      A: "1",
      B: "1",
      L: "1",
    });
    assertConfigError(
      () => fx.load(text(`${local} ${fx.path("missing.conf")} ${fx.path("missing2.conf")}`)),
      `Config source Error "${fx.root}", Line 3: ${TOO_MANY_FILES}`,
      { file: fx.root, line: 3 },
    );
    for (const name of ["c", "d", "e"]) fx.write(`config.d/${name}`, "C = 1\n");
    assertConfigError(
      () => fx.load(text(`${local} ${fx.path("missing.conf")}`)),
      `Config source Error "${fx.root}", Line 1: ${TOO_MANY_FILES}`,
      { file: fx.root, line: 1 },
    );
  });
});

Deno.test("loadConfig() reads at most MAX_CONFIG_BYTES bytes, naming the line it ran out on", async () => {
  await withFixture((fx) => {
    const comment = `#${"x".repeat(1022)}\n`; // 1 KiB
    const half = MAX_CONFIG_BYTES / 2;
    const a = fx.write("a.conf", comment.repeat(half / 1024));
    const rootText = `include : ${a}\ninclude : ${fx.path("b.conf")}\n`;
    // b.conf fills the budget exactly: 8191 comment lines, then a value that ends at the limit.
    const last = (length: number) => `B = ${"y".repeat(length - 5)}\n`;
    const b = fx.write("b.conf", comment.repeat(8191) + last(1024 - rootText.length));
    const config = fx.load(rootText);
    assert.equal(config.get("B"), "y".repeat(1024 - rootText.length - 5));
    // One byte more, on line 8193 of b.conf.
    Deno.writeTextFileSync(b, "\n", { append: true });
    assertConfigError(
      () => fx.load(rootText),
      `Config source Error "${b}", Line 8193: ${TOO_MANY_BYTES}`,
      { file: b, line: 8193 },
    );
    // A single file over the budget, and one that never ends: neither is read to its end.
    const big = fx.write("big.conf", `A = 1\n${comment.repeat(MAX_CONFIG_BYTES / 1024)}`);
    assertConfigError(
      () => loadConfig(fx.options({ CONDOR_CONFIG: big })),
      `Config source Error "${big}", Line 16385: ${TOO_MANY_BYTES}`,
    );
    assertConfigError(
      () => fx.load("include : /dev/zero\n"),
      `Config source Error "/dev/zero", Line 1: ${TOO_MANY_BYTES}`,
    );
  });
});

Deno.test("loadConfig() allows MAX_EXPANSION_STEPS substitutions per load, Config.get() included", async () => {
  await withFixture((fx) => {
    // Each knob takes 50 substitutions of a short value; 20,000 knobs take exactly the budget.
    const knobs = (n: number) =>
      Array.from({ length: n }, (_, i) => `K${i} = ${"$(C)".repeat(50)}\n`).join("");
    const config = fx.load(`C = c\n${knobs(20_000)}`);
    for (let i = 0; i < 20_000; i++) assert.equal(config.get(`K${i}`), "c".repeat(50));
    const over = fx.load(`C = c\n${knobs(20_001)}`);
    for (let i = 0; i < 20_000; i++) assert.equal(over.get(`K${i}`), "c".repeat(50));
    assertConfigError(
      () => over.get("K20000"),
      `Config source Error "${fx.root}", Line 20002: ${tooManySteps("K20000")}`,
      { file: fx.root, line: 20002 },
    );
    // Values already expanded stay available.
    assert.equal(over.get("K0"), "c".repeat(50));
  });
});

Deno.test("loadConfig() refuses an expansion bomb spread over many knobs", async () => {
  await withFixture((fx) => {
    // L3 is 256 KiB, each K is 768 KiB: under the 1 MiB per value, and cheap in steps (3
    // substitutions each) unless long values count for their length.
    let text = `L0 = ${"1".repeat(64)}\n`;
    for (let i = 1; i <= 3; i++) text += `L${i} = ${`$(L${i - 1})`.repeat(16)}\n`;
    for (let i = 0; i < 400; i++) text += `K${i} = $(L3)$(L3)$(L3)\n`;
    const config = fx.load(text);
    let refused = -1;
    for (let i = 0; i < 400 && refused < 0; i++) {
      try {
        assert.equal(config.get(`K${i}`)?.length, 3 * 256 * 1024);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        refused = i;
        assert.equal(
          e.message,
          `Config source Error "${fx.root}", Line ${i + 5}: ${tooManySteps(`K${i}`)}`,
        );
      }
    }
    assert.ok(refused > 100, `refused at K${refused}`);
    // At load time, too: each `if` expands the bomb again, as the table changed in between.
    const atLoad = `${text}${"X = 1\nif $(K0)\nendif\n".repeat(400)}`;
    let caught: unknown = undefined;
    try {
      fx.load(atLoad);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught}`);
    assert.equal(caught.file, fx.root);
    const [, what] = /while expanding (.+?); check/.exec(caught.message) ?? [];
    assert.equal(
      caught.message,
      `Config source Error "${fx.root}", Line ${caught.line}: ${tooManySteps(what)}`,
    );
  });
});
