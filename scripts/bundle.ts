/**
 * Builds the offline artefact `dist/condor_store_cred.js` with `deno bundle` (`deno task
 * bundle`). Run it with Deno from npm and the program's own permission flags:
 *
 *   npx -y deno@2.9.6 run <RUNTIME_FLAGS> dist/condor_store_cred.js --help
 *
 * Usage: deno task bundle [--out FILE]
 * Permissions: --allow-read, --allow-write=dist, --allow-run (deno bundle), --allow-env.
 */

import { RUNTIME_FLAGS } from "../lib/permissions.ts";
import { VERSION } from "../lib/version.ts";

const root = new URL("..", import.meta.url).pathname;
let out = `${root}dist/condor_store_cred.js`;
if (Deno.args.length === 2 && Deno.args[0] === "--out" && Deno.args[1]) out = Deno.args[1];
else if (Deno.args.length > 0) {
  console.error("usage: deno task bundle [--out FILE]");
  Deno.exit(2);
}

const slash = out.lastIndexOf("/");
await Deno.mkdir(slash > 0 ? out.slice(0, slash) : slash === 0 ? "/" : ".", { recursive: true });
const result = await new Deno.Command(Deno.execPath(), {
  args: ["bundle", "--quiet", "--config", `${root}deno.json`, "-o", out, `${root}main.ts`],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!result.success) {
  console.error(`deno bundle failed with exit code ${result.code}`);
  Deno.exit(1);
}

const bytes = await Deno.readFile(out);
const digest = Array.from(
  new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
  (b) => b.toString(16).padStart(2, "0"),
).join("");
console.log(`built ${out} (condor_store_cred ${VERSION}, ${bytes.length} bytes)`);
console.log(`sha256 ${digest}`);
console.log(`run it with: deno run ${RUNTIME_FLAGS.join(" ")} ${out}`);
