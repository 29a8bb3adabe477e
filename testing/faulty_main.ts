/**
 * The program, with faults a test can set off in the daemon's store workers: the real `main.ts`
 * path (lib/cli/run.ts) on the main thread, the real worker code (lib/daemon/workers.ts) in the
 * workers, plus these, chosen by the OAuth service name a request carries:
 *
 * - `fault-crash`: a rejection nobody handles, while the request is held (the worker is lost);
 * - `fault-throw`: the store operation throws (the worker is retired);
 * - `fault-clone`: the operation answers with a value that cannot be sent to the daemon's thread;
 * - `fault-hang`: the request is never answered (its deadline, then a ping the worker answers);
 * - `fault-exit`: the worker ends silently (its deadline, then a ping nobody answers).
 *
 * And when the file `$CSC_FAULT_DIR/no-start` exists, a worker fails to load (an error that
 * reaches the daemon's thread), so that a lost worker cannot be replaced.
 *
 * The production code has no such hook: this module wraps it from outside, in tests only
 * (testing/daemon.ts `startDaemon({ entry: FAULTY_MAIN })`). Never import it: it runs the program.
 */

import { createRealIo } from "../lib/io.ts";
import { run } from "../lib/cli/run.ts";
import { OPERATIONS, workerMain } from "../lib/daemon/workers.ts";

/** True in a Web Worker (a store worker of the daemon), as main.ts tells. */
function inWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope;
  return typeof scope === "function" && globalThis instanceof (scope as new () => unknown);
}

function serviceOf(payload: unknown): unknown {
  return (payload as { service?: unknown } | null)?.service;
}

if (inWorker()) {
  const dir = Deno.env.get("CSC_FAULT_DIR");
  if (dir !== undefined && Deno.statSync(dir).isDirectory) {
    let blocked = false;
    try {
      blocked = Deno.statSync(`${dir}/no-start`).isFile;
    } catch {
      // No marker: start normally.
    }
    if (blocked) throw new Error("this store worker cannot load (test fault)");
  }
  const real = OPERATIONS.perform;
  const operations = OPERATIONS as Record<string, unknown>;
  operations.perform = (...args: Parameters<typeof real>) => {
    const service = serviceOf(args[2]);
    if (service === "fault-throw") throw new TypeError("the store tripped (test fault)");
    if (service === "fault-clone") return Promise.resolve({ reply: () => "not cloneable" });
    if (service === "fault-hang") return new Promise(() => {});
    if (service === "fault-crash") {
      Promise.reject(new Error("a rejection nobody handles (test fault)"));
      return new Promise(() => {});
    }
    if (service === "fault-exit") {
      (globalThis as unknown as { close(): void }).close();
      return new Promise(() => {});
    }
    return real(...args);
  };
  workerMain();
} else {
  queueMicrotask(async () => {
    Deno.exitCode = await run(Deno.args, createRealIo());
  });
}
