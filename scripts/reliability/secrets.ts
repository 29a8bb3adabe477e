/**
 * The "secrets" section of scripts/reliability.ts: no secret in argv, the environment, outputs or a
 * core dump.
 */

import {
  baseEnv,
  IS_ROOT,
  programCommand,
  runCli,
  startCredmon,
  withSpool,
} from "../../testing/harness.ts";
import { markdownTable as table } from "../report.ts";
import {
  MIB,
  readOrNull,
  type Reliability,
  type ReliabilitySection,
  sh,
  spawnProgram,
} from "./harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function randomSecret(): string {
  return `SECRET-${
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }`;
}

/** Every /proc/<pid>/cmdline and environ that contains `secret`. */
function procHolding(secret: string): string[] {
  const found: string[] = [];
  const needle = encoder.encode(secret);
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    for (const file of ["cmdline", "environ"]) {
      const bytes = readOrNull(`/proc/${entry.name}/${file}`);
      if (bytes !== null && indexOf(bytes, needle) >= 0) found.push(`/proc/${entry.name}/${file}`);
    }
  }
  return found;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Counts occurrences of `needle` in a (possibly huge) file with grep, which streams it. */
async function countInCore(path: string, needle: string): Promise<number> {
  const quoted = (t: string) => `'${t.replaceAll("'", `'\\''`)}'`;
  // -z: NUL-separated records, so the long zero runs of a core keep grep's memory small;
  // -o prints each match followed by a NUL, which tr/wc count.
  const r = await sh(
    `grep -F -a -o -z -- ${quoted(needle)} ${quoted(path)} | tr -cd '\\000' | wc -c`,
  );
  return Number(r.stdout.trim());
}

async function secretsSection(ctx: Reliability): Promise<void> {
  const { options, figures, fail, skip, report } = ctx;
  const rows: (string | number)[][] = [];
  await withSpool(async (spool) => {
    // (a) argv and environment of every process while add reads the secret from stdin.
    for (
      const [label, args] of [["-p -", ["add", "-c", "-p", "-"]], ["-i -", [
        "add-krb",
        "-i",
        "-",
      ]]] as const
    ) {
      const secret = randomSecret();
      const command = await programCommand();
      const child = new Deno.Command(command[0], {
        args: [...command.slice(1), ...args],
        clearEnv: true,
        env: { ...(await baseEnv()), ...spool.env },
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(encoder.encode(secret));
      await new Promise((r) => setTimeout(r, 300)); // it has read the secret and waits for EOF
      const holding = procHolding(secret);
      await writer.close();
      await child.status;
      figures.secretChecks++;
      if (holding.length > 0) {
        figures.secretLeaks++;
        fail(`secret of ${label} visible in ${holding.join(", ")}`);
      }
      rows.push([
        `/proc/*/cmdline and environ during add with ${label}`,
        holding.length === 0 ? "not found" : `FOUND in ${holding.join(", ")}`,
      ]);
    }
    // Positive control: -p VALUE does put it in argv (and the program warns about exactly that).
    // The pool lock is held meanwhile, so the process waits (CRED_LOCK_TIMEOUT 5) and is seen.
    {
      const secret = randomSecret();
      const command = await programCommand();
      await runCli(["add", "-c", "-p", "-"], { env: spool.env, stdin: "pool" });
      const lock = await Deno.open(`${spool.root}/spool/passwords.d/.locks/POOL.lock`, {
        read: true,
        write: true,
      });
      lock.lockSync(true);
      const child = new Deno.Command(command[0], {
        args: [...command.slice(1), "add", "-c", "-p", secret],
        clearEnv: true,
        env: { ...(await baseEnv()), ...spool.env, _CONDOR_CRED_LOCK_TIMEOUT: "5" },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let seen: string[] = [];
      for (let i = 0; i < 200 && seen.length === 0; i++) {
        seen = procHolding(secret);
        await new Promise((r) => setTimeout(r, 10));
      }
      lock.close();
      const out = await child.output();
      if (seen.length === 0) fail("secrets: the -p VALUE control was not found in argv");
      const warned = decoder.decode(out.stderr).includes("visible to other processes");
      rows.push([
        "control: -p VALUE (the documented, warned-about way)",
        `${seen.length ? "found in argv, as expected" : "NOT FOUND (the scan is broken)"}; ` +
        `warning printed: ${warned}`,
      ]);
    }

    // (b) messages, debug output and the audit log, on success and on every kind of failure.
    const secret = randomSecret();
    const audit = `${spool.root}/audit.log`;
    const env = { ...spool.env, _CONDOR_CRED_AUDIT_LOG: audit };
    const texts: string[] = [];
    for (
      const [args, stdin] of [
        [["add", "-c", "-p", "-", "-d"], secret],
        [["add-krb", "-i", "-", "-d"], secret],
        [
          ["add-oauth", "-s", "v", "-S", "s", "-i", "-", "-d"],
          `{"vault_token":"${secret}","vault_url":"https://h/${secret}"}`,
        ],
        [["add-oauth", "-s", "v", "-S", "s", "-i", "-", "-d"], `not json ${secret}`],
        [["add-oauth", "-s", "bad/name", "-i", "-", "-d"], secret],
        [["add", "-p", "-", "-d"], secret.repeat(10)],
        [
          ["add-oauth", "-s", "v", "-i", "-", "-d"],
          `{"vault_url":"https://evil/${secret}","vault_token":"x"}`,
        ],
      ] as const
    ) {
      // Vault tokens meet a TRUSTED_VAULT_HOSTS list that refuses them.
      const r = await runCli([...args], {
        env: stdin.includes("vault_url")
          ? { ...env, _CONDOR_TRUSTED_VAULT_HOSTS: "trusted.example" }
          : env,
        stdin,
      });
      texts.push(r.stdout, r.stderr);
    }
    texts.push(readOrNull(audit) === null ? "" : decoder.decode(readOrNull(audit)!));
    const leaks = texts.filter((t) => t.includes(secret)).length;
    figures.secretChecks++;
    if (leaks > 0) {
      figures.secretLeaks += leaks;
      fail(`the secret appeared in ${leaks} outputs`);
    }
    rows.push([
      "stdout, stderr, -d output and the audit log of 7 adds (successes and failures)",
      leaks === 0 ? "not found" : `FOUND ${leaks} times`,
    ]);

    // (c) a core dump after the credential was written (during the Kerberos credmon wait).
    if (!options.core) {
      skip("core dump: disabled (--quick or --no-core)");
    } else if (!IS_ROOT || !(await sh("command -v gcore")).stdout.trim()) {
      const why = "core dump: needs root and gcore (Debian package gdb), or pass --no-core";
      if (IS_ROOT) fail(why);
      else skip(why);
    } else {
      const coreSecret = randomSecret();
      await Deno.mkdir(spool.krb, { recursive: true, mode: 0o700 });
      const credmonLog = `${spool.root}/credmon.log`;
      const credmon = await startCredmon(spool.krb, { mode: "krb", log: credmonLog, ignore: true });
      try {
        const child = await spawnProgram(["add-krb", "-i", "-"], {
          ...spool.env,
          _CONDOR_CREDD_POLLING_TIMEOUT: "20",
        }, encoder.encode(coreSecret));
        // Wait until the .cred is written and the credmon was signalled: the add is now waiting.
        for (let i = 0; i < 200; i++) {
          if ((readOrNull(credmonLog)?.length ?? 0) > 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, 200));
        const corePrefix = `${spool.root}/core`;
        const dumped = await sh(`gcore -o ${corePrefix} ${child.pid}`);
        child.kill("SIGKILL");
        await child.status;
        const corePath = `${corePrefix}.${child.pid}`;
        try {
          const info = await Deno.stat(corePath).catch(() => null);
          if (dumped.code !== 0 || info === null) {
            skip(`core dump: gcore failed: ${dumped.stderr.trim().split("\n").at(-1)}`);
          } else {
            // The core is many GiB (V8 reserves large address ranges): grep streams it.
            const count = await countInCore(corePath, coreSecret);
            // Control: the configuration path is in the process's heap, so the scan must find it.
            const control = await countInCore(corePath, spool.config);
            figures.secretChecks++;
            if (count > 0) figures.secretLeaks += count;
            rows.push([
              `core dump (${
                (info.size / MIB / 1024).toFixed(1)
              } GiB) of add-krb after the write, ` +
              `while it waits for the credmon (control: the config path found ${control} times)`,
              count === 0 ? "not found" : `FOUND ${count} copies`,
            ]);
            if (count > 0) fail(`core dump after add holds ${count} copies of the secret`);
            if (control === 0) {
              fail("core dump: the control string was not found; the scan is broken");
            }
          }
        } finally {
          await Deno.remove(corePath).catch(() => {});
        }
      } finally {
        await credmon.stop();
      }
    }
  });
  report(
    "## 6. Secrets stay secret",
    "",
    table(["check", "secret"], rows),
    "",
    "What Deno allows: credentials are read into `Uint8Array`s that the program zeroes as soon " +
      "as they are written (and on every error path); stdin is read straight into those buffers, " +
      "and file writes go from them to the kernel without a copy. What it does not allow: " +
      "JavaScript strings cannot be wiped, so the JSON merge of `-S`/`-A`, the Vault host check " +
      "and `-p VALUE` leave string copies on the V8 heap until it is collected; WebCrypto " +
      "(sealing user passwords) keeps its own copies of key and plaintext; the V8 heap may hold " +
      "stale copies the program cannot reach. The core dump above is taken after a Kerberos add " +
      "(no JSON, no crypto), the case the program can keep clean.",
    "",
  );
}

export const section: ReliabilitySection = { name: "secrets", run: secretsSection };
