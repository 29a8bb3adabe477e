/**
 * Builds the offline artefact `dist/condor_store_cred/` with `deno bundle --code-splitting`
 * (`deno task bundle`): a directory whose entry is `condor_store_cred.js`, with one chunk per
 * command and per piece of code the commands share, so that a run compiles only what its command
 * uses (README "Architecture"). Run the entry with Deno from npm and the program's own permission
 * flags:
 *
 *   npx -y deno@2.9.6 run <RUNTIME_FLAGS> dist/condor_store_cred/condor_store_cred.js --help
 *
 * It prints the entry, the directory's size, and one sha256 for the whole directory (of each
 * file's name and sha256, in name order).
 *
 * Usage: deno task bundle [--out DIRECTORY]
 * Permissions: --allow-read, --allow-write=dist, --allow-run (deno bundle), --allow-env.
 */

import { RUNTIME_FLAGS } from "../lib/permissions.ts";
import { VERSION } from "../lib/version.ts";

/** The entry's name inside the bundle's directory. */
export const BUNDLE_ENTRY = "condor_store_cred.js";

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** The sha256 of a bundle directory: of each file's name and sha256, in name order. */
export async function bundleDigest(dir: string): Promise<{ sha256: string; bytes: number }> {
  const names = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name).sort();
  let bytes = 0;
  let listing = "";
  for (const name of names) {
    const data = await Deno.readFile(`${dir}/${name}`);
    bytes += data.length;
    listing += `${name}\0${hex(await crypto.subtle.digest("SHA-256", data))}\n`;
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(listing));
  return { sha256: hex(digest), bytes };
}

/**
 * Deno builds a run's module graph from every import whose specifier is a string literal, dynamic
 * ones included, so a run of the bundle as `deno bundle` writes it reads and analyses every
 * command's chunk at start-up (some 50 files), though it compiles only its own command's. Each
 * `import("./chunk.js")` becomes `import(new URL("./chunk.js", import.meta.url).href)`: the same
 * chunk, resolved the same way, but read only when a run takes that import. (`deno compile` builds
 * from main.ts, whose literal imports tell it what to embed; this applies to the bundle only.)
 */
export function deferDynamicImports(code: string): string {
  return code.replace(
    /\bimport\("(\.\/[\w-]+\.js)"\)/g,
    (_, chunk) => `import(new URL("${chunk}", import.meta.url).href)`,
  );
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  let out = `${root}dist/condor_store_cred`;
  if (Deno.args.length === 2 && Deno.args[0] === "--out" && Deno.args[1]) out = Deno.args[1];
  else if (Deno.args.length > 0) {
    console.error("usage: deno task bundle [--out DIRECTORY]");
    Deno.exit(2);
  }
  out = out.replace(/\/+$/, "");
  // A fresh directory: no chunk of an earlier build may be left beside this one's.
  await Deno.remove(out, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.mkdir(out, { recursive: true });
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--code-splitting",
      "--config",
      `${root}deno.json`,
      "--outdir",
      out,
      `${root}main.ts`,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) {
    console.error(`deno bundle failed with exit code ${result.code}`);
    Deno.exit(1);
  }
  // Nothing imports the entry by name (the daemon's workers run Deno.mainModule).
  await Deno.rename(`${out}/main.js`, `${out}/${BUNDLE_ENTRY}`);
  for (const file of Deno.readDirSync(out)) {
    if (!file.isFile || !file.name.endsWith(".js")) continue;
    const path = `${out}/${file.name}`;
    const code = await Deno.readTextFile(path);
    const deferred = deferDynamicImports(code);
    if (deferred !== code) await Deno.writeTextFile(path, deferred);
  }
  const { sha256, bytes } = await bundleDigest(out);
  const entry = `${out}/${BUNDLE_ENTRY}`;
  console.log(`built ${entry} (condor_store_cred ${VERSION}, ${bytes} bytes in ${out}/)`);
  console.log(`sha256 ${sha256}`);
  console.log(`run it with: deno run ${RUNTIME_FLAGS.join(" ")} ${entry}`);
}
