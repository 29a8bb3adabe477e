/** Entry point of condor_store_cred: run the program and set the exit status. */
import { createRealIo } from "./lib/io.ts";
import { run } from "./lib/cli/run.ts";
import { inWorker, workerMain } from "./lib/daemon/workers.ts";

// The daemon's store workers run this same module (lib/daemon/workers.ts).
if (inWorker()) workerMain();
// The program runs from a microtask, once the module's top level has returned: V8 records the line
// and column of every function on the stack when an Error is made (a missing file is one), and the
// bundle's top level spans the whole file, which would then be parsed again (~4 ms per run).
else {
  queueMicrotask(async () => {
    Deno.exitCode = await run(Deno.args, createRealIo());
  });
}
