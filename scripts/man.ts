/**
 * Writes the man page `condor_store_cred.1` from the grammar declarations (`deno task man`).
 * A test checks that the committed file equals what this would write.
 *
 * Permissions: --allow-write=condor_store_cred.1
 */

import { renderManPage } from "../lib/cli/manpage.ts";
import { VERSION } from "../lib/version.ts";

const path = new URL("../condor_store_cred.1", import.meta.url);
await Deno.writeTextFile(path, renderManPage(VERSION));
console.log(`wrote ${path.pathname}`);
