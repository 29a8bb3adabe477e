/**
 * The password prompt in a real pseudo-terminal (util-linux `script`): no echo, confirmation,
 * mismatch refused, Ctrl-C exits 130 and stores nothing, raw mode restored afterwards.
 */

import assert from "node:assert/strict";
import { unscramblePoolPassword } from "../lib/crypto/scramble.ts";
import {
  baseEnv,
  exists,
  listTree,
  programCommand,
  readBytes,
  runCli,
  type Spool,
  withSpool,
} from "../testing/harness.ts";

const hasScript = await new Deno.Command("script", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** A session in a pseudo-terminal, driven like a person at the keyboard. */
class PtySession {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #transcript = "";
  #reading: Promise<void>;

  constructor(command: string[], env: Record<string, string>) {
    // After the program, print the terminal settings so the test sees what it left behind.
    const inner = `${command.map(shellQuote).join(" ")}; rc=$?; echo; echo STTY: $(stty -a); ` +
      "exit $rc";
    this.#child = new Deno.Command("script", {
      args: ["-qefc", `sh -c ${shellQuote(inner)}`, "/dev/null"],
      clearEnv: true,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const stdout = this.#child.stdout;
    this.#reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stdout) {
        this.#transcript += decoder.decode(chunk, { stream: true });
      }
    })();
  }

  get transcript(): string {
    return this.#transcript;
  }

  /** Waits until the transcript contains `text` (at most 120 s: a loaded machine is slow). */
  async waitFor(text: string): Promise<void> {
    for (let i = 0; i < 6000; i++) {
      if (this.#transcript.includes(text)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${JSON.stringify(text)} in ${this.#transcript}`);
  }

  async type(text: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(text));
  }

  async finish(): Promise<{ code: number; transcript: string }> {
    const status = await this.#child.status;
    await this.#reading;
    await this.#writer.close().catch(() => {});
    await this.#child.stderr.cancel();
    return { code: status.code, transcript: this.#transcript };
  }
}

async function session(spool: Spool, args: string[]): Promise<PtySession> {
  const env = { ...(await baseEnv()), ...spool.env, TERM: "dumb" };
  return new PtySession([...(await programCommand()), ...args], env);
}

/** The terminal must be back in cooked mode with echo after the program exits. */
function assertTerminalRestored(transcript: string) {
  const stty = /STTY: (.*)/.exec(transcript)?.[1] ?? "";
  assert.match(stty, /(^| )icanon( |$)/, stty);
  assert.match(stty, /(^| )echo( |$)/, stty);
  assert.match(stty, /(^| )isig( |$)/, stty);
}

Deno.test({
  name: "the prompt reads without echo, asks to confirm, and restores the terminal",
  ignore: !hasScript,
  async fn() {
    await withSpool(async (spool) => {
      const s = await session(spool, ["add", "-c"]);
      await s.waitFor("Enter password: ");
      // A typo fixed with backspace (DEL), as a terminal sends it.
      await s.type("foobarX\x7f2\r");
      await s.waitFor("Confirm password: ");
      await s.type("foobar2\r");
      const { code, transcript } = await s.finish();
      assert.equal(code, 0, transcript);
      assert.equal(transcript.includes("foobar"), false, "the password was echoed");
      assert.match(
        transcript,
        /^Account: condor_pool@test\.example\r\nCredType: password\r\n\r\nEnter password: \r\nConfirm password: \r\nOperation succeeded\.\r\n/,
      );
      const stored = unscramblePoolPassword((await readBytes(spool.pool))!);
      assert.equal(new TextDecoder().decode(stored), "foobar2");
      assertTerminalRestored(transcript);
    });
  },
});

Deno.test({
  name: "a confirmation that does not match is refused and nothing is stored",
  ignore: !hasScript,
  async fn() {
    await withSpool(async (spool) => {
      const s = await session(spool, ["add", "-c"]);
      await s.waitFor("Enter password: ");
      await s.type("first\r");
      await s.waitFor("Confirm password: ");
      await s.type("second\r");
      const { code, transcript } = await s.finish();
      assert.equal(code, 1);
      assert.match(transcript, /ERROR: passwords do not match\r\n/);
      assert.equal(/first|second/.test(transcript), false);
      assert.equal(await exists(spool.pool), false);
      assertTerminalRestored(transcript);
    });
  },
});

Deno.test({
  name: "Ctrl-C at the prompt exits 130, stores nothing and restores the terminal",
  ignore: !hasScript,
  async fn() {
    await withSpool(async (spool) => {
      const s = await session(spool, ["add"]);
      await s.waitFor("Enter password: ");
      await s.type("half");
      await s.type("\x03");
      const { code, transcript } = await s.finish();
      assert.equal(code, 130, transcript);
      assert.equal(transcript.includes("half"), false);
      assert.equal(await exists(spool.pwd), false);
      assertTerminalRestored(transcript);
    });
  },
});

Deno.test({
  name: "Ctrl-C at the -f FILE prompt exits 130, writes nothing and restores the terminal",
  ignore: !hasScript,
  async fn() {
    await withSpool(async (spool) => {
      const before = await listTree(spool.root);
      for (const keys of ["half\x03", "\x03", "first\rsec\x03"]) {
        const s = await session(spool, ["-f", `${spool.root}/poolfile`]);
        await s.waitFor("Enter password: ");
        const [typed, rest] = keys.split("\r");
        await s.type(rest === undefined ? typed : `${typed}\r`);
        if (rest !== undefined) {
          await s.waitFor("Confirm password: ");
          await s.type(rest);
        }
        const { code, transcript } = await s.finish();
        assert.equal(code, 130, `${JSON.stringify(keys)}: ${transcript}`);
        assert.equal(/half|first|sec/.test(transcript), false, transcript);
        assert.deepEqual(await listTree(spool.root), before, JSON.stringify(keys));
        assertTerminalRestored(transcript);
      }
    });
  },
});

Deno.test({
  name: "an over-long typed password is refused after Enter, nothing stored",
  ignore: !hasScript,
  async fn() {
    await withSpool(async (spool) => {
      const s = await session(spool, ["-f", `${spool.root}/poolfile`]);
      await s.waitFor("Enter password: ");
      await s.type("y".repeat(300) + "\r");
      const { code, transcript } = await s.finish();
      assert.equal(code, 1);
      assert.match(transcript, /ERROR: credential is larger than 255 bytes/);
      assert.equal(await exists(`${spool.root}/poolfile`), false);
      assertTerminalRestored(transcript);
    });
  },
});

Deno.test({
  name: "piped stdin without -p: one line, newline stripped, no confirmation",
  async fn() {
    await withSpool(async (spool) => {
      const r = await runCli(["add", "-c"], { env: spool.env, stdin: "foobar2\nignored\n" });
      assert.deepEqual(r, {
        code: 0,
        stdout: "Account: condor_pool@test.example\nCredType: password\n\nEnter password: \n" +
          "Operation succeeded.\n",
        stderr: "",
      });
      const stored = unscramblePoolPassword((await readBytes(spool.pool))!);
      assert.equal(new TextDecoder().decode(stored), "foobar2");
    });
  },
});
