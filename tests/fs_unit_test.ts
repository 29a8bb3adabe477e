/**
 * The secure-file primitives of lib/fs in-process, on temp directories (docs/storage.md
 * "Reading", "Writing", "Directories", "Lock", "Inputs from paths"): every rule, with its exact
 * boundary and message, in milliseconds, so that a broken rule fails here before any black-box
 * test runs (TESTING.md). As root, foreign owners are plain uids given with chown; no user is
 * created.
 */

import assert from "node:assert/strict";
import { AccountDb, readPasswd } from "../lib/accounts.ts";
import { SETTLED_MS } from "../lib/fs/facts.ts";
import { StoreError } from "../lib/errors.ts";
import {
  checkAncestor,
  checkStoreDirectory,
  childDirectory,
  type Directory,
  lstatOrNull,
  storeDirectory,
  walk,
} from "../lib/fs/directories.ts";
import { insecure, osError } from "../lib/fs/errors.ts";
import {
  checkFile,
  createFileOnce,
  inspectFile,
  listNames,
  openFile,
  readFile,
  removeEntry,
  removeFile,
  replaceFile,
  TEMP_NAME,
  TEMP_NAME_EXTRA,
  tempNameFor,
} from "../lib/fs/files.ts";
import { classifyInput, openInputFile } from "../lib/fs/input_path.ts";
import { LOCK_DIRECTORY, LOCK_NAME_EXTRA, withLock } from "../lib/fs/lock.ts";
import {
  describeTrusted,
  isCondorGroupDirectory,
  isTrustedOwner,
  type Owners,
} from "../lib/fs/owners.ts";
import {
  basename,
  components,
  dirname,
  join,
  NAME_MAX,
  nameBytes,
  octal,
} from "../lib/fs/paths.ts";

const IS_ROOT = Deno.uid() === 0;
/** Uids nobody on the test machine has, for foreign owners. */
const STRANGER = 4_000_001;
const CONDOR = { uid: 4_000_002, gid: 4_000_003, source: "CONDOR_IDS" as const };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A passwd file that names the stranger and the condor account. */
async function accounts(dir: string): Promise<AccountDb> {
  const file = `${dir}/passwd`;
  await Deno.writeTextFile(
    file,
    `root:x:0:0:root:/root:/bin/sh\nmallory:x:${STRANGER}:${STRANGER}::/:/bin/sh\n` +
      `condor:x:${CONDOR.uid}:${CONDOR.gid}::/:/bin/sh\n`,
  );
  return new AccountDb(file);
}

interface Fixture {
  readonly root: string;
  readonly owners: Owners;
  /** The owners of a node with a condor account. */
  readonly withCondor: Owners;
  /** `root` as a checked directory. */
  readonly dir: Directory;
}

async function withTemp(fn: (fx: Fixture) => void | Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "csc-fs-unit-" });
  try {
    const db = await accounts(root);
    const owners: Owners = { self: Deno.uid()!, condor: null, accounts: db };
    const dir = storeDirectory(root, owners)!;
    await fn({ root, owners, withCondor: { ...owners, condor: CONDOR }, dir });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** A FileInfo with the fields the checks read. */
function info(fields: Partial<Deno.FileInfo>): Deno.FileInfo {
  return {
    isFile: true,
    isDirectory: false,
    isSymlink: false,
    nlink: 1,
    uid: 0,
    gid: 0,
    mode: 0o100600,
    ...fields,
  } as Deno.FileInfo;
}

/** The StoreError `fn` throws; fails when it throws nothing or something else. */
function storeErrorOf(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof StoreError, `not a StoreError: ${error}`);
    return error;
  }
  assert.fail("nothing was thrown");
}

// ---- paths -------------------------------------------------------------------------------

Deno.test("dirname(), basename(), join(), components(), octal() and nameBytes() on every shape", () => {
  const cases: [string, string, string][] = [
    ["/", "/", ""],
    ["/a", "/", "a"],
    ["/a/b", "/a", "b"],
    ["/a/b/", "/a", "b"],
    ["/a/b//", "/a", "b"],
    ["a", ".", "a"],
    ["a/b", "a", "b"],
    ["//a", "/", "a"],
  ];
  for (const [path, dir, base] of cases) {
    assert.equal(dirname(path), dir, `dirname ${path}`);
    assert.equal(basename(path), base, `basename ${path}`);
  }
  assert.equal(join("/", "a"), "/a");
  assert.equal(join("/a/", "/b//c"), "/a/b/c");
  assert.equal(join("a", "b"), "a/b");
  assert.equal(join("//", "x"), "/x");
  assert.deepEqual(components("/a/./b//../c/"), ["a", "b", "..", "c"]);
  assert.deepEqual(components("/"), []);
  assert.equal(octal(0o100644), "0644");
  assert.equal(octal(0o2770), "02770");
  assert.equal(octal(0o7), "0007");
  assert.equal(octal(0o41777), "01777");
  assert.equal(nameBytes("é"), 2);
  assert.equal(nameBytes("abc"), 3);
  assert.equal(NAME_MAX, 255);
});

// ---- owners ------------------------------------------------------------------------------

Deno.test("isTrustedOwner() trusts root, this process and condor, nobody else", async () => {
  await withTemp(({ owners, withCondor }) => {
    const self = { ...owners, self: 1234 };
    assert.equal(isTrustedOwner(self, 0), true);
    assert.equal(isTrustedOwner(self, 1234), true);
    assert.equal(isTrustedOwner(self, 1235), false);
    assert.equal(isTrustedOwner(self, 1233), false);
    assert.equal(isTrustedOwner(self, null), false);
    assert.equal(isTrustedOwner(self, CONDOR.uid), false);
    assert.equal(isTrustedOwner(withCondor, CONDOR.uid), true);
    assert.equal(isTrustedOwner(withCondor, CONDOR.gid), false);
    assert.equal(isTrustedOwner(withCondor, STRANGER), false);
  });
});

Deno.test("describeTrusted() names root, condor and a non-root self", async () => {
  await withTemp(({ owners, withCondor }) => {
    assert.equal(describeTrusted({ ...owners, self: 0 }), "root");
    assert.equal(describeTrusted({ ...withCondor, self: 0 }), `root or condor (uid ${CONDOR.uid})`);
    assert.equal(
      describeTrusted({ ...owners, self: STRANGER }),
      `root or mallory (uid ${STRANGER})`,
    );
    assert.equal(
      describeTrusted({ ...withCondor, self: STRANGER }),
      `root, condor (uid ${CONDOR.uid}) or mallory (uid ${STRANGER})`,
    );
    assert.equal(
      describeTrusted({ ...withCondor, self: CONDOR.uid }),
      `root or condor (uid ${CONDOR.uid})`,
    );
  });
});

Deno.test("isCondorGroupDirectory() needs condor's group, the setgid bit and no world write", async () => {
  await withTemp(({ owners, withCondor }) => {
    const dir = (gid: number, mode: number) =>
      info({ isFile: false, isDirectory: true, gid, mode });
    assert.equal(isCondorGroupDirectory(withCondor, dir(CONDOR.gid, 0o42770)), true);
    assert.equal(isCondorGroupDirectory(withCondor, dir(CONDOR.gid, 0o42750)), true);
    assert.equal(isCondorGroupDirectory(withCondor, dir(CONDOR.gid, 0o40770)), false);
    assert.equal(isCondorGroupDirectory(withCondor, dir(CONDOR.gid, 0o42772)), false);
    assert.equal(isCondorGroupDirectory(withCondor, dir(CONDOR.gid + 1, 0o42770)), false);
    assert.equal(isCondorGroupDirectory(owners, dir(CONDOR.gid, 0o42770)), false);
  });
});

// ---- checkFile ---------------------------------------------------------------------------

Deno.test("checkFile() refuses a secret any group or other bit, a shared file any write bit", async () => {
  await withTemp(({ owners }) => {
    for (let mode = 0; mode <= 0o777; mode++) {
      const file = info({ mode: 0o100000 | mode });
      const secret = () => checkFile("/s", file, owners, "secret");
      const shared = () => checkFile("/s", file, owners, "shared");
      if ((mode & 0o077) !== 0) {
        const e = storeErrorOf(secret);
        assert.equal(e.code, "insecure");
        assert.equal(
          e.message,
          `refusing to use "/s": its mode ${octal(mode)} gives access to group or others`,
        );
        assert.equal(e.remedy, `run "chmod 600 /s" if you trust its content, or remove it`);
      } else secret();
      if ((mode & 0o022) !== 0) {
        const e = storeErrorOf(shared);
        assert.equal(
          e.message,
          `refusing to use "/s": its mode ${octal(mode)} lets group or others change it`,
        );
        assert.equal(e.remedy, `run "chmod go-w /s" if you trust its content, or remove it`);
      } else shared();
    }
  });
});

Deno.test("checkFile() refuses links, non-files, hard links and foreign owners first", async () => {
  await withTemp(({ owners, withCondor }) => {
    const fix = "remove it or repair it by hand, then run the command again";
    const refusal = (fields: Partial<Deno.FileInfo>, o = owners) =>
      storeErrorOf(() => checkFile("/f", info(fields), o, "shared"));
    let e = refusal({ isSymlink: true, isFile: false, mode: 0o120777 });
    assert.equal(e.message, `refusing to use "/f": it is a symbolic link`);
    assert.equal(e.remedy, fix);
    assert.equal(e.path, "/f");
    e = refusal({ isFile: false, isFifo: true } as Partial<Deno.FileInfo>);
    assert.equal(e.message, `refusing to use "/f": it is not a regular file`);
    e = refusal({ isFile: false, isDirectory: true });
    assert.equal(e.message, `refusing to use "/f": it is not a regular file`);
    e = refusal({ nlink: 2 });
    assert.equal(
      e.message,
      `refusing to use "/f": it has 2 hard links (a credential must have exactly one)`,
    );
    checkFile("/f", info({ nlink: 1 }), owners, "secret");
    checkFile("/f", info({ nlink: null } as unknown as Partial<Deno.FileInfo>), owners, "secret");
    e = refusal({ uid: STRANGER });
    assert.equal(
      e.message,
      `refusing to use "/f": it is owned by mallory (uid ${STRANGER}); only root may own the ` +
        "files of the credential store",
    );
    checkFile("/f", info({ uid: CONDOR.uid }), withCondor, "secret");
    assert.equal(refusal({ uid: CONDOR.uid }).code, "insecure");
  });
});

// ---- reading and writing files -------------------------------------------------------------

Deno.test("inspectFile() and readFile() return null for a missing file and check an existing one", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    assert.equal(inspectFile(dir, "none", owners, "secret"), null);
    assert.equal(readFile(dir, "none", owners, { role: "secret", maxBytes: 10 }), null);
    await Deno.writeTextFile(`${root}/f`, "data", { mode: 0o600 });
    assert.equal(inspectFile(dir, "f", owners, "secret")!.size, 4);
    await Deno.chmod(`${root}/f`, 0o640);
    assert.match(
      storeErrorOf(() => readFile(dir, "f", owners, { role: "secret", maxBytes: 10 })).message,
      /gives access to group or others/,
    );
    assert.equal(
      decoder.decode(readFile(dir, "f", owners, { role: "shared", maxBytes: 10 })!),
      "data",
    );
    await Deno.symlink(`${root}/f`, `${root}/link`);
    assert.match(
      storeErrorOf(() => readFile(dir, "link", owners, { role: "shared", maxBytes: 10 })).message,
      /it is a symbolic link/,
    );
    if (IS_ROOT) {
      await Deno.chown(`${root}/f`, STRANGER, null);
      assert.match(
        storeErrorOf(() => inspectFile(dir, "f", owners, "shared")).message,
        /owned by mallory/,
      );
    }
  });
});

Deno.test("readFile() reads exactly maxBytes and refuses one byte more, at every buffer size", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    for (const size of [0, 1, 100, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 200_000]) {
      const bytes = Uint8Array.from({ length: size }, (_, i) => i % 251);
      await Deno.writeFile(`${root}/f`, bytes, { mode: 0o600 });
      assert.deepEqual(readFile(dir, "f", owners, { role: "secret", maxBytes: size }), bytes);
      assert.deepEqual(readFile(dir, "f", owners, { role: "secret", maxBytes: size + 1 }), bytes);
      if (size > 0) {
        const e = storeErrorOf(() =>
          readFile(dir, "f", owners, { role: "secret", maxBytes: size - 1 })
        );
        assert.equal(e.code, "too-large");
        assert.equal(
          e.message,
          `"${root}/f" is larger than ${
            size - 1
          } bytes; it is not a credential this program stores`,
        );
      }
    }
  });
});

Deno.test("openFile() creates a missing file exclusively with its mode, or returns null", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    assert.equal(openFile(dir, "new", owners, { role: "shared", read: true }), null);
    assert.equal(await lstatOrNull(`${root}/new`), null);
    const created = openFile(dir, "new", owners, {
      role: "shared",
      write: true,
      createMode: 0o640,
    })!;
    created.writeSync(encoder.encode("x"));
    created.close();
    assert.equal((await Deno.stat(`${root}/new`)).mode! & 0o777, 0o640);
    // Existing: opened (not truncated), checked.
    const again = openFile(dir, "new", owners, { role: "shared", read: true, createMode: 0o600 })!;
    const buffer = new Uint8Array(4);
    assert.equal(again.readSync(buffer), 1);
    again.close();
    assert.equal((await Deno.stat(`${root}/new`)).mode! & 0o777, 0o640);
    // A planted link at the name is refused, never followed to create its target.
    await Deno.symlink(`${root}/target`, `${root}/planted`);
    const e = storeErrorOf(() =>
      openFile(dir, "planted", owners, { role: "shared", write: true, createMode: 0o600 })
    );
    assert.match(e.message, /it is a symbolic link/);
    assert.equal(await lstatOrNull(`${root}/target`), null);
    // Append mode appends.
    const log = openFile(dir, "new", owners, { role: "shared", append: true, createMode: 0o600 })!;
    log.writeSync(encoder.encode("y"));
    log.close();
    assert.equal(await Deno.readTextFile(`${root}/new`), "xy");
  });
});

Deno.test("replaceFile() writes 0600 (or its mode) whatever was there, and leaves no temp file", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    await Deno.writeTextFile(`${root}/cred`, "old old old", { mode: 0o644 });
    await replaceFile(dir, "cred", encoder.encode("new"));
    assert.equal(await Deno.readTextFile(`${root}/cred`), "new");
    assert.equal((await Deno.stat(`${root}/cred`)).mode! & 0o7777, 0o600);
    await replaceFile(dir, "cred", encoder.encode(""), { mode: 0o400 });
    assert.equal(await Deno.readTextFile(`${root}/cred`), "");
    assert.equal((await Deno.stat(`${root}/cred`)).mode! & 0o7777, 0o400);
    const big = Uint8Array.from({ length: 300_000 }, (_, i) => i % 256);
    await replaceFile(dir, "big", big);
    assert.deepEqual(await Deno.readFile(`${root}/big`), big);
    assert.deepEqual(listNames(dir), ["big", "cred", "passwd"]);
    // A failed rename (onto a directory) removes the temp file and keeps the target.
    await Deno.mkdir(`${root}/adir`);
    await Deno.writeTextFile(`${root}/adir/keep`, "k");
    const e = await replaceFile(dir, "adir", encoder.encode("x")).then(
      () => assert.fail("nothing was thrown"),
      (error) =>
        storeErrorOf(() => {
          throw error;
        }),
    );
    assert.equal(e.code, "io");
    assert.match(
      e.message,
      new RegExp(`^could not write "${root}/adir": .*; nothing was changed$`),
    );
    assert.deepEqual(listNames(dir), ["adir", "big", "cred", "passwd"]);
    assert.equal(inspectFile(dir, "cred", owners, "secret")!.size, 0);
  });
});

Deno.test("createFileOnce() creates once with its mode, never replaces, leaves no temp file", async () => {
  await withTemp(async ({ root, dir }) => {
    assert.equal(await createFileOnce(dir, "key", encoder.encode("first"), 0o400), true);
    assert.equal(await createFileOnce(dir, "key", encoder.encode("second"), 0o600), false);
    assert.equal(await Deno.readTextFile(`${root}/key`), "first");
    assert.equal((await Deno.stat(`${root}/key`)).mode! & 0o7777, 0o400);
    assert.equal((await Deno.stat(`${root}/key`)).nlink, 1);
    assert.deepEqual(listNames(dir), ["key", "passwd"]);
  });
});

Deno.test("removeFile() checks before it removes; removeEntry() removes anything; both say if it was there", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    assert.equal(removeFile(dir, "none", owners, "secret"), false);
    assert.equal(removeEntry(dir, "none"), false);
    await Deno.writeTextFile(`${root}/f`, "x", { mode: 0o600 });
    await Deno.symlink(`${root}/f`, `${root}/link`);
    assert.match(
      storeErrorOf(() => removeFile(dir, "link", owners, "secret")).message,
      /symbolic link/,
    );
    await Deno.link(`${root}/f`, `${root}/hard`);
    assert.match(storeErrorOf(() => removeFile(dir, "hard", owners, "secret")).message, /2 hard/);
    assert.deepEqual(listNames(dir), ["f", "hard", "link", "passwd"]);
    assert.equal(removeEntry(dir, "link"), true);
    assert.equal(removeEntry(dir, "hard"), true);
    assert.equal(removeFile(dir, "f", owners, "secret"), true);
    assert.deepEqual(listNames(dir), ["passwd"]);
    // A directory in the way is an error, not "missing".
    await Deno.mkdir(`${root}/d/e`, { recursive: true });
    assert.equal(storeErrorOf(() => removeEntry(dir, "d")).code, "io");
  });
});

Deno.test("tempNameFor() names match TEMP_NAME, are unpredictable and add TEMP_NAME_EXTRA bytes", () => {
  const a = tempNameFor("user.cred");
  const b = tempNameFor("user.cred");
  assert.notEqual(a, b);
  for (const name of [a, b]) {
    assert.match(name, /^\.user\.cred\.[0-9a-f]{16}\.tmp$/);
    assert.equal(TEMP_NAME.exec(name)?.[1], "user.cred");
    assert.equal(name.length - "user.cred".length, TEMP_NAME_EXTRA);
  }
  assert.equal(TEMP_NAME.test(".x.0123456789abcde.tmp"), false);
  assert.equal(TEMP_NAME.test("x.0123456789abcdef.tmp"), false);
  assert.equal(LOCK_NAME_EXTRA, ".lock".length);
});

// ---- errors ------------------------------------------------------------------------------

Deno.test("osError() keeps StoreErrors, names permission failures, keeps the reason of others", () => {
  const kept = new StoreError("locked", "x");
  assert.equal(osError(kept, "open", "/p"), kept);
  const denied = osError(new Deno.errors.PermissionDenied("no: os error 13"), "open", "/p");
  assert.equal(denied.code, "permission");
  assert.equal(denied.message, `permission denied to open "/p"`);
  assert.equal(denied.path, "/p");
  assert.match(denied.remedy!, /^run as root or as the owner of the credential store/);
  assert.equal(osError(new Deno.errors.NotCapable("x"), "read", "/p").code, "permission");
  const other = osError(
    new Deno.errors.NotFound("No such file or directory (os error 2): open '/p'"),
    "open",
    "/p",
  );
  assert.equal(other.code, "io");
  assert.equal(
    other.message,
    `could not open "/p": No such file or directory (os error 2); nothing was changed`,
  );
  assert.throws(() => osError("not an error", "open", "/p"), (e) => e === "not an error");
  const refusal = insecure("the directory ", "/d", "why", "fix");
  assert.equal(refusal.message, `refusing to use the directory "/d": why`);
  assert.equal(refusal.remedy, "fix");
});

// ---- directories -------------------------------------------------------------------------

Deno.test("checkAncestor() and checkStoreDirectory() apply their mode rules to every mode", async () => {
  await withTemp(({ owners, withCondor }) => {
    for (let mode = 0; mode <= 0o7777; mode += mode < 0o777 ? 1 : 0o1000) {
      for (const [o, gid] of [[owners, 0], [withCondor, CONDOR.gid], [withCondor, 0]] as const) {
        const dir = info({ isFile: false, isDirectory: true, mode: 0o40000 | mode, gid });
        const condorGroup = o.condor !== null && gid === CONDOR.gid && (mode & 0o2000) !== 0 &&
          (mode & 0o002) === 0;
        const writable = (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && !condorGroup);
        const ancestorOk = (mode & 0o1000) !== 0 || !writable;
        const where = `${octal(mode)} gid ${gid}`;
        if (ancestorOk) checkAncestor("/d", dir, o);
        else {
          assert.equal(
            storeErrorOf(() => checkAncestor("/d", dir, o)).message,
            `refusing to use the directory "/d": its mode ${octal(mode)} lets group or others ` +
              "replace what it contains",
            where,
          );
        }
        if (!writable) checkStoreDirectory("/d", dir, o);
        else {
          const e = storeErrorOf(() => checkStoreDirectory("/d", dir, o));
          assert.equal(
            e.message,
            `refusing to use the directory "/d": its mode ${octal(mode)} makes it writable by ` +
              "group or others",
            where,
          );
          assert.equal(
            e.remedy,
            `run "chmod 700 /d"` +
              (o.condor === null
                ? ""
                : ', or for the OAuth directory "chmod 2770" with group condor'),
          );
        }
      }
    }
  });
});

Deno.test("checkAncestor() and checkStoreDirectory() refuse a non-directory and a foreign owner", async () => {
  await withTemp(({ owners }) => {
    for (const check of [checkAncestor, checkStoreDirectory]) {
      const e = storeErrorOf(() => check("/d", info({ mode: 0o100700 }), owners));
      assert.equal(e.message, `refusing to use the directory "/d": it is not a directory`);
      assert.equal(e.remedy, "fix the configured path");
      const foreign = info({ isFile: false, isDirectory: true, mode: 0o40700, uid: STRANGER });
      const f = storeErrorOf(() => check("/d", foreign, owners));
      assert.equal(
        f.message,
        `refusing to use the directory "/d": it is owned by mallory (uid ${STRANGER}); only ` +
          "root may own the directories of the credential store",
      );
    }
  });
});

Deno.test("storeDirectory() creates what is missing with exact modes, parents 0700, whatever the umask", async () => {
  await withTemp(async ({ root, owners }) => {
    const old = Deno.umask(0o077);
    try {
      const made = storeDirectory(`${root}/a/b/c`, owners, { create: { mode: 0o755 } })!;
      assert.equal(made.path, `${root}/a/b/c`);
      assert.equal((await Deno.stat(`${root}/a/b/c`)).mode! & 0o7777, 0o755);
      assert.equal((await Deno.stat(`${root}/a/b`)).mode! & 0o7777, 0o700);
      assert.equal((await Deno.stat(`${root}/a`)).mode! & 0o7777, 0o700);
    } finally {
      Deno.umask(old);
    }
    assert.equal(storeDirectory(`${root}/missing`, owners), null);
    assert.equal(await lstatOrNull(`${root}/missing`), null);
    // Existing: checked with the store rule, not created again.
    await Deno.chmod(`${root}/a/b/c`, 0o775);
    assert.match(
      storeErrorOf(() => storeDirectory(`${root}/a/b/c`, owners, { create: { mode: 0o700 } }))
        .message,
      /its mode 0775 makes it writable by group or others/,
    );
    // `loose` judges it as an ancestor: a sticky shared directory passes.
    await Deno.chmod(`${root}/a/b/c`, 0o1777);
    assert.equal(storeDirectory(`${root}/a/b/c`, owners, { loose: true })!.path, `${root}/a/b/c`);
    assert.throws(() => storeDirectory(`${root}/a/b/c`, owners), /01777 makes it writable/);
    assert.equal(storeDirectory("/", owners, { loose: true })!.path, "/");
    assert.match(
      storeErrorOf(() => storeDirectory("relative/path", owners)).message,
      /it is not an absolute path/,
    );
    // A directory that cannot be made is an error naming it, at once (not a retry). Root may make
    // a directory almost anywhere, and Deno refuses /proc itself without --allow-all: the check
    // runs in a process that Deno does not let write there.
    const probe = `${root}/probe.ts`;
    await Deno.writeTextFile(
      probe,
      `import { AccountDb } from ${
        JSON.stringify(new URL("../lib/accounts.ts", import.meta.url).href)
      };
import { storeDirectory } from ${
        JSON.stringify(new URL("../lib/fs/directories.ts", import.meta.url).href)
      };
const owners = { self: Deno.uid()!, condor: null, accounts: new AccountDb("/etc/passwd") };
try {
  storeDirectory(Deno.args[0], owners, { create: { mode: 0o700 } });
  console.log("made");
} catch (error) {
  console.log((error as Error).message);
}
`,
    );
    const cannot = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        "--allow-read",
        `--allow-write=${root}/elsewhere`,
        "--allow-env",
        "--allow-sys",
        probe,
        `${root}/cannot/x`,
      ],
      stdout: "piped",
    }).output();
    assert.match(
      new TextDecoder().decode(cannot.stdout),
      new RegExp(`^(could not create|permission denied to create) "${root}/cannot"`),
    );
    assert.match(
      storeErrorOf(() => storeDirectory(`${root}/nope/../x`, owners, { create: { mode: 0o700 } }))
        .message,
      /names a missing directory followed by \.\./,
    );
    await Deno.writeTextFile(`${root}/file`, "");
    assert.match(
      storeErrorOf(() => storeDirectory(`${root}/file`, owners)).message,
      /it is not a directory/,
    );
    assert.match(
      storeErrorOf(() => storeDirectory(`${root}/file/x`, owners)).message,
      /"[^"]*\/file": it is not a directory/,
    );
  });
});

Deno.test("walk() follows trusted links and .., refuses foreign links and link loops", async () => {
  await withTemp(async ({ root, owners }) => {
    await Deno.mkdir(`${root}/real/sub`, { recursive: true });
    await Deno.symlink(`${root}/real`, `${root}/abs`);
    await Deno.symlink("real/sub", `${root}/rel`);
    assert.equal(storeDirectory(`${root}/abs/sub`, owners)!.path, `${root}/real/sub`);
    assert.equal(storeDirectory(`${root}/rel`, owners)!.path, `${root}/real/sub`);
    assert.equal(storeDirectory(`${root}/real/sub/..`, owners)!.path, `${root}/real`);
    assert.equal(storeDirectory(`${root}/rel/../..`, owners)!.path, root);
    const end = walk(`${root}/real/sub/x/y`, {
      directory() {},
      symlink() {},
    });
    assert.deepEqual([end.path, end.missing, end.parent.path], [
      `${root}/real/sub`,
      ["x", "y"],
      `${root}/real`,
    ]);
    await Deno.symlink(`${root}/loop2`, `${root}/loop1`);
    await Deno.symlink(`${root}/loop1`, `${root}/loop2`);
    assert.match(
      storeErrorOf(() => storeDirectory(`${root}/loop1`, owners)).message,
      /it leads through too many symbolic links/,
    );
    // Exactly 40 links are followed; the 41st is refused.
    let target = `${root}/real`;
    for (let i = 0; i < 41; i++) {
      await Deno.symlink(target, `${root}/chain${i}`);
      target = `${root}/chain${i}`;
    }
    assert.equal(storeDirectory(`${root}/chain39`, owners)!.path, `${root}/real`);
    assert.throws(() => storeDirectory(`${root}/chain40`, owners), /too many symbolic links/);
    if (IS_ROOT) {
      await Deno.symlink(`${root}/real`, `${root}/foreign`);
      await new Deno.Command("chown", { args: ["-h", String(STRANGER), `${root}/foreign`] })
        .output();
      const e = storeErrorOf(() => storeDirectory(`${root}/foreign`, owners));
      assert.equal(
        e.message,
        `refusing to use the symbolic link "${root}/foreign": it is owned by mallory (uid ` +
          `${STRANGER}); links are followed only when root owns them`,
      );
      assert.equal(e.remedy, "replace it with the real path");
    }
  });
});

Deno.test("childDirectory() creates with the parent's setgid bit, follows trusted links, checks", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    assert.equal(childDirectory(dir, "none", owners), null);
    const plain = childDirectory(dir, "plain", owners, { create: { mode: 0o700 } })!;
    assert.equal((await Deno.stat(plain.path)).mode! & 0o7777, 0o700);
    await Deno.mkdir(`${root}/shared`);
    await Deno.chmod(`${root}/shared`, 0o2750);
    const parent = storeDirectory(`${root}/shared`, owners)!;
    const child = childDirectory(parent, "user", owners, { create: { mode: 0o700 } })!;
    assert.equal((await Deno.stat(child.path)).mode! & 0o7777, 0o2700);
    await Deno.symlink(plain.path, `${root}/link`);
    assert.equal(childDirectory(dir, "link", owners)!.path, plain.path);
    await Deno.chmod(plain.path, 0o770);
    assert.match(
      storeErrorOf(() => childDirectory(dir, "plain", owners)).message,
      /its mode 0770 makes it writable/,
    );
    if (IS_ROOT) {
      const owned = childDirectory(dir, "owned", owners, {
        create: { mode: 0o750, uid: 0, gid: CONDOR.gid },
      })!;
      assert.equal((await Deno.stat(owned.path)).gid, CONDOR.gid);
    }
  });
});

// ---- lock --------------------------------------------------------------------------------

Deno.test("withLock() runs fn under the lock, journals, and the next holder cleans up after a crash", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    const lockFile = `${root}/${LOCK_DIRECTORY}/user.lock`;
    const result = await withLock(dir, "user", owners, {
      timeoutSeconds: 1,
      fn: (lock) => {
        lock.journal(".a.0123456789abcdef.tmp");
        assert.equal(Deno.readTextFileSync(lockFile), ".a.0123456789abcdef.tmp");
        lock.journal(".b.0123456789abcdef.tmp", "sub");
        assert.equal(Deno.readTextFileSync(lockFile), "sub/.b.0123456789abcdef.tmp");
        return 42;
      },
    });
    assert.equal(result, 42);
    assert.equal(await Deno.readTextFile(lockFile), "", "the journal is cleared after fn");
    assert.equal((await Deno.stat(`${root}/${LOCK_DIRECTORY}`)).mode! & 0o7777, 0o700);
    assert.equal((await Deno.stat(lockFile)).mode! & 0o7777, 0o600);
    // What a killed writer left: the temp file it journaled, in the store or a user directory.
    for (
      const [journal, path] of [
        [".a.0123456789abcdef.tmp", `${root}/.a.0123456789abcdef.tmp`],
        ["sub/.b.0123456789abcdef.tmp", `${root}/sub/.b.0123456789abcdef.tmp`],
      ]
    ) {
      await Deno.mkdir(`${root}/sub`, { recursive: true });
      await Deno.writeTextFile(path, "half");
      await Deno.writeTextFile(lockFile, journal);
      await withLock(dir, "user", owners, { timeoutSeconds: 1, fn: () => {} });
      assert.equal(await lstatOrNull(path), null, journal);
      assert.equal(await Deno.readTextFile(lockFile), "", journal);
    }
    // A tampered journal names nothing it may remove.
    await Deno.writeTextFile(`${root}/keep`, "k");
    await Deno.writeTextFile(`${root}/sub/.c.0123456789abcdef.tmp`, "k");
    await Deno.mkdir(`${root}/sub/deeper`, { recursive: true });
    await Deno.writeTextFile(`${root}/sub/deeper/.d.0123456789abcdef.tmp`, "k");
    for (
      const journal of [
        "keep",
        "../keep",
        "sub/../keep",
        "./.c.0123456789abcdef.tmp",
        ".sub/.c.0123456789abcdef.tmp",
        "sub/deeper/.d.0123456789abcdef.tmp",
        `${root}/sub/.c.0123456789abcdef.tmp`,
      ]
    ) {
      await Deno.writeTextFile(lockFile, journal);
      await withLock(dir, "user", owners, { timeoutSeconds: 1, fn: () => {} });
      assert.equal(await Deno.readTextFile(`${root}/keep`), "k", journal);
      assert.equal(await Deno.readTextFile(`${root}/sub/.c.0123456789abcdef.tmp`), "k", journal);
      assert.equal(
        await Deno.readTextFile(`${root}/sub/deeper/.d.0123456789abcdef.tmp`),
        "k",
        journal,
      );
    }
    // A holder that never journals leaves the file as it found it.
    await Deno.writeTextFile(lockFile, "");
    await withLock(dir, "user", owners, {
      timeoutSeconds: 1,
      fn: () => Deno.writeTextFileSync(lockFile, "x", { append: true }),
    });
    assert.equal(await Deno.readTextFile(lockFile), "x");
  });
});

Deno.test("withLock() waits for a held lock, then gives up with a clear error; the lock is freed after fn throws", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    await assert.rejects(
      withLock(dir, "user", owners, {
        timeoutSeconds: 1,
        fn: () => {
          throw new Error("boom");
        },
      }),
      /boom/,
    );
    const path = `${root}/${LOCK_DIRECTORY}/user.lock`;
    const other = await Deno.open(path, { read: true, write: true });
    await other.lock(true);
    const lines: string[] = [];
    try {
      const error = await withLock(dir, "user", owners, {
        timeoutSeconds: 0.3,
        debug: (line) => lines.push(line),
        fn: () => assert.fail("ran without the lock"),
      }).then(() => null, (e) => e);
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, "locked");
      assert.equal(
        error.message,
        `timed out after 0.3 seconds waiting for the lock "${path}"; another ` +
          "condor_store_cred is still writing these credentials",
      );
      assert.equal(error.remedy, "retry later, or raise CRED_LOCK_TIMEOUT");
      assert.equal(lines.length, 1);
      const ms = Number(
        /^the lock ".*user\.lock" is held; waiting for it at most (\d+) ms$/
          .exec(lines[0])?.[1],
      );
      assert.ok(ms <= 300 && ms > 200, lines[0]);
    } finally {
      other.close();
    }
    // Free again: taken at once, no debug line.
    await withLock(dir, "user", owners, {
      timeoutSeconds: 1,
      debug: (line) => lines.push(line),
      fn: () => {},
    });
    assert.equal(lines.length, 1);
  });
});

Deno.test("withLock() refuses a lock file others may write", async () => {
  await withTemp(async ({ root, owners, dir }) => {
    await withLock(dir, "user", owners, { timeoutSeconds: 1, fn: () => {} });
    await Deno.chmod(`${root}/${LOCK_DIRECTORY}/user.lock`, 0o620);
    const error = await withLock(dir, "user", owners, { timeoutSeconds: 1, fn: () => {} })
      .then(() => null, (e) => e);
    assert.match(error.message, /user\.lock": its mode 0620 lets group or others change it/);
  });
});

// ---- input paths -------------------------------------------------------------------------

Deno.test("classifyInput() takes only the names of descriptor 0 for standard input", () => {
  for (const path of ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]) {
    assert.deepEqual(classifyInput(path), { kind: "stdin" });
  }
  for (const path of ["/dev/fd/3", "-", "/dev/stdin/", "file"]) {
    assert.deepEqual(classifyInput(path), { kind: "path", path });
  }
});

Deno.test({
  name: "openInputFile() applies protected_fifos, _regular and _symlinks, and no FIFO of another",
  ignore: !IS_ROOT,
  async fn() {
    await withTemp(async ({ root }) => {
      const read = (path: string, euid = 0) => {
        const file = openInputFile(path, euid, root);
        try {
          const buffer = new Uint8Array(64);
          return decoder.decode(buffer.subarray(0, file.readSync(buffer) ?? 0));
        } finally {
          file.close();
        }
      };
      const refusal = (path: string, euid = 0) => {
        const e = storeErrorOf(() => openInputFile(path, euid, root));
        assert.equal(e.code, "input");
        return e.message;
      };
      await Deno.writeTextFile(`${root}/mine`, "MINE");
      assert.equal(read(`${root}/mine`), "MINE");
      assert.equal(read("mine"), "MINE", "relative to cwd");
      assert.equal(
        refusal(`${root}/none`),
        `Could not read credential from ${root}/none\n    No such file or directory`,
      );
      assert.equal(
        refusal(root),
        `Could not read credential from ${root}\n    it is a directory`,
      );
      // A world-writable directory without the sticky bit: anyone could swap the file.
      await Deno.mkdir(`${root}/open`);
      await Deno.chmod(`${root}/open`, 0o777);
      await Deno.writeTextFile(`${root}/open/f`, "x");
      assert.match(refusal(`${root}/open/f`), /writable by everyone without the sticky bit/);
      // A sticky shared directory: only the caller's or the directory owner's files.
      const sticky = `${root}/sticky`;
      await Deno.mkdir(sticky);
      await Deno.chmod(sticky, 0o1777);
      await Deno.chown(sticky, CONDOR.uid, null);
      await Deno.writeTextFile(`${sticky}/theirs`, "T");
      await Deno.chown(`${sticky}/theirs`, STRANGER, null);
      assert.equal(
        refusal(`${sticky}/theirs`),
        `Could not read credential from ${sticky}/theirs\n    it is in a shared sticky ` +
          `directory and belongs to uid ${STRANGER}, neither you nor the directory's owner; ` +
          "copy it to a private directory first",
      );
      assert.equal(read(`${sticky}/theirs`, STRANGER), "T", "the caller's own file");
      await Deno.chown(`${sticky}/theirs`, CONDOR.uid, null);
      assert.equal(read(`${sticky}/theirs`), "T", "the directory owner's file");
      // Only world-writable sticky directories are shared: 1755 is not.
      await Deno.chmod(sticky, 0o1755);
      await Deno.chown(`${sticky}/theirs`, STRANGER, null);
      assert.equal(read(`${sticky}/theirs`), "T");
      await Deno.chmod(sticky, 0o1777);
      // Links in it: only the caller's or the directory owner's are followed.
      await Deno.symlink(`${root}/mine`, `${sticky}/link`);
      await new Deno.Command("chown", { args: ["-h", String(STRANGER), `${sticky}/link`] })
        .output();
      assert.match(
        refusal(`${sticky}/link`),
        new RegExp(
          `the symbolic link ${sticky}/link in a shared sticky directory belongs to ` +
            `uid ${STRANGER}, neither you nor the directory's owner; it is not followed`,
        ),
      );
      assert.equal(read(`${sticky}/link`, STRANGER), "MINE");
      // Another user's FIFO in their own directory is refused before it is opened (no hang).
      const theirs = `${root}/theirs`;
      await Deno.mkdir(theirs, { mode: 0o755 });
      await Deno.chown(theirs, STRANGER, null);
      const made = await new Deno.Command("mkfifo", { args: [`${theirs}/fifo`] }).output();
      assert.ok(made.success);
      await Deno.chown(`${theirs}/fifo`, STRANGER, null);
      assert.equal(
        refusal(`${theirs}/fifo`),
        `Could not read credential from ${theirs}/fifo\n    it is a FIFO that belongs to uid ` +
          `${STRANGER}, not to you`,
      );
      assert.equal(
        refusal(`${theirs}/fifo`, CONDOR.uid),
        `Could not read credential from ${theirs}/fifo\n    it is a FIFO that belongs to uid ` +
          `${STRANGER}, not to you`,
      );
    });
  },
});

Deno.test("a passwd file unchanged for a few seconds is not opened again, only stat'ed; replaced, it is read again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-passwd-" });
  const { openSync } = Deno;
  try {
    const file = `${dir}/passwd`;
    Deno.writeTextFileSync(file, "alice:x:1001:1001::/:/bin/sh\n");
    // A clock a minute ahead: the file counts as settled.
    const later = Date.now() + 60_000;
    let opened = 0;
    Deno.openSync = ((path: string | URL, options?: Deno.OpenOptions) => {
      if (String(path) === file) opened++;
      return openSync(path, options);
    }) as typeof Deno.openSync;
    const first = readPasswd(file, later);
    assert.equal(first[0].uid, 1001);
    assert.equal(readPasswd(file, later), first);
    assert.equal(opened, 1);
    Deno.writeTextFileSync(`${dir}/passwd.new`, "alice:x:1002:1002::/:/bin/sh\n");
    Deno.renameSync(`${dir}/passwd.new`, file);
    assert.equal(readPasswd(file, later)[0].uid, 1002);
    assert.equal(opened, 2);
    // Without a settled version (a clock just short of the file's settling), every look opens it.
    Deno.writeTextFileSync(`${dir}/passwd.new`, "alice:x:1003:1003::/:/bin/sh\n");
    Deno.renameSync(`${dir}/passwd.new`, file);
    const unsettled = Deno.statSync(file).mtime!.getTime() + SETTLED_MS - 1;
    readPasswd(file, unsettled);
    readPasswd(file, unsettled);
    assert.equal(opened, 4);
  } finally {
    Deno.openSync = openSync;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the passwd file is parsed again only when it changed: replaced, or rewritten in place; an AccountDb keeps its own view", async () => {
  const dir = await Deno.makeTempDir({ prefix: "csc-passwd-" });
  try {
    const file = `${dir}/passwd`;
    const line = (uid: number) =>
      `root:x:0:0:root:/root:/bin/sh\nalice:x:${uid}:${uid}::/:/bin/sh\n`;
    Deno.writeTextFileSync(file, line(1001));
    const first = new AccountDb(file);
    assert.equal(first.byName("alice")?.uid, 1001);
    // Unchanged: the same parse serves every instance.
    assert.equal(readPasswd(file), readPasswd(file));
    // Replaced by rename (as useradd and vipw do): a new instance sees the new entry at once.
    Deno.writeTextFileSync(`${dir}/passwd.new`, line(1002));
    Deno.renameSync(`${dir}/passwd.new`, file);
    assert.equal(new AccountDb(file).byName("alice")?.uid, 1002);
    // Rewritten in place with the same size: its times tell.
    Deno.writeTextFileSync(file, line(1003));
    Deno.utimeSync(file, new Date(2001, 0, 1), new Date(2001, 0, 1));
    assert.equal(new AccountDb(file).byName("alice")?.uid, 1003);
    // An instance that already looked keeps what it saw (one view per request).
    assert.equal(first.byName("alice")?.uid, 1001);
    Deno.removeSync(file);
    assert.deepEqual(readPasswd(file), []);
    assert.equal(new AccountDb(file).byUid(0), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
