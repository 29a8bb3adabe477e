/**
 * The secure-file primitives' own guarantees, where a black-box test cannot aim: the temp file of
 * a durable write is created exclusively (a link or FIFO planted at its name is never followed or
 * opened), and the crash journal lets the next writer remove what a killed one left.
 */

import assert from "node:assert/strict";
import { AccountDb } from "../lib/accounts.ts";
import { storeDirectory } from "../lib/fs/directories.ts";
import { replaceFile } from "../lib/fs/files.ts";
import type { Owners } from "../lib/fs/owners.ts";
import { exists, listTree, readText, runCli, withSpool } from "../testing/harness.ts";

const owners: Owners = { self: Deno.uid()!, condor: null, accounts: new AccountDb() };

Deno.test("replaceFile() never follows a link or opens a FIFO planted at its temp name", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = storeDirectory(root, owners)!;
    await Deno.writeTextFile(`${root}/victim`, "victim");
    await Deno.symlink(`${root}/victim`, `${root}/.cred.0123456789abcdef.tmp`);
    assert.throws(
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
    assert.throws(
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
