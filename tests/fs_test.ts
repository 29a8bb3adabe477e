/**
 * The secure-file primitives' own guarantees, where a black-box test cannot aim: the temp file of
 * a durable write is created exclusively (a link or FIFO planted at its name is never followed or
 * opened), it is fsynced before it is renamed into place and the directory after (seen in the
 * real program's system calls, with strace), and the crash journal lets the next writer remove
 * what a killed one left.
 */

import assert from "node:assert/strict";
import { AccountDb } from "../lib/accounts.ts";
import { storeDirectory } from "../lib/fs/directories.ts";
import { replaceFile } from "../lib/fs/files.ts";
import type { Owners } from "../lib/fs/owners.ts";
import {
  baseEnv,
  exists,
  listTree,
  programCommand,
  readText,
  runCli,
  withSpool,
} from "../testing/harness.ts";
import { have } from "../testing/users.ts";

const owners: Owners = { self: Deno.uid()!, condor: null, accounts: new AccountDb() };

Deno.test("replaceFile() never follows a link or opens a FIFO planted at its temp name", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = storeDirectory(root, owners)!;
    await Deno.writeTextFile(`${root}/victim`, "victim");
    await Deno.symlink(`${root}/victim`, `${root}/.cred.0123456789abcdef.tmp`);
    await assert.rejects(
      () =>
        replaceFile(dir, "cred", new TextEncoder().encode("secret"), {
          tempName: ".cred.0123456789abcdef.tmp",
        }),
      /could not create a temporary file beside ".*cred": .*exists/i,
    );
    assert.equal(await readText(`${root}/victim`), "victim");
    assert.equal(await exists(`${root}/cred`), false);

    const fifo = await new Deno.Command("mkfifo", { args: [`${root}/.cred.fedcba9876543210.tmp`] })
      .output();
    assert.ok(fifo.success);
    // A non-exclusive open of a FIFO would block here forever; the exclusive create fails at once.
    await assert.rejects(
      () =>
        replaceFile(dir, "cred", new TextEncoder().encode("secret"), {
          tempName: ".cred.fedcba9876543210.tmp",
        }),
      /could not create a temporary file beside/,
    );
    assert.equal(await exists(`${root}/cred`), false);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a temp file recorded in the lock journal by a killed writer is removed by the next add", async () => {
  await withSpool(async (spool) => {
    const ok = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: spool.env,
      stdin: "a",
    });
    assert.equal(ok.code, 0, ok.stderr);
    // What a writer killed between creating its temp file and renaming it leaves behind.
    const temp = ".s.use.0123456789abcdef.tmp";
    await Deno.writeTextFile(`${spool.oauth}/root/${temp}`, "half-written", { mode: 0o600 });
    await Deno.writeTextFile(`${spool.oauth}/.locks/root.lock`, `root/${temp}`);
    // A tampered journal naming something else is ignored.
    await Deno.writeTextFile(`${spool.oauth}/.locks/other.lock`, "../../../etc/passwd");
    const next = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: spool.env,
      stdin: "b",
    });
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(await listTree(`${spool.oauth}/root`), ["s.use"]);
    assert.equal(await readText(`${spool.oauth}/root/s.use`), "b");
    assert.equal(await readText(`${spool.oauth}/.locks/root.lock`), "");
    const other = await runCli([
      "add-oauth",
      "-u",
      "other@test.example",
      "-s",
      "s",
      "-P",
      "-i",
      "-",
    ], {
      env: spool.env,
      stdin: "c",
    });
    assert.equal(other.code, 0, other.stderr);
    assert.equal(await exists("/etc/passwd"), true);
  });
});

/** One system call from an strace log: its name, arguments and result. */
interface Syscall {
  readonly name: string;
  readonly args: string;
  readonly result: string;
}

/**
 * The calls of an `strace -f` log, in the order they ended. A call that another thread
 * interrupted in the log (`<unfinished ...>`, then `<... name resumed>`) is joined again: the
 * program's fsyncs, creates and renames run in Deno's blocking pool, beside the main thread.
 */
function syscalls(log: string): Syscall[] {
  const out: Syscall[] = [];
  const unfinished = new Map<string, string>();
  for (const line of log.split("\n")) {
    const started = /^(\d+) +(.*) <unfinished \.\.\.>$/.exec(line);
    if (started) {
      unfinished.set(started[1], started[2]);
      continue;
    }
    const resumed = /^(\d+) +<\.\.\. \w+ resumed>(.*)$/.exec(line);
    const whole = resumed ? `${unfinished.get(resumed[1]) ?? ""}${resumed[2]}` : line;
    const m = /^(?:\d+ +)?(\w+)\((.*)\) += (-?\w+)/.exec(whole);
    if (m) out.push({ name: m[1], args: m[2], result: m[3] });
  }
  return out;
}

/**
 * Asserts, from the calls of one run, that `target` was put in place durably: its temp file was
 * created exclusively, written, fsynced and closed, then renamed (or, for a create-once file,
 * linked) onto `target`, and then the directory was opened and fsynced.
 */
function assertDurable(calls: readonly Syscall[], target: string, how: "rename" | "link") {
  const quoted = JSON.stringify(target);
  const placed = calls.findIndex((c) =>
    (how === "rename" ? /^rename(at2?)?$/ : /^link(at)?$/).test(c.name) &&
    c.args.includes(`, ${quoted}`) && c.result === "0"
  );
  assert.ok(placed >= 0, `no ${how} onto ${target}`);
  const temp = /"([^"]+\.tmp)"/.exec(calls[placed].args)?.[1];
  assert.ok(temp, calls[placed].args);
  const created = calls.findIndex((c) =>
    c.name === "openat" && c.args.includes(`"${temp}"`) && c.args.includes("O_EXCL")
  );
  assert.ok(created >= 0 && created < placed, `${temp} was not created exclusively first`);
  const fd = calls[created].result;
  const closed = calls.findIndex((c, i) => i > created && c.name === "close" && c.args === fd);
  assert.ok(closed > created && closed < placed, `${temp} was not closed before the ${how}`);
  const between = onFile(calls.slice(created + 1, closed), fd);
  const lastWrite = between.findLastIndex((c) => c.name === "write");
  const synced = between.findLastIndex((c) => c.name === "fsync" || c.name === "fdatasync");
  assert.ok(lastWrite >= 0, `nothing was written to ${temp}`);
  assert.ok(synced > lastWrite, `${temp} was not fsynced after its last write`);
  // The directory is fsynced after the rename, before the program creates any other file.
  const next = calls.findIndex((c, i) =>
    i > placed && c.name === "openat" && c.args.includes("O_CREAT")
  );
  const after = calls.slice(placed + 1, next < 0 ? calls.length : next);
  const dir = target.slice(0, target.lastIndexOf("/"));
  const opened = after.findIndex((c) =>
    c.name === "openat" && c.args.includes(`${JSON.stringify(dir)}, O_RDONLY`)
  );
  assert.ok(opened >= 0, `the directory ${dir} was not opened after the ${how}`);
  assert.ok(
    onFile(after.slice(opened + 1), after[opened].result).some((c) => c.name === "fsync"),
    `the directory ${dir} was not fsynced after the ${how}`,
  );
}

/**
 * The calls on descriptor `fd` or on a duplicate of it (an async file operation of Deno runs on a
 * `fcntl(fd, F_DUPFD_CLOEXEC)` copy in its blocking pool).
 */
function onFile(calls: readonly Syscall[], fd: string): Syscall[] {
  const fds = new Set([fd]);
  return calls.filter((c) => {
    const first = c.args.split(",")[0];
    if (!fds.has(first)) return false;
    if (c.name === "fcntl" && /F_DUPFD/.test(c.args) || /^dup[23]?$/.test(c.name)) {
      fds.add(c.result);
    }
    return true;
  });
}

Deno.test({
  name: "every write fsyncs its temp file before the rename and the directory after (strace)",
  ignore: !(await have("strace")),
  async fn() {
    await withSpool(async (spool) => {
      const cases: { args: string[]; target: string; how?: "link" }[] = [
        { args: ["add", "-c", "-p", "-"], target: spool.pool },
        { args: ["add", "-p", "-"], target: `${spool.pwd}/root@test.example.pwd` },
        { args: ["add", "-p", "-"], target: `${spool.pwd}/host.key`, how: "link" },
        { args: ["add-krb", "-i", "-"], target: `${spool.krb}/root.cred` },
        { args: ["add-oauth", "-s", "s", "-i", "-"], target: `${spool.oauth}/root/s.top` },
        { args: ["add-oauth", "-s", "s", "-P", "-i", "-"], target: `${spool.oauth}/root/s.use` },
        { args: ["-f", `${spool.root}/poolfile`, "-p", "-"], target: `${spool.root}/poolfile` },
      ];
      for (const { args, target, how } of cases) {
        // The host key is made by the first user-password add only: start that one afresh.
        if (how === "link") await Deno.remove(spool.pwd, { recursive: true });
        const log = `${spool.root}/strace.log`;
        const argv = [
          "strace",
          "-f",
          "-qq",
          "-s",
          "0",
          "-e",
          "trace=openat,write,fsync,fdatasync,close,rename,renameat,renameat2,link,linkat,fcntl,dup",
          "-o",
          log,
          ...(await programCommand()),
          ...args,
        ];
        const child = new Deno.Command(argv[0], {
          args: argv.slice(1),
          clearEnv: true,
          env: { ...(await baseEnv()), ...spool.env, _CONDOR_CREDD_POLLING_TIMEOUT: "0" },
          stdin: "piped",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode("secret"));
        await writer.close();
        const out = await child.output();
        assert.equal(out.code, 0, `${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
        assertDurable(syscalls((await readText(log))!), target, how ?? "rename");
        await Deno.remove(log);
      }
    });
  },
});
