/**
 * The "daemon crash safety" section of scripts/reliability.ts: the daemon killed with SIGKILL in
 * the middle of adds, and stopped with SIGTERM under load; no acknowledged write is lost, no
 * credential is partial, the next add leaves no temp file. Needs root.
 */

import { startDaemon } from "../../testing/daemon.ts";
import { IS_ROOT, nonRootUsers, runCli, type RunResult, withSpool } from "../../testing/harness.ts";
import { markdownTable as table } from "../report.ts";
import {
  bytesEqual,
  filled,
  percentile,
  readOrNull,
  type ReliabilitySection,
  type SectionIo,
  sleep,
  TEMP,
  tempFiles,
} from "./harness.ts";

const encoder = new TextEncoder();

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
async function daemonCrashSection(io: SectionIo): Promise<DaemonCrashFigures | null> {
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
        stdin: filled(n, credentialSize, "daemon-krb"),
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
        const old = filled(generation, credentialSize, "daemon-krb");
        const next = filled(generation + 1, credentialSize, "daemon-krb");
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
        if (!bytesEqual(readOrNull(path), filled(generation, credentialSize, "daemon-krb"))) {
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

export const section: ReliabilitySection = {
  name: "daemon crash safety",
  run: async (ctx) => void (ctx.figures.daemonCrash = await daemonCrashSection(ctx)),
};
