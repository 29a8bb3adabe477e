/**
 * The reliability and security suite (`deno task reliability`): crash safety under SIGKILL,
 * concurrent writers, full and read-only disks, filesystem attacks, hostile input and secret
 * hygiene, all against the real program; and the daemon (`serve`) under attack by local clients,
 * killed mid-add and stopped under load, and sent forged tokens on its TLS port
 * (scripts/reliability/daemon_*.ts, scripts/reliability/forged_tokens.ts, scripts/forge.ts). It
 * counts everything and writes RELIABILITY.md (fully generated), and exits 1 when any property
 * fails.
 *
 * Each section is one file of scripts/reliability/ exporting a `section` declaration ({name,
 * run(ctx)}, scripts/reliability/harness.ts ReliabilitySection) and one line of SECTIONS below; it
 * adds its figures, report lines, failures and skips to the context. The summary table, which
 * publishes the figures, is here.
 *
 * Usage: deno task reliability [--quick] [--out FILE] [--no-core] [--only SECTION]
 *   --quick    a bounded subset (what `deno task test` runs through tests/reliability_test.ts)
 *   --no-core  skip the core-dump check (gdb's gcore)
 *
 * Needs root for the tmpfs, the non-root attacker user, gcore and the daemon sections; each part
 * that cannot run says why and is reported as skipped.
 *
 * Permissions: -A.
 */

import { IS_ROOT } from "../testing/harness.ts";
import { machineDescription, markdownTable as table } from "./report.ts";
import {
  emptyFigures,
  type Figures,
  type Options,
  type Reliability,
  type ReliabilitySection,
} from "./reliability/harness.ts";
import { section as concurrency } from "./reliability/concurrency.ts";
import { section as daemonAttack } from "./reliability/daemon_attack.ts";
import { section as daemonCrash } from "./reliability/daemon_crash.ts";
import { section as daemonResilience } from "./reliability/daemon_resilience.ts";
import { section as forgedTokens } from "./reliability/forged_tokens.ts";
import { section as crash } from "./reliability/crash.ts";
import { section as filesystemAttacks } from "./reliability/fs_attacks.ts";
import { section as fullDisk } from "./reliability/full_disk.ts";
import { section as fuzz } from "./reliability/fuzz.ts";
import { section as hardening } from "./reliability/hardening.ts";
import { section as hostileInput } from "./reliability/hostile_input.ts";
import { section as secrets } from "./reliability/secrets.ts";

/** Sections in report order: one line each. */
const SECTIONS: readonly ReliabilitySection[] = [
  crash,
  concurrency,
  fullDisk,
  filesystemAttacks,
  hostileInput,
  secrets,
  fuzz,
  hardening,
  daemonAttack,
  daemonCrash,
  forgedTokens,
  daemonResilience,
];

// ---- options ---------------------------------------------------------------------------------

function parseOptions(args: string[]): Options {
  const root = new URL("..", import.meta.url).pathname;
  let quick = false;
  let out = `${root}RELIABILITY.md`;
  let core = true;
  let only: string | null = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--quick") quick = true;
    else if (args[i] === "--only") only = args[++i];
    else if (args[i] === "--out") out = args[++i];
    else if (args[i] === "--no-core") core = false;
    else {
      console.error(
        `unknown argument ${args[i]}; usage: [--quick] [--out FILE] [--no-core] [--only SECTION]`,
      );
      Deno.exit(2);
    }
  }
  return {
    quick,
    only,
    out,
    core: core && !quick,
    kills: quick ? 12 : 200,
    workers: quick ? 32 : 48,
    opsPerWorker: quick ? 3 : 25,
  };
}

// ---- the run's bookkeeping -------------------------------------------------------------------

/** Failed properties (each one fails the run). */
const failures: string[] = [];
/** Sections that could not run, with the reason. */
const skipped: string[] = [];
/** Report sections, in order. */
const report: string[] = [];

function fail(message: string): void {
  failures.push(message);
  console.log(`FAIL ${message}`);
}

/** Summary rows of the daemon sections (a dash for a section that did not run). */
function daemonSummary(figures: Figures): (string | number)[][] {
  const a = figures.daemonAttack;
  const c = figures.daemonCrash;
  const t = figures.tokens;
  const r = figures.resilience;
  const dash = "-";
  return [
    [
      "daemon under attack: hostile requests / connections",
      a ? `${a.hostileRequests} / ${a.hostileConnections}` : dash,
    ],
    [
      "daemon under attack: legitimate requests / succeeded (worst latency)",
      a ? `${a.legitRequests} / ${a.legitSucceeded} (${a.legitWorstMs.toFixed(0)} ms)` : dash,
    ],
    [
      "daemon under a connection churn: legitimate requests / succeeded (not a property)",
      a ? `${a.churnRequests} / ${a.churnSucceeded}` : dash,
    ],
    [
      "daemon under attack: answers afterwards / data intact",
      a ? `${a.answersAfterwards ? "yes" : "no"} / ${a.dataIntact ? "yes" : "no"}` : dash,
    ],
    [
      "daemon kills (SIGKILL) sent / landed with an add in flight / inside the write window",
      c ? `${c.kills} / ${c.killsInFlight} / ${c.killsInWriteWindow}` : dash,
    ],
    ["credentials neither old nor new after a daemon kill", c ? c.partial : dash],
    ["temp files left after the next add through the daemon", c ? c.debrisAfterNextAdd : dash],
    [
      "adds through the daemon during SIGTERM: sent / acknowledged",
      c ? `${c.sigtermAdds} / ${c.sigtermAcknowledged}` : dash,
    ],
    [
      "lost acknowledged writes through the daemon (SIGKILL and SIGTERM)",
      c ? c.lostAcknowledged + c.sigtermLost : dash,
    ],
    ["forged tokens and requests tried / accepted", t ? `${t.tried} / ${t.accepted}` : dash],
    [
      "forged tokens refused with the expected reason",
      t ? `${t.refusedAsExpected} of ${t.tried}` : dash,
    ],
    [
      "daemon exits / internal errors under forged tokens",
      t ? `${t.crashes} / ${t.internalErrors}` : dash,
    ],
    ["valid token served after the forgeries", t ? (t.validServedAtEnd ? "yes" : "no") : dash],
    ["forged requests handled per second", t ? t.perSecond : dash],
    [
      "failed authentications before 429 (default limit) / median 429 answer",
      t ? `${t.limiterFailuresBefore429} / ${t.limiter429Ms.toFixed(1)} ms` : dash,
    ],
    [
      "silent TLS connections: opened / peak descriptors over the start / seconds until all back",
      r
        ? `${r.silentConnections} / ${r.silentPeakFds} / ${r.silentFdsBackSeconds.toFixed(1)}`
        : dash,
    ],
    [
      "store worker faults: set off / answered with an error / log lines",
      r ? `${r.workerFaults} / ${r.workerFaultsAnswered} / ${r.workerFaultLines}` : dash,
    ],
    [
      "one user hammering: its requests served / refused by its caps / connections closed",
      r ? `${r.hammerServed} / ${r.hammerRefused} / ${r.hammerClosed}` : dash,
    ],
    ["large bodies announced by connections proving nobody", r ? r.largeAnnounced : dash],
    [
      "victim during the resilience attacks: requests / answered (median, worst)",
      r
        ? `${r.victimRequests} / ${r.victimAnswered} (${r.victimMedianSeconds.toFixed(2)} s, ` +
          `${r.victimWorstSeconds.toFixed(2)} s)`
        : dash,
    ],
  ];
}

// ---- main ------------------------------------------------------------------------------------

const options = parseOptions(Deno.args);
const started = performance.now();
const figures = emptyFigures();
const ctx: Reliability = {
  options,
  quick: options.quick,
  figures,
  fail,
  skip: (reason) => skipped.push(reason),
  report: (...lines) => report.push(...lines),
};
const ran: string[] = [];
for (const { name, run } of SECTIONS) {
  if (options.only !== null && !name.startsWith(options.only)) continue;
  console.log(`== ${name}`);
  try {
    await run(ctx);
    ran.push(name);
  } catch (error) {
    fail(`${name} crashed: ${(error as Error).stack ?? error}`);
  }
}
// As root every section must really have run; its parts that could not are failures above.
if (IS_ROOT && options.only === null && ran.length !== SECTIONS.length) {
  fail(`only ${ran.length} of ${SECTIONS.length} sections ran`);
}
const minutes = ((performance.now() - started) / 60000).toFixed(1);
const summary = table(["figure", "value"], [
  ["sections run", `${ran.length} of ${SECTIONS.length}`],
  [
    "kills (SIGKILL) sent / landed mid-run / inside the write window",
    `${figures.killAttempts} / ${figures.killsMidRun} / ${figures.killsInWriteWindow}`,
  ],
  ["partial or lost credentials after a kill", figures.partialAfterKill],
  ["temp files left after the next successful add", figures.tempFilesAfterNextAdd],
  [
    "concurrent operations planned / answered",
    `${figures.concurrentPlanned} / ${figures.concurrentOps}`,
  ],
  ["lost acknowledged writes", figures.lostWrites],
  ["torn credentials (files and reads)", figures.tornFiles + figures.tornReads],
  ["lock timeout reported clearly (held lock, 1 s)", figures.lockTimeoutClear ? "yes" : "no"],
  [
    "full/read-only disk adds refused clearly",
    `${figures.diskRefusedClearly} of ${figures.diskCases}`,
  ],
  ["old credentials damaged or debris left on a full disk", figures.diskDamage],
  ["hostile inputs tried / refused", `${figures.hostileTried} / ${figures.hostileRefused}`],
  ["hostile inputs that wrote anything", figures.hostileWrote],
  [
    "attacks tried / refused",
    `${figures.attacksTried} / ${figures.attacksRefused} (${figures.attacksAsNonRoot} as a non-root user)`,
  ],
  ["changes made by refused attacks", figures.attackChanges],
  ["secret checks / leaks", `${figures.secretChecks} / ${figures.secretLeaks}`],
  ["fuzz cases run / broken", `${figures.fuzzCases} / ${figures.fuzzBroken}`],
  [
    "stored-shape fuzz cases run / broken",
    `${figures.storedFuzzCases} / ${figures.storedFuzzBroken}`,
  ],
  ...daemonSummary(figures),
]);
const document = [
  "# Reliability and security",
  "",
  `Generated by \`deno task reliability${
    options.quick ? " --quick" : ""
  }\` (scripts/reliability.ts) ` +
  "in one run against the real program; do not edit by hand. " +
  `Result: **${
    failures.length === 0 ? "every property held" : `${failures.length} failure(s)`
  }** (${minutes} min).`,
  "",
  "## Summary",
  "",
  summary,
  "",
  "## Machine",
  "",
  table(["", ""], [
    ...await machineDescription("/tmp"),
    ["ran as", IS_ROOT ? "root (non-root parts as csc_tester / csc_other)" : `uid ${Deno.uid()}`],
  ]),
  "",
  ...report,
  ...(skipped.length ? ["## Not run here", "", ...skipped.map((s) => `- ${s}`), ""] : []),
  ...(failures.length ? ["## Failures", "", ...failures.map((f) => `- ${f}`), ""] : []),
].join("\n");
await Deno.writeTextFile(options.out, document);
console.log(`\n${summary}\n\nwrote ${options.out}`);
Deno.exit(failures.length === 0 ? 0 : 1);
