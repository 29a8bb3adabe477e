/**
 * Real users for the tests (root only): the non-root callers `csc_tester` and `csc_other` (the
 * attacker), and the `condor` system account of a real HTCondor node, each created with useradd
 * when missing and removed again, so that a node where the tests ran is left as it was.
 *
 * Several runs of the suite may share a machine (two clones tested at once). Users the tests
 * create carry the comment `TEST_USER_COMMENT`, and locks in /run keep one run from removing a
 * user another run is using: a test module that uses `csc_tester`/`csc_other` holds a shared
 * lock on `USERS_LOCK` while it runs, and removes the test users when it ends only if it can then
 * take that lock exclusively (no other module, of any run, still uses them); a test that needs
 * the `condor` account holds `CONDOR_LOCK` exclusively while it runs. Users that existed without
 * the comment (a real node's) are never removed.
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

/** The passwd comment (GECOS) of every user the tests create. */
export const TEST_USER_COMMENT = "condor_store_cred tests";
/** Held shared by every test module using the non-root users; exclusively to remove them. */
export const USERS_LOCK = "/run/csc-test-users.lock";
/** Held exclusively by a test that needs the condor account present (or absent). */
export const CONDOR_LOCK = "/run/csc-test-condor.lock";
/** The non-root test users: a caller and an attacker. */
const NON_ROOT_NAMES = ["csc_tester", "csc_other"] as const;

/** A passwd entry, with its comment. */
interface PasswdEntry extends TestUser {
  readonly comment: string;
}

function passwdEntry(passwd: string, name: string): PasswdEntry | null {
  const line = passwd.split("\n").find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(":");
  return { name, uid: Number(f[2]), gid: Number(f[3]), comment: f[4] ?? "" };
}

/** The passwd entry of `name`, or null. */
export async function lookupUser(name: string): Promise<TestUser | null> {
  const entry = passwdEntry(await Deno.readTextFile("/etc/passwd"), name);
  return entry === null ? null : { name, uid: entry.uid, gid: entry.gid };
}

/** True when a `condor` account exists that the tests created (it has their comment). */
async function isTestCondor(): Promise<boolean> {
  const entry = passwdEntry(await Deno.readTextFile("/etc/passwd"), "condor");
  return entry !== null && entry.comment === TEST_USER_COMMENT;
}

/** True when `name` exists and was not created by the tests (a real node's account). */
export async function isRealUser(name: string): Promise<boolean> {
  const entry = passwdEntry(await Deno.readTextFile("/etc/passwd"), name);
  return entry !== null && entry.comment !== TEST_USER_COMMENT;
}

/**
 * Creates the system user `name` (with its own group, no home, the tests' comment). Throws when
 * useradd fails.
 */
export async function createSystemUser(name: string): Promise<TestUser> {
  const out = await new Deno.Command("useradd", {
    args: [
      "--system",
      "--user-group",
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      "--comment",
      TEST_USER_COMMENT,
      name,
    ],
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

/** Opens `path` (root's, in /run) and takes its lock; the lock lasts until the file is closed. */
async function takeLock(path: string, exclusive: boolean): Promise<Deno.FsFile> {
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  await file.lock(exclusive);
  return file;
}

let testUsers: [TestUser, TestUser] | null = null;
let usersLock: Deno.FsFile | null = null;

/**
 * Removes the test users once no test module of any run uses them: this module's shared lock is
 * given up, then `flock -n` tries the exclusive one and runs userdel only if it gets it. Users
 * without the tests' comment are left alone. Runs when the test module ends (`unload`, which
 * allows only synchronous work).
 */
function removeTestUsers(): void {
  if (usersLock === null) return;
  usersLock.close();
  usersLock = null;
  const passwd = Deno.readTextFileSync("/etc/passwd");
  const ours = NON_ROOT_NAMES.filter((n) => passwdEntry(passwd, n)?.comment === TEST_USER_COMMENT);
  if (ours.length === 0) return;
  const script = ours.map((n) => `userdel ${n}`).join("; ");
  new Deno.Command("flock", {
    args: ["-n", "-x", USERS_LOCK, "sh", "-c", script],
    stdout: "null",
    stderr: "null",
  }).outputSync();
}

/**
 * Two real non-root users (created with useradd when missing): a caller and an attacker. Null
 * when the tests do not run as root and cannot create them. They are removed when the test module
 * ends, unless another module still uses them or they existed before (see the module comment).
 */
export async function nonRootUsers(): Promise<[TestUser, TestUser] | null> {
  if (!IS_ROOT) return null;
  if (testUsers === null) {
    usersLock = await takeLock(USERS_LOCK, false);
    globalThis.addEventListener("unload", removeTestUsers);
    testUsers = [await ensureUser(NON_ROOT_NAMES[0]), await ensureUser(NON_ROOT_NAMES[1])];
  }
  return testUsers;
}

/**
 * For `Deno.test({ ignore })`: true when a test that needs root (real users, chown) cannot run.
 * Such tests say "needs root" in their name; `.ci/run` fails when any test is ignored there.
 */
export const NEEDS_ROOT: boolean = !IS_ROOT;

/** True while this test module holds `CONDOR_LOCK` exclusively (inside `withCondorLock`). */
let condorLockHeld = false;

/**
 * Runs `fn` holding `CONDOR_LOCK` exclusively, so that no other run of the tests creates or
 * removes the condor account meanwhile, nor uses a spool whose layout depends on it (for tests
 * of a node with, or without, a condor account).
 */
export async function withCondorLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = await takeLock(CONDOR_LOCK, true);
  condorLockHeld = true;
  try {
    // A condor account the tests made, found while no other test may use it: a run killed while
    // it held this lock (a mutation run's budget, a Ctrl-C) left it. Remove it, as that run would
    // have, so that the node is as it was and spools are laid out as without one.
    if (await isTestCondor()) await removeUser("condor");
    return await fn();
  } finally {
    condorLockHeld = false;
    lock.close();
  }
}

/**
 * Runs `fn` holding `CONDOR_LOCK` shared (root only; otherwise just runs it): a spool's layout
 * depends on whether a condor account exists (the OAuth directory is root:condor 2770 with one),
 * so while a test uses a spool no other run may create or remove that account. Inside
 * `withCondorLock` the exclusive lock already covers it.
 */
export async function withCondorShared<T>(fn: () => Promise<T>): Promise<T> {
  if (!IS_ROOT || condorLockHeld) return await fn();
  // A test-made condor account left by a killed run is removed first (withCondorLock does).
  if (await isTestCondor()) await withCondorLock(() => Promise.resolve());
  const lock = await takeLock(CONDOR_LOCK, false);
  try {
    return await fn();
  } finally {
    lock.close();
  }
}

/**
 * Runs `fn` with the `condor` account of a real node: the existing one, or one created with
 * `useradd -r` and removed afterwards (under `CONDOR_LOCK`).
 */
export function withCondorUser<T>(fn: (condor: TestUser) => Promise<T>): Promise<T> {
  return withCondorLock(async () => {
    const existing = await lookupUser("condor");
    const condor = existing ?? await createSystemUser("condor");
    try {
      return await fn(condor);
    } finally {
      if (existing === null) await removeUser("condor");
    }
  });
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
