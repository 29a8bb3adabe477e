/**
 * The Windows build refuses every store, query and delete (it cannot set owner-only ACLs yet),
 * while help, version and completions still work. Driven through `run()` with an Io that
 * reports Windows, since the tests run on Linux.
 */

import assert from "node:assert/strict";
import { run } from "../lib/cli/run.ts";
import type { Io } from "../lib/io.ts";

function windowsIo(): Io & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    env: {},
    os: "windows",
    stdin: {
      read: () => Promise.resolve(null),
      isTerminal: () => false,
      setRaw() {},
      close() {},
    },
    writeOut(text: string | Uint8Array) {
      io.out += typeof text === "string" ? text : new TextDecoder().decode(text);
    },
    writeErr(text: string) {
      io.err += text;
    },
    stdoutIsTerminal: () => false,
    uid: () => -1,
    hostname: () => "win.example",
    cwd: () => "C:\\",
    onInterrupt: () => () => {},
  };
  return io;
}

Deno.test("run() on Windows refuses every action with a clear message and stores nothing", async () => {
  for (
    const args of [
      ["add", "-p", "-"],
      ["query-krb"],
      ["delete-oauth"],
      ["add-oauth", "-s", "s", "-i", "-"],
      ["-f", "C:\\pool", "-p", "-"],
    ]
  ) {
    const io = windowsIo();
    assert.equal(await run(args, io), 1, args.join(" "));
    assert.equal(io.out, "");
    assert.match(io.err, /^ERROR: this Windows build cannot protect credentials/);
  }
});

Deno.test("run() on Windows still prints help, version and completions", async () => {
  for (const args of [["--help"], ["--version"], ["completions", "bash"]]) {
    const io = windowsIo();
    assert.equal(await run(args, io), 0, args.join(" "));
    assert.notEqual(io.out, "");
    assert.equal(io.err, "");
  }
});
