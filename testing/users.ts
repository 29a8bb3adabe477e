/**
 * Real users for the tests (root only): the non-root callers `csc_tester` and `csc_other` (the
 * attacker), and the `condor` system account of a real HTCondor node, each created with useradd
 * when missing.
 */

/** A user the tests may run the program as. */
export interface TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** True when the tests run as root (CI and these machines do). */
export const IS_ROOT = Deno.uid() === 0;

const decoder = new TextDecoder();

/** The passwd entry of `name`, or null. */
export async function lookupUser(name: string): Promise<TestUser | null> {
  const passwd = await Deno.readTextFile("/etc/passwd");
  const line = passwd.split("\n").find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(":");
  return { name, uid: Number(f[2]), gid: Number(f[3]) };
}

/** Creates the system user `name` (with its own group, no home). Throws when useradd fails. */
export async function createSystemUser(name: string): Promise<TestUser> {
  const out = await new Deno.Command("useradd", {
    args: ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
    stdout: "null",
    stderr: "piped",
  }).output();
  const created = await lookupUser(name);
  if (!created) throw new Error(`useradd ${name} failed: ${decoder.decode(out.stderr)}`);
  return created;
}

/** Removes the user `name` and its group. */
export async function removeUser(name: string): Promise<void> {
  await new Deno.Command("userdel", { args: [name], stdout: "null", stderr: "null" }).output();
}

async function ensureUser(name: string): Promise<TestUser> {
  return await lookupUser(name) ?? await createSystemUser(name);
}

let testUsers: [TestUser, TestUser] | null = null;

/**
 * Two real non-root users (created with useradd when missing): a caller and an attacker. Null
 * when the tests do not run as root and cannot create them.
 */
export async function nonRootUsers(): Promise<[TestUser, TestUser] | null> {
  if (!IS_ROOT) return null;
  testUsers ??= [await ensureUser("csc_tester"), await ensureUser("csc_other")];
  return testUsers;
}

/**
 * For `Deno.test({ ignore })`: true when a test that needs root (real users, chown) cannot run.
 * Such tests say "needs root" in their name; `.ci/run` fails when any test is ignored there.
 */
export const NEEDS_ROOT: boolean = !IS_ROOT;

/**
 * Runs `fn` with the `condor` account of a real node: the existing one, or one created with
 * `useradd -r` and removed afterwards.
 */
export async function withCondorUser<T>(fn: (condor: TestUser) => Promise<T>): Promise<T> {
  const existing = await lookupUser("condor");
  const condor = existing ?? await createSystemUser("condor");
  try {
    return await fn(condor);
  } finally {
    if (existing === null) await removeUser("condor");
  }
}

/** True when `command` is on the PATH (for `Deno.test({ ignore })` of tests that drive a tool). */
export async function have(command: string): Promise<boolean> {
  return await new Deno.Command("sh", { args: ["-c", `command -v ${command}`], stdout: "null" })
    .output().then((o) => o.success, () => false);
}

/**
 * The `setpriv` words that run the rest of a command line as `user`: its real and effective uid
 * and gid, no supplementary groups.
 */
export function setprivAs(user: { readonly uid: number; readonly gid: number }): string[] {
  return ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--"];
}
