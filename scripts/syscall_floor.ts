/**
 * The "system calls only" floor of the benchmarks (scripts/bench.ts): makes the file system calls
 * that `query-oauth -s SERVICE` and `add-oauth -s SERVICE -P -i -` make, in the same order, and
 * nothing else — no configuration parsing, no checks of what the calls return, no messages.
 * Measured with the program's own flags, it is what a program doing this work on this runtime
 * cannot go below; the ratio of an action to it is the cost of the program's logic.
 *
 * The sequence was read off `strace -f -e trace=file,desc` of the real program (a warm run of
 * the bundle as root, user `root`, on the benchmark's spool) and lib/fs/*.ts:
 *
 *   both   uid, hostname, environment; read /etc/passwd; stat and read CONDOR_CONFIG; the time
 *          zone (/etc/localtime); write the header; lstat each component of the OAuth directory
 *          from /
 *   query  lstat <user>.mark, <user>/, <service>.top, <service>.use twice; open, fstat, read and
 *          close <service>.use; write the answer
 *   add    read stdin (synchronously, as the program reads a pipe) after the header; lstat
 *          .locks/ and .locks/<user>.lock; open, fstat, flock and read the lock (crash journal);
 *          lstat the mark, <user>/, the .use twice; open, fstat, read and close the old .use; lstat
 *          it; journal the temp name in the lock; create the temp file exclusively 0600, write,
 *          fsync, close, rename over the .use; open, fsync and close <user>/; lstat the .use;
 *          clear the journal; close (unlock); write the answer
 *
 * Usage: deno run <RUNTIME_FLAGS> scripts/syscall_floor.ts query|add CONDOR_CONFIG
 *        OAUTH_DIRECTORY USER SERVICE   (add reads the credential on stdin)
 *
 * Permissions: those of the program (lib/permissions.ts); it reads /etc/passwd, the configuration
 * and the OAuth directory, and writes <OAUTH_DIRECTORY>/<USER>/.
 */

const [mode, config, oauth, user, service] = Deno.args;
if ((mode !== "query" && mode !== "add") || !config || !oauth || !user || !service) {
  console.error("usage: syscall_floor.ts query|add CONDOR_CONFIG OAUTH_DIRECTORY USER SERVICE");
  Deno.exit(2);
}

const encoder = new TextEncoder();
const buffer = new Uint8Array(65536);

/** lstat that tolerates a missing path (the program's ENOENT probes). */
function lstat(path: string): void {
  try {
    Deno.lstatSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** open, fstat, read to the end, close. */
function readWhole(path: string): void {
  const file = Deno.openSync(path, { read: true });
  try {
    file.statSync();
    while ((file.readSync(buffer) ?? 0) > 0) {
      // Reading to EOF, as the program does.
    }
  } finally {
    file.close();
  }
}

/** open, read to the end, close (how the configuration is read: no fstat). */
function readPlain(path: string): void {
  const file = Deno.openSync(path, { read: true });
  try {
    while ((file.readSync(buffer) ?? 0) > 0) {
      // Reading to EOF.
    }
  } finally {
    file.close();
  }
}

/** Writes `text`, padded to `length` bytes: the size of the program's own output. */
function write(text: string, length: number): void {
  const bytes = encoder.encode(text.padEnd(length, " ").slice(0, length - 1) + "\n");
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

function readStdin(): Uint8Array {
  const chunks: Uint8Array[] = [];
  while (true) {
    const n = Deno.stdin.readSync(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

Deno.uid();
Deno.hostname();
Deno.env.toObject();
Deno.readTextFileSync("/etc/passwd");
Deno.statSync(config);
// The program formats local times: the runtime reads the time zone (/etc/localtime).
new Date().getTimezoneOffset();
readPlain(config);
write(`Account: ${user}\nCredType: oauth\n`, 45);
const credential = mode === "add" ? readStdin() : null;
const parts = oauth.split("/").filter(Boolean);
lstat("/");
for (let i = 1; i <= parts.length; i++) lstat(`/${parts.slice(0, i).join("/")}`);
const userDir = `${oauth}/${user}`;
const use = `${userDir}/${service}.use`;

if (credential === null) {
  lstat(`${oauth}/${user}.mark`);
  lstat(userDir);
  lstat(`${userDir}/${service}.top`);
  lstat(use);
  lstat(use);
  readWhole(use);
  write("A credential was stored and is valid.\n\nCredential info:\n", 116);
} else {
  lstat(`${oauth}/.locks`);
  lstat(`${oauth}/.locks/${user}.lock`);
  const lock = Deno.openSync(`${oauth}/.locks/${user}.lock`, { read: true, write: true });
  lock.statSync();
  lock.tryLockSync(true);
  lock.seekSync(0, Deno.SeekMode.Start);
  lock.readSync(new Uint8Array(1024));
  lstat(`${oauth}/${user}.mark`);
  lstat(userDir);
  lstat(use);
  lstat(use);
  readWhole(use);
  lstat(use);
  const temp = `.${service}.use.${
    Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }.tmp`;
  lock.truncateSync(0);
  lock.seekSync(0, Deno.SeekMode.Start);
  lock.writeSync(encoder.encode(`${user}/${temp}`));
  const file = Deno.openSync(`${userDir}/${temp}`, { write: true, createNew: true, mode: 0o600 });
  file.writeSync(credential);
  file.syncSync();
  file.close();
  Deno.renameSync(`${userDir}/${temp}`, use);
  const dir = Deno.openSync(userDir, { read: true });
  dir.syncSync();
  dir.close();
  lstat(use);
  lock.truncateSync(0);
  lock.close();
  write("Operation succeeded. Credential was stored.\n\nCredential info:\n", 151);
}
