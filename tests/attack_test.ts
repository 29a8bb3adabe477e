/**
 * Attacks a hostile local user (the real, unprivileged `csc_other`) and hostile input can mount
 * against root running the program, each run for real: hostile credmon pid files, audit logs in
 * the attacker's reach, symlinks among a store's ancestors, names that collide with the store's
 * own files, adds racing deletes, planted `-i` paths, secrets and escape sequences in messages,
 * over-long names, and inputs that used to end in "unexpected failure". Each must be refused (or
 * work, where it is the caller's own input), with nothing written outside the store and nothing
 * left behind.
 */

import assert from "node:assert/strict";
import {
  baseEnv,
  exists,
  programCommand,
  readText,
  runCli,
  shellAs,
  snapshot,
  startCredmon,
  withSpool,
} from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers, setprivAs, type TestUser } from "../testing/users.ts";

async function attacker(): Promise<TestUser> {
  return (await nonRootUsers())![1];
}

/** A root-owned sticky, world-writable directory like /tmp (removed afterwards). */
async function withStickyDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "csc-sticky-" });
  try {
    await Deno.chmod(dir, 0o1777);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "a credmon pid file outside 2..PID_MAX_LIMIT never makes root signal anything (needs root)",
  ignore: NEEDS_ROOT,
  fn: () =>
    withSpool(async (spool) => {
      const credmon = await startCredmon(spool.krb, {
        mode: "krb",
        log: `${spool.root}/credmon.log`,
        ignore: true,
      });
      try {
        // Linux's hard limit on pids (lib/store/credmon.ts PID_LIMIT: Deno cannot read pid_max).
        const pidLimit = 4194304;
        // 2^32 + the stand-in's pid: kill(1) would truncate it to the stand-in, which logs HUPs.
        const hostile = [
          String(2 ** 32 + credmon.pid),
          String(2 ** 32 + 1),
          "4294967295",
          "0",
          "1",
          "-1",
          String(pidLimit),
          "99999999999999999999",
          `${credmon.pid}abc`,
          `+${credmon.pid}`,
          "",
        ];
        for (const content of hostile) {
          await Deno.writeTextFile(`${spool.krb}/pid`, content, { mode: 0o644 });
          const r = await runCli(["add-krb", "-i", "-", "-d"], {
            env: { ...spool.env, _CONDOR_CREDD_POLLING_TIMEOUT: "1" },
            stdin: "t",
          });
          assert.equal(r.code, 0, `${content}: ${r.stderr}`);
          assert.match(
            r.stderr,
            /ignoring the credmon pid file .*: .* is not a pid/,
            `${content}: ${r.stderr}`,
          );
          assert.match(
            r.stderr,
            /WARNING: the Kerberos credmon was not signalled \(.*does not hold a valid process id\)/,
            content,
          );
          assert.equal(await credmon.hups(), 0, content);
        }
        // The real pid, with and without a newline, is signalled: each signal's effect (the
        // stand-in's log line) is awaited before the next is sent, since two HUPs sent before
        // the first is handled arrive as one.
        let sent = 0;
        for (const content of [`${credmon.pid}\n`, String(credmon.pid)]) {
          await Deno.writeTextFile(`${spool.krb}/pid`, content, { mode: 0o644 });
          await runCli(["add-krb", "-i", "-"], {
            env: { ...spool.env, _CONDOR_CREDD_POLLING_TIMEOUT: "0" },
            stdin: "t",
          });
          sent++;
          assert.equal(await credmon.hupsReach(sent), sent, JSON.stringify(content));
        }
        // A pid file another user may write is refused, and nobody is signalled.
        // Any write bit for group or others counts, not only 0666.
        for (const mode of [0o666, 0o664, 0o646, 0o620, 0o602, 0o660, 0o606]) {
          await Deno.chmod(`${spool.krb}/pid`, mode);
          const r = await runCli(["add-krb", "-i", "-"], {
            env: { ...spool.env, _CONDOR_CREDD_POLLING_TIMEOUT: "0" },
            stdin: "t",
          });
          assert.match(
            r.stderr,
            new RegExp(
              `its pid file was refused: .*mode 0${mode.toString(8)} lets group or ` +
                "others change it",
            ),
          );
        }
        // Read bits are fine (the credmons write it 0644): the next add signals again.
        await Deno.chmod(`${spool.krb}/pid`, 0o644);
        await runCli(["add-krb", "-i", "-"], {
          env: { ...spool.env, _CONDOR_CREDD_POLLING_TIMEOUT: "0" },
          stdin: "t",
        });
        // The refused adds signalled nothing: this add's HUP is the third.
        assert.equal(await credmon.hupsReach(3), 3);
      } finally {
        await credmon.stop();
      }
    }),
});

Deno.test({
  name:
    "an audit log in the attacker's reach is refused with a warning, nothing written (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const evil = await attacker();
    await withSpool(async (spool) => {
      const add = (log: string) =>
        runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
          env: { ...spool.env, _CONDOR_CRED_AUDIT_LOG: log },
          stdin: "tok",
          timeoutMs: 60_000,
        });
      // A directory the attacker owns.
      const theirs = `${spool.root}/theirs`;
      await Deno.mkdir(theirs, { mode: 0o755 });
      await Deno.chown(theirs, evil.uid, evil.gid);
      let r = await add(`${theirs}/audit.log`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /^WARNING: the audit log was not written: refusing to use the directory ".*theirs": it is owned by csc_other.*; the add itself succeeded$/m,
      );
      assert.deepEqual([...Deno.readDirSync(theirs)], []);

      // A dangling link planted where the log will be: never followed, its target never made.
      const logs = `${spool.root}/logs`;
      await Deno.mkdir(logs, { mode: 0o755 });
      await Deno.symlink(`${spool.root}/created-by-root`, `${logs}/audit.log`);
      r = await add(`${logs}/audit.log`);
      assert.equal(r.code, 0);
      assert.match(
        r.stderr,
        /audit log was not written: refusing to use ".*audit\.log": it is a symbolic link/,
      );
      assert.equal(await exists(`${spool.root}/created-by-root`), false);

      // A FIFO where the log should be: refused at once, no hang.
      await Deno.remove(`${logs}/audit.log`);
      const mkfifo = await new Deno.Command("mkfifo", { args: [`${logs}/audit.log`] }).output();
      assert.ok(mkfifo.success);
      r = await add(`${logs}/audit.log`);
      assert.equal(r.timedOut, undefined, "the program hung on a FIFO");
      assert.match(
        r.stderr,
        /audit log was not written: refusing to use ".*audit\.log": it is not a regular file/,
      );

      // A sticky shared directory (like /tmp) is not a place for the log either.
      await withStickyDir(async (sticky) => {
        r = await add(`${sticky}/audit.log`);
        assert.match(
          r.stderr,
          /refusing to use the directory ".*csc-sticky-\w+": its mode 01777 makes it writable/,
        );
        assert.deepEqual([...Deno.readDirSync(sticky)], []);
      });
    });
  },
});

/** Modes that let group or others write a file: every such bit alone and together. */
const WRITABLE_MODES = [0o664, 0o646, 0o620, 0o602, 0o622, 0o666];

Deno.test("a lock file or audit log that group or others may write is refused, whichever bit", async () => {
  await withSpool(async (spool) => {
    const first = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: spool.env,
      stdin: "old",
    });
    assert.equal(first.code, 0, first.stderr);
    const lock = `${spool.oauth}/.locks/root.lock`;
    for (const mode of WRITABLE_MODES) {
      await Deno.chmod(lock, mode);
      const r = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
        env: spool.env,
        stdin: "new",
      });
      assert.equal(r.code, 1, `${mode.toString(8)}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `refusing to use ".*root\\.lock": its mode 0${mode.toString(8)} lets group or ` +
            "others change it",
        ),
      );
      assert.equal(await readText(`${spool.oauth}/root/s.use`), "old");
    }
    await Deno.chmod(lock, 0o644);
    const readable = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: spool.env,
      stdin: "new",
    });
    assert.equal(readable.code, 0, readable.stderr);

    const log = `${spool.root}/audit.log`;
    await Deno.writeTextFile(log, "");
    for (const mode of WRITABLE_MODES) {
      await Deno.chmod(log, mode);
      const r = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
        env: { ...spool.env, _CONDOR_CRED_AUDIT_LOG: log },
        stdin: "tok",
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^WARNING: the audit log was not written: refusing to use ".*audit\\.log": ` +
            `its mode 0${mode.toString(8)} lets group or others change it; the add itself ` +
            "succeeded$",
          "m",
        ),
      );
      assert.equal(await readText(log), "", mode.toString(8));
    }
    await Deno.chmod(log, 0o644);
    const logged = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: { ...spool.env, _CONDOR_CRED_AUDIT_LOG: log },
      stdin: "tok",
    });
    assert.equal(logged.stderr, "");
    assert.match((await readText(log))!, /"action":"add"/);
  });
});

Deno.test({
  name:
    "a link among a store's ancestors is followed only when a trusted owner owns it (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const evil = await attacker();
    await withStickyDir(async (sticky) => {
      await withSpool(async (spool) => {
        const good = `${spool.root}/good`;
        const theirs = `${sticky}/theirs`;
        await Deno.mkdir(good, { mode: 0o755 });
        await shellAs(evil, `mkdir -m 755 ${theirs} && ln -s ${good} ${sticky}/link`);
        const env = { ...spool.env, _CONDOR_SEC_CREDENTIAL_DIRECTORY_KRB: `${sticky}/link/krb` };
        const before = await snapshot(spool.root);
        // The attacker flips the link between the good target and their own directory.
        const [setpriv, ...asEvil] = setprivAs(evil);
        const flipper = new Deno.Command(setpriv, {
          args: [
            ...asEvil,
            "/bin/sh",
            "-c",
            `while [ ! -e ${theirs}/stop ]; do ln -sfn ${theirs} ${sticky}/link; ` +
            `ln -sfn ${good} ${sticky}/link; done`,
          ],
          stdout: "null",
          stderr: "null",
        }).spawn();
        try {
          for (let i = 0; i < 20; i++) {
            const r = await runCli(["add-krb", "-i", "-"], { env, stdin: "t" });
            assert.equal(r.code, 1);
            assert.match(
              r.stderr,
              /refusing to use the symbolic link ".*\/link": it is owned by csc_other .*links are followed only when root owns them/,
            );
          }
        } finally {
          // The attacker's loop stops by itself (a killed shell could leave an ln running).
          await shellAs(evil, `touch ${theirs}/stop`);
          await flipper.status;
        }
        assert.deepEqual([...Deno.readDirSync(theirs)].map((e) => e.name), ["stop"]);
        assert.equal(await snapshot(spool.root), before);
        // The same layout with root's own link works.
        await Deno.remove(`${sticky}/link`);
        await Deno.symlink(good, `${sticky}/link`);
        const r = await runCli(["add-krb", "-i", "-"], { env, stdin: "t" });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await readText(`${good}/krb/root.cred`), "t");
      });
    });
  },
});

Deno.test("names that collide with the store's own files are refused; nothing is touched", async () => {
  await withSpool(async (spool) => {
    await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], { env: spool.env, stdin: "t" });
    await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
    const before = await snapshot(spool.root);
    for (
      const user of [".locks", "pid", "CREDMON_COMPLETE", "x.mark", "x.cred", "x.cc", ".hidden"]
    ) {
      for (
        const args of [["add-oauth", "-s", "s", "-i", "-"], ["delete-oauth"], [
          "add-krb",
          "-i",
          "-",
        ], ["delete-krb"]]
      ) {
        const r = await runCli([...args, "-u", `${user}@test.example`], {
          env: spool.env,
          stdin: "t",
        });
        assert.equal(r.code, 1, `${user} ${args[0]}`);
        assert.match(
          r.stderr,
          /^Operation aborted due to missing or bad arguments\n {4}the user name ".*" (collides with a file the credential store itself uses|begins with a dot)/,
        );
      }
    }
    for (const service of [".hidden", ".."]) {
      const r = await runCli(["add-oauth", "-s", service, "-i", "-"], {
        env: spool.env,
        stdin: "t",
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /the service name ".*" begins with a dot/);
    }
    assert.equal(await snapshot(spool.root), before);
  });
});

Deno.test("adds racing a delete-all of the same user all succeed: one user's writers serialise", async () => {
  await withSpool(async (spool) => {
    // 48 writers queue on one lock: on a busy machine the last waits far longer than the spool's
    // 3 s CRED_LOCK_TIMEOUT (tested on its own in timeouts_test.ts), so only a hang may fail here.
    const env = { ...spool.env, _CONDOR_CRED_LOCK_TIMEOUT: "300" };
    const results = await Promise.all(
      Array.from(
        { length: 48 },
        (_, i) =>
          i % 2 === 0
            ? runCli(["add-oauth", "-s", `s${i}`, "-P", "-i", "-"], {
              env,
              stdin: `t${i}`,
              timeoutMs: 600_000,
            })
            : runCli(["delete-oauth"], { env, timeoutMs: 600_000 }),
      ),
    );
    results.forEach((r, i) => assert.equal(r.code, 0, `${i}: ${r.stderr}`));
  });
});

Deno.test({
  name:
    "-i paths planted by another user in a sticky directory are refused; own inputs work (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const evil = await attacker();
    await withStickyDir(async (sticky) => {
      await withSpool(async (spool) => {
        await shellAs(
          evil,
          `mkfifo ${sticky}/fifo && ln -s /etc/shadow ${sticky}/shadow && echo planted > ${sticky}/file`,
        );
        const before = await snapshot(spool.root);
        for (
          const [name, why] of [
            ["fifo", /belongs to uid \d+, neither you nor the directory's owner/],
            ["shadow", /the symbolic link .* in a shared sticky directory belongs to uid \d+/],
            ["file", /belongs to uid \d+, neither you nor the directory's owner/],
          ] as const
        ) {
          const r = await runCli(["add-krb", "-i", `${sticky}/${name}`], {
            env: spool.env,
            timeoutMs: 60_000,
          });
          assert.equal(r.timedOut, undefined, `${name}: the program hung`);
          assert.equal(r.code, 1, name);
          assert.match(
            r.stderr,
            new RegExp(`^Could not read credential from ${sticky}/${name}\n`),
            name,
          );
          assert.match(r.stderr, why, name);
        }
        assert.equal(await snapshot(spool.root), before);
        // Root's own file there is fine.
        await Deno.writeTextFile(`${sticky}/mine`, "MINE");
        const mine = await runCli(["add-krb", "-i", `${sticky}/mine`], { env: spool.env });
        assert.equal(mine.code, 0, mine.stderr);
        assert.equal(await readText(`${spool.krb}/root.cred`), "MINE");
      });
    });
  },
});

Deno.test({
  name:
    "-i refuses another user's FIFO in that user's own, non-sticky directory, without hanging (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const evil = await attacker();
    await withSpool(async (spool) => {
      // The attacker's own 0755 directory: not sticky, not world-writable, so only the FIFO rule
      // can refuse (opening the FIFO would block root until the attacker writes to it).
      const theirs = `${spool.root}/theirs`;
      await Deno.mkdir(theirs, { mode: 0o755 });
      await Deno.chown(theirs, evil.uid, evil.gid);
      await shellAs(evil, `mkfifo -m 644 ${theirs}/fifo && echo planted > ${theirs}/file`);
      const before = await snapshot(spool.root);
      const r = await runCli(["add-krb", "-i", `${theirs}/fifo`], {
        env: spool.env,
        timeoutMs: 60_000,
      });
      assert.equal(r.timedOut, undefined, "the program hung on the FIFO");
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        `Could not read credential from ${theirs}/fifo\n    it is a FIFO that belongs to uid ` +
          `${evil.uid}, not to you\n`,
      );
      assert.equal(await snapshot(spool.root), before);
      // A regular file there is the caller's choice to read (no FIFO rule applies).
      const file = await runCli(["add-krb", "-i", `${theirs}/file`], { env: spool.env });
      assert.equal(file.code, 0, file.stderr);
      assert.equal(await readText(`${spool.krb}/root.cred`), "planted\n");
    });
  },
});

Deno.test("-i /dev/stdin, /dev/fd/0, /proc/self/fd/0 and <(command) work with the shipped permissions", async () => {
  await withSpool(async (spool) => {
    for (const path of ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]) {
      const r = await runCli(["add-krb", "-i", path], { env: spool.env, stdin: `via ${path}` });
      assert.equal(r.code, 0, `${path}: ${r.stderr}`);
      assert.equal(await readText(`${spool.krb}/root.cred`), `via ${path}`);
    }
    const quoted = (await programCommand()).map((a) => `'${a}'`).join(" ");
    const out = await new Deno.Command("/bin/bash", {
      args: ["-c", `${quoted} add-krb -i <(printf 'from-a-pipe')`],
      clearEnv: true,
      env: { ...(await baseEnv()), ...spool.env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(await readText(`${spool.krb}/root.cred`), "from-a-pipe");
  });
});

Deno.test("escape sequences in what the user typed are printed escaped", async () => {
  await withSpool(async (spool) => {
    const forged = "a\u001b[2J\nOperation succeeded.\u009b@test.example";
    const r = await runCli(["query-krb", "-u", forged], { env: spool.env });
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      "Account: a\\x1b[2J\\nOperation succeeded.\\x9b@test.example\nCredType: kerberos\n\n",
    );
    const raw = [...r.stdout + r.stderr].filter((c) => c === "\u001b" || c === "\u009b");
    assert.deepEqual(raw, [], "a raw escape character was printed");
    assert.match(r.stderr, /the user name "a\\x1b\[2J\\nOperation succeeded\.\\x9b" contains/);
    const u = await runCli(["query", "-u", "\u001b[31m"], { env: spool.env });
    assert.match(u.stderr, /^ERROR: Username '\\x1b\[31m' is not of the form: account@domain/);
  });
});

Deno.test("names too long for the store's file names are refused up front; nothing is left", async () => {
  await withSpool(async (spool) => {
    const before = await snapshot(spool.root);
    const long = "u".repeat(240);
    for (
      const args of [["add-krb", "-i", "-"], ["add-oauth", "-s", "s", "-i", "-"], ["delete-oauth"]]
    ) {
      const r = await runCli([...args, "-u", `${long}@test.example`], {
        env: spool.env,
        stdin: "t",
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /the user name "u{40}…" is 240 bytes long; at most \d+ bytes fit/);
    }
    const r = await runCli(["add-oauth", "-s", "s".repeat(235), "-i", "-"], {
      env: spool.env,
      stdin: "t",
    });
    assert.match(r.stderr, /the service name "s{40}…" is 235 bytes long/);
    assert.equal(await snapshot(spool.root), before);
    // The longest accepted names really can be stored.
    const ok = await runCli(["add-krb", "-u", `${"u".repeat(228)}@test.example`, "-i", "-"], {
      env: spool.env,
      stdin: "t",
    });
    assert.equal(ok.code, 0, ok.stderr);
  });
});

Deno.test("inputs that used to end in 'unexpected failure' get clear messages", async () => {
  await withSpool(async (spool) => {
    const jwt = (claims: unknown) =>
      `${btoa('{"alg":"none"}')}.${btoa(JSON.stringify(claims)).replace(/=+$/, "")}.sig`;
    await runCli(["add-oauth", "-s", "t", "-P", "-i", "-"], {
      env: spool.env,
      stdin: `{"access_token":"${jwt({ exp: -1e300 })}"}`,
    });
    const ttl = await runCli(["query-oauth", "-s", "t", "--min-ttl", "1"], { env: spool.env });
    assert.equal(ttl.code, 1);
    assert.match(
      ttl.stderr,
      /^ERROR: --min-ttl: the access token in .* is not a JWT with an "exp" claim/,
    );

    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    const nested = await runCli(["add-oauth", "-s", "d", "-S", "x", "-i", "-"], {
      env: spool.env,
      stdin: deep,
    });
    assert.equal(nested.code, 1);
    assert.match(nested.stderr, /^Failure parsing credential as JSON\n/);

    const log = `${spool.root}/audit.log`;
    const bad = await runCli(["add-oauth", "-s", "x", "-P", "-i", "-", "--json"], {
      env: { ...spool.env, _CONDOR_CRED_LOCK_TIMEOUT: "soon", _CONDOR_CRED_AUDIT_LOG: log },
      stdin: "t",
    });
    assert.equal(bad.code, 1);
    const json = JSON.parse(bad.stdout);
    assert.equal(json.status, "config");
    assert.match(json.message, /CRED_LOCK_TIMEOUT is set to "soon", which is not an integer/);
    assert.equal(JSON.parse((await readText(log))!).result, "config");
    for (const r of [ttl, nested, bad]) assert.doesNotMatch(r.stderr, /unexpected failure/);
  });
});

Deno.test("a LOCAL: Kerberos credential naming a path is refused and never repeated", async () => {
  await withSpool(async (spool) => {
    await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], { env: spool.env, stdin: "t" });
    const before = await snapshot(spool.root);
    for (const service of ["../../../escape", ".hidden", "a/b", "x".repeat(240), "a b"]) {
      const r = await runCli(["add-krb", "-i", "-", "-d", "--json"], {
        env: spool.env,
        stdin: `LOCAL:${service}`,
      });
      assert.equal(r.code, 1, service);
      assert.match(
        JSON.parse(r.stdout).message,
        /the LOCAL: credential does not name a valid service/,
      );
      assert.equal((r.stdout + r.stderr).includes(service), false, `${service} was repeated`);
    }
    assert.equal(await snapshot(spool.root), before);
  });
});

Deno.test("usage errors never repeat an argument that could be a secret, in text or --json", async () => {
  const secret = "S3cr3t-w0rd";
  for (
    const args of [
      ["add", `-p${secret}`],
      ["add", `--pasword=${secret}`],
      ["add", "-p", "correct", secret],
      [`add-p${secret}`],
      [secret],
      ["add", "-u", "a@b", secret],
      [`--${secret}`],
    ]
  ) {
    for (const json of [[], ["--json"]]) {
      const r = await runCli([...args, ...json]);
      assert.equal(r.code, 1, args.join(" "));
      assert.equal((r.stdout + r.stderr).includes(secret), false, `${args.join(" ")} ${json}`);
      assert.equal((r.stdout + r.stderr).includes("w0rd"), false, args.join(" "));
    }
  }
});
