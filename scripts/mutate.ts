/**
 * Mutation check (`deno task mutate`): breaks the program on purpose, one behaviour at a time, in
 * a scratch copy of the repository, runs the tests that guard that behaviour, and prints a table.
 * Every mutation must be caught (the tests fail); the script exits 1 when one is not, or when
 * the tests do not pass on the unmutated copy.
 *
 * `deno task mutate --generated [options]` runs generated mutants instead of this list
 * (scripts/mutation/run.ts, TESTING.md).
 *
 * Usage: deno task mutate [--only SUBSTRING] [--keep] | deno task mutate --generated [options]
 * Permissions: -A (it copies the repository and runs `deno test` as the tests need).
 */

import { main as generated } from "./mutation/run.ts";
import { copyRepository } from "./mutation/tree.ts";

/** One deliberate break. */
interface Mutation {
  /** The behaviour that must hold. */
  readonly behaviour: string;
  readonly file: string;
  /** Text that must occur exactly once in `file`. */
  readonly from: string;
  readonly to: string;
  /** Test files (under tests/) that must catch it, and an optional --filter. */
  readonly tests: readonly string[];
  readonly filter?: string;
}

/** The mutations: the seven the suite once missed, then the storage rules of docs/storage.md. */
export const MUTATIONS: readonly Mutation[] = [
  {
    behaviour: "no secret in output: -d never shows a -p value",
    file: "lib/cli/commands/action.ts",
    from: "debug(`reading the credential from ${describeSource(source)}`);",
    to: "debug(`reading the credential from ${JSON.stringify(source)}`);",
    tests: ["secrets_test.ts"],
  },
  {
    behaviour: "lock timeout lasts CRED_LOCK_TIMEOUT, not 4x",
    file: "lib/fs/lock.ts",
    from: "const deadline = Date.now() + options.timeoutSeconds * 1000;",
    to: "const deadline = Date.now() + options.timeoutSeconds * 4000;",
    tests: ["timeouts_test.ts"],
  },
  {
    behaviour: "credmon timeout lasts CREDD_POLLING_TIMEOUT, not 4x",
    file: "lib/store/credmon.ts",
    from: "const deadline = Date.now() + Math.max(0, timeoutSeconds) * 1000;",
    to: "const deadline = Date.now() + Math.max(0, timeoutSeconds) * 4000;",
    tests: ["timeouts_test.ts"],
  },
  {
    behaviour: "--json reports a pending result as pending",
    file: "lib/output/json.ts",
    from: `  const status: JsonStatus = pending
    ? "pending"`,
    to: `  const status: JsonStatus = pending
    ? "stored"`,
    tests: ["json_test.ts"],
  },
  {
    behaviour: "a group-writable ancestor is refused",
    file: "lib/fs/directories.ts",
    from: `  if ((mode & STICKY) !== 0) return;
  if ((mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && !isCondorGroupDirectory(owners, info))) {`,
    to: `  if ((mode & STICKY) !== 0) return;
  if ((mode & 0o002) !== 0) {`,
    tests: ["security_test.ts"],
    filter: "insecure ancestor",
  },
  {
    behaviour: "a killed writer's temp file is removed by the next add (journal)",
    file: "lib/fs/lock.ts",
    from: "  if (valid) {",
    to: "  if (valid && false) {",
    tests: ["fs_test.ts"],
  },
  {
    behaviour: "the temp file is created exclusively",
    file: "lib/fs/files.ts",
    from:
      "file = Deno.openSync(tempPath, { write: true, createNew: true, mode: options.mode ?? 0o600 });",
    to:
      "file = Deno.openSync(tempPath, { write: true, create: true, truncate: true, mode: options.mode ?? 0o600 });",
    tests: ["fs_test.ts"],
  },
  {
    behaviour: "a symlinked credential is refused",
    file: "lib/fs/files.ts",
    from: `  if (info.isSymlink) throw insecure("", path, "it is a symbolic link", fix);`,
    to: "",
    tests: ["security_test.ts"],
    filter: "symlinked credential",
  },
  {
    behaviour: "a hard-linked credential is refused",
    file: "lib/fs/files.ts",
    from: "  if ((info.nlink ?? 1) > 1) {",
    to: "  if ((info.nlink ?? 1) > 99) {",
    tests: ["security_test.ts"],
    filter: "hard-linked",
  },
  {
    behaviour: "a credential owned by another user is refused",
    file: "lib/fs/files.ts",
    from: "  if (!isTrustedOwner(owners, info.uid)) {",
    to: "  if (false) {",
    tests: ["security_test.ts"],
    filter: "owned by another user",
  },
  {
    behaviour: "a secret file readable by group or others is refused",
    file: "lib/fs/files.ts",
    from: `if (role === "secret" && (mode & 0o077) !== 0) {`,
    to: `if (role === "secret" && (mode & 0o022) !== 0) {`,
    tests: ["security_test.ts"],
    filter: "mode 0644",
  },
  {
    behaviour: "a group-writable store directory (not condor's setgid one) is refused",
    file: "lib/fs/directories.ts",
    from:
      `  if ((mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && !isCondorGroupDirectory(owners, info))) {
    throw refuse(
      path,
      \`its mode \${octal(mode)} makes it writable by group or others\`,`,
    to: `  if ((mode & 0o002) !== 0) {
    throw refuse(
      path,
      \`its mode \${octal(mode)} makes it writable by group or others\`,`,
    tests: ["security_test.ts"],
    filter: "group-writable credential directory",
  },
  {
    behaviour: "only condor's group makes a setgid directory shareable",
    file: "lib/fs/owners.ts",
    from: "return owners.condor !== null && info.gid === owners.condor.gid &&",
    to: "return owners.condor !== null &&",
    tests: ["security_test.ts"],
    filter: "root:condor 2770",
  },
  {
    behaviour: "a link on the store's path is followed only when a trusted owner owns it",
    file: "lib/fs/directories.ts",
    from: `    symlink(path, info) {
      if (isTrustedOwner(owners, info.uid)) return;`,
    to: `    symlink(path, info) {
      if (info) return;`,
    tests: ["attack_test.ts"],
    filter: "link among",
  },
  {
    behaviour: "the user's mark is removed before the write",
    file: "lib/store/write.ts",
    from: "  if (write.user !== null) removeMark(write.store, write.user);\n",
    to: "",
    tests: ["real_node_test.ts"],
    filter: "mark",
  },
  {
    behaviour: "names beginning with a dot (.locks) are refused",
    file: "lib/store/names.ts",
    from: `  if (value.startsWith(".")) {`,
    to: `  if (value === "." || value === "..") {`,
    tests: ["attack_test.ts"],
    filter: "collide",
  },
  {
    behaviour: "user names that collide with the store's own files are refused",
    file: "lib/store/names.ts",
    from:
      "    if (RESERVED_USERS.has(value) || RESERVED_SUFFIXES.some((s) => value.endsWith(s))) {",
    to: "    if (false) {",
    tests: ["attack_test.ts"],
    filter: "collide",
  },
  {
    behaviour: "a credmon pid must be between 2 and PID_MAX_LIMIT",
    file: "lib/store/credmon.ts",
    from: "  return pid >= 2 && pid < max ? pid : null;",
    to: "  return pid > 1 ? pid : null;",
    tests: ["attack_test.ts"],
    filter: "pid file",
  },
  {
    behaviour: "-i follows a link in a sticky directory only when the caller or its owner owns it",
    file: "lib/fs/input_path.ts",
    from: "      if (isStickyShared(parent) && info.uid !== euid && info.uid !== parent.uid) {",
    to: "      if (false) {",
    tests: ["attack_test.ts"],
    filter: "sticky directory are refused",
  },
  {
    behaviour: "the audit log's directory gets the store's directory rules (not /tmp)",
    file: "lib/store/audit.ts",
    from: "const dir = storeDirectory(dirname(path), ctx.owners, { checked: ctx.roots });",
    to:
      "const dir = storeDirectory(dirname(path), ctx.owners, { checked: ctx.roots, loose: true });",
    tests: ["attack_test.ts"],
    filter: "audit log",
  },
  {
    behaviour: "names too long for the store's file names are refused up front",
    file: "lib/store/names.ts",
    from: "  if (longest > NAME_MAX) {",
    to: "  if (longest > NAME_MAX + 100) {",
    tests: ["attack_test.ts"],
    filter: "too long",
  },
  {
    behaviour: "the pool password is written in the XOR format (foobar2 test vector)",
    file: "lib/crypto/scramble.ts",
    from: "const KEY = [0xde, 0xad, 0xbe, 0xef] as const;",
    to: "const KEY = [0xde, 0xad, 0xbe, 0xee] as const;",
    tests: ["password_test.ts"],
  },
  {
    behaviour: "a non-root caller may not act on another user's credentials through the service",
    file: "lib/store/service.ts",
    from: "  if (target.user === caller.name && target.domain === caller.domain) return;",
    to: "  return;",
    tests: ["service_test.ts"],
    filter: "refuses",
  },
  {
    behaviour: "the daemon's identity file must carry the time the challenge's nonce names",
    file: "lib/daemon/challenge.ts",
    from: "  if (info.mtime?.getTime() !== challengeTime(nonce)) {",
    to: "  if (false) {",
    tests: ["daemon_test.ts"],
    filter: "moved onto a challenge",
  },
  {
    behaviour: "the daemon's identity file must not be writable by others",
    file: "lib/daemon/challenge.ts",
    from: "  if ((info.mode! & 0o022) !== 0) {",
    to: "  if ((info.mode! & 0o022) !== 0 && false) {",
    tests: ["daemon_test.ts"],
    filter: "moved onto a challenge",
  },
  {
    behaviour: "a wrong nonce does not use up someone else's pending challenge",
    file: "lib/daemon/challenge.ts",
    from: `    const pending = this.#pending.get(id);
    if (pending === undefined) throw refuse(`,
    to: `    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    if (pending === undefined) throw refuse(`,
    tests: ["daemon_test.ts"],
    filter: "faked identity",
  },
  {
    behaviour: "the daemon refuses a challenge answered with another nonce",
    file: "lib/daemon/challenge.ts",
    from: "    if (!constantTimeEqual(pending.nonce, nonce)) {",
    to: "    if (!constantTimeEqual(pending.nonce, pending.nonce)) {",
    tests: ["daemon_test.ts"],
    filter: "faked identity",
  },
  {
    behaviour: "the service enforces credential limits whoever calls it",
    file: "lib/store/service.ts",
    from: '    if (request.action === "add") checkCredential(request.type, request.credential);',
    to: "",
    tests: ["daemon_test.ts"],
    filter: "enforces the credential limits",
  },
  {
    behaviour: "no caller can forge a line of the daemon's log (line breaks are escaped)",
    file: "lib/errors.ts",
    from: 'if (c === "\\n") return "\\\\n";',
    to: 'if (c === "\\n") return "\\n";',
    tests: ["daemon_test.ts"],
    filter: "enforces the credential limits",
  },
  {
    behaviour: "Kerberos and OAuth of another domain are refused through the daemon",
    file: "lib/store/service.ts",
    from: "  if (!target.pool && byUserName && target.domain !== domain) {",
    to: "  if (false) {",
    tests: ["service_test.ts"],
    filter: "refuses",
  },
  {
    behaviour: "a bare CRED_SUPER_USERS name is a user of this domain only",
    file: "lib/store/service.ts",
    from:
      '  return list.includes(caller.name) && caller.domain === (config.get("UID_DOMAIN") ?? "");',
    to: "  return list.includes(caller.name);",
    tests: ["remote_test.ts"],
    filter: "domain counts",
  },
  {
    behaviour: "the compiled binaries never use the code cache file in the shared temp directory",
    file: "lib/permissions.ts",
    from:
      'export const BINARY_FLAGS: readonly string[] = [...RUNTIME_PERMISSIONS, "--no-code-cache"];',
    to: "export const BINARY_FLAGS: readonly string[] = [...RUNTIME_PERMISSIONS];",
    tests: ["build_test.ts"],
    filter: "bakes exactly",
  },
];

interface Options {
  readonly only: string | null;
  readonly keep: boolean;
}

function parseOptions(args: string[]): Options {
  let only: string | null = null;
  let keep = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--only") only = args[++i] ?? "";
    else if (args[i] === "--keep") keep = true;
    else {
      console.error(`unknown argument ${args[i]}; usage: deno task mutate [--only TEXT] [--keep]`);
      Deno.exit(2);
    }
  }
  return { only, keep };
}

async function runTests(dir: string, tests: readonly string[], filter?: string) {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "--allow-all",
      ...(filter ? ["--filter", filter] : []),
      ...tests.map((t) => `tests/${t}`),
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const summary = /^(ok|FAILED) \| .*$/m.exec(text)?.[0] ?? "no summary (did not compile?)";
  const failures = text.slice(text.indexOf(" ERRORS "));
  // Caught means a test ran and failed: a mutation that breaks compilation, or a filter that
  // selects no test, proves nothing.
  const failed = Number(/ (\d+) failed/.exec(summary)?.[1] ?? 0);
  const ran = Number(/ (\d+) passed/.exec(summary)?.[1] ?? 0) + failed;
  return {
    passed: out.success,
    testFailed: failed > 0,
    ran,
    summary,
    failures,
    seconds: (performance.now() - start) / 1000,
  };
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  const chosen = MUTATIONS.filter((m) =>
    options.only === null || m.behaviour.includes(options.only)
  );
  const scratch = await Deno.makeTempDir({ prefix: "csc-mutate-" });
  try {
    await copyRepository(scratch);
    // Each mutation's target text must be there exactly once, or the mutation tests nothing.
    for (const m of chosen) {
      const text = await Deno.readTextFile(`${scratch}/${m.file}`);
      const count = text.split(m.from).length - 1;
      if (count !== 1) {
        console.error(`mutation "${m.behaviour}": its text occurs ${count} times in ${m.file}`);
        return 1;
      }
    }
    const files = [...new Set(chosen.flatMap((m) => m.tests))];
    const baseline = await runTests(scratch, files);
    console.log(`baseline (unmutated): ${baseline.summary} (${baseline.seconds.toFixed(0)} s)`);
    if (!baseline.passed) {
      console.error(baseline.failures);
      console.error("the tests fail without any mutation; fix them first");
      return 1;
    }
    const rows: string[][] = [];
    let missed = 0;
    for (const m of chosen) {
      const path = `${scratch}/${m.file}`;
      const original = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, original.replace(m.from, m.to));
      try {
        const r = await runTests(scratch, m.tests, m.filter);
        const caught = r.testFailed;
        if (r.ran === 0) console.error(`  ${m.behaviour}: no test ran (${r.summary})`);
        if (!caught) missed++;
        rows.push([
          m.behaviour,
          m.file,
          `${m.tests.join(", ")}${m.filter ? ` (--filter "${m.filter}")` : ""}`,
          caught ? "caught" : "NOT CAUGHT",
          `${r.seconds.toFixed(1)} s`,
        ]);
        console.log(`${caught ? "caught    " : "NOT CAUGHT"} ${m.behaviour}`);
      } finally {
        await Deno.writeTextFile(path, original);
      }
    }
    console.log("\n| behaviour | mutated file | tests | result | time |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
    console.log(`\n${rows.length - missed} of ${rows.length} mutations caught`);
    return missed === 0 ? 0 : 1;
  } finally {
    if (options.keep) console.log(`scratch copy kept at ${scratch}`);
    else await Deno.remove(scratch, { recursive: true });
  }
}

if (import.meta.main) {
  Deno.exit(
    Deno.args[0] === "--generated" ? await generated(Deno.args.slice(1)) : await main(),
  );
}
