/**
 * The Deno permission flags the program runs with: baked into the compiled binaries and used by
 * the black-box tests, so both run with exactly the same permissions. Scoped where Deno allows:
 * reads and writes cannot be narrowed because the spool paths come from the configuration.
 */
export const RUNTIME_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys=hostname,uid,gid",
  "--allow-run=/bin/kill",
  "--no-prompt",
];
