/**
 * The "daemon resilience" section of scripts/reliability.ts: the daemon keeps serving everyone
 * (docs/daemon.md "Limits and fairness"): silent TLS connections, failing store workers, one user
 * hammering the socket and unproven large bodies, while a victim keeps being served. Needs root.
 */

import {
  announceLargeBodies,
  closeAll,
  hammer,
  silentConnections,
  startFaultyDaemon,
  withHammeredDaemon,
} from "../../testing/attacks.ts";
import { processStats } from "../../testing/daemon.ts";
import { withRemote } from "../../testing/remote.ts";
import { nonRootUsers, runCli, withSpool } from "../../testing/harness.ts";
import { markdownTable as table } from "../report.ts";
import { DOMAIN, percentile, type ReliabilitySection, type SectionIo, sleep } from "./harness.ts";

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
async function daemonResilienceSection(io: SectionIo): Promise<ResilienceFigures | null> {
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

export const section: ReliabilitySection = {
  name: "daemon resilience",
  run: async (ctx) => void (ctx.figures.resilience = await daemonResilienceSection(ctx)),
};
