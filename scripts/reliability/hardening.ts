/**
 * The "hardening" section of scripts/reliability.ts: each class of attack found so far, run by the
 * test suite that covers it.
 */

import { markdownTable as table } from "../report.ts";
import { type Reliability, type ReliabilitySection } from "./harness.ts";

const decoder = new TextDecoder();

/** Each class of attack, and the tests (file, name start) that run it for real. */
const HARDENING: readonly [string, string, string][] = [
  ["credmon pid range", "attack_test.ts", "a credmon pid file outside"],
  ["audit log in another user's reach", "attack_test.ts", "an audit log in the attacker's reach"],
  ["symlinks among a store's ancestors", "attack_test.ts", "a link among a store's ancestors"],
  ["names colliding with the store's own files", "attack_test.ts", "names that collide"],
  ["add racing delete-all", "attack_test.ts", "adds racing a delete-all"],
  ["-i paths planted in sticky directories", "attack_test.ts", "-i paths planted"],
  ["-i /dev/stdin, /dev/fd/N, <(command)", "attack_test.ts", "-i /dev/stdin"],
  ["secrets echoed in usage errors", "attack_test.ts", "usage errors never repeat"],
  ["terminal injection", "attack_test.ts", "escape sequences"],
  ["configuration include fan-out", "config_test.ts", "loadConfig() refuses 20 files"],
  ["long names", "attack_test.ts", "names too long"],
  ["unexpected failures", "attack_test.ts", "inputs that used to end"],
  ["a LOCAL: credential naming a path", "attack_test.ts", "a LOCAL: Kerberos credential"],
  ["secrets in -d output and error paths", "secrets_test.ts", "no input form"],
  ["Windows refuses to store", "windows_test.ts", "run() on Windows refuses"],
  ["a failing store worker", "daemon_resilience_test.ts", "a store worker that fails"],
  ["a store that never answers", "daemon_resilience_test.ts", "a request the store never"],
  ["silent TLS connections", "daemon_resilience_test.ts", "silent and half-begun"],
  ["no descriptor left", "daemon_resilience_test.ts", "when no descriptor is left"],
  ["one user hammering the socket", "daemon_resilience_test.ts", "one user hammering"],
  ["unproven large bodies", "daemon_resilience_test.ts", "connections that prove nobody"],
  ["a neighbour's failed logins", "remote_attack_test.ts", "a neighbour's failed logins"],
  ["a flood of failed logins", "remote_attack_test.ts", "the daemon bounds its failed"],
  ["daemon paths told to a peer", "remote_attack_test.ts", "a peer learns nothing"],
];

async function hardeningSection(ctx: Reliability): Promise<void> {
  const { options, fail, report } = ctx;
  if (options.quick) {
    // `deno task test` runs these tests itself; the quick run does not repeat them.
    return;
  }
  const files = [...new Set(HARDENING.map(([, file]) => file))];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", ...files.map((f) => `tests/${f}`)],
    cwd: new URL("../..", import.meta.url).pathname,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decoder.decode(out.stdout);
  const rows: string[][] = [];
  for (const [name, file, test] of HARDENING) {
    const lines = text.split("\n").filter((l) => l.startsWith(test) && / \.\.\. /.test(l));
    const result = lines.length === 0
      ? "NOT RUN"
      : lines.every((l) => / \.\.\. ok /.test(l))
      ? "refused as required"
      : "FAILED";
    if (result !== "refused as required") fail(`hardening: ${name}: ${result}`);
    rows.push([name, `tests/${file}: ${lines.map((l) => l.split(" ... ")[0]).join("; ")}`, result]);
  }
  report(
    "## 8. Hardening: each class of attack, run for real",
    "",
    "Each class of defect found by attacking the program as a hostile local user would is run " +
      "by a black-box test (as root, with the real unprivileged user `csc_other` as the " +
      "attacker); this section runs those tests and records the outcome.",
    "",
    table(["class", "test", "result"], rows),
    "",
  );
}

export const section: ReliabilitySection = { name: "hardening", run: hardeningSection };
