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
  /**
   * SIGHUPs it has handled so far. A HUP is logged when the stand-in's handler runs, which on a
   * busy machine may be after the signalling process exited: to count the HUPs an action sent,
   * use `hupsReach`.
   */
  hups(): Promise<number>;
  /**
   * Waits until it has logged at least `n` HUPs (or a deadline of 120 s passes) and returns the
   * count then, so that `assert.equal(await credmon.hupsReach(2), 2)` fails on a missing signal
   * and on an extra one alike. Two HUPs sent before the stand-in handles the first are
   * delivered once (signals do not queue): a test that sends several waits for each one's
   * effect before sending the next.
   */
  hupsReach(n: number): Promise<number>;
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
    async hupsReach(n) {
      const deadline = Date.now() + 120_000;
      let seen = await count("HUP");
      while (seen < n && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        seen = await count("HUP");
      }
      return seen;
    },
    scans: () => count("DONE"),
  };
}
