/**
 * The "baselines" section of scripts/bench.ts: systemd-creds and git credential-store
 * against the same floor.
 */

import {
  type BenchSection,
  type Case,
  type Context,
  floorCase,
  measure,
  ms,
  ratio,
  type Table,
} from "./harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function commandWorks(argv: string[], stdin = ""): Promise<boolean> {
  try {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(encoder.encode(stdin)).catch(() => {});
    await w.close().catch(() => {});
    return (await child.status).success;
  } catch {
    return false;
  }
}

async function aptInstall(pkg: string): Promise<string | null> {
  if (Deno.uid() !== 0) return "not root, cannot install Debian packages";
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      `apt-get install -y -qq ${pkg} || (apt-get update -qq && apt-get install -y -qq ${pkg})`,
    ],
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stderr: encoder.encode(String(e)) }));
  return out.success ? null : `apt-get install ${pkg} failed: ${decoder.decode(out.stderr).trim()}`;
}

/** systemd-creds and git credential-store, measured against the same floor. */
async function baselineSection(ctx: Context): Promise<Table[]> {
  const dir = `${ctx.work}/baselines`;
  await Deno.mkdir(dir, { recursive: true });
  const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: dir, LANG: "C" };
  const cases: Case[] = [floorCase(ctx, { ...env, DENO_DIR: `${dir}/deno-dir` })];
  const skipped: string[] = [];

  let creds = await commandWorks(["systemd-creds", "--version"]);
  if (!creds) {
    const why = await aptInstall("systemd");
    creds = why === null && await commandWorks(["systemd-creds", "--version"]);
    if (!creds) skipped.push(`systemd-creds: ${why ?? "not available after installing systemd"}`);
  }
  if (creds) {
    const blob = `${dir}/secret.cred`;
    const encrypt = ["systemd-creds", "encrypt", "--with-key=host", "--name=bench", "-", blob];
    if (await commandWorks(encrypt, "secret")) {
      cases.push(
        { name: "systemd-creds encrypt --with-key=host", argv: encrypt, env, stdin: "secret" },
        {
          name: "systemd-creds decrypt",
          argv: ["systemd-creds", "decrypt", "--name=bench", blob, "-"],
          env,
        },
      );
    } else {
      skipped.push("systemd-creds: encrypt --with-key=host failed on this machine (no host key?)");
    }
  }

  let git = await commandWorks(["git", "credential-store", "--help"]) ||
    await commandWorks(["git", "--version"]);
  if (!git) {
    const why = await aptInstall("git");
    git = why === null && await commandWorks(["git", "--version"]);
    if (!git) skipped.push(`git credential-store: ${why ?? "git not available"}`);
  }
  if (git) {
    const file = `${dir}/git-credentials`;
    const store = "protocol=https\nhost=bench.example\nusername=u\npassword=secret\n\n";
    cases.push(
      {
        name: "git credential-store store",
        argv: ["git", "credential-store", "--file", file, "store"],
        env,
        stdin: store,
      },
      {
        name: "git credential-store get",
        argv: ["git", "credential-store", "--file", file, "get"],
        env,
        stdin: "protocol=https\nhost=bench.example\n\n",
      },
    );
  }
  for (const s of skipped) console.log(`skipped baseline ${s}`);
  const stats = await measure(cases, ctx.options.runs);
  const floor = stats[0].median;
  return [{
    title: "Baselines (same run)",
    note: skipped.length ? `Skipped: ${skipped.join("; ")}.` : undefined,
    header: ["command", "median ms", "p95 ms", "ratio to floor"],
    rows: stats.map((s) => [s.name, ms(s.median), ms(s.p95), ratio(s.median, floor)]),
  }];
}

export const section: BenchSection = {
  name: "baselines",
  enabled: (o) => o.baselines,
  run: baselineSection,
};
