/**
 * `condor_store_cred serve` for real (README "The daemon"): started as root on a temp store and
 * socket, its clients real non-root users. A user stores, queries and deletes their own
 * credentials through it with the output of the in-process path; is refused for other users, the
 * pool password and every faked identity challenge; hostile clients do not stop it; it refuses to
 * start on an insecure or occupied socket; it sweeps marked users; it stops cleanly on SIGTERM.
 */

import assert from "node:assert/strict";
import { startDaemon, withDaemon } from "../testing/daemon.ts";
import {
  exists,
  listTree,
  modeOf,
  readText,
  runCli,
  shellAs,
  type Spool,
  withSpool,
} from "../testing/harness.ts";
import { NEEDS_ROOT, nonRootUsers, type TestUser } from "../testing/users.ts";
import { answerAs, connectWire, rawExchange } from "../testing/wire.ts";

const DOMAIN = "test.example";

/** Replaces times in output, so two runs at different moments compare equal. */
function timeless(text: string): string {
  return text.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, "<T>").replace(/ = \d{9,}/g, " = <N>")
    .replace(/"stored_unix":\d+/g, '"stored_unix":<N>').replace(/:\d{9,}/g, ":<N>")
    .replace(/\/tmp\/csc-spool-[0-9a-f]+/g, "<spool>");
}

async function users(): Promise<[TestUser, TestUser]> {
  return (await nonRootUsers())!;
}

/** Answers a challenge as `user` would. */
const write = answerAs;

/** The sequence of everything a user does with their own credentials. */
const SEQUENCE: readonly [string[], string?][] = [
  [["add-oauth", "-s", "svc", "-P", "-i", "-"], "access-token"],
  [["add-oauth", "-s", "svc", "-P", "-i", "-"], "access-token"],
  [
    ["add-oauth", "-s", "box", "-H", "h", "-S", "a,b", "-A", "aud", "-i", "-"],
    '{"refresh_token":"r"}',
  ],
  [["query-oauth", "-s", "box", "-H", "h", "-S", "a,b", "-A", "aud"]],
  [["query-oauth", "-s", "box", "-H", "h"]],
  [["query-oauth", "-s", "svc", "--json"]],
  [["query-oauth"]],
  [["add-krb", "-i", "-"], "TICKET"],
  [["query-krb"]],
  [["delete-oauth", "-s", "svc"]],
  [["delete-oauth"]],
  [["delete-krb"]],
  [["query-krb"]],
];

Deno.test({
  name:
    "a user stores, queries and deletes their own credentials through the daemon, as in-process (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = await users();
    // In-process: the user's own configured spool.
    const local: string[] = [];
    await withSpool(async (spool) => {
      for (const [args, stdin] of SEQUENCE) {
        const r = await runCli(args, { env: spool.env, stdin, user: tester });
        local.push(`${r.code}\n${timeless(r.stdout)}${timeless(r.stderr)}`);
      }
    }, { owner: tester });
    // Through the daemon: root's store.
    const remote: string[] = [];
    await withSpool(async (spool) => {
      const log = await withDaemon(spool, async (daemon) => {
        for (const [i, [args, stdin]] of SEQUENCE.entries()) {
          const r = await runCli(args, { env: daemon.env, stdin, user: tester });
          remote.push(`${r.code}\n${timeless(r.stdout)}${timeless(r.stderr)}`);
          if (i === 2) {
            // Files are root's, laid out as SPEC §5 says (no condor account here: root 0700).
            assert.deepEqual(await listTree(spool.oauth), [
              ".locks/",
              ".locks/csc_tester.lock",
              "csc_tester/",
              "csc_tester/box_h.top",
              "csc_tester/svc.use",
            ]);
            for (const f of ["csc_tester/box_h.top", "csc_tester/svc.use"]) {
              const info = await Deno.lstat(`${spool.oauth}/${f}`);
              assert.deepEqual([info.uid, info.mode! & 0o777], [0, 0o600], f);
            }
            assert.equal(await readText(`${spool.oauth}/csc_tester/svc.use`), "access-token");
          }
        }
      });
      assert.match(
        log,
        /unix "csc_tester@test\.example": add-oauth for "csc_tester@test\.example" service="svc": success/,
      );
      assert.doesNotMatch(log, /access-token|TICKET|refresh_token/);
      assert.equal(await exists(`${spool.root}/run/credd.sock`), false, "the socket is removed");
      // No challenge file is left behind.
      assert.deepEqual(await listTree(`${spool.root}/challenges`), []);
    });
    assert.deepEqual(remote, local);
    assert.match(remote[0], /fully_qualified_user = "csc_tester@test\.example"/);
  },
});

Deno.test({
  name:
    "through the daemon a user may not act for another user or on the pool password; a super user may (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester, other] = await users();
    await withSpool(async (spool) => {
      await withDaemon(
        spool,
        { env: { _CONDOR_CRED_SUPER_USERS: "csc_other" } },
        async (daemon) => {
          for (
            const [args, stdin] of [
              [["add-krb", "-u", `csc_other@${DOMAIN}`, "-i", "-"], "t"],
              [["query-oauth", "-u", `csc_other@${DOMAIN}`]],
              [["add", "-c", "-p", "-"], "pool"],
              [["delete", "-c"]],
              [["add", "-u", `condor_pool@${DOMAIN}`, "-p", "-"], "pool"],
            ] as [string[], string?][]
          ) {
            const r = await runCli(args, { env: daemon.env, stdin, user: tester });
            assert.equal(r.code, 1, args.join(" "));
            assert.match(
              r.stderr,
              /^Operation failed because it is not allowed\n {4}csc_tester@test\.example may not/,
              args.join(" "),
            );
          }
          // Kerberos and OAuth files are kept by user name alone: another domain's csc_tester is
          // not this pool's, for the user, and for a super user too.
          for (const who of [tester, other]) {
            const r = await runCli(["delete-oauth", "-u", "csc_tester@elsewhere.example"], {
              env: daemon.env,
              user: who,
            });
            assert.equal(r.code, 1);
            assert.match(
              r.stderr,
              /^Operation failed because it is not allowed\n {4}"csc_tester@elsewhere\.example" is not a user of this pool's domain "test\.example"/,
            );
          }
          assert.deepEqual(await listTree(`${spool.root}/spool`).catch(() => []), []);
          // csc_other is a CRED_SUPER_USER: it may act for csc_tester and on the pool password.
          const r = await runCli(["add-krb", "-u", `csc_tester@${DOMAIN}`, "-i", "-"], {
            env: daemon.env,
            stdin: "for-tester",
            user: other,
          });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(await readText(`${spool.krb}/csc_tester.cred`), "for-tester");
          const pool = await runCli(["add", "-c", "-p", "-"], {
            env: daemon.env,
            stdin: "pw",
            user: other,
          });
          assert.equal(pool.code, 0, pool.stderr);
          assert.equal(await modeOf(spool.pool), 0o600);
        },
      );
    });
  },
});

Deno.test({
  name:
    "faked identity challenges are refused: link, hard link, replay, expiry, another's nonce (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester, attacker] = await users();
    await withSpool(async (spool) => {
      // Challenges live longer than any step below takes on a loaded machine (each step starts
      // a process as another user); expiry is checked at the end, on a daemon whose challenges
      // live 1 s.
      const daemon = await startDaemon(spool, {
        env: { _CONDOR_CREDD_CHALLENGE_LIFETIME: "300" },
      });
      const wire = await connectWire(daemon.socket);
      const request = {
        action: "add",
        type: "kerberos",
        user: null,
        credential: btoa("stolen").replace(/=+$/, ""),
      };
      const challenge = async () => {
        const r = await wire.call("POST", "/v1/challenge", { version: 1 });
        assert.equal(r.status, 200);
        return r.body as { id: string; nonce: string; path: string };
      };
      const answer = (c: { id: string; nonce: string }) =>
        wire.call("POST", "/v1/request", {
          version: 1,
          challenge: { id: c.id, nonce: c.nonce },
          request,
        });
      try {
        // The victim's file (csc_tester's), reached through the attacker's link.
        await shellAs(tester, `echo x > ${spool.root}/challenges/victim-file`);
        const link = await challenge();
        await shellAs(attacker, `ln -s ${spool.root}/challenges/victim-file ${link.path}`);
        let r = await answer(link);
        assert.deepEqual([r.status, (r.body.error as { message: string }).message], [
          401,
          "the identity challenge is not a regular file",
        ]);
        // A hard link to the victim's file (protected_hardlinks stops the attacker; root plays it).
        const hard = await challenge();
        await Deno.link(`${spool.root}/challenges/victim-file`, hard.path);
        r = await answer(hard);
        assert.deepEqual([r.status, (r.body.error as { message: string }).message], [
          401,
          "the identity challenge file has more than one link",
        ]);
        // A challenge answered properly works once; replayed, it is refused.
        const once = await challenge();
        await write(attacker, once);
        r = await answer(once);
        assert.equal(r.status, 200);
        await write(attacker, once);
        r = await answer(once);
        assert.deepEqual([r.status, (r.body.error as { message: string }).message], [
          401,
          "the identity challenge is unknown or already used",
        ]);
        // Another connection's challenge (its nonce unknown to us).
        const theirs = await challenge();
        await write(attacker, theirs);
        r = await answer({ id: theirs.id, nonce: "A".repeat(43) });
        assert.deepEqual([r.status, (r.body.error as { message: string }).message], [
          401,
          "the identity challenge's nonce is not the one issued with it",
        ]);
        // Whoever knows a pending id (it is in the file name) cannot cancel it with a wrong nonce:
        // its owner's answer still works.
        assert.equal((await answer(theirs)).status, 200);
        // A replay: a failed proof.
        r = await answer(theirs);
        assert.deepEqual([r.status, (r.body.error as { message: string }).message], [
          401,
          "the identity challenge is unknown or already used",
        ]);
        // A failed proof ended this connection's identity: no challenge now is no identity.
        r = await wire.call("POST", "/v1/request", { version: 1, request });
        assert.equal(r.status, 401);
        // A connection that proved who it is keeps that identity for its next requests.
        const fresh = await connectWire(daemon.socket);
        try {
          assert.equal(
            (await fresh.call("POST", "/v1/request", { version: 1, request })).status,
            401,
          );
          const proof = (await fresh.call("POST", "/v1/challenge", { version: 1 })).body as {
            id: string;
            nonce: string;
            path: string;
          };
          await write(attacker, proof);
          const first = await fresh.call("POST", "/v1/request", {
            version: 1,
            challenge: { id: proof.id, nonce: proof.nonce },
            request: { action: "query", type: "kerberos", user: null },
          });
          assert.equal(first.status, 200);
          const again = await fresh.call("POST", "/v1/request", {
            version: 1,
            request: { action: "query", type: "kerberos", user: null },
          });
          assert.equal(again.status, 200);
          assert.equal(
            (again.body.reply as { outcome: { ad: Record<string, string> } }).outcome.ad
              .fully_qualified_user,
            "csc_other@test.example",
          );
        } finally {
          fresh.close();
        }
        // Only the properly answered add (as csc_other) was stored.
        assert.deepEqual(await listTree(spool.krb), [
          ".locks/",
          ".locks/csc_other.lock",
          "csc_other.cred",
        ]);
      } finally {
        wire.close();
        const { log } = await daemon.stop();
        assert.match(log, /refused \(401\): the identity challenge is not a regular file/);
      }
      // Expired: answered after the time the daemon gave it (however late that is).
      const short = await startDaemon(spool, { env: { _CONDOR_CREDD_CHALLENGE_LIFETIME: "1" } });
      const other = await connectWire(short.socket);
      try {
        const late = (await other.call("POST", "/v1/challenge", { version: 1 })).body as {
          id: string;
          nonce: string;
          path: string;
          expires: number;
        };
        await write(attacker, late);
        while (Date.now() <= late.expires + 100) {
          await new Promise((resolve) => setTimeout(resolve, late.expires + 150 - Date.now()));
        }
        const r = await other.call("POST", "/v1/request", {
          version: 1,
          challenge: { id: late.id, nonce: late.nonce },
          request,
        });
        assert.deepEqual([r.status, (r.body.error as { message: string }).message], [
          401,
          "the identity challenge has expired",
        ]);
      } finally {
        other.close();
        await short.stop();
      }
    });
  },
});

Deno.test({
  name:
    "hostile clients (oversized, malformed, slow, half-open, floods) do not stop the daemon (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = await users();
    await withSpool(async (spool) => {
      const daemon = await startDaemon(spool, { env: { _CONDOR_CREDD_MAX_CONNECTIONS: "64" } });
      const legit = async () => {
        const r = await runCli(["query-krb"], { env: daemon.env, user: tester });
        assert.equal(r.stdout.split("\n").at(-2), "No credential is stored.", r.stderr);
      };
      const encoder = new TextEncoder();
      try {
        // Oversized: a body over 2 MiB is refused before it is read.
        const big = await rawExchange(
          daemon.socket,
          encoder.encode(`POST /v1/request HTTP/1.1\r\ncontent-length: ${3 * 1024 * 1024}\r\n\r\n`),
        );
        assert.match(big, /^HTTP\/1\.1 413 /);
        // Malformed: garbage, not JSON, a wrong version, chunked encoding, headers too large; and
        // the challenge's optional body.
        for (
          const [raw, status] of [
            ["GARBAGE\r\n\r\n", 400],
            ["POST /v1/request HTTP/1.1\r\ncontent-length: 5\r\n\r\nnope!", 400],
            ['POST /v1/request HTTP/1.1\r\ncontent-length: 13\r\n\r\n{"version":9}', 400],
            ["POST /v1/request HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n", 400],
            ["POST /v1/request HTTP/1.1\r\ncontent-length: 5x\r\n\r\n", 400],
            [`GET /v1/health HTTP/1.1\r\nx: ${"a".repeat(10_000)}\r\n\r\n`, 431],
            // Headers that never end: refused once they pass the limit.
            [`GET /v1/health HTTP/1.1\r\nx: ${"a".repeat(10_000)}`, 431],
            ["GET /nope HTTP/1.1\r\n\r\n", 404],
            // A challenge's body is optional; one that is there must be a request of this version.
            ["POST /v1/challenge HTTP/1.1\r\ncontent-length: 0\r\n\r\n", 200],
            ["POST /v1/challenge HTTP/1.1\r\ncontent-length: 1\r\n\r\n1", 400],
          ] as const
        ) {
          const answer = await rawExchange(daemon.socket, encoder.encode(raw));
          assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), raw.slice(0, 40));
        }
        // A body cut short: the peer closes its side mid-body, and is told so before the
        // connection closes.
        const cut = await Deno.connect({ transport: "unix", path: daemon.socket });
        await cut.write(
          encoder.encode('POST /v1/request HTTP/1.1\r\ncontent-length: 100\r\n\r\n{"version":1}'),
        );
        await cut.closeWrite();
        assert.match(await new Response(cut.readable).text(), /^HTTP\/1\.1 400 /);
        // Half-open connections past the cap, and a slow client: the legit user still gets in.
        const idle: Deno.Conn[] = [];
        for (let i = 0; i < 200; i++) {
          idle.push(await Deno.connect({ transport: "unix", path: daemon.socket }));
        }
        const slow = await Deno.connect({ transport: "unix", path: daemon.socket });
        await slow.write(encoder.encode("POST /v1/challenge HTTP/1.1\r\n"));
        await legit();
        // A flood of challenges.
        const flood = await Promise.all(Array.from({ length: 20 }, async () => {
          const wire = await connectWire(daemon.socket);
          try {
            const statuses = [];
            for (let i = 0; i < 10; i++) {
              statuses.push((await wire.call("POST", "/v1/challenge", { version: 1 })).status);
            }
            return statuses;
          } finally {
            wire.close();
          }
        }));
        // Each connection gets 8 challenges, then 429.
        for (const statuses of flood) assert.deepEqual(statuses, [...Array(8).fill(200), 429, 429]);
        await legit();
        for (const c of idle) {
          try {
            c.close();
          } catch {
            // The daemon evicted it already.
          }
        }
        // The slow client's message never ended: once its time is up (10 s) the daemon drops
        // the connection without an answer (waited for within a generous bound).
        let timer: ReturnType<typeof setTimeout> | undefined;
        const slowAnswer = await Promise.race([
          slow.read(new Uint8Array(1024)).catch(() => null),
          new Promise<"waiting">((r) => timer = setTimeout(() => r("waiting"), 120_000)),
        ]).finally(() => clearTimeout(timer));
        assert.equal(slowAnswer, null, "the slow client got an answer or was never dropped");
        slow.close();
        // Headers of almost 8 KiB are still read.
        const wide = await rawExchange(
          daemon.socket,
          encoder.encode(`GET /v1/health HTTP/1.1\r\nx: ${"a".repeat(8000)}\r\n\r\n`),
        );
        assert.match(wide, /^HTTP\/1\.1 200 /);
      } finally {
        const { code, log } = await daemon.stop();
        assert.equal(code, 0, log);
      }
    });
  },
});

Deno.test({
  name:
    "the daemon refuses to start on an insecure socket directory, an insecure store, or an occupied socket (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withSpool(async (spool) => {
      const first = await startDaemon(spool);
      try {
        // The socket's directory, missing before, was created 0755 (clients must reach it).
        const run = await Deno.lstat(`${spool.root}/run`);
        assert.deepEqual([run.uid, run.mode! & 0o7777], [0, 0o755]);
        await assert.rejects(
          () => startDaemon(spool),
          /another condor_store_cred serve is already listening/,
        );
      } finally {
        await first.stop();
      }
      // A stale socket (nobody listening) is removed and replaced.
      // (Deno removes a socket when its listener closes: Python leaves one behind, as a crash does.)
      const stale = await new Deno.Command("/usr/bin/python3", {
        args: [
          "-c",
          "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
          `${spool.root}/run/credd.sock`,
        ],
      }).output();
      assert.ok(stale.success);
      assert.equal((await Deno.lstat(`${spool.root}/run/credd.sock`)).isSocket, true);
      const second = await startDaemon(spool);
      await second.stop();
      // Insecure: a world-writable socket directory, a group-writable store, a non-sticky
      // challenge directory.
      await Deno.chmod(`${spool.root}/run`, 0o777);
      await assert.rejects(
        () => startDaemon(spool),
        /cannot start: refusing to use the directory ".*\/run": its mode 0777/,
      );
      await Deno.chmod(`${spool.root}/run`, 0o755);
      await Deno.mkdir(spool.krb, { recursive: true });
      await Deno.chmod(spool.krb, 0o775);
      await assert.rejects(
        () => startDaemon(spool),
        /cannot start: refusing to use the directory ".*krb": its mode 0775/,
      );
      await Deno.chmod(spool.krb, 0o700);
      await Deno.chmod(`${spool.root}/challenges`, 0o777);
      await assert.rejects(
        () => startDaemon(spool),
        /the challenge directory .* must be a root-owned, sticky directory/,
      );
    });
  },
});

Deno.test({
  name:
    "a non-root user is sent to the daemon; without one, one message names the store and the socket (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = await users();
    await withSpool(async (spool: Spool) => {
      await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
      const socket = `${spool.root}/run/credd.sock`;
      const r = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
        env: { ...spool.env, _CONDOR_CREDD_SOCKET: socket },
        stdin: "t",
        user: tester,
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `^ERROR: you may not write the credential store ".*spool/oauth" \\(".*" belongs to uid 0\\), ` +
            `and no condor_store_cred daemon listens on "${socket}"; ask an administrator to start ` +
            "it \\(systemctl start condor_store_cred\\)",
        ),
      );
    });
  },
});

Deno.test({
  name: "the daemon sweeps marked users after SEC_CREDENTIAL_SWEEP_DELAY (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withSpool(async (spool) => {
      for (const user of ["old", "fresh"]) {
        await runCli(["add-krb", "-u", `${user}@${DOMAIN}`, "-i", "-"], {
          env: spool.env,
          stdin: "t",
        });
        await runCli(["add-oauth", "-u", `${user}@${DOMAIN}`, "-s", "s", "-P", "-i", "-"], {
          env: spool.env,
          stdin: "t",
        });
      }
      const past = new Date(Date.now() - 120_000);
      for (const dir of [spool.krb, spool.oauth]) {
        await Deno.writeTextFile(`${dir}/old.mark`, "", { mode: 0o600 });
        await Deno.utime(`${dir}/old.mark`, past, past);
        await Deno.writeTextFile(`${dir}/fresh.mark`, "", { mode: 0o600 });
      }
      const log = await withDaemon(spool, {
        env: {
          _CONDOR_SEC_CREDENTIAL_SWEEP_INTERVAL: "1",
          _CONDOR_SEC_CREDENTIAL_SWEEP_DELAY: "60",
        },
      }, async () => {
        // Until the sweep has run (a generous bound for a loaded machine).
        for (let i = 0; i < 1200 && (await exists(`${spool.oauth}/old`)); i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
      });
      assert.match(log, /swept the Kerberos credentials of "old"/);
      assert.match(log, /swept the OAuth credentials of "old"/);
      assert.deepEqual(
        (await listTree(spool.krb)).filter((f) => !f.startsWith(".locks")),
        ["fresh.cred", "fresh.mark"],
      );
      assert.deepEqual(
        (await listTree(spool.oauth)).filter((f) => !f.startsWith(".locks")),
        ["fresh.mark", "fresh/", "fresh/s.use"],
      );
    });
  },
});

Deno.test({
  name: "SIGTERM during concurrent adds loses no acknowledged write (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = await users();
    await withSpool(async (spool) => {
      const daemon = await startDaemon(spool);
      const runs = Array.from(
        { length: 12 },
        (_, i) =>
          runCli(["add-oauth", "-s", `s${i}`, "-P", "-i", "-"], {
            env: daemon.env,
            stdin: `token-${i}`,
            user: tester,
          }),
      );
      // Stop while adds are under way: once the first has been served.
      for (let i = 0; i < 4800 && !/add-oauth .*: success/.test(daemon.log()); i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      const stopped = daemon.stop();
      const results = await Promise.all(runs);
      const { code } = await stopped;
      assert.equal(code, 0);
      let acknowledged = 0;
      for (const [i, r] of results.entries()) {
        if (r.code !== 0) continue;
        acknowledged++;
        assert.equal(await readText(`${spool.oauth}/csc_tester/s${i}.use`), `token-${i}`);
      }
      // Some ran before the stop; the rest were told no daemon answers.
      for (const r of results) {
        if (r.code !== 0) assert.match(r.stderr, /daemon/);
      }
      // The daemon was serving when the adds began: at least one finished before the stop.
      assert.ok(acknowledged >= 1, "no add was acknowledged");
    });
  },
});

Deno.test({
  name:
    "a file of someone else's moved onto a challenge does not prove their identity; neither does one others may write (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester, attacker] = await users();
    await withSpool(async (spool) => {
      await withDaemon(spool, async (daemon) => {
        const wire = await connectWire(daemon.socket);
        // A directory both may write, not sticky, on the same file system as the challenges.
        const shared = `${spool.root}/shared`;
        await Deno.mkdir(shared);
        await Deno.chmod(shared, 0o777);
        const request = { action: "add", type: "kerberos", user: null, credential: btoa("x") };
        const challenge = async () =>
          (await wire.call("POST", "/v1/challenge", { version: 1 })).body as {
            id: string;
            nonce: string;
            path: string;
          };
        const answer = (c: { id: string; nonce: string }) =>
          wire.call("POST", "/v1/request", {
            version: 1,
            challenge: { id: c.id, nonce: c.nonce },
            request,
          });
        const message = (r: { body: Record<string, unknown> }) =>
          (r.body.error as { message: string }).message;
        try {
          // The victim's own file, one link, 0600: the attacker may rename it (the directory is
          // theirs to write) but cannot give it the challenge's time (only its owner may).
          await shellAs(tester, `umask 077 && echo mine > ${shared}/victim`);
          const moved = await challenge();
          await shellAs(attacker, `mv ${shared}/victim ${moved.path}`);
          assert.equal((await Deno.lstat(moved.path)).uid, tester.uid, "the rename happened");
          let r = await answer(moved);
          assert.deepEqual([r.status, message(r)], [
            401,
            "the identity challenge file does not carry the challenge's time",
          ]);
          // The victim's file that others may write: the attacker writes the nonce into it.
          await shellAs(
            tester,
            `umask 000 && echo mine > ${shared}/open && chmod 666 ${shared}/open`,
          );
          const open = await challenge();
          await shellAs(
            attacker,
            `printf %s '${open.nonce}' > ${shared}/open && mv ${shared}/open ${open.path}`,
          );
          r = await answer(open);
          assert.deepEqual([r.status, message(r)], [
            401,
            "the identity challenge file may be written by group or others",
          ]);
          // Its own challenge file, writable by its group: refused as well.
          const grouped = await challenge();
          await shellAs(
            tester,
            `printf %s '${grouped.nonce}' > ${grouped.path} && chmod 620 ${grouped.path}`,
          );
          r = await answer(grouped);
          assert.deepEqual([r.status, message(r)], [
            401,
            "the identity challenge file may be written by group or others",
          ]);
          // A FIFO is refused at once, without blocking the daemon.
          const fifo = await challenge();
          await shellAs(attacker, `mkfifo ${fifo.path}`);
          r = await answer(fifo);
          assert.deepEqual([r.status, message(r)], [
            401,
            "the identity challenge is not a regular file",
          ]);
          // Nothing was stored for anyone; the refused files are gone.
          assert.equal(await exists(`${spool.krb}/csc_tester.cred`), false);
          assert.equal(await exists(`${spool.krb}/csc_other.cred`), false);
          for (const c of [moved, open, fifo]) assert.equal(await exists(c.path), false, c.path);
        } finally {
          wire.close();
        }
      });
    });
  },
});

Deno.test({
  name:
    "challenge files a killed client left are removed once expired; a trailing slash on the challenge directory works (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = await users();
    await withSpool(async (spool) => {
      await Deno.mkdir(`${spool.root}/challenges`);
      await Deno.chmod(`${spool.root}/challenges`, 0o1777);
      await withDaemon(spool, {
        env: {
          // Long enough for the client's own answer on a loaded machine, short enough to wait out.
          _CONDOR_CREDD_CHALLENGE_LIFETIME: "5",
          _CONDOR_CREDD_CHALLENGE_DIRECTORY: `${spool.root}/challenges/`,
        },
      }, async (daemon) => {
        // The client, configured with the same trailing slash, proves who it is.
        const add = await runCli(["add-krb", "-i", "-"], {
          env: daemon.env,
          user: tester,
          stdin: "TICKET",
        });
        assert.equal(add.code, 0, add.stderr);
        assert.equal(await readText(`${spool.krb}/csc_tester.cred`), "TICKET");
        // A client that made its file and died before asking.
        const wire = await connectWire(daemon.socket);
        const left = (await wire.call("POST", "/v1/challenge", { version: 1 })).body as {
          nonce: string;
          path: string;
          expires: number;
        };
        assert.ok(!left.path.includes("//"), left.path);
        await write(tester, left);
        wire.close();
        // Until the daemon's own expiry time for it has passed.
        while (Date.now() <= left.expires + 100) {
          await new Promise((resolve) => setTimeout(resolve, left.expires + 150 - Date.now()));
        }
        // The next challenge anyone asks for clears the expired ones.
        const next = await connectWire(daemon.socket);
        await next.call("POST", "/v1/challenge", { version: 1 });
        next.close();
        assert.equal(await exists(left.path), false, "the left-over challenge file was removed");
      });
    });
  },
});

Deno.test({
  name:
    "the daemon enforces the credential limits itself, logs every refusal, and no caller can forge a log line (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = await users();
    await withSpool(async (spool) => {
      const log = await withDaemon(spool, async (daemon) => {
        const wire = await connectWire(daemon.socket);
        const b64 = (bytes: Uint8Array) => {
          let text = "";
          for (const byte of bytes) text += String.fromCharCode(byte);
          return btoa(text).replace(/=+$/, "");
        };
        const send = async (request: Record<string, unknown>) => {
          const c = (await wire.call("POST", "/v1/challenge", { version: 1 })).body as {
            id: string;
            nonce: string;
            path: string;
          };
          await write(tester, c);
          const r = await wire.call("POST", "/v1/request", {
            version: 1,
            challenge: { id: c.id, nonce: c.nonce },
            request,
          });
          assert.equal(r.status, 200);
          return r.body.reply as { ok: boolean; error?: { code: string; message: string } };
        };
        try {
          const big = new Uint8Array(1024 * 1024 + 1).fill(0x61);
          const cases: [Record<string, unknown>, string, string][] = [
            [
              {
                action: "add",
                type: "password",
                user: null,
                credential: b64(new Uint8Array(256).fill(0x61)),
              },
              "too-large",
              "ERROR: credential is larger than 255 bytes",
            ],
            [
              { action: "add", type: "kerberos", user: null, credential: "" },
              "empty",
              "ERROR: the credential is empty; nothing was stored",
            ],
            [
              {
                action: "add",
                type: "oauth",
                user: null,
                service: "s",
                handle: null,
                scopes: null,
                audience: null,
                accessToken: true,
                credential: "",
              },
              "empty",
              "ERROR: the credential is empty; nothing was stored",
            ],
            [
              {
                action: "add",
                type: "oauth",
                user: null,
                service: "s",
                handle: null,
                scopes: null,
                audience: null,
                accessToken: true,
                credential: b64(big),
              },
              "too-large",
              "ERROR: credential is larger than 1048576 bytes",
            ],
          ];
          for (const [request, code, text] of cases) {
            const reply = await send(request);
            assert.deepEqual([reply.ok, reply.error?.code, reply.error?.message], [
              false,
              code,
              text,
            ]);
          }
          assert.deepEqual(
            await listTree(spool.root).then((l) =>
              l.filter((p) => /\.(cred|use|top|pwd)$/.test(p))
            ),
            [],
          );
          // A service name carrying a line break: refused, and logged on one line.
          const forged = 'x\n2026-12-01T00:00:00.000Z unix "csc_other@test.example": add-pwd for ' +
            '"csc_other@test.example": success';
          const reply = await send({
            action: "add",
            type: "oauth",
            user: null,
            service: forged,
            handle: null,
            scopes: null,
            audience: null,
            accessToken: true,
            credential: b64(new Uint8Array([1])),
          });
          assert.equal(reply.ok, false);
          // A refusal that is not about identity: an unknown path.
          assert.equal((await wire.call("POST", "/v1/nothing", { version: 1 })).status, 404);
          // "Connection: Close" in any case ends the connection after the answer.
          const closing = await rawExchange(
            daemon.socket,
            new TextEncoder().encode(
              "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n",
            ),
          );
          assert.match(closing, /^HTTP\/1\.1 200 /);
          assert.match(closing, /\r\nconnection: close\r\n/i);
        } finally {
          wire.close();
        }
      });
      {
        const lines = log.split("\n");
        assert.ok(!lines.some((l) => l.startsWith("2026-12-01T00:00:00.000Z")), "a forged line");
        assert.ok(lines.some((l) => l.includes('service="x\\n2026-12-01T00:00:00.000Z')), log);
        assert.match(log, /refused \(404\): no POST \/v1\/nothing here/);
        for (const code of ["too-large", "empty"]) assert.match(log, new RegExp(`: ${code}\\n`));
      }
    });
  },
});

Deno.test({
  name:
    "serve -d logs the store's debug lines from its worker threads, never a secret (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = await users();
    // The default pool of workers, and a pool of one (still a worker, not the serving thread).
    for (const workers of [{}, { _CONDOR_CREDD_WORKERS: "1" }] as Record<string, string>[]) {
      await withSpool(async (spool) => {
        const log = await withDaemon(spool, { args: ["-d"], env: workers }, async (daemon) => {
          const r = await runCli(["add-oauth", "-s", "svc", "-P", "-i", "-"], {
            env: daemon.env,
            user: tester,
            stdin: "SECRET-ACCESS-TOKEN",
          });
          assert.equal(r.code, 0, r.stderr);
          const list = await runCli(["list"], { env: daemon.env, user: tester });
          assert.equal(list.code, 0, list.stderr);
        });
        assert.match(log, / debug: store-\d: wrote .*\/csc_tester\/svc\.use\n/);
        // As many workers as asked for, and no more: one worker serves both requests.
        const used = new Set([...log.matchAll(/ debug: (store-\d+): /g)].map((m) => m[1]));
        if (workers._CONDOR_CREDD_WORKERS === "1") assert.deepEqual([...used], ["store-0"]);
        // A listing reads every file of a user: it runs in a worker too, never on the thread
        // that serves everyone's connections.
        assert.match(
          log,
          / debug: store-\d: listed 1 credentials of "csc_tester@test\.example"\n/,
        );
        assert.equal(log.includes("SECRET-ACCESS-TOKEN"), false);
      });
    }
  },
});

Deno.test({
  name:
    "a user who floods challenges and drops the connections cannot lock others out of the socket (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    const [tester] = await users();
    await withSpool(async (spool) => {
      // The table then holds 20,000 challenges (64 connections x 8 is less); each lives an hour,
      // longer than a client retries and than the flood lasts on any machine.
      await withDaemon(spool, {
        env: { _CONDOR_CREDD_MAX_CONNECTIONS: "64", _CONDOR_CREDD_CHALLENGE_LIFETIME: "3600" },
      }, async (daemon) => {
        // 2,600 connections x 8 unanswered challenges = 20,800: more than the table holds.
        let issued = 0;
        const flood = async () => {
          for (let i = 0; i < 2600 / 16; i++) {
            const wire = await connectWire(daemon.socket);
            for (let c = 0; c < 8; c++) {
              if ((await wire.call("POST", "/v1/challenge", { version: 1 })).status === 200) {
                issued++;
              }
            }
            wire.close();
          }
        };
        const started = Date.now();
        await Promise.all(Array.from({ length: 16 }, flood));
        assert.ok(issued > 20_000, `${issued} challenges issued`);
        assert.ok(Date.now() - started < 3_600_000, "the flood outlived a challenge's lifetime");
        const add = await runCli(["add-krb", "-i", "-"], {
          env: daemon.env,
          user: tester,
          stdin: "TICKET",
        });
        assert.equal(add.code, 0, add.stderr);
        assert.equal(await readText(`${spool.krb}/csc_tester.cred`), "TICKET");
        // Nothing of the flood is left in the challenge directory.
        assert.deepEqual(
          [...Deno.readDirSync(daemon.challengeDir)].filter((e) => e.name.startsWith(".csc-")),
          [],
        );
      });
    });
  },
});

Deno.test({
  name:
    "request bodies are bounded: a challenge's is small, large ones share a budget answered 503 beyond it, freed when their connections go (needs root)",
  ignore: NEEDS_ROOT,
  fn: async () => {
    await withSpool(async (spool) => {
      await withDaemon(spool, async (daemon) => {
        const head = (path: string, length: number) =>
          new TextEncoder().encode(
            `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`,
          );
        const held: Deno.Conn[] = [];
        try {
          // A challenge request with a 2 KiB body is refused before the body is read.
          const big = await rawExchange(daemon.socket, head("/v1/challenge", 2048));
          assert.match(big, /^HTTP\/1\.1 413 /);
          // 129 connections announce 2 MiB bodies and send nothing more: one more than the 256 MiB
          // budget holds, so one of them (whichever the daemon reads last, however busy the
          // machine) is answered 503 and the others wait for their bodies.
          const replies: Promise<string>[] = [];
          for (let i = 0; i < 129; i++) {
            const conn = await Deno.connect({ transport: "unix", path: daemon.socket });
            await conn.write(head("/v1/request", 2 * 1024 * 1024));
            held.push(conn);
            const buffer = new Uint8Array(4096);
            replies.push(
              conn.read(buffer).then(
                (n) => new TextDecoder().decode(buffer.subarray(0, n ?? 0)),
                () => "",
              ),
            );
          }
          let timer: ReturnType<typeof setTimeout> | undefined;
          const refused = await Promise.race([
            ...replies.map((r) =>
              r.then((text) => text === "" ? new Promise<string>(() => {}) : text)
            ),
            new Promise<string>((resolve) => {
              timer = setTimeout(() => resolve("no answer within 120 s"), 120_000);
            }),
          ]).finally(() => clearTimeout(timer));
          assert.match(refused, /^HTTP\/1\.1 503 /);
          assert.match(refused, /busy reading other large requests; retry/);
          // Small requests are not held up.
          const health = await rawExchange(
            daemon.socket,
            new TextEncoder().encode("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"),
          );
          assert.match(health, /^HTTP\/1\.1 200 /);
          for (const conn of held.splice(0)) conn.close();
          await Promise.all(replies);
          // Their budget comes back as the daemon sees them close: a large body is read again
          // (asked until it is, within a generous bound; an unanswered probe is let go after 1 s).
          const probe = () =>
            rawExchange(daemon.socket, head("/v1/request", 2 * 1024 * 1024), 1000);
          let again = "";
          for (const end = Date.now() + 120_000; Date.now() < end;) {
            again = await probe();
            if (!/^HTTP\/1\.1 503 /.test(again)) break;
          }
          assert.doesNotMatch(again, /^HTTP\/1\.1 503 /);
          // An announcement is read (and then refused for what it is, an unproven request).
          const conn = await Deno.connect({ transport: "unix", path: daemon.socket });
          held.push(conn);
          await conn.write(head("/v1/request", 16));
          await conn.write(new TextEncoder().encode('{"version":1}   '));
          const answer = new Uint8Array(4096);
          const n = await conn.read(answer);
          assert.match(new TextDecoder().decode(answer.subarray(0, n ?? 0)), /^HTTP\/1\.1 401 /);
        } finally {
          for (const conn of held) conn.close();
        }
      });
    });
  },
});
