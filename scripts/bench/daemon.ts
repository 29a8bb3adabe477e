/**
 * The "daemon" section of scripts/bench.ts: the daemon's throughput over the Unix socket and over
 * TLS, and one client process's spawn-to-answer time.
 */

import type { LoadResult } from "../bench_load.ts";
import { makeCertificates } from "../../testing/tls.ts";
import { nonRootUsers, setprivAs } from "../../testing/users.ts";
import {
  type BenchSection,
  type Context,
  DENO,
  DOMAIN,
  makeSpool,
  measure,
  median,
  ms,
  perSecond,
  ratio,
  run,
  SHIPPED_FLAGS,
  type Spool,
  type Table,
} from "./harness.ts";
import {
  combine,
  daemonConfig,
  rotate,
  runLoad,
  startFloor,
  startServe,
  type Throughput,
} from "./serve.ts";

const encoder = new TextEncoder();

/** Median latency of an fsync of a fresh small file and of its directory, in `dir`. */
function fsyncLatency(dir: string, count: number): { file: number; dir: number } {
  const files: number[] = [];
  const dirs: number[] = [];
  for (let i = 0; i < count; i++) {
    const temp = `${dir}/.fsync-probe.tmp`;
    const file = Deno.openSync(temp, { write: true, createNew: true, mode: 0o600 });
    file.writeSync(encoder.encode(`access-token-${i}`));
    let t = performance.now();
    file.syncSync();
    files.push(performance.now() - t);
    file.close();
    Deno.renameSync(temp, `${dir}/fsync-probe`);
    const handle = Deno.openSync(dir, { read: true });
    t = performance.now();
    handle.syncSync();
    dirs.push(performance.now() - t);
    handle.close();
  }
  return { file: median(files), dir: median(dirs) };
}

/** Mints `count` IDTOKENs (u0…u<count-1>@DOMAIN) with `token create`, a few at a time. */
async function mintTokens(program: string[], spool: Spool, count: number): Promise<string[]> {
  const tokens: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      const out = await run(
        [...program, "token", "create", "-identity", `u${n}@${DOMAIN}`, "-lifetime", "86400"],
        spool.env,
      );
      tokens[n] = out.trim();
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return tokens;
}

/**
 * The daemon: `serve` (the shipped bundle and flags) as root on a temp spool, socket and TLS
 * port; durable adds and queries by 64 keep-alive clients over the Unix socket and over TLS,
 * interleaved; one client process's spawn-to-answer time against the in-process path.
 */
async function daemonSection(ctx: Context): Promise<Table[]> {
  const dir = `${ctx.work}/daemon`;
  await Deno.mkdir(`${dir}/tls`, { recursive: true });
  const certs = await makeCertificates(`${dir}/tls`);
  const spool = await makeSpool(dir, [
    ...(await daemonConfig(dir)),
    "CREDD_TLS_ADDRESS = 127.0.0.1:0",
    `AUTH_SSL_SERVER_CERTFILE = ${certs.cert}`,
    `AUTH_SSL_SERVER_KEYFILE = ${certs.key}`,
  ]);
  const { clients, loadSeconds, loadRounds } = ctx.options;
  // The pool password is the POOL signing key of the IDTOKENs.
  await run([...ctx.program, "add", "-c", "-p", "-"], spool.env, "the-pool-signing-key");
  await run([...ctx.program, "add-oauth", "-s", "svc", "-P", "-i", "-"], spool.env, "tok");
  const fsync = fsyncLatency(`${dir}/spool`, ctx.options.quick ? 20 : 200);

  // A real non-root user for the spawn-to-answer case, with a Deno it may execute.
  const [tester] = (await nonRootUsers()) ?? [];
  if (tester === undefined) throw new Error("the daemon section needs root (a non-root user)");
  await run(
    [...ctx.program, "add-oauth", "-u", `${tester.name}@${DOMAIN}`, "-s", "svc", "-P", "-i", "-"],
    spool.env,
    "tok",
  );
  const deno = `${ctx.work}/deno`;
  await Deno.copyFile(DENO, deno);
  await Deno.chmod(deno, 0o755);
  const userDenoDir = `${ctx.work}/deno-dir-${tester.name}`;
  await Deno.mkdir(userDenoDir, { mode: 0o700 });
  await Deno.chown(userDenoDir, tester.uid, tester.gid);

  const daemon = await startServe(ctx.program, spool);
  // The floor: Deno.serve answering the same requests with a fixed reply, doing no work.
  const floorServer = await startFloor(`${dir}/run/floor.sock`, {
    challengeDir: daemon.challengeDir,
    log: `${dir}/floor.log`,
  }).catch(async (error) => {
    await daemon.stop(false);
    throw error;
  });
  let failed = true;
  try {
    if (daemon.tlsPort === null) throw new Error("the daemon did not report its TLS port");
    const tokens = await mintTokens(ctx.program, spool, clients);
    const tokensFile = `${dir}/tokens`;
    await Deno.writeTextFile(tokensFile, tokens.join("\n") + "\n", { mode: 0o600 });

    const results = new Map<string, LoadResult[]>();
    // "floor": the same load generator and clients against the floor server, over its socket.
    const workloads: ["unix" | "tls" | "floor", "add" | "query" | "whoami"][] = [
      ["unix", "add"],
      ["unix", "query"],
      ["unix", "whoami"],
      ["floor", "query"],
      ["tls", "add"],
      ["tls", "query"],
    ];
    for (let r = 0; r < loadRounds; r++) {
      for (const [target, kind] of rotate(workloads, r)) {
        const result = await runLoad(ctx, {
          transport: target === "floor" ? "unix" : target,
          kind,
          seconds: loadSeconds,
          clients,
          daemon: target === "floor" ? floorServer : daemon,
          caFile: certs.ca,
          tokensFile,
        });
        const key = `${target} ${kind}`;
        results.set(key, [...(results.get(key) ?? []), result]);
      }
    }
    const t = (key: string) => combine(results.get(key)!);
    const unixAdd = t("unix add");
    const unixQuery = t("unix query");
    const tlsAdd = t("tls add");
    const tlsQuery = t("tls query");
    const floor = t("floor query");
    const noop = t("unix whoami");
    // CPU the daemon spent per request, in microseconds (cores / requests per second).
    const cpuPer = (x: Throughput) => `${((x.daemonCpu / x.perSecond) * 1e6).toFixed(0)} µs`;

    // One client process: as a real user through the socket, against root in-process.
    const asRoot = [
      ...setprivAs({ uid: 0, gid: 0 }),
      deno,
      "run",
      "--quiet",
      ...SHIPPED_FLAGS,
      ctx.build.bundle,
    ];
    const asUser = [
      ...setprivAs(tester),
      deno,
      "run",
      "--quiet",
      ...SHIPPED_FLAGS,
      ctx.build.bundle,
    ];
    const userEnv = { ...spool.env, HOME: "/", DENO_DIR: userDenoDir };
    const spawnStats = await measure([
      {
        name: "deno run (empty program): start-up floor, as root",
        argv: [
          ...setprivAs({ uid: 0, gid: 0 }),
          deno,
          "run",
          "--quiet",
          ...SHIPPED_FLAGS,
          ctx.emptyProgram,
        ],
        env: spool.env,
      },
      {
        name: "in-process: query-oauth -s svc, as root",
        argv: [...asRoot, "query-oauth", "-s", "svc"],
        env: spool.env,
      },
      {
        name: `through the socket: query-oauth -s svc, as ${tester.name}`,
        argv: [...asUser, "query-oauth", "-s", "svc"],
        env: userEnv,
      },
    ], ctx.options.runs);
    failed = false;

    const spawnFloor = spawnStats[0].median;
    const addTarget = unixAdd.perSecond >= 2000;
    const queryTarget = unixQuery.perSecond >= 10_000;
    const p99Target = unixAdd.p99 < 20 && unixQuery.p99 < 20;
    // Little's law: with `clients` requests always in flight, the mean latency is clients / rate.
    const littleAdd = (clients / unixAdd.perSecond) * 1000;
    const littleQuery = (clients / unixQuery.perSecond) * 1000;
    const workers = 4;
    const floorRatio = unixQuery.perSecond / floor.perSecond;
    const floorTarget = floorRatio >= 0.5;
    const addP99Target = unixAdd.p99 <= 100;
    ctx.findings.push(
      `Against the floor (Deno.serve on a Unix socket answering the same requests with a fixed ` +
        `reply, same ${clients} clients, interleaved rounds): the floor answered ${
          perSecond(floor.perSecond)
        } requests/s (${perSecond(floor.low)}–${perSecond(floor.high)}), the daemon ${
          perSecond(unixQuery.perSecond)
        } queries/s: ${floorRatio.toFixed(2)}x the floor (target ≥ 0.5x: ${
          floorTarget ? "met" : "not met"
        }); durable adds ${perSecond(unixAdd.perSecond)}/s with p99 ${
          ms(unixAdd.p99)
        } ms (target ≤ 100 ms: ${addP99Target ? "met" : "not met"}). Where a query's time goes: ` +
        `the daemon spent ${cpuPer(unixQuery)} of CPU per query, ${cpuPer(noop)} per proven ` +
        `request with no store work (whoami: ${perSecond(noop.perSecond)}/s, ${
          (noop.perSecond / floor.perSecond).toFixed(2)
        }x the floor), and the floor server ${cpuPer(floor)} per request.`,
      `Daemon targets over the Unix socket (${clients} keep-alive clients): durable adds ${
        perSecond(unixAdd.perSecond)
      }/s (target ≥ 2,000: ${addTarget ? "met" : "not met"}), queries ${
        perSecond(unixQuery.perSecond)
      }/s (target ≥ 10,000: ${queryTarget ? "met" : "not met"}), p99 ${ms(unixAdd.p99)} ms ` +
        `(adds) and ${ms(unixQuery.p99)} ms (queries) (target < 20 ms: ${
          p99Target ? "met" : "not met"
        }).`,
      `Over TLS with IDTOKENs: ${perSecond(tlsAdd.perSecond)} adds/s and ${
        perSecond(tlsQuery.perSecond)
      } queries/s (p99 ${ms(tlsAdd.p99)} / ${ms(tlsQuery.p99)} ms).`,
      `One client process through the socket answers in ${ms(spawnStats[2].median)} ms (${
        ratio(spawnStats[2].median, spawnFloor)
      } the floor), against ${ms(spawnStats[1].median)} ms in-process as root.`,
    );
    const row = (label: string, x: Throughput, target: string) => [
      label,
      perSecond(x.perSecond),
      `${perSecond(x.low)}–${perSecond(x.high)}`,
      ms(x.p50),
      ms(x.p99),
      target,
      x.daemonCpu.toFixed(2),
      cpuPer(x),
      x.cpu.toFixed(2),
      x.machineCpu.toFixed(2),
    ];
    const loadNote = `${clients} concurrent keep-alive clients in one load-generator process ` +
      `(scripts/bench_load.ts), each proving its identity once; ${loadRounds} round(s) of ` +
      `${loadSeconds} s per workload, the six workloads (Unix and TLS, adds and queries, whoami ` +
      "and the floor) interleaved. Requests/s over all rounds (range: the rounds' own rates); p50 and p99 ms: " +
      "median over rounds of each round's percentile, per request from send to answer. CPU: " +
      "cores used while measuring (CPU seconds per second), of the daemon (main thread and " +
      `its ${workers} store workers), of the load generator, and of the whole machine (every ` +
      "process: what exceeds the first two is someone else competing for the two cores).";
    return [
      {
        title: "Daemon over the Unix socket",
        note: `${loadNote} Adds are add-oauth -P of an access token (durable: temp file fsync, ` +
          "rename, directory fsync), root acting for 64 users u0…u63 (one lock each); queries " +
          "are query-oauth -s of the same users, measured from a second after each client wrote the " +
          "s0 it proves itself with (a file changed within the last second is read whole by every " +
          'query: docs/storage.md "What the daemon remembers"). ' +
          "The floor is Deno's own HTTP server " +
          "(scripts/bench/floor_server.ts: `Deno.serve` on a Unix socket) answering the same " +
          "requests from the same load generator with a fixed reply and doing no work; its " +
          "rounds are interleaved with the daemon's. whoami is a proven request that does no " +
          "store work: between it and the floor lies the daemon's own connection handling, HTTP " +
          "and proof; between it and a query, the store. Daemon CPU per request: the daemon's " +
          "cores over its requests per second (for the floor, the floor server's).\n\nWhat limits them: (1) two cores shared by " +
          `the daemon and its load generator: during the adds the daemon used ${
            unixAdd.daemonCpu.toFixed(2)
          } cores and the load generator ${unixAdd.cpu.toFixed(2)} (the machine ` +
          `${unixAdd.machineCpu.toFixed(2)}); during the queries ${
            unixQuery.daemonCpu.toFixed(2)
          }, ${unixQuery.cpu.toFixed(2)} and ${unixQuery.machineCpu.toFixed(2)}. (2) fsync: ` +
          `here a file fsync takes ${ms(fsync.file)} ms and a directory fsync ${
            ms(fsync.dir)
          } ms (median); each add waits for both before it is answered, but they run off the ` +
          "store workers' threads, so the fsyncs of concurrent adds overlap and the journal " +
          "commits them together: fsync sets a floor under each add's latency, not a bound on " +
          "the rate. Queries run on the main thread, adds in the workers. (3) Little's law: with " +
          `${clients} requests always in flight, the mean latency is ${clients} / throughput: ` +
          `${ms(littleAdd)} ms at ${perSecond(unixAdd.perSecond)} adds/s, so an add p99 under ` +
          `20 ms needs more than ${perSecond(clients / 0.02)} adds/s even with no variance; ` +
          `for queries the mean is ${ms(littleQuery)} ms at ${
            perSecond(unixQuery.perSecond)
          }/s, so their p99 is set by how evenly the two cores serve the ${clients} clients. ` +
          "With fewer clients in flight the same throughput gives proportionally lower latency.",
        header: [
          "workload",
          "requests/s",
          "range",
          "p50 ms",
          "p99 ms",
          "target",
          "daemon CPU",
          "daemon CPU per request",
          "load CPU",
          "machine CPU",
        ],
        rows: [
          row("durable adds (add-oauth -P)", unixAdd, "≥ 2,000/s, p99 < 20 ms"),
          row("queries (query-oauth -s)", unixQuery, "≥ 10,000/s, p99 < 20 ms"),
          row(
            "proven request, no store work (whoami)",
            noop,
            `queries ${(unixQuery.perSecond / noop.perSecond).toFixed(2)}x this`,
          ),
          row(
            "floor: Deno.serve, fixed reply",
            floor,
            `queries ${floorRatio.toFixed(2)}x this (≥ 0.5x)`,
          ),
        ],
      },
      {
        title: "Remote daemon over TLS",
        note: `The same daemon's TLS listener (CREDD_TLS_ADDRESS=127.0.0.1:0, an openssl EC ` +
          `certificate): ${clients} TLS clients, each with its own IDTOKEN (\`token create ` +
          "-identity u<n>@bench.example\`), sent with every request as the protocol requires " +
          "(so every request is verified: HMAC and a read of the signing key), interleaved " +
          "with the Unix-socket runs above. Connect + first request: TLS handshake (or " +
          "challenge) and the first add, p50 ms.",
        header: [
          "workload",
          "TLS requests/s",
          "Unix requests/s",
          "TLS p50 ms",
          "Unix p50 ms",
          "TLS p99 ms",
          "Unix p99 ms",
          "TLS connect + first request",
          "Unix connect + first request",
        ],
        rows: [
          ["durable adds", tlsAdd, unixAdd] as const,
          ["queries", tlsQuery, unixQuery] as const,
        ].map(([label, tls, unix]) => [
          label,
          perSecond(tls.perSecond),
          perSecond(unix.perSecond),
          ms(tls.p50),
          ms(unix.p50),
          ms(tls.p99),
          ms(unix.p99),
          ms(tls.connectP50),
          ms(unix.connectP50),
        ]),
      },
      {
        title: "Daemon: spawn-to-answer of one client process",
        note: `${ctx.options.runs} runs each, interleaved, all through setpriv (root runs with ` +
          `--reuid=0) and the same copy of Deno. The socket path is ${tester.name} (a real ` +
          "non-root user who may not write the store) running query-oauth -s svc, answered by " +
          "the daemon after a challenge; the in-process path is root running the same query " +
          "itself. Ratio = median / the empty program's median.",
        header: ["path", "median ms", "p95 ms", "ratio to floor"],
        rows: spawnStats.map((s) => [s.name, ms(s.median), ms(s.p95), ratio(s.median, spawnFloor)]),
      },
    ];
  } finally {
    try {
      await floorServer.stop(!failed);
    } finally {
      await daemon.stop(!failed);
    }
  }
}

export const section: BenchSection = {
  name: "daemon",
  enabled: (o) => o.daemon,
  run: daemonSection,
};
