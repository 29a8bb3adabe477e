/**
 * Black-box tests of the commands beyond upstream's actions, read by the one parser (README
 * "Usage", deviation 1): `-h` anywhere prints that command's usage and exits 0 whatever else is
 * wrong on the line; every option a command takes works before its word as after it; `-d`
 * traces every command the same way.
 */

import assert from "node:assert/strict";
import { command as completions } from "../lib/cli/commands/completions.ts";
import { command as doctor } from "../lib/cli/commands/doctor.ts";
import { command as list } from "../lib/cli/commands/list.ts";
import { command as serve } from "../lib/cli/commands/serve.ts";
import { command as token } from "../lib/cli/commands/token.ts";
import { helpText } from "../lib/cli/usage.ts";
import { runCli, withSpool } from "../testing/harness.ts";

Deno.test("-h and --help print the command's usage and exit 0 wherever they stand, whatever else is wrong", async () => {
  const cases: [string[], string][] = [
    [["add-oauth", "-h"], helpText()],
    [["add-krb", "--help"], helpText()],
    [["query", "-u", "-h"], helpText()],
    [["xyz", "-x", "-h"], helpText()],
    [["-f", "-h"], helpText()],
    [["list", "-u", "-h"], list.usage()],
    [["-h", "list-krb", "-P"], list.usage()],
    [["doctor", "now", "--help"], doctor.usage()],
    [["serve", "--port", "1", "-h"], serve.usage()],
    [["token", "create", "-h"], token.usage()],
    [["token", "-help"], token.usage()],
    [["completions", "tcsh", "-h"], completions.usage()],
    [["--help", "completions"], completions.usage()],
  ];
  await withSpool(async (spool) => {
    for (const [args, usage] of cases) {
      const r = await runCli(args, { env: spool.env });
      assert.deepEqual(r, { code: 0, stdout: usage, stderr: "" }, args.join(" "));
    }
  });
});

Deno.test("every option a command takes works before its word as after it", async () => {
  await withSpool(async (spool) => {
    const add = await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], {
      env: spool.env,
      stdin: "tok",
    });
    assert.equal(add.code, 0, add.stderr);
    const pairs: [string[], string[]][] = [
      [["--json", "list"], ["list", "--json"]],
      [["-u", "root@test.example", "list-oauth"], ["list-oauth", "-u", "root@test.example"]],
      [["--json", "doctor"], ["doctor", "--json"]],
      [["--json", "-u", "nobody@test.example", "query-oauth"], [
        "query-oauth",
        "-u",
        "nobody@test.example",
        "--json",
      ]],
    ];
    for (const [before, after] of pairs) {
      const a = await runCli(before, { env: spool.env });
      const b = await runCli(after, { env: spool.env });
      assert.equal(a.stderr, b.stderr, before.join(" "));
      assert.equal(a.code, b.code, before.join(" "));
      // Times in the output may differ by a second; the rest is the same.
      const same = (s: string) =>
        s.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|"expires_in":-?\d+/g, "T");
      assert.equal(same(a.stdout), same(b.stdout), before.join(" "));
      assert.notEqual(a.stdout, "", before.join(" "));
    }
    const json = JSON.parse((await runCli(["--json", "list"], { env: spool.env })).stdout);
    assert.deepEqual([json.action, json.status, json.credentials.length], ["list", "listed", 1]);
    // Each command reads a leading option as its own, and refuses one it does not take.
    const debugDoctor = await runCli(["-d", "doctor"], { env: spool.env });
    assert.match(debugDoctor.stdout, /(No problem|\d+ problems?) found\.\n$/);
    const serveBad = await runCli(["-d", "serve", "--port"], { env: spool.env });
    assert.equal(serveBad.code, 1);
    assert.match(
      serveBad.stderr,
      /^ERROR: serve takes only -d \(--debug\) and -h \(--help\), not '--port'/,
    );
    const tokenLead = await runCli(["-lifetime", "soon", "token", "create", "-identity", "a@b"], {
      env: spool.env,
    });
    assert.equal(tokenLead.code, 1);
    assert.match(tokenLead.stderr, /^ERROR: -lifetime needs a whole number of seconds\n/);
    const listBad = await runCli(["-P", "list"], { env: spool.env });
    assert.match(listBad.stderr, /^ERROR: list does not take '-P'/);
  });
});

Deno.test("-d traces every command the same way: the command line, the configuration, the result", async () => {
  const line = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+\d+\.\dms`;
  await withSpool(async (spool) => {
    await runCli(["add-oauth", "-s", "s", "-P", "-i", "-"], { env: spool.env, stdin: "tok" });
    const cases: [string[], string, string | null][] = [
      [["list", "-d"], "list", "list done: 1 credential"],
      [["-d", "list-krb"], "list", "list done: 0 credential"],
      [["doctor", "-d"], "doctor", "doctor done: \\d+ finding"],
      [["query-oauth", "-d"], "query", "query done: success"],
      [["-d", "token", "create", "-identity", "a@b"], "token", null],
    ];
    for (const [args, name, done] of cases) {
      const r = await runCli(args, { env: spool.env });
      assert.match(
        r.stderr,
        new RegExp(`^${line} ${name}: command line parsed$`, "m"),
        args.join(" "),
      );
      assert.match(r.stderr, new RegExp(`^${line} configuration loaded: .*condor_config$`, "m"));
      if (done !== null) assert.match(r.stderr, new RegExp(`^${line} ${done}`, "m"));
    }
    const file = `${spool.root}/pool`;
    const f = await runCli(["-f", file, "-p", "-", "-d"], { env: spool.env, stdin: "pw" });
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stderr, new RegExp(`^${line} -f: command line parsed$`, "m"));
    assert.match(f.stderr, new RegExp(`^${line} wrote the pool password file ${file}$`, "m"));
  });
});

Deno.test("a usage error prints the usage of the command it broke, except the refused combinations the README lists", async () => {
  const withUsage: [string[], string][] = [
    [["add-oauth", "-s"], helpText()],
    [["frob"], helpText()],
    [["list", "now"], list.usage()],
    [["doctor", "-u", "x"], doctor.usage()],
    [["serve", "--json"], serve.usage()],
    [["token", "create"], token.usage()],
    [["completions", "tcsh"], completions.usage()],
  ];
  const alone: string[][] = [
    ["add-krb"],
    ["add-oauth", "-i", "f"],
    ["delete", "-f", "f"],
    ["query-krb", "--min-ttl", "5"],
    ["add-oauth", "-s", "s", "-i", "-", "--token-file", "-"],
  ];
  await withSpool(async (spool) => {
    for (const [args, usage] of withUsage) {
      const r = await runCli(args, { env: spool.env });
      assert.equal(r.code, 1, args.join(" "));
      assert.ok(r.stderr.startsWith("ERROR: "), args.join(" "));
      assert.ok(r.stderr.endsWith(usage), args.join(" "));
    }
    for (const args of alone) {
      const r = await runCli(args, { env: spool.env });
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /^ERROR: [^\n]*\n(ERROR: [^\n]*\n)?$/, args.join(" "));
    }
  });
});
