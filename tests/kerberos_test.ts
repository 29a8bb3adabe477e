/**
 * Black-box tests of Kerberos credentials (docs/upstream.md "Kerberos", deviation 9) with a credmon
 * stand-in that records SIGHUP and writes `.cc` files: signal, wait, timeout and pending paths.
 */

import assert from "node:assert/strict";
import {
  exists,
  listTree,
  localTime,
  modeOf,
  readBytes,
  readText,
  runCli,
  startCredmon,
  withSpool,
} from "../testing/harness.ts";

const HEADER = "Account: <current> (root)\nCredType: kerberos\n\n";
const INFO = '\nCredential info:\nfully_qualified_user = "root@test.example"\n\n';

function mtimeSeconds(info: Deno.FileInfo): number {
  return Math.floor(info.mtime!.getTime() / 1000);
}

Deno.test("add-krb without a credmon stores <user>.cred and is pending", async () => {
  await withSpool(async (spool) => {
    const ticket = new Uint8Array([0, 1, 2, 255, 10, 13]);
    const r = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: ticket });
    assert.deepEqual(r, {
      code: 0,
      stdout: `${HEADER}Operation succeeded and is waiting for processing.\n${INFO}`,
      // Deviation 17: an unsignalled credmon is a warning, not a silent pending.
      stderr: `WARNING: the Kerberos credmon was not signalled (no pid file ${spool.krb}/pid); ` +
        "the credential is stored and waits for processing\n",
    });
    assert.deepEqual(await readBytes(`${spool.krb}/root.cred`), ticket);
    assert.deepEqual(await modeOf(`${spool.krb}/root.cred`), 0o600);
    // As root the Kerberos directory is created as HTCondor's packages make it (docs/storage.md).
    assert.deepEqual(await modeOf(spool.krb), 0o755);
    assert.deepEqual(await listTree(spool.krb), [".locks/", ".locks/root.lock", "root.cred"]);

    const credTime = mtimeSeconds(await Deno.stat(`${spool.krb}/root.cred`));
    const q = await runCli(["query-krb"], { env: spool.env });
    assert.deepEqual(q, {
      code: 0,
      stdout: `${HEADER}A credential was stored and is waiting for processing.\n\n` +
        `Credential info:\nCredTime = ${credTime}\nfully_qualified_user = "root@test.example"\n\n`,
      stderr: "",
    });
  });
});

Deno.test("add-krb signals the credmon and waits for its .cc", async () => {
  await withSpool(async (spool) => {
    const credmon = await startCredmon(spool.krb, {
      mode: "krb",
      log: `${spool.root}/credmon.log`,
      delayMs: 300,
    });
    try {
      const r = await runCli(["add-krb", "-u", "alice@test.example", "-i", "-"], {
        env: spool.env,
        stdin: "TICKET",
      });
      const cc = await Deno.stat(`${spool.krb}/alice.cc`);
      const t = localTime(mtimeSeconds(cc), "UTC");
      assert.deepEqual(r, {
        code: 0,
        stdout: "Account: alice@test.example\nCredType: kerberos\n\n" +
          `Operation succeeded. Credential was stored on ${t}\n${INFO}`,
        stderr: "",
      });
      assert.deepEqual(await credmon.hupsReach(1), 1);
      assert.deepEqual(await readText(`${spool.krb}/alice.cc`), "TICKET");

      const q = await runCli(["query-krb", "-u", "alice@test.example"], { env: spool.env });
      assert.deepEqual(
        q.stdout,
        "Account: alice@test.example\nCredType: kerberos\n\n" +
          `A credential was stored on ${t} and is valid.\n${INFO}`,
      );
      assert.deepEqual(q.code, 0);

      // Deviation 9: with a .cc present the .cred is still rewritten and the credmon asked again.
      const again = await runCli(["add-krb", "-u", "alice@test.example", "-i", "-"], {
        env: spool.env,
        stdin: "TICKET2",
      });
      assert.deepEqual(again.code, 0);
      assert.deepEqual(await readText(`${spool.krb}/alice.cred`), "TICKET2");
      assert.deepEqual(await readText(`${spool.krb}/alice.cc`), "TICKET2");
      assert.deepEqual(await credmon.hupsReach(2), 2);
    } finally {
      await credmon.stop();
    }
  });
});

Deno.test("add-krb times out after CREDD_POLLING_TIMEOUT when the credmon does nothing", async () => {
  await withSpool(async (spool) => {
    const credmon = await startCredmon(spool.krb, {
      mode: "krb",
      log: `${spool.root}/credmon.log`,
      ignore: true,
    });
    try {
      const r = await runCli(["add-krb", "-i", "-"], {
        env: { ...spool.env, _CONDOR_CREDD_POLLING_TIMEOUT: "1" },
        stdin: "TICKET",
      });
      assert.deepEqual(r.code, 1);
      assert.deepEqual(r.stdout, HEADER);
      assert.match(
        r.stderr,
        /^The credmon did not process credentials within the timeout period\n {4}the credential was stored in .*root\.cred.*within 1 seconds/,
      );
      assert.deepEqual(await credmon.hupsReach(1), 1);
      // The credential stays stored.
      assert.deepEqual(await readText(`${spool.krb}/root.cred`), "TICKET");
    } finally {
      await credmon.stop();
    }
  });
});

Deno.test("add-krb with a stale credmon pid file is pending", async () => {
  await withSpool(async (spool) => {
    await Deno.mkdir(spool.krb, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(`${spool.krb}/pid`, "4194303\n", { mode: 0o600 });
    const r = await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "T" });
    assert.deepEqual(
      r.stdout,
      `${HEADER}Operation succeeded and is waiting for processing.\n${INFO}`,
    );
    assert.deepEqual(r.code, 0);
  });
});

Deno.test("query-krb prefers .cc; delete-krb removes .cc and .cred and always succeeds", async () => {
  await withSpool(async (spool) => {
    const none = await runCli(["query-krb"], { env: spool.env });
    assert.deepEqual(none, { code: 1, stdout: `${HEADER}No credential is stored.\n`, stderr: "" });
    await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "T" });
    await Deno.writeTextFile(`${spool.krb}/root.cc`, "CC", { mode: 0o600 });
    const t = localTime(mtimeSeconds(await Deno.stat(`${spool.krb}/root.cc`)), "UTC");
    const q = await runCli(["query-krb"], { env: spool.env });
    assert.deepEqual(q.stdout, `${HEADER}A credential was stored on ${t} and is valid.\n${INFO}`);
    const d = await runCli(["delete-krb"], { env: spool.env });
    assert.deepEqual(d, { code: 0, stdout: `${HEADER}Operation succeeded.\n${INFO}`, stderr: "" });
    assert.deepEqual(await listTree(spool.krb), [".locks/", ".locks/root.lock"]);
    const d2 = await runCli(["delete-krb"], { env: spool.env });
    assert.deepEqual(d2.code, 0);
  });
});

Deno.test("every Kerberos operation removes <user>.mark", async () => {
  await withSpool(async (spool) => {
    await Deno.mkdir(spool.krb, { recursive: true, mode: 0o700 });
    for (const args of [["query-krb"], ["add-krb", "-i", "-"], ["delete-krb"]]) {
      await Deno.writeTextFile(`${spool.krb}/root.mark`, "", { mode: 0o600 });
      await runCli(args, { env: spool.env, stdin: "T" });
      assert.deepEqual(await readBytes(`${spool.krb}/root.mark`), null, args.join(" "));
    }
  });
});

Deno.test("a LOCAL:<service> Kerberos credential asks the local issuer for <service>.top", async () => {
  await withSpool(async (spool) => {
    const r = await runCli(["add-krb", "-u", "alice@test.example", "-i", "-"], {
      env: spool.env,
      stdin: "LOCAL:scitokens",
    });
    assert.deepEqual(r.code, 0);
    assert.deepEqual(await readText(`${spool.oauth}/alice/scitokens.top`), "alice");
    assert.deepEqual(await readBytes(`${spool.krb}/alice.cred`), null);
  });
});

Deno.test("Kerberos user names are checked (deviation 11)", async () => {
  await withSpool(async (spool) => {
    for (const user of ["../etc@x", "a*b@x", "..@x"]) {
      const r = await runCli(["add-krb", "-u", user, "-i", "-"], { env: spool.env, stdin: "T" });
      assert.deepEqual(r.code, 1, user);
      assert.match(
        r.stderr,
        /^Operation aborted due to missing or bad arguments\n {4}the user name/,
      );
    }
    assert.deepEqual(await exists(spool.krb), false);
  });
});
