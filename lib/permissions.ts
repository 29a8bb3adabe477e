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
 * V8 flags of `deno run` forms (V8 spellings), chosen from `deno task bench`'s flag experiment
 * (BENCHMARKS.md): `--no-lazy` compiles every function when the module is compiled, so Deno's
 * code cache (in the caller's own DENO_DIR), written after the first run, holds all of them and
 * later runs compile nothing (without it the cache holds only the top level and each run
 * compiles again every function it calls). It made every action faster to start and left the
 * daemon as fast; `--jitless` started short runs a little faster still but cost the daemon about
 * a third of its queries, so it is not used (one set of flags applies to every command, `serve`
 * included).
 */
export const RUNTIME_V8_FLAGS: readonly string[] = ["--no-lazy"];

/**
 * Every runtime flag of the `deno run` forms: RUNTIME_PERMISSIONS, then RUNTIME_V8_FLAGS as
 * Deno's `--v8-flags=`. The one list that the tests, the `run` and `demo` tasks, the README's
 * bundle line and the benchmark run with.
 */
export const RUNTIME_FLAGS: readonly string[] = [
  ...RUNTIME_PERMISSIONS,
  `--v8-flags=${RUNTIME_V8_FLAGS.join(",")}`,
];

/**
 * What the compiled binaries bake in: RUNTIME_PERMISSIONS and `--no-code-cache`, no V8 flags.
 *
 * A binary made by `deno compile` keeps its V8 code cache in one file of the temp directory,
 * `$TMPDIR/deno-compile-<name>.cache` (usually `/tmp`), shared by every user who runs it, read
 * without any owner check and handed to V8, which runs the compiled code it holds (V8 does not
 * authenticate a code cache: it checks only its version, the source's length and a flag hash). A local user who runs the
 * binary first owns that file and can put any code in it, which root's next run, or the daemon,
 * would then execute. So the binaries run with no code cache, and therefore without `--no-lazy`
 * (which, with nothing cached, compiles every function on every run: slower than lazy
 * compilation; measured in BENCHMARKS.md's "Forms of the program").
 */
export const BINARY_FLAGS: readonly string[] = [...RUNTIME_PERMISSIONS, "--no-code-cache"];
