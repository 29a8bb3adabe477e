/**
 * The daemon sections of the reliability suite (scripts/reliability.ts): a real
 * `condor_store_cred serve` (testing/daemon.ts) under attack by hostile local clients while a
 * legitimate non-root user keeps working, and the daemon killed with SIGKILL in the middle of adds
 * and stopped with SIGTERM under load. Needs root (the daemon owns a root store; the clients are
 * the real users csc_tester and csc_other).
 *
 * Scripts only; never imported by lib/.
 */

import {
  announceLargeBodies,
  closeAll,
  hammer,
  silentConnections,
  startFaultyDaemon,
  withHammeredDaemon,
} from "../testing/attacks.ts";
import { type Daemon, processStats, startDaemon } from "../testing/daemon.ts";
import { withRemote } from "../testing/remote.ts";
import {
  IS_ROOT,
  listTree,
  nonRootUsers,
  populateSpool,
  runCli,
  type RunResult,
  snapshot,
  withSpool,
} from "../testing/harness.ts";
import { markdownTable as table } from "./report.ts";
import type { SectionIo } from "./reliability/harness.ts";

export type { SectionIo };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TEMP = /^\..+\.[0-9a-f]{16}\.tmp$/;
const DOMAIN = "test.example";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function readOrNull(path: string): Uint8Array | null {
  try {
    return Deno.readFileSync(path);
  } catch {
    return null;
  }
}

function bytesEqual(a: Uint8Array | null, b: Uint8Array): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

async function tempFiles(dir: string): Promise<string[]> {
  const all = await listTree(dir).catch(() => [] as string[]);
  return all.filter((p) => TEMP.test(p.split("/").at(-1)!));
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed (by us or by the daemon).
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/**
 * Sends `bytes` on `conn`, half-closes it, and reads the answer until the peer closes or
 * `waitMs` passes. Returns the HTTP status of the answer (0: none) and its first line. Closes
 * `conn`.
 */
export async function rawAnswer(
  conn: Deno.Conn,
  bytes: Uint8Array,
  waitMs = 5000,
): Promise<{ status: number; line: string }> {
  const chunks: Uint8Array[] = [];
  try {
    try {
      await writeAll(conn, bytes);
      await conn.closeWrite();
    } catch {
      // The daemon may answer and close before taking all of it.
    }
    const buffer = new Uint8Array(16 * 1024);
    const deadline = Date.now() + waitMs;
    let total = 0;
    while (Date.now() < deadline && total < 64 * 1024) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        conn.read(buffer).catch(() => null),
        new Promise<"t">((r) =>
          timer = setTimeout(() => r("t"), Math.max(1, deadline - Date.now()))
        ),
      ]);
      clearTimeout(timer);
      if (n === "t" || n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
    }
  } finally {
    close(conn);
  }
  const text = decoder.decode(
    chunks.reduce((a, b) => {
      const out = new Uint8Array(a.length + b.length);
      out.set(a);
      out.set(b, a.length);
      return out;
    }, new Uint8Array()),
  );
  const line = text.split("\r\n")[0];
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(line);
  return { status: match ? Number(match[1]) : 0, line: match ? line : "" };
}

/** Resident memory (KiB) and open descriptors of a process; null once it is gone (or a zombie). */
export function usage(pid: number): { rssKib: number; fds: number } | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    if (/^State:\s+Z/m.test(status)) return null;
    const rssKib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    let fds = 0;
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) fds++;
    return { rssKib, fds };
  } catch {
    return null;
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

// ---- daemon under attack ---------------------------------------------------------------------

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
    close(conn);
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
export async function daemonAttackSection(io: SectionIo): Promise<AttackFigures | null> {
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
        what: `${size.bodies} clients at once, each sending 2 MiB bodies of garbage (the limit) ` +
          "or announcing 2 MiB + 1 (refused before it is read)",
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
              const expected = whole ? 400 : 413;
              if (status !== expected) {
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
            if (due > performance.now()) await sleep(due - performance.now());
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
              for (const c of mine.splice(0, size.maxConnections)) close(c);
            }
          }
          for (const c of mine) close(c);
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
                close(conn);
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
          for (const c of held.splice(0)) close(c);
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
      for (const c of held) close(c);
      await legitLoop.catch(() => {});
      await monitor.catch(() => {});
      await daemon.stop().catch(() => {});
    }
  });
  return figures;
}

// ---- daemon crash safety ---------------------------------------------------------------------

/** Figures of the daemon crash section. */
export interface DaemonCrashFigures {
  kills: number;
  killsInFlight: number;
  killsInWriteWindow: number;
  killsBeforeRequest: number;
  killsAfterAnswer: number;
  partial: number;
  lostAcknowledged: number;
  debrisAfterNextAdd: number;
  sigtermAdds: number;
  sigtermAcknowledged: number;
  sigtermLost: number;
}

function filled(n: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x41 + (n % 26));
  bytes.set(encoder.encode(`daemon-krb:${n}:`));
  return bytes;
}

/**
 * Watches `dir` (inotify through Deno.watchFs) for created files whose name passes `test`, and
 * records when each was seen: a challenge file means its client holds its challenge and is about
 * to send its request; a temp file in the store means the write has begun.
 */
function creationWatcher(
  dir: string,
  test: (name: string) => boolean,
  kind: Deno.FsEvent["kind"] = "create",
) {
  const watcher = Deno.watchFs(dir, { recursive: false });
  const times: number[] = [];
  const listeners = new Set<() => void>();
  const pump = (async () => {
    try {
      for await (const event of watcher) {
        if (event.kind === kind && event.paths.some((p) => test(p.split("/").at(-1)!))) {
          times.push(performance.now());
          for (const listener of listeners) listener();
        }
      }
    } catch {
      // Closed.
    }
  })();
  return {
    /** How many challenge files were created so far. */
    get count(): number {
      return times.length;
    },
    /** The time of creation number `index` (0-based), or null after `timeoutMs`. */
    at(index: number, timeoutMs: number): Promise<number | null> {
      if (times.length > index) return Promise.resolve(times[index]);
      return new Promise((resolve) => {
        const done = (value: number | null) => {
          clearTimeout(timer);
          listeners.delete(check);
          resolve(value);
        };
        const check = () => {
          if (times.length > index) done(times[index]);
        };
        const timer = setTimeout(() => done(null), timeoutMs);
        listeners.add(check);
      });
    },
    async close() {
      watcher.close();
      await pump;
    },
  };
}

/**
 * "Daemon crash safety": adds through the daemon as csc_tester with the daemon killed by SIGKILL
 * at random moments, then the credential must be exactly the old or the new one, and after a
 * restart and the next successful add no temp file may be left; then SIGTERM during a load of
 * concurrent adds must lose no acknowledged write.
 */
export async function daemonCrashSection(io: SectionIo): Promise<DaemonCrashFigures | null> {
  if (!IS_ROOT) {
    io.skip("daemon crash safety: needs root (a daemon owning a root store, csc_tester as client)");
    return null;
  }
  const [tester] = (await nonRootUsers())!;
  const kills = io.quick ? 10 : 200;
  const credentialSize = io.quick ? 64 * 1024 : 1024 * 1024;
  const f: DaemonCrashFigures = {
    kills: 0,
    killsInFlight: 0,
    killsInWriteWindow: 0,
    killsBeforeRequest: 0,
    killsAfterAnswer: 0,
    partial: 0,
    lostAcknowledged: 0,
    debrisAfterNextAdd: 0,
    sigtermAdds: 0,
    sigtermAcknowledged: 0,
    sigtermLost: 0,
  };
  let timing = { whole: 0, served: 0, written: 0 };
  const modes = { whole: 0, served: 0, written: 0 };
  await withSpool(async (spool) => {
    let daemon = await startDaemon(spool);
    const challenges = creationWatcher(daemon.challengeDir, (n) => n.startsWith(".csc-challenge-"));
    let temps: ReturnType<typeof creationWatcher> | null = null;
    let renames: ReturnType<typeof creationWatcher> | null = null;
    const path = `${spool.krb}/${tester.name}.cred`;
    const add = (n: number) =>
      runCli(["add-krb", "-i", "-"], {
        env: daemon.env,
        stdin: filled(n, credentialSize),
        user: tester,
      });
    try {
      // Calibration: the whole add (process start to exit), the part after its challenge, and
      // the part after its temp file appeared.
      const wholes: number[] = [];
      const served: number[] = [];
      const written: number[] = [];
      for (let i = 0; i < 6; i++) {
        const t0 = performance.now();
        const seen = challenges.at(challenges.count, 10_000);
        const temp = temps?.at(temps.count, 10_000) ?? Promise.resolve(null);
        const renamed = renames?.at(renames.count, 10_000) ?? Promise.resolve(null);
        const r = await add(i);
        const t1 = performance.now();
        if (r.code !== 0) io.fail(`daemon crash: a calibration add failed: ${r.stderr}`);
        wholes.push(t1 - t0);
        const s = await seen;
        if (s !== null) served.push(t1 - s);
        const [w, m] = [await temp, await renamed];
        if (w !== null && m !== null) written.push(m - w);
        // The Kerberos directory exists after the first add.
        temps ??= creationWatcher(spool.krb, (n) => TEMP.test(n));
        renames ??= creationWatcher(spool.krb, (n) => TEMP.test(n), "rename");
      }
      timing = {
        whole: percentile(wholes, 0.5),
        served: percentile(served, 0.5),
        written: percentile(written, 0.5),
      };
      let generation = 5; // the last calibration add
      for (let k = 0; k < kills; k++) {
        const old = filled(generation, credentialSize);
        const next = filled(generation + 1, credentialSize);
        // The kill is timed, in turn, from the client's start over a whole add; from the
        // moment the client holds its challenge (its request is on the way) over the daemon's
        // part; from the moment the temp file appears over its life (until its rename).
        const mode = (["whole", "served", "written"] as const)[k % 3];
        modes[mode]++;
        const index = challenges.count;
        const seen = challenges.at(index, 10_000);
        const tempSeen = temps!.at(temps!.count, 10_000);
        const t0 = performance.now();
        const client = runCli(["add-krb", "-i", "-"], {
          env: daemon.env,
          stdin: next,
          user: tester,
          timeoutMs: 60_000,
        });
        if (mode === "whole") {
          await sleep(Math.random() * timing.whole * 1.2);
        } else {
          const anchor = mode === "served" ? seen : tempSeen;
          const s = await Promise.race([anchor, client.then(() => null)]);
          // The temp file's event arrives about half a millisecond late, and a timer cannot wait
          // less than a millisecond: a kill due within 1 ms of the event is sent at once.
          const delay = Math.random() * timing[mode] * (mode === "served" ? 1.2 : 0.8);
          if (s !== null && delay >= 1) await sleep(delay);
        }
        const killedAt = performance.now() - t0;
        const killTime = performance.now();
        await daemon.stop("SIGKILL");
        // The client held its challenge before the kill: its request was on the way.
        const sawChallenge = challenges.count > index && (await seen)! < killTime;
        f.kills++;
        const inWindow = (await tempFiles(spool.krb)).length > 0;
        if (inWindow) f.killsInWriteWindow++;
        const r = await client;
        if (r.code === 0) f.killsAfterAnswer++;
        else if (sawChallenge) f.killsInFlight++;
        else f.killsBeforeRequest++;
        if (r.code !== 0 && !/daemon/.test(r.stderr)) {
          io.fail(
            `daemon crash: the client's failure does not name the daemon: ${r.stderr.trim()}`,
          );
        }
        const stored = readOrNull(path);
        const isOld = bytesEqual(stored, old);
        const isNew = bytesEqual(stored, next);
        if (!isOld && !isNew) {
          f.partial++;
          io.fail(
            `daemon crash: after a kill at ${
              killedAt.toFixed(1)
            } ms the credential is neither old nor new`,
          );
        }
        if (r.code === 0 && !isNew) {
          f.lostAcknowledged++;
          io.fail("daemon crash: an add acknowledged before the kill is not on disk");
        }
        daemon = await startDaemon(spool);
        generation += 2;
        const ok = await add(generation);
        if (ok.code !== 0) io.fail(`daemon crash: the add after a restart failed: ${ok.stderr}`);
        const left = await tempFiles(spool.krb);
        if (left.length > 0) {
          f.debrisAfterNextAdd++;
          io.fail(`daemon crash: temp files left after the next add: ${left.join(", ")}`);
        }
        if (!bytesEqual(readOrNull(path), filled(generation, credentialSize))) {
          io.fail("daemon crash: the add after a restart is not on disk");
        }
      }
    } finally {
      await challenges.close();
      await temps?.close();
      await renames?.close();
      await daemon.stop().catch(() => {});
    }
  });
  console.log(
    `daemon crash: ${f.kills} kills, ${f.killsInFlight} in flight, ${f.killsInWriteWindow} in the write window`,
  );

  // SIGTERM during a load of concurrent adds.
  const rounds = io.quick ? 2 : 6;
  const load = io.quick ? 16 : 48;
  const sigtermRows: (string | number)[][] = [];
  for (let round = 0; round < rounds; round++) {
    await withSpool(async (spool) => {
      const daemon = await startDaemon(spool);
      const contents = Array.from(
        { length: load },
        (_, i) => `token-${round}-${i}-${crypto.randomUUID()}`,
      );
      const started = performance.now();
      const runs: Promise<RunResult>[] = contents.map((content, i) =>
        runCli(["add-oauth", "-s", `s${i}`, "-P", "-i", "-"], {
          env: daemon.env,
          stdin: content,
          user: tester,
          timeoutMs: 60_000,
        })
      );
      // Stop mid-load: in even rounds once a random number of adds were served, in odd rounds
      // after a random delay from the start (possibly before any was served).
      let target = 0;
      if (round % 2 === 0) {
        target = 1 + Math.floor(Math.random() * load / 4);
        while (
          performance.now() - started < 30_000 &&
          (daemon.log().match(/add-oauth .*: success/g)?.length ?? 0) < target
        ) await sleep(5);
      } else {
        await sleep(Math.random() * 3000);
      }
      const when = target > 0
        ? `${target} served`
        : `${(performance.now() - started).toFixed(0)} ms`;
      const stopped = daemon.stop("SIGTERM");
      const results = await Promise.all(runs);
      const { code, log } = await stopped;
      let acknowledged = 0;
      let lost = 0;
      for (const [i, r] of results.entries()) {
        if (r.code === 0) {
          acknowledged++;
          const stored = readOrNull(`${spool.oauth}/${tester.name}/s${i}.use`);
          if (!bytesEqual(stored, encoder.encode(contents[i]))) {
            lost++;
            io.fail(`daemon SIGTERM: the acknowledged add of s${i} is not on disk`);
          }
        } else if (!/daemon/.test(r.stderr)) {
          io.fail(`daemon SIGTERM: a refused add does not name the daemon: ${r.stderr.trim()}`);
        }
      }
      if (code !== 0 || !/stopped/.test(log)) {
        io.fail(`daemon SIGTERM: exit ${code}; log: ${log.slice(-300)}`);
      }
      const left = await tempFiles(spool.oauth);
      if (left.length > 0) io.fail(`daemon SIGTERM: temp files left: ${left.join(", ")}`);
      f.sigtermAdds += load;
      f.sigtermAcknowledged += acknowledged;
      f.sigtermLost += lost;
      sigtermRows.push([
        round + 1,
        load,
        when,
        acknowledged,
        load - acknowledged,
        lost,
        code,
        left.length,
      ]);
    });
  }
  io.report(
    "## 10. Daemon crash safety",
    "",
    "The crash property of section 1, through the daemon: `csc_tester` adds a " +
      `${credentialSize === 1024 * 1024 ? "1 MiB" : "64 KiB"} Kerberos credential (generation ` +
      "n+1 over n) through a real daemon, and the daemon is killed with SIGKILL at a random " +
      "moment, timed in turn three ways (moments seen through inotify): from the client's " +
      `start, over 1.2 × a typical add (${timing.whole.toFixed(0)} ms; ${modes.whole} kills); ` +
      "from the moment the client created its challenge file (its request is on the way), over " +
      `1.2 × the rest of a typical add (${timing.served.toFixed(0)} ms; ${modes.served} kills); ` +
      "from the moment the daemon's temp file appeared, over 0.8 × its typical life until the " +
      `rename (${timing.written.toFixed(1)} ms; ${modes.written} kills; the event arrives about ` +
      "0.5 ms late and a kill due within 1 ms is sent at once). Then the credential must be " +
      "exactly generation n or n+1 (n+1 when the client was answered), the daemon is " +
      "restarted, and after the next successful add no temp file may be left.",
    "",
    table(["figure", "value"], [
      ["kills sent", f.kills],
      [
        "landed before the client sent its request (the client was told no daemon answers)",
        f.killsBeforeRequest,
      ],
      ["landed with an add in flight (request sent, no answer yet)", f.killsInFlight],
      [
        "landed inside the write window (a temp file present right after the kill)",
        f.killsInWriteWindow,
      ],
      ["landed after the client was answered", f.killsAfterAnswer],
      ["credentials neither old nor new", f.partial],
      ["acknowledged adds lost", f.lostAcknowledged],
      ["temp files left after the next add", f.debrisAfterNextAdd],
    ]),
    "",
    `SIGTERM under load: ${load} concurrent \`add-oauth\` processes as \`csc_tester\` (one ` +
      "service each); the daemon gets SIGTERM once a random number of them were served, or after " +
      "a random delay from the start (alternate rounds). Every " +
      "add that exited 0 must be on disk with its content; the others must say the daemon did " +
      "not answer.",
    "",
    table([
      "round",
      "adds",
      "SIGTERM after",
      "acknowledged",
      "refused (daemon stopping)",
      "acknowledged but lost",
      "daemon exit",
      "temp files",
    ], sigtermRows),
    "",
  );
  return f;
}

// ---- the daemon keeps serving everyone (docs/daemon.md "Limits and fairness") -----------------

/** Figures of the resilience section: each attack, and how the victim fared during it. */
export interface ResilienceFigures {
  /** Silent and half-begun TLS connections: opened / descriptors at the peak over the start /
   * seconds until every descriptor was back. */
  silentConnections: number;
  silentPeakFds: number;
  silentFdsBackSeconds: number;
  /** Worker faults set off / answered with an error / one log line each. */
  workerFaults: number;
  workerFaultsAnswered: number;
  workerFaultLines: number;
  /** The hammering user's answers: 200 / refused by its caps / connections the daemon closed. */
  hammerServed: number;
  hammerRefused: number;
  hammerClosed: number;
  /** Large bodies announced by connections that prove nobody. */
  largeAnnounced: number;
  /** The victim through every phase: requests / answered / median and worst seconds. */
  victimRequests: number;
  victimAnswered: number;
  victimMedianSeconds: number;
  victimWorstSeconds: number;
  /** The daemon's peak resident memory (VmHWM) over all phases, MiB. */
  peakMemoryMib: number;
}

/**
 * The daemon under the attacks of docs/daemon.md "Limits and fairness", one phase each, while the
 * real user csc_tester keeps working (every one of its requests must be answered): silent and
 * half-begun TLS connections (descriptors from /proc), a store worker failing (the test entry
 * testing/faulty_main.ts sets the faults off), one user (csc_other, testing/hammer.ts) hammering
 * the socket with add-krbs on a silent credmon, listings and idle connections, and connections
 * that prove nobody announcing large bodies on both listeners.
 */
export async function daemonResilienceSection(io: SectionIo): Promise<ResilienceFigures | null> {
  const users = await nonRootUsers();
  if (users === null) {
    io.skip("daemon resilience: needs root (a root daemon, real users as clients)");
    return null;
  }
  const [tester, attacker] = users;
  const f: ResilienceFigures = {
    silentConnections: 0,
    silentPeakFds: 0,
    silentFdsBackSeconds: 0,
    workerFaults: 0,
    workerFaultsAnswered: 0,
    workerFaultLines: 0,
    hammerServed: 0,
    hammerRefused: 0,
    hammerClosed: 0,
    largeAnnounced: 0,
    victimRequests: 0,
    victimAnswered: 0,
    victimMedianSeconds: 0,
    victimWorstSeconds: 0,
    peakMemoryMib: 0,
  };
  const times: number[] = [];
  const rows: string[][] = [];
  /** One request of the victim, timed; a failure is a failed property. */
  const victim = async (phase: string, args: string[], options: Parameters<typeof runCli>[1]) => {
    const started = performance.now();
    const r = await runCli(args, { user: tester, timeoutMs: 120_000, ...options });
    times.push((performance.now() - started) / 1000);
    f.victimRequests++;
    if (r.code === 0) f.victimAnswered++;
    else io.fail(`daemon resilience: ${phase}: the victim's ${args.join(" ")}: ${r.stderr.trim()}`);
  };
  const memory = async (pid: number) => {
    const stats = await processStats(pid).catch(() => null);
    if (stats !== null) f.peakMemoryMib = Math.max(f.peakMemoryMib, stats.hwmKiB / 1024);
  };

  // 1. Silent and half-begun connections to the TLS port.
  await withRemote(async (remote) => {
    const { daemon } = remote;
    const token = await remote.tokenFile(
      await remote.token(["-identity", `csc_tester@${DOMAIN}`, "-lifetime", "3600"]),
      tester,
    );
    const far = (args: string[], stdin?: string) =>
      victim("silent TLS connections", [
        ...args,
        "-n",
        `127.0.0.1:${remote.port}`,
        "--token-file",
        token,
      ], {
        env: { ...remote.spool.env, _CONDOR_AUTH_SSL_CLIENT_CAFILE: remote.certs.ca },
        stdin,
      });
    await far(["add-krb", "-i", "-"], "before");
    const before = (await processStats(daemon.pid)).fds;
    let peak = before;
    const held: Deno.Conn[] = [];
    const count = io.quick ? 200 : 1000;
    try {
      held.push(
        ...await silentConnections(remote, {
          count: count,
          each: async (i) => {
            if (i % 25 === 0) peak = Math.max(peak, (await processStats(daemon.pid)).fds);
          },
        }),
      );
      f.silentConnections = count;
      await far(["query-krb"]);
      const start = performance.now();
      let now = peak;
      while (performance.now() - start < 60_000) {
        now = (await processStats(daemon.pid)).fds;
        peak = Math.max(peak, now);
        if (now <= before) break;
        await sleep(100);
      }
      f.silentFdsBackSeconds = (performance.now() - start) / 1000;
      f.silentPeakFds = peak - before;
      if (now > before) {
        io.fail(`daemon resilience: ${now - before} descriptors were not given back`);
      }
      if (peak > before + 64 + 4) {
        io.fail(`daemon resilience: ${peak - before} descriptors over the start; the cap is 64`);
      }
      await memory(daemon.pid);
    } finally {
      closeAll(held);
    }
    rows.push([
      "silent TLS connections",
      `${count} TCP connections to the TLS port (a quarter with the start of a ClientHello), ` +
      "held open; CREDD_MAX_CONNECTIONS 64",
      `at most ${f.silentPeakFds} descriptors over the start; all back ` +
      `${f.silentFdsBackSeconds.toFixed(1)} s after the last connect`,
    ]);
  }, { env: { _CONDOR_CREDD_MAX_CONNECTIONS: "64" } });

  // 2. Store workers failing.
  await withSpool(async (spool) => {
    const { daemon } = await startFaultyDaemon(spool);
    try {
      await victim("worker faults", ["add-oauth", "-s", "svc", "-P", "-i", "-"], {
        env: daemon.env,
        stdin: "v",
      });
      const kinds = ["fault-crash", "fault-throw", "fault-clone"];
      const rounds = io.quick ? 2 : 10;
      for (let i = 0; i < rounds * kinds.length; i++) {
        const [hit] = await Promise.all([
          runCli(["add-oauth", "-s", kinds[i % kinds.length], "-P", "-i", "-"], {
            env: daemon.env,
            user: attacker,
            stdin: "x",
            timeoutMs: 120_000,
          }),
          victim("worker faults", ["query-oauth", "-s", "svc"], { env: daemon.env }),
        ]);
        f.workerFaults++;
        if (hit.code === 1 && /could not handle the request/.test(hit.stderr)) {
          f.workerFaultsAnswered++;
        } else io.fail(`daemon resilience: a worker fault was answered ${hit.code}: ${hit.stderr}`);
      }
      await memory(daemon.pid);
    } finally {
      const { code, log } = await daemon.stop();
      f.workerFaultLines = log.split("\n").filter((l) => / store worker store-\d/.test(l)).length;
      if (code !== 0) io.fail(`daemon resilience: the daemon exited ${code} after worker faults`);
      if (f.workerFaultLines !== f.workerFaults) {
        io.fail(`daemon resilience: ${f.workerFaultLines} log lines for ${f.workerFaults} faults`);
      }
      if (/^\s+at |Uncaught/m.test(log)) io.fail("daemon resilience: a stack in the daemon's log");
    }
    rows.push([
      "store workers failing",
      `${f.workerFaults} requests of csc_other that make a worker throw, lose it or fail to send ` +
      "its answer (testing/faulty_main.ts), each beside a query of the victim",
      `${f.workerFaultsAnswered} answered with an error; ${f.workerFaultLines} log lines; ` +
      "workers replaced",
    ]);
  });

  // 3. One user hammering the socket.
  await withHammeredDaemon(async (daemon) => {
    const seconds = io.quick ? 20 : 60;
    const attack = hammer(daemon, { user: attacker, seconds });
    await sleep(2000);
    for (let i = 0; i < (io.quick ? 3 : 10); i++) {
      await victim("one user hammering", ["add-oauth", "-s", `s${i}`, "-P", "-i", "-"], {
        env: daemon.env,
        stdin: `t${i}`,
      });
      await victim("one user hammering", ["query-oauth", "-s", `s${i}`], { env: daemon.env });
      await victim("one user hammering", ["list-oauth"], { env: daemon.env });
    }
    await memory(daemon.pid);
    const { run, statuses, closed } = await attack;
    if (run.code !== 0) io.fail(`daemon resilience: the hammer failed: ${run.stderr}`);
    f.hammerServed = statuses["200"] ?? 0;
    f.hammerRefused = (statuses["429"] ?? 0) + (statuses["connect-failed"] ?? 0);
    f.hammerClosed = closed;
    rows.push([
      "one user hammering",
      `csc_other for ${seconds} s: 70 connections sending add-krbs (each waits 20 s for a ` +
      "credmon that never answers), 8 sending listings, 20 idle ones; caps 64 connections, 16 " +
      "per caller, 2 requests per caller at once",
      `${f.hammerServed} of its requests served, ${f.hammerRefused} refused by its caps, ` +
      `${f.hammerClosed} of its connections closed`,
    ]);
  });

  // 4. Connections that prove nobody announce large bodies, on both listeners.
  await withRemote(async (remote) => {
    const { daemon } = remote;
    const held: Deno.Conn[] = [];
    try {
      held.push(...await announceLargeBodies(remote, 130));
      f.largeAnnounced = held.length;
      const big = "b".repeat(1024 * 1024);
      await victim("unproven large bodies", ["add-oauth", "-s", "big", "-P", "-i", "-"], {
        env: daemon.env,
        stdin: big,
      });
      const token = await remote.tokenFile(
        await remote.token(["-identity", `csc_tester@${DOMAIN}`, "-lifetime", "3600"]),
        tester,
      );
      await victim("unproven large bodies", [
        "add-oauth",
        "-s",
        "far",
        "-P",
        "-i",
        "-",
        "-n",
        `127.0.0.1:${remote.port}`,
        "--token-file",
        token,
      ], {
        env: { ...remote.spool.env, _CONDOR_AUTH_SSL_CLIENT_CAFILE: remote.certs.ca },
        stdin: big,
      });
      await memory(daemon.pid);
    } finally {
      closeAll(held);
    }
    rows.push([
      "connections that prove nobody announce large bodies",
      `${f.largeAnnounced} connections (half on the socket, half over TLS) each announce a ` +
      "2 MiB body and send nothing more, then the victim stores a 1 MiB credential both ways",
      "the victim's large adds served (unproven bodies have their own 16 MiB share)",
    ]);
  });

  f.victimMedianSeconds = percentile(times, 0.5);
  f.victimWorstSeconds = Math.max(0, ...times);
  io.report(
    "## 12. The daemon keeps serving everyone",
    "",
    "One attack per phase against a real `serve` as root, while the real user `csc_tester` " +
      "keeps working through the real client: every one of its requests must be answered. " +
      "Descriptors and memory are read from /proc. The limits at work are in " +
      'docs/daemon.md "Limits and fairness" and "When a store worker fails".',
    "",
    table(["phase", "attack", "outcome"], rows),
    "",
    table(["figure", "value"], [
      ["victim requests / answered", `${f.victimRequests} / ${f.victimAnswered}`],
      [
        "victim latency, median / worst (whole command, process start included)",
        `${f.victimMedianSeconds.toFixed(2)} s / ${f.victimWorstSeconds.toFixed(2)} s`,
      ],
      ["daemon peak memory (VmHWM) over the phases", `${f.peakMemoryMib.toFixed(0)} MiB`],
    ]),
    "",
  );
  return f;
}
