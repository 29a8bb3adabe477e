/**
 * The "daemon under attack" section of scripts/reliability.ts: a real `condor_store_cred serve`
 * (testing/daemon.ts) under hostile local clients (slow loris, oversized bodies, malformed
 * requests, half-open connections, a challenge flood, a connection churn) while a legitimate
 * non-root user keeps working; afterwards it answers and the store is intact. Needs root (the
 * daemon owns a root store; the clients are the real users csc_tester and csc_other).
 */

import { type Daemon, startDaemon } from "../../testing/daemon.ts";
import {
  IS_ROOT,
  listTree,
  nonRootUsers,
  populateSpool,
  runCli,
  snapshot,
  withSpool,
} from "../../testing/harness.ts";
import { markdownTable as table } from "../report.ts";
import {
  closeQuietly,
  DOMAIN,
  percentile,
  rawAnswer,
  readOrNull,
  type ReliabilitySection,
  type SectionIo,
  sleep,
  tempFiles,
  usage,
  writeAll,
} from "./harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Figures of the attack section. */
export interface AttackFigures {
  hostileRequests: number;
  hostileConnections: number;
  legitRequests: number;
  legitSucceeded: number;
  legitWorstMs: number;
  answersAfterwards: boolean;
  dataIntact: boolean;
  /** Legitimate requests during the connection churn, and how many succeeded (not a property). */
  churnRequests: number;
  churnSucceeded: number;
}

/**
 * The connection churn is measured and reported but is not a property: a local user who opens
 * connections faster than the daemon accepts them fills the kernel's listen backlog, and one who
 * turns the whole connection table over evicts whoever else is connected; without knowing who is
 * connecting (Deno has no SO_PEERCRED) no eviction order protects the others.
 */
const NOT_A_PROPERTY = "connection churn";

interface LegitResult {
  readonly phase: string;
  readonly kind: "add" | "query";
  readonly code: number;
  readonly ms: number;
  readonly stderr: string;
  readonly content?: string;
}

interface Phase {
  readonly name: string;
  readonly what: string;
  /** Runs the attack until it is done; returns a description of what it did and its counts. */
  readonly run: (daemon: Daemon) => Promise<{ requests: number; connections: number; did: string }>;
}

/** A request head that never ends, sent a byte every second (slow-loris). */
async function slowLoris(
  socket: string,
  body: boolean,
  limitMs: number,
): Promise<{ heldMs: number; dropped: boolean }> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  const started = performance.now();
  const text = body
    ? "POST /v1/request HTTP/1.1\r\ncontent-length: 200\r\n\r\n" + "{".repeat(200)
    : "POST /v1/request HTTP/1.1\r\nx-slow: " + "a".repeat(200);
  let closedByPeer = false;
  const reader = (async () => {
    const buffer = new Uint8Array(1024);
    while (true) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) {
        closedByPeer = true;
        return;
      }
    }
  })();
  try {
    // With a body, the head goes at once and the body crawls; without, the head crawls.
    let i = 0;
    if (body) {
      const head = text.indexOf("\r\n\r\n") + 4;
      await writeAll(conn, encoder.encode(text.slice(0, head)));
      i = head;
    }
    while (!closedByPeer && performance.now() - started < limitMs && i < text.length) {
      try {
        await writeAll(conn, encoder.encode(text[i++]));
      } catch {
        break;
      }
      for (let t = 0; t < 10 && !closedByPeer; t++) await sleep(100);
    }
    // Wait (bounded) for the daemon to hang up.
    while (!closedByPeer && performance.now() - started < limitMs) await sleep(100);
    return { heldMs: performance.now() - started, dropped: closedByPeer };
  } finally {
    closeQuietly(conn);
    await reader;
  }
}

/** Malformed requests for the Unix socket, each with the status it must get. */
function malformedRequests(): [string, string, number][] {
  const body = (value: unknown) => {
    const text = JSON.stringify(value);
    return `POST /v1/request HTTP/1.1\r\ncontent-length: ${
      encoder.encode(text).length
    }\r\n\r\n${text}`;
  };
  const query = { action: "query", type: "kerberos", user: null };
  return [
    ["garbage", "GARBAGE\r\n\r\n", 400],
    ["binary garbage", "\x00\x01\x02\xff\xfe\r\n\r\n", 400],
    ["not JSON", "POST /v1/request HTTP/1.1\r\ncontent-length: 5\r\n\r\nnope!", 400],
    ["JSON array", "POST /v1/request HTTP/1.1\r\ncontent-length: 2\r\n\r\n[]", 400],
    [
      "JSON nested 100,000 deep",
      `POST /v1/request HTTP/1.1\r\ncontent-length: 200000\r\n\r\n${"[".repeat(100_000)}${
        "]".repeat(100_000)
      }`,
      400,
    ],
    ["invalid UTF-8", 'POST /v1/request HTTP/1.1\r\ncontent-length: 3\r\n\r\n"\xff"', 400],
    ["wrong version 9", body({ version: 9, request: query }), 400],
    ["wrong version 0", body({ version: 0, request: query }), 400],
    ['version "1"', body({ version: "1", request: query }), 400],
    ["no version", body({ request: query }), 400],
    [
      "chunked encoding",
      "POST /v1/request HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      400,
    ],
    ["headers over 8 KiB", `GET /v1/health HTTP/1.1\r\nx: ${"a".repeat(10_000)}\r\n\r\n`, 431],
    [
      "200 small headers",
      `GET /v1/health HTTP/1.1\r\n${
        Array.from({ length: 200 }, (_, i) => `x-h${i}: ${"v".repeat(40)}\r\n`).join("")
      }\r\n`,
      431,
    ],
    ["request line over 8 KiB", `GET /${"p".repeat(9000)} HTTP/1.1\r\n\r\n`, 431],
    [
      "repeated Content-Length",
      "POST /v1/request HTTP/1.1\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\n{}",
      400,
    ],
    ["negative Content-Length", "POST /v1/request HTTP/1.1\r\ncontent-length: -1\r\n\r\n", 400],
    [
      "Content-Length of 11 digits",
      "POST /v1/request HTTP/1.1\r\ncontent-length: 99999999999\r\n\r\n",
      400,
    ],
    [
      "a body cut short",
      'POST /v1/request HTTP/1.1\r\ncontent-length: 100\r\n\r\n{"version":1}',
      400,
    ],
    ["a header without a colon", "POST /v1/request HTTP/1.1\r\nnonsense\r\n\r\n", 400],
    ["HTTP/1.0", "GET /v1/health HTTP/1.0\r\n\r\n", 400],
    ["lower-case method", "get /v1/health HTTP/1.1\r\n\r\n", 400],
    ["unknown path", "GET /nope HTTP/1.1\r\n\r\n", 404],
    ["GET of the request path", "GET /v1/request HTTP/1.1\r\n\r\n", 404],
    ["request without a challenge", body({ version: 1, request: query }), 401],
    [
      "an invented challenge",
      body({ version: 1, challenge: { id: "0".repeat(32), nonce: "n" }, request: query }),
      401,
    ],
    ["a challenge of the wrong type", body({ version: 1, challenge: "root", request: query }), 401],
    [
      "a 2 MiB + 1 body announced",
      `POST /v1/request HTTP/1.1\r\ncontent-length: ${2 * 1024 * 1024 + 1}\r\n\r\n`,
      413,
    ],
  ];
}

/**
 * "Daemon under attack": a real daemon (CREDD_MAX_CONNECTIONS lowered) attacked by hostile
 * local clients in phases (slow-loris throughout the first ones, oversized bodies, malformed
 * requests, half-open connections past the cap, a connection churn, a flood of challenges) while
 * csc_tester keeps adding and querying its Kerberos credential through the daemon; afterwards the
 * daemon must answer, stop cleanly, and hold intact data. Returns the figures.
 */
async function daemonAttackSection(io: SectionIo): Promise<AttackFigures | null> {
  if (!IS_ROOT) {
    io.skip("daemon under attack: needs root (a daemon owning a root store, csc_tester as client)");
    return null;
  }
  const [tester, other] = (await nonRootUsers())!;
  const size = io.quick
    ? {
      maxConnections: 100,
      halfOpen: 300,
      halfOpenMs: 2000,
      loris: 6,
      bodies: 8,
      bodiesMs: 2000,
      malformedRounds: 1,
      churnMs: 1500,
      floodMs: 2500,
      floodWorkers: 8,
    }
    : {
      maxConnections: 1000,
      halfOpen: 3000,
      halfOpenMs: 6000,
      loris: 40,
      bodies: 48,
      bodiesMs: 8000,
      malformedRounds: 12,
      churnMs: 5000,
      floodMs: 6000,
      floodWorkers: 16,
    };
  const figures: AttackFigures = {
    hostileRequests: 0,
    hostileConnections: 0,
    legitRequests: 0,
    legitSucceeded: 0,
    legitWorstMs: 0,
    answersAfterwards: false,
    dataIntact: false,
    churnRequests: 0,
    churnSucceeded: 0,
  };
  await withSpool(async (spool) => {
    // Bystanders: root's credentials of every type and csc_other's OAuth token, which no
    // attack may change.
    await populateSpool(spool);
    const byOther = await runCli(
      ["add-oauth", "-u", `${other.name}@${DOMAIN}`, "-s", "svc", "-P", "-i", "-"],
      { env: spool.env, stdin: "other-token" },
    );
    if (byOther.code !== 0) io.fail(`attack: storing the bystander failed: ${byOther.stderr}`);
    const bystanders = async () =>
      [
        await snapshot(spool.oauth),
        await snapshot(spool.pwd),
        await snapshot(`${spool.root}/spool/passwords.d`),
        decoder.decode(readOrNull(`${spool.krb}/root.cred`) ?? new Uint8Array()),
      ].join("\n");
    const before = await bystanders();

    const daemon = await startDaemon(spool, {
      env: { _CONDOR_CREDD_MAX_CONNECTIONS: String(size.maxConnections) },
    });
    let phase = "slow-loris";
    let legitStop = false;
    const legit: LegitResult[] = [];
    let peakRss = 0;
    const fdsByPhase = new Map<string, number>();
    let monitorStop = false;
    const startUsage = usage(daemon.pid);
    const monitor = (async () => {
      while (!monitorStop) {
        const u = usage(daemon.pid);
        if (u !== null) {
          peakRss = Math.max(peakRss, u.rssKib);
          fdsByPhase.set(phase, Math.max(fdsByPhase.get(phase) ?? 0, u.fds));
        }
        await sleep(50);
      }
    })();
    // Between phases the user pauses, so each request meets one phase only.
    let paused: Promise<void> | null = null;
    let current: Promise<unknown> = Promise.resolve();
    const switchPhase = async (name: string) => {
      let resume = () => {};
      paused = new Promise((r) => resume = r);
      await current;
      phase = name;
      paused = null;
      resume();
    };
    const legitLoop = (async () => {
      for (let i = 0; !legitStop; i++) {
        if (paused !== null) await paused;
        if (legitStop) break;
        const kind = i % 2 === 0 ? "add" : "query";
        const content = kind === "add" ? `legit-${i}-${crypto.randomUUID()}` : undefined;
        const at = phase;
        const t0 = performance.now();
        const request = runCli(kind === "add" ? ["add-krb", "-i", "-"] : ["query-krb"], {
          env: daemon.env,
          stdin: content,
          user: tester,
          timeoutMs: 150_000,
        });
        current = request;
        const r = await request;
        legit.push({
          phase: at,
          kind,
          code: r.code,
          ms: performance.now() - t0,
          stderr: r.stderr,
          content,
        });
      }
    })();

    const held: Deno.Conn[] = [];
    const phases: Phase[] = [
      {
        name: "oversized bodies",
        what: `${size.bodies} clients at once, none proving a caller, each sending 2 MiB bodies ` +
          "of garbage (the limit: read and refused, 400, or refused before it is read, 503, " +
          "once the 16 MiB the unproven may announce together is taken) or announcing 2 MiB + 1 " +
          "(refused before it is read, 413)",
        run: async (d) => {
          let requests = 0;
          const statuses = new Map<number, number>();
          const end = performance.now() + size.bodiesMs;
          const garbage = new Uint8Array(2 * 1024 * 1024).fill(0x7b);
          const announce = (length: number) =>
            encoder.encode(`POST /v1/request HTTP/1.1\r\ncontent-length: ${length}\r\n\r\n`);
          const head = announce(garbage.length);
          const wholeBytes = new Uint8Array(head.length + garbage.length);
          wholeBytes.set(head);
          wholeBytes.set(garbage, head.length);
          const overBytes = announce(garbage.length + 1);
          await Promise.all(Array.from({ length: size.bodies }, async (_, w) => {
            for (let i = 0; performance.now() < end; i++) {
              const conn = await Deno.connect({ transport: "unix", path: d.socket });
              const whole = (w + i) % 2 === 0;
              const { status } = await rawAnswer(conn, whole ? wholeBytes : overBytes, 30_000);
              requests++;
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
              // docs/daemon.md "Limits and fairness": bodies over 64 KiB from connections
              // proving nobody share 16 MiB; beyond it, 503 before the body is read.
              const expected = whole ? [400, 503] : [413];
              if (!expected.includes(status)) {
                io.fail(
                  `attack: a ${whole ? "2 MiB body" : "2 MiB + 1 announcement"} got ${status}`,
                );
              }
            }
          }));
          return {
            requests,
            connections: requests,
            did: [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) =>
              `${n} × ${s || "no answer"}`
            ).join(", "),
          };
        },
      },
      {
        name: "malformed requests",
        what: "garbage, bad JSON, wrong versions, chunked encoding, huge headers, bad " +
          "Content-Length, unknown paths, forged challenges (each on a fresh connection, " +
          `${size.malformedRounds} round(s), 8 at a time)`,
        run: async (d) => {
          const list = malformedRequests();
          const jobs = Array.from({ length: size.malformedRounds }, () => list).flat();
          let next = 0;
          let asExpected = 0;
          await Promise.all(Array.from({ length: 8 }, async () => {
            while (next < jobs.length) {
              const [name, text, status] = jobs[next++];
              const conn = await Deno.connect({ transport: "unix", path: d.socket });
              const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
              const answer = await rawAnswer(conn, bytes);
              if (answer.status === status) asExpected++;
              else {io.fail(
                  `attack: malformed "${name}" got ${answer.status || "no answer"}, not ${status}`,
                );}
            }
          }));
          return {
            requests: jobs.length,
            connections: jobs.length,
            did: `${asExpected} of ${jobs.length} answered with the expected 4xx`,
          };
        },
      },
      {
        name: "half-open connections",
        what: `${size.halfOpen} connections opened over ${size.halfOpenMs / 1000} s and held ` +
          `silent, past CREDD_MAX_CONNECTIONS=${size.maxConnections}`,
        run: async (d) => {
          const started = performance.now();
          let refused = 0;
          for (let i = 0; i < size.halfOpen; i++) {
            try {
              held.push(await Deno.connect({ transport: "unix", path: d.socket }));
            } catch {
              refused++;
            }
            const due = started + (i + 1) * size.halfOpenMs / size.halfOpen;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
          }
          const fds = usage(d.pid)?.fds ?? 0;
          return {
            requests: 0,
            connections: size.halfOpen,
            did: `${size.halfOpen - refused} opened, ${refused} refused by the kernel; the ` +
              `daemon then had ${fds} descriptors open`,
          };
        },
      },
      {
        name: "connection churn",
        what: `connections opened as fast as one process can for ${size.churnMs / 1000} s, ` +
          "the oldest closed by the attacker past twice the cap",
        run: async (d) => {
          const end = performance.now() + size.churnMs;
          let opened = 0;
          let refused = 0;
          const mine: Deno.Conn[] = [];
          while (performance.now() < end) {
            try {
              mine.push(await Deno.connect({ transport: "unix", path: d.socket }));
              opened++;
            } catch {
              refused++;
              await sleep(1);
            }
            if (mine.length > 2 * size.maxConnections) {
              for (const c of mine.splice(0, size.maxConnections)) closeQuietly(c);
            }
          }
          for (const c of mine) closeQuietly(c);
          return {
            requests: 0,
            connections: opened + refused,
            did: `${opened} connections opened (${
              Math.round(opened / (size.churnMs / 1000))
            }/s), ${refused} refused by the kernel (listen backlog full)`,
          };
        },
      },
      {
        name: "challenge flood",
        what: `${size.floodWorkers} clients requesting identity challenges as fast as they can ` +
          `for ${size.floodMs / 1000} s, each on a new connection after 8 (the per-connection cap)`,
        run: async (d) => {
          const end = performance.now() + size.floodMs;
          const statuses = new Map<number, number>();
          let connections = 0;
          const request = encoder.encode(
            'POST /v1/challenge HTTP/1.1\r\ncontent-length: 13\r\n\r\n{"version":1}',
          );
          await Promise.all(Array.from({ length: size.floodWorkers }, async () => {
            while (performance.now() < end) {
              const conn = await Deno.connect({ transport: "unix", path: d.socket });
              connections++;
              // Eight pipelined requests, then read the eight answers.
              const eight = new Uint8Array(request.length * 8);
              for (let i = 0; i < 8; i++) eight.set(request, i * request.length);
              const buffer = new Uint8Array(64 * 1024);
              let text = "";
              try {
                await writeAll(conn, eight);
                // Until the eighth answer is complete (each body is one JSON object).
                while ((text.match(/HTTP\/1\.1 /g)?.length ?? 0) < 8 || !text.endsWith("}")) {
                  const n = await conn.read(buffer);
                  if (n === null) break;
                  text += decoder.decode(buffer.subarray(0, n));
                }
              } catch {
                // Evicted by the connection cap.
              } finally {
                closeQuietly(conn);
              }
              for (const m of text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) {
                const s = Number(m[1]);
                statuses.set(s, (statuses.get(s) ?? 0) + 1);
              }
            }
          }));
          const requests = [...statuses.values()].reduce((a, b) => a + b, 0);
          return {
            requests,
            connections,
            did: [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${n} × ${s}`).join(
              ", ",
            ),
          };
        },
      },
    ];

    const rows: (string | number)[][] = [];
    const perPhase = (name: string) => legit.filter((l) => l.phase === name);
    const describeLegit = (name: string) => {
      const mine = perPhase(name);
      const ok = mine.filter((l) => l.code === 0);
      const failures = [
        ...new Set(
          mine.filter((l) => l.code !== 0).map((l) =>
            l.stderr.trim().split("\n")[0].replace(/"\/tmp\/[^"]+"/g, "<socket>").slice(0, 140)
          ),
        ),
      ];
      return {
        count: mine.length,
        ok: ok.length,
        worst: Math.max(0, ...mine.map((l) => l.ms)),
        median: percentile(mine.map((l) => l.ms), 0.5),
        failures,
      };
    };
    try {
      // Slow-loris throughout the first phases: half crawl through the head, half the body.
      const lorisLimit = 40_000;
      const loris = Promise.all(
        Array.from(
          { length: size.loris },
          (_, i) => slowLoris(daemon.socket, i % 2 === 1, lorisLimit),
        ),
      );
      const phaseStarted = performance.now();
      await sleep(io.quick ? 1000 : 2000);
      const lorisRow = (result: { heldMs: number; dropped: boolean }[]) => {
        const heads = result.filter((_, i) => i % 2 === 0);
        const bodies = result.filter((_, i) => i % 2 === 1);
        const worst = (list: typeof result) => Math.max(0, ...list.map((r) => r.heldMs)) / 1000;
        return `${result.filter((r) => r.dropped).length} of ${result.length} dropped by the ` +
          `daemon; a crawling head held at most ${worst(heads).toFixed(1)} s, a crawling body ` +
          `${worst(bodies).toFixed(1)} s`;
      };
      const phaseRows: [string, string, { did: string }, number][] = [];
      for (const p of phases) {
        if (p.name === "half-open connections") {
          // The slow-loris connections must be dropped by the daemon's deadlines, not evicted
          // by the connection cap: wait for them first.
          await switchPhase("slow-loris");
          const result = await loris;
          const worst = Math.max(0, ...result.map((r) => r.heldMs));
          const open = result.filter((r) => !r.dropped).length;
          if (open > 0) {
            io.fail(
              `attack: ${open} slow-loris connections were still open after ${lorisLimit / 1000} s`,
            );
          }
          // The daemon's deadlines: 10 s to the first byte plus 10 s for a message.
          if (worst > 25_000) {
            io.fail(`attack: a slow-loris connection was held ${(worst / 1000).toFixed(1)} s`);
          }
          figures.hostileConnections += size.loris;
          figures.hostileRequests += size.loris;
          phaseRows.unshift([
            "slow-loris",
            `${size.loris} connections sending a byte a second: half crawl through a request ` +
            "head, half through a body (from the start, alongside the next two phases)",
            { did: lorisRow(result) },
            performance.now() - phaseStarted,
          ]);
        }
        await switchPhase(p.name);
        const t0 = performance.now();
        const result = await p.run(daemon);
        figures.hostileRequests += result.requests;
        figures.hostileConnections += result.connections;
        if (p.name === "half-open connections") {
          // Hold them a moment longer, so legitimate requests meet a full table.
          await sleep(1000);
          for (const c of held.splice(0)) closeQuietly(c);
        }
        phaseRows.push([p.name, p.what, result, performance.now() - t0]);
      }
      await switchPhase("after the attack");
      // Recovery: the attack is over; the daemon must answer again (bounded wait).
      const recoveryStart = performance.now();
      const firstLegitAfter = legit.length;
      while (
        performance.now() - recoveryStart < 30_000 &&
        !legit.slice(firstLegitAfter).some((l) => l.code === 0)
      ) await sleep(100);
      const recoveredMs = performance.now() - recoveryStart;
      legitStop = true;
      await legitLoop;

      for (const [name, what, result, ms] of phaseRows) {
        const l = describeLegit(name);
        const property = name !== NOT_A_PROPERTY;
        if (property) {
          figures.legitRequests += l.count;
          figures.legitSucceeded += l.ok;
          figures.legitWorstMs = Math.max(figures.legitWorstMs, l.worst);
        } else {
          figures.churnRequests += l.count;
          figures.churnSucceeded += l.ok;
        }
        if (property && l.ok !== l.count) {
          io.fail(
            `attack: during "${name}" ${l.count - l.ok} of ${l.count} legitimate requests ` +
              `failed: ${l.failures.join(" | ")}`,
          );
        }
        rows.push([
          property ? name : `${name} (reported, not a property)`,
          what,
          `${(ms / 1000).toFixed(1)} s`,
          result.did,
          `${l.ok} of ${l.count}`,
          `${l.median.toFixed(0)} / ${l.worst.toFixed(0)} ms`,
          l.failures.length
            ? l.failures.map((f) => `\`${f.replaceAll("|", "/")}\``).join("<br>")
            : "",
        ]);
      }
      const after = describeLegit("after the attack");
      rows.push([
        "after the attack",
        "all attackers stopped; the user keeps going until one request succeeds",
        `${(recoveredMs / 1000).toFixed(1)} s`,
        "",
        `${after.ok} of ${after.count}`,
        `${after.median.toFixed(0)} / ${after.worst.toFixed(0)} ms`,
        after.failures.length
          ? after.failures.map((f) => `\`${f.replaceAll("|", "/")}\``).join("<br>")
          : "",
      ]);

      // Afterwards: the daemon answers a fresh add and query, and holds exactly what it should.
      const last = `after-${crypto.randomUUID()}`;
      const add = await runCli(["add-krb", "-i", "-"], {
        env: daemon.env,
        stdin: last,
        user: tester,
      });
      const query = await runCli(["query-krb"], { env: daemon.env, user: tester });
      const alive = usage(daemon.pid) !== null;
      figures.answersAfterwards = alive && add.code === 0 && query.code === 0;
      if (!figures.answersAfterwards) {
        io.fail(
          `attack: afterwards the daemon ${alive ? "is running" : "is gone"}; add exit ` +
            `${add.code} (${add.stderr.trim()}), query exit ${query.code} (${query.stderr.trim()})`,
        );
      }
      const stored = decoder.decode(
        readOrNull(`${spool.krb}/${tester.name}.cred`) ?? new Uint8Array(),
      );
      const intact = (await bystanders()) === before && stored === last;
      const acknowledgedAdds = legit.filter((l) => l.kind === "add" && l.code === 0).length;
      figures.dataIntact = intact;
      if (!intact) {
        io.fail(
          `attack: the stored data changed (bystanders ${
            (await bystanders()) === before ? "intact" : "CHANGED"
          }, csc_tester's credential ${
            stored === last ? "is the last add" : "is NOT the last add"
          })`,
        );
      }
      const debris = await tempFiles(`${spool.root}/spool`);
      if (debris.length > 0) io.fail(`attack: temp files left: ${debris.join(", ")}`);
      // What one large body costs the daemon, alone: the time from sending to its 400.
      const bodyCost: string[] = [];
      for (const kib of [512, 1024, 2048]) {
        const head = encoder.encode(
          `POST /v1/request HTTP/1.1\r\ncontent-length: ${kib * 1024}\r\n\r\n`,
        );
        const bytes = new Uint8Array(head.length + kib * 1024).fill(0x7b);
        bytes.set(head);
        const times: number[] = [];
        for (let i = 0; i < (io.quick ? 5 : 15); i++) {
          const conn = await Deno.connect({ transport: "unix", path: daemon.socket });
          const t0 = performance.now();
          await rawAnswer(conn, bytes, 30_000);
          times.push(performance.now() - t0);
        }
        bodyCost.push(`${percentile(times, 0.5).toFixed(1)} ms`);
      }
      monitorStop = true;
      await monitor;
      // The cap bounds the descriptors: while thousands of connections are held open, the
      // daemon holds at most the cap plus its own files (workers, store, log; under 100).
      const halfOpenFds = fdsByPhase.get("half-open connections") ?? 0;
      if (halfOpenFds > size.maxConnections + 100) {
        io.fail(
          `attack: with ${size.halfOpen} connections held the daemon had ${halfOpenFds} ` +
            `descriptors open (CREDD_MAX_CONNECTIONS ${size.maxConnections})`,
        );
      }
      const stop = await daemon.stop();
      if (stop.code !== 0) io.fail(`attack: the daemon exited ${stop.code} on SIGTERM`);
      const internal = stop.log.split("\n").filter((l) => /internal error/.test(l));
      if (internal.length > 0) {
        io.fail(`attack: the daemon logged ${internal.length} internal errors`);
      }
      const challenges = await listTree(daemon.challengeDir).catch(() => []);

      io.report(
        "## 9. The daemon under attack",
        "",
        "A real `condor_store_cred serve` as root on a temp store (CREDD_MAX_CONNECTIONS=" +
          `${size.maxConnections}, other limits at their defaults). Hostile local clients attack ` +
          "its socket in phases; the attacks come from the suite's own process (the socket is " +
          "mode 0666, so any local user can send them). Throughout, the real user `csc_tester` " +
          "keeps running the real client: an `add-krb` of a fresh credential, then a `query-krb`, " +
          "one after another; each request is counted in the phase it started in, with its " +
          "latency as the user sees it (process start to exit). Root's credentials of every " +
          "type and `csc_other`'s OAuth token sit in the store as bystanders. Between phases the " +
          "user waits for the attack to stop, so each request meets one phase. Every phase but " +
          "the connection churn must leave every legitimate request served; the churn is " +
          "measured and reported, not a property: a local user who opens connections faster " +
          "than the daemon accepts them fills the kernel's listen backlog, and one who turns the " +
          "whole connection table over evicts whoever else is connected; without knowing who " +
          "connects (Deno has no SO_PEERCRED), no eviction order protects the others.",
        "",
        table([
          "phase",
          "attack",
          "duration",
          "what the attack got",
          "legitimate requests succeeded",
          "median / worst latency",
          "failures seen by the legitimate user",
        ], rows),
        "",
        table(["figure", "value"], [
          [
            "hostile requests / connections",
            `${figures.hostileRequests} / ${figures.hostileConnections}`,
          ],
          [
            "legitimate requests during the attack / succeeded (every phase but the churn)",
            `${figures.legitRequests} / ${figures.legitSucceeded}`,
          ],
          [
            "legitimate requests during the connection churn / succeeded",
            `${figures.churnRequests} / ${figures.churnSucceeded}`,
          ],
          ["worst legitimate latency during the attack", `${figures.legitWorstMs.toFixed(0)} ms`],
          [
            "daemon memory (RSS) at the start / at most",
            `${((startUsage?.rssKib ?? 0) / 1024).toFixed(0)} MiB / ${
              (peakRss / 1024).toFixed(0)
            } MiB`,
          ],
          [
            "daemon descriptors at most, per phase (the half-open phase must stay within the " +
            "cap + 100)",
            [...fdsByPhase].map(([p, n]) => `${p}: ${n}`).join("; "),
          ],
          [
            "afterwards, alone: time to read and refuse one 0.5 / 1 / 2 MiB body (median)",
            bodyCost.join(" / "),
          ],
          [
            "time until the legitimate user was served again after the attack stopped",
            `${(recoveredMs / 1000).toFixed(1)} s`,
          ],
          ["answers an add and a query afterwards", figures.answersAfterwards ? "yes" : "NO"],
          [
            "bystanders unchanged, csc_tester's credential the last acknowledged add",
            figures.dataIntact ? "yes" : "NO",
          ],
          ["acknowledged adds by csc_tester", acknowledgedAdds],
          [
            "exit status on SIGTERM afterwards; internal errors logged",
            `${stop.code}; ${internal.length}`,
          ],
          ["challenge files left", challenges.length],
        ]),
        "",
      );
    } finally {
      legitStop = true;
      monitorStop = true;
      for (const c of held) closeQuietly(c);
      await legitLoop.catch(() => {});
      await monitor.catch(() => {});
      await daemon.stop().catch(() => {});
    }
  });
  return figures;
}

export const section: ReliabilitySection = {
  name: "daemon under attack",
  run: async (ctx) => void (ctx.figures.daemonAttack = await daemonAttackSection(ctx)),
};
