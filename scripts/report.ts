/**
 * Shared pieces of the generated reports (BENCHMARKS.md, RELIABILITY.md): the machine
 * description and markdown tables. Scripts only; never imported by lib/.
 */

import { VERSION } from "../lib/version.ts";

async function sh(command: string): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: ["-c", command],
    stdout: "piped",
    stderr: "null",
  })
    .output().catch(() => null);
  return out ? new TextDecoder().decode(out.stdout).trim() : "";
}

/** Rows describing this machine: kernel, CPU, memory, the filesystem of `dir`, versions, date. */
export async function machineDescription(dir: string): Promise<string[][]> {
  const cpu = (await sh("grep -m1 'model name' /proc/cpuinfo")).split(":")[1]?.trim() ?? "?";
  const mem = (await sh("grep MemTotal /proc/meminfo")).replace(/\s+/g, " ").split(" ")[1];
  return [
    ["kernel", await sh("uname -srmo")],
    ["CPU", `${cpu} (${await sh("nproc")} cores)`],
    ["memory", mem ? `${(Number(mem) / 1024 / 1024).toFixed(1)} GiB` : "?"],
    ["temp filesystem", await sh(`df -T ${dir} | tail -n 1 | awk '{print $1" "$2}'`)],
    ["Deno", `${Deno.version.deno} (V8 ${Deno.version.v8})`],
    ["condor_store_cred", VERSION],
    ["date", new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC"],
  ];
}

/** A markdown table. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
