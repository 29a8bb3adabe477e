/**
 * Credmon stand-ins that write their files exactly as upstream's do (testing/standins/): the
 * Python OAuth credmon (pid 0644 without newline; `.use` 0400 through mkstemp and rename) and the
 * bash Kerberos credmon (`echo $$ > pid`; `.cc` through `.cc.tmp`).
 */

import { baseEnv, readText, REPO } from "./harness.ts";

/** A running stand-in. */
export interface Credmon {
  readonly pid: number;
  stop(): Promise<void>;
  /** SIGHUPs it has received so far. */
  hups(): Promise<number>;
  /** Scans it has finished. */
  scans(): Promise<number>;
}

/** Options of `startCredmon`. */
export interface CredmonOptions {
  readonly mode: "krb" | "oauth";
  /** Where it logs each HUP and finished scan. */
  readonly log: string;
  /** Wait this long after a HUP before processing. */
  readonly delayMs?: number;
  /** Log HUPs but process nothing (a credmon that never answers). */
  readonly ignore?: boolean;
}

const decoder = new TextDecoder();

/**
 * Starts the stand-in credmon of `options.mode` on `dir` (as root; `dir` is created 0700 when
 * missing); resolves once it is ready.
 */
export async function startCredmon(dir: string, options: CredmonOptions): Promise<Credmon> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const program = options.mode === "krb"
    ? ["/bin/bash", `${REPO}/testing/standins/credmon_krb.sh`]
    : ["/usr/bin/python3", `${REPO}/testing/standins/credmon_oauth.py`];
  const child = new Deno.Command(program[0], {
    args: [program[1], dir, options.log],
    clearEnv: true,
    env: {
      ...(await baseEnv()),
      STANDIN_IGNORE: options.ignore ? "1" : "0",
      STANDIN_DELAY_MS: String(options.delayMs ?? 0),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // The stand-in prints "ready" once its pid file is written and its handler installed.
  const reader = child.stdout.getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`credmon stand-in (${options.mode}) exited early`);
    seen += decoder.decode(value);
  }
  reader.releaseLock();
  const count = async (word: string) => {
    const text = await readText(options.log);
    return text === null ? 0 : text.split("\n").filter((l) => l.startsWith(word)).length;
  };
  return {
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
    hups: () => count("HUP"),
    scans: () => count("DONE"),
  };
}
