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
