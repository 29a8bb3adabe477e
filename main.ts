/** Entry point of condor_store_cred: run the program and set the exit status. */
import { createRealIo } from "./lib/io.ts";
import { run } from "./lib/cli/run.ts";

/** True when this code runs inside a Web Worker (one of the daemon's store workers). */
function inWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope;
  return typeof scope === "function" && globalThis instanceof (scope as new () => unknown);
}

if (inWorker()) {
  // The daemon's store workers run this same module (lib/daemon/workers.ts), which is loaded
  // only here, so that no other run parses it. Messages that arrive while it loads are kept
  // and handed to its handler in order.
  const scope = globalThis as unknown as { onmessage: ((event: MessageEvent) => void) | null };
  const early: MessageEvent[] = [];
  scope.onmessage = (event) => early.push(event);
  import("./lib/daemon/workers.ts").then(({ workerMain }) => {
    workerMain();
    for (const event of early) scope.onmessage?.(event);
  });
} // The program runs from a microtask, once the module's top level has returned: V8 records the
// line and column of every function on the stack when an Error is made (a missing file is one),
// and the bundle's top level spans the whole file, which would then be parsed again (~4 ms per
// run).
else {
  queueMicrotask(async () => {
    Deno.exitCode = await run(Deno.args, createRealIo());
  });
}
