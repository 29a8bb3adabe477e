/**
 * The Deno permission flags the program runs with: baked into the compiled binaries and used by
 * the black-box tests, so both run with exactly the same permissions. Scoped where Deno allows:
 * reads, writes and the network cannot be narrowed because the store, the daemon's socket and the
 * remote daemon's host come from the configuration and the command line. `--allow-net` covers the
 * Unix socket (Deno counts it as network) and TLS; `--allow-run` only `/bin/kill` (never `-A`,
 * never FFI: the sandbox holds).
 */
export const RUNTIME_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=hostname,uid,gid",
  "--allow-run=/bin/kill",
  "--allow-net",
  "--no-prompt",
];

/**
 * V8 flags the program runs with (V8 spellings), chosen from `deno task bench`'s flag experiment
 * (BENCHMARKS.md): `--no-lazy` compiles every function when the module is compiled, so Deno's
 * code cache, written after the first run, holds all of them and later runs compile nothing
 * (without it the cache holds only the top level and each run compiles again every function it
 * calls). It made every action faster to start and the daemon faster too; `--jitless` started
 * short runs a little faster still but cost the daemon about a third of its queries, so it is not
 * used (one set of flags applies to every command of a binary, `serve` included).
 */
export const RUNTIME_V8_FLAGS: readonly string[] = ["--no-lazy"];

/**
 * Every runtime flag of the program: RUNTIME_PERMISSIONS, then RUNTIME_V8_FLAGS as Deno's
 * `--v8-flags=`. The one list that the compile script bakes in, the tests, the `run` and `demo`
 * tasks, the README's bundle line and the benchmark run with, so that what is measured and tested
 * is what ships.
 */
export const RUNTIME_FLAGS: readonly string[] = [
  ...RUNTIME_PERMISSIONS,
  `--v8-flags=${RUNTIME_V8_FLAGS.join(",")}`,
];
