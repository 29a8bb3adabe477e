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
  /**
   * Sees each line of output as it comes (and the line being written, perhaps several times as
   * it grows), and once a second decides whether to stop the job
   * early: a reason stops it (the whole process group), null lets it run.
   */
  readonly watch?: {
    line(line: string): void;
    check(elapsedSeconds: number): string | null;
  };
}

/** How it ended. */
export interface JobResult {
  readonly code: number;
  /** stdout and stderr together. */
  readonly output: string;
  readonly seconds: number;
  readonly timedOut: boolean;
  /** Why `watch` stopped it, or null. */
  readonly stopped: string | null;
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
  const kill = () => {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  let timedOut = false;
  let stopped: string | null = null;
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, job.timeoutSeconds * 1000);
  const watcher = job.watch === undefined ? undefined : setInterval(() => {
    const reason = job.watch!.check((performance.now() - start) / 1000);
    if (reason !== null && stopped === null) {
      stopped = reason;
      kill();
    }
  }, 1000);
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    let text = "";
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) job.watch?.line(line);
      // A line still being written ("name ..." while a test runs) counts too.
      if (pending !== "") job.watch?.line(pending);
    }
    return text;
  };
  try {
    const streams = Promise.all([collect(child.stdout), collect(child.stderr)]);
    const status = await child.status;
    // What the tests left running in the group (a daemon a failed test did not stop) would keep
    // the pipes open: it goes now.
    kill();
    const [stdout, stderr] = await streams;
    return {
      code: status.code,
      output: stdout + stderr,
      seconds: (performance.now() - start) / 1000,
      timedOut,
      stopped,
    };
  } finally {
    clearTimeout(timer);
    if (watcher !== undefined) clearInterval(watcher);
    kill();
  }
}
