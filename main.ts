/** Entry point of condor_store_cred: run the program and set the exit status. */
import { createRealIo } from "./lib/io.ts";
import { run } from "./lib/cli/run.ts";
import { inWorker, workerMain } from "./lib/daemon/workers.ts";

// The daemon's store workers run this same module (lib/daemon/workers.ts).
if (inWorker()) workerMain();
else Deno.exitCode = await run(Deno.args, createRealIo());
