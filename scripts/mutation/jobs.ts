/**
 * One `deno` command of the mutation run (a type check or a test run) in its own process group,
 * killed with everything it started (programs, daemons, credmon stand-ins) when it runs past its
 * time bound.
 */

/** A command to run. */
export interface Job {
  /** Arguments of `deno`. */
  readonly args: readonly string[];
  readonly cwd: string;
  /** Added to this process's environment. */
  readonly env?: Record<string, string>;
  readonly timeoutSeconds: number;
}

/** How it ended. */
export interface JobResult {
  readonly code: number;
  /** stdout and stderr together. */
  readonly output: string;
  readonly seconds: number;
  readonly timedOut: boolean;
}

/** Runs `job` (detached: its own process group, all of it killed on time-out). */
export async function runJob(job: Job): Promise<JobResult> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [...job.args],
    cwd: job.cwd,
    env: { NO_COLOR: "1", ...job.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }, job.timeoutSeconds * 1000);
  try {
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      output: decoder.decode(out.stdout) + decoder.decode(out.stderr),
      seconds: (performance.now() - start) / 1000,
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    // Whatever the tests left running in the group (a daemon a failed test did not stop) goes too.
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // Nothing left.
    }
  }
}
