/**
 * Builds the offline artefact `dist/condor_store_cred.js` with `deno bundle` (`deno task
 * bundle`). Run it with Deno from npm and the program's own permission flags:
 *
 *   npx -y deno@2.9.6 run <RUNTIME_PERMISSIONS> dist/condor_store_cred.js --help
 *
 * Usage: deno task bundle [--out FILE]
 * Permissions: --allow-read, --allow-write=dist, --allow-run (deno bundle), --allow-env.
 */

import { RUNTIME_PERMISSIONS } from "../lib/permissions.ts";
import { VERSION } from "../lib/version.ts";

const root = new URL("..", import.meta.url).pathname;
const outIndex = Deno.args.indexOf("--out");
const out = outIndex >= 0 ? Deno.args[outIndex + 1] : `${root}dist/condor_store_cred.js`;

await Deno.mkdir(out.slice(0, out.lastIndexOf("/")) || "/", { recursive: true });
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
console.log(
  `built dist/condor_store_cred.js (condor_store_cred ${VERSION}, ${bytes.length} bytes)`,
);
console.log(`sha256 ${digest}`);
console.log(`run it with: deno run ${RUNTIME_PERMISSIONS.join(" ")} ${out}`);
