/** Entry point of condor_store_cred: run the program and set the exit status. */
import { createRealIo } from "./lib/io.ts";
import { run } from "./lib/cli/run.ts";

Deno.exitCode = await run(Deno.args, createRealIo());
