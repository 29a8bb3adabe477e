/**
 * The load generator of the daemon benchmarks (scripts/bench.ts): N concurrent keep-alive clients
 * of one `condor_store_cred serve`, over its Unix socket or its TLS port, for a fixed time.
 *
 * Each client opens one connection and proves its identity once with its first request (a
 * durable add of its own `s0`, so the queries that follow find something): on the Unix socket
 * by answering the file-ownership challenge (as root, acting for the user `u<n>@DOMAIN`), over
 * TLS with its own IDTOKEN (`Authorization: Bearer`, sent with every request as the protocol
 * wants). Once every client has proved itself (and, for queries, once the credentials written
 * by those first requests have settled: a second later), the clock starts: each client sends
 * requests back to back (adds of an OAuth access token, `-P`, durable; queries of `s0`; or
 * `whoami`, a proven request that does no store work) until the time is up. Prints one JSON line:
 * requests, seconds, requests per second, p50 and p99 latency (ms), the CPU this process, the
 * daemon and the whole machine used (cores) and the time to connect and prove identity (p50, ms).
 * Exits 1 when any request fails (an HTTP status other than 200 or a reply that is not ok).
 *
 * Usage: deno run -A scripts/bench_load.ts '<JSON options>'
 *   { "transport": "unix", "socket": PATH, "challengeDir": PATH, "kind": "add"|"query"|"whoami",
 *     "clients": 64, "seconds": 5, "domain": "bench.example", "daemonPid": N }
 *   { "transport": "tls", "port": N, "caFile": PATH, "tokensFile": PATH (one per line), ... }
 *
 * Permissions: -A: besides the socket, the TLS port, the CA, the tokens and the challenge files,
 * it reads /proc/self/stat and /proc/<daemon>/stat for CPU use, which Deno grants only to -A.
 */

import { answerChallenge } from "../lib/daemon/challenge.ts";
import { ConnReader, readResponse, writeJsonRequest } from "../lib/daemon/http.ts";
import { decodeChallenge, encodeRequest, PROTOCOL_VERSION } from "../lib/daemon/protocol.ts";
import { SETTLED_MS } from "../lib/fs/facts.ts";
import type { CredRequest } from "../lib/request.ts";

interface LoadOptions {
  readonly transport: "unix" | "tls";
  readonly kind: "add" | "query" | "whoami";
  readonly clients: number;
  readonly seconds: number;
  readonly domain: string;
  readonly socket?: string;
  readonly challengeDir?: string;
  readonly port?: number;
  readonly caFile?: string;
  readonly tokensFile?: string;
  /** The daemon's pid, to report its CPU use too. */
  readonly daemonPid?: number;
}

/** The result line. */
export interface LoadResult {
  readonly kind: string;
  readonly transport: string;
  readonly clients: number;
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU this process used while measuring, in cores (CPU seconds per second). */
  readonly cpuCores: number;
  /** The same for the daemon (`daemonPid`), or null. */
  readonly daemonCpuCores: number | null;
  /** The same for the whole machine (every process: shows who else competed for the cores). */
  readonly machineCpuCores: number;
  readonly connectP50: number;
}

const options = JSON.parse(Deno.args[0] ?? "{}") as LoadOptions;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A little longer than a written file takes to settle (lib/fs/facts.ts SETTLED_MS). */
const SETTLE_MS = SETTLED_MS + 200;
const LIMITS = { idleMs: 60_000, messageMs: 60_000, maxBody: 4 * 1024 * 1024 };

function request(client: number, i: number, kind: "add" | "query"): CredRequest {
  const subject = {
    type: "oauth",
    // Over TLS the token names the caller, who acts for themself; on the socket root acts for u<n>.
    user: options.transport === "unix" ? `u${client}@${options.domain}` : null,
    service: kind === "add" ? `s${i % 4}` : "s0",
    handle: null,
    scopes: null,
    audience: null,
  } as const;
  return kind === "add"
    ? {
      ...subject,
      action: "add",
      accessToken: true,
      credential: encoder.encode(`access-token-${client}-${i}`),
    }
    : { ...subject, action: "query", accessToken: false, minTtl: null };
}

/** CPU time of a process (all its threads), in seconds, from /proc/<pid>/stat. */
function cpuSeconds(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 (1-based; the 3rd field is the first after the name).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Busy CPU time of the whole machine (all but idle and iowait), in seconds, from /proc/stat. */
function machineCpuSeconds(): number {
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - fields[3] - fields[4]) / 100;
}

class Failure extends Error {}

interface Client {
  call(body: unknown, headers?: Record<string, string>, path?: string): Promise<unknown>;
  close(): void;
}

async function connect(): Promise<Client> {
  const conn = options.transport === "unix"
    ? await Deno.connect({ transport: "unix", path: options.socket! })
    : await Deno.connectTls({
      hostname: "127.0.0.1",
      port: options.port!,
      caCerts: [await Deno.readTextFile(options.caFile!)],
    });
  const reader = new ConnReader(conn);
  return {
    async call(body, headers = {}, path = "/v1/request") {
      await writeJsonRequest(conn, "POST", path, body, headers);
      const response = await readResponse(reader, LIMITS);
      const text = decoder.decode(response.body);
      const value = JSON.parse(text);
      if (response.status !== 200) {
        throw new Failure(`${path} answered ${response.status}: ${text.slice(0, 300)}`);
      }
      if (path === "/v1/request" && value.reply?.ok !== true) {
        throw new Failure(`the reply is not ok: ${text.slice(0, 300)}`);
      }
      return value;
    },
    close() {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}

const tokens = options.transport === "tls"
  ? (await Deno.readTextFile(options.tokensFile!)).split("\n").filter(Boolean)
  : [];
if (options.transport === "tls" && tokens.length < options.clients) {
  console.error(`need ${options.clients} tokens, ${options.tokensFile} holds ${tokens.length}`);
  Deno.exit(2);
}

const latencies: number[] = [];
const connectTimes: number[] = [];
let requests = 0;
let start = 0;
let end = 0;
let lastDone = 0;
// Two barriers: every client has proved itself (allReady), then the clock runs (go).
let releaseReady = () => {};
const allReady = new Promise<void>((resolve) => releaseReady = resolve);
let releaseGo = () => {};
const go = new Promise<void>((resolve) => releaseGo = resolve);
let ready = 0;

async function runClient(n: number): Promise<void> {
  const t0 = performance.now();
  const client = await connect();
  const auth: Record<string, string> = options.transport === "tls"
    ? { authorization: `Bearer ${tokens[n]}` }
    : {};
  try {
    // Proving the identity once, with an add of s0 that the queries will find.
    const first = { version: PROTOCOL_VERSION, request: encodeRequest(request(n, 0, "add")) };
    if (options.transport === "unix") {
      const challenge = decodeChallenge(
        await client.call({ version: PROTOCOL_VERSION }, {}, "/v1/challenge"),
      );
      const cleanup = answerChallenge(challenge, options.challengeDir!);
      try {
        await client.call({ ...first, challenge: { id: challenge.id, nonce: challenge.nonce } });
      } finally {
        cleanup();
      }
    } else {
      await client.call(first, auth);
    }
    connectTimes.push(performance.now() - t0);
    if (++ready === options.clients) releaseReady();
    await go;
    for (let i = 1; performance.now() < end; i++) {
      const t = performance.now();
      if (options.kind === "whoami") {
        // A proven request with no store work: the daemon's connection, HTTP and proof alone.
        await client.call({ version: PROTOCOL_VERSION }, auth, "/v1/whoami");
      } else {
        const body = {
          version: PROTOCOL_VERSION,
          request: encodeRequest(request(n, i, options.kind)),
        };
        await client.call(body, auth);
      }
      const done = performance.now();
      latencies.push(done - t);
      requests++;
      if (done > lastDone) lastDone = done;
    }
  } finally {
    client.close();
  }
}

const clients = Array.from({ length: options.clients }, (_, n) => runClient(n));
let cpuBefore = 0;
let daemonCpuBefore = 0;
let machineCpuBefore = 0;
try {
  // Until every client has proved itself, nothing is measured; a failure ends the run.
  await Promise.race([allReady, Promise.all(clients)]);
  if (options.kind === "query") {
    // Queries are measured in a credd's steady state, where the credentials asked for were not
    // written in the last second. Every client has just written its s0, and a daemon thread reads
    // a file changed within the last second again on every query (docs/storage.md "What the
    // daemon remembers"): that first second is not the steady state.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  }
  cpuBefore = cpuSeconds("self");
  if (options.daemonPid) daemonCpuBefore = cpuSeconds(options.daemonPid);
  machineCpuBefore = machineCpuSeconds();
  start = performance.now();
  end = start + options.seconds * 1000;
  lastDone = start;
  releaseGo();
  await Promise.all(clients);
} catch (error) {
  console.error(`load generator: ${(error as Error).message}`);
  Deno.exit(1);
}
const wall = (lastDone - start) / 1000;
const cpu = cpuSeconds("self") - cpuBefore;
const daemonCpu = options.daemonPid ? cpuSeconds(options.daemonPid) - daemonCpuBefore : null;
const machineCpu = machineCpuSeconds() - machineCpuBefore;
const sorted = latencies.sort((a, b) => a - b);
const at = (list: number[], p: number) =>
  list[Math.min(list.length - 1, Math.floor(p * list.length))];
const result: LoadResult = {
  kind: options.kind,
  transport: options.transport,
  clients: options.clients,
  requests,
  seconds: wall,
  perSecond: requests / wall,
  p50: at(sorted, 0.5),
  p99: at(sorted, 0.99),
  cpuCores: cpu / wall,
  daemonCpuCores: daemonCpu === null ? null : daemonCpu / wall,
  machineCpuCores: machineCpu / wall,
  connectP50: at(connectTimes.sort((a, b) => a - b), 0.5),
};
console.log(JSON.stringify(result));
