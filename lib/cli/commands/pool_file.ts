/**
 * `-f FILE` (docs/upstream.md "The -f branch", deviations 8 and 13): writes a pool-password file
 * at a path of the caller's choosing, in the pool file's format, through the store's one write
 * path (`writeCredential`): atomically, durably, mode 0600. Whatever regular file was at FILE (a
 * 0644 file, say) is replaced, never read; a link at FILE is refused. No header, no
 * configuration, nothing on stdout on success. A line of the actions' grammar with `-f` is this
 * command.
 */

import { scramblePoolPassword } from "../../crypto/scramble.ts";
import { StoreError } from "../../errors.ts";
import { CANCELLED, readCredential, trailingNewlineWarning } from "../../input.ts";
import { EXIT_CANCELLED, type Result } from "../../output/result.ts";
import type { Subject } from "../../output/text.ts";
import { PASSWORD_LIMIT, poolBytes } from "../../store/password.ts";
import type { Command } from "../command.ts";
import { optionsOf } from "../grammar.ts";
import { writePrivateFile } from "../private_file.ts";
import type { Session } from "../session.ts";
import { credentialSource } from "../to_request.ts";
import { helpText } from "../usage.ts";
import type { CommandLine } from "./action.ts";

/**
 * Writes `password` scrambled to `path` (relative to the current directory), as this process.
 * The directory and its ancestors must pass the ancestor rule of the store's directory checks.
 * Zeroes `password`. Throws StoreError.
 */
async function writePoolPasswordFile(
  session: Session,
  path: string,
  password: Uint8Array,
): Promise<void> {
  const scrambled = scramblePoolPassword(poolBytes(password));
  password.fill(0);
  try {
    const written = await writePrivateFile(session, path, scrambled);
    session.debug(`wrote the pool password file ${written}`);
  } finally {
    scrambled.fill(0);
  }
}

/**
 * Who asked, for `--json` only: `-f` reads no configuration otherwise, and the caller's domain
 * (UID_DOMAIN) comes from it.
 */
function callerOf(session: Session): string | null {
  return session.json ? session.account() : null;
}

/** The pool-password file of `-f FILE`. */
export const command: Command<CommandLine> = {
  options: optionsOf("poolFile", "password", "input", "json", "debug", "help"),
  usage: () => helpText(),
  refuse: (shown) => `ERROR: Unrecognized option - '${shown}'\n\n`,
  details: [],
  label: () => "-f",
  async run(session, line): Promise<Result> {
    const file = line.poolFile!;
    const subject: Subject = { action: "add", type: "password", account: "", pool: true };
    let credential: Uint8Array | typeof CANCELLED | null = null;
    const warnings: string[] = [];
    try {
      const source = credentialSource(line);
      credential = await readCredential(source, session.io, {
        limit: PASSWORD_LIMIT,
        promptTo: session.json ? "stderr" : "stdout",
      });
      if (credential === CANCELLED) return { kind: "exit", code: EXIT_CANCELLED };
      const newline = trailingNewlineWarning(source, credential);
      if (newline !== null) warnings.push(newline);
      await writePoolPasswordFile(session, file, credential);
      const outcome = { status: "success" } as const;
      return {
        kind: "credential",
        subject,
        user: null,
        caller: callerOf(session),
        reply: { ok: true, outcome },
        warnings,
        poolFile: file,
      };
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      return {
        kind: "credential",
        subject,
        user: null,
        caller: callerOf(session),
        reply: { ok: false, error },
        warnings,
        poolFile: file,
      };
    } finally {
      if (credential instanceof Uint8Array) credential.fill(0);
    }
  },
};
