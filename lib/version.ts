/**
 * The program's version: one source of truth, the `version` field of deno.json (embedded at
 * build time by the JSON import, so bundles and compiled binaries carry it).
 */

import denoJson from "../deno.json" with { type: "json" };

/** The product version, e.g. `0.1.0`. */
export const VERSION: string = denoJson.version;

/** The `--version` line: product version, Deno version and build target. */
export function versionText(): string {
  return `condor_store_cred ${VERSION} (Deno ${Deno.version.deno}, ${Deno.build.target})\n`;
}
