/**
 * `condor_store_cred completions SHELL`: the completion script for bash, zsh or fish, generated
 * from every command's declaration (lib/cli/completions.ts, which loads them all).
 */

import type { Result } from "../../output/result.ts";
import { type Command, UsageError } from "../command.ts";
import { COMPLETION_SHELLS, type CompletionShell, optionsOf } from "../grammar.ts";
import { completionsHelp } from "../usage.ts";

const NEEDS_SHELL = `ERROR: completions needs exactly one shell: ${COMPLETION_SHELLS.join(", ")}\n`;

/** `completions bash|zsh|fish`. */
export const command: Command<CompletionShell, { words: string[] }> = {
  options: optionsOf("help"),
  usage: () => completionsHelp(),
  refuse: () => NEEDS_SHELL,
  reader: {
    start: () => ({ words: [] }),
    word(state, word) {
      state.words.push(word.text);
    },
    finish(state) {
      const shell = COMPLETION_SHELLS.find((s) => s === state.words[1]);
      if (shell === undefined || state.words.length !== 2) throw new UsageError(NEEDS_SHELL);
      return shell;
    },
  },
  details: [
    "For example: `condor_store_cred completions bash > /etc/bash_completion.d/condor_store_cred`.",
  ],
  harmless: true,
  async run(_session, shell): Promise<Result> {
    const { completionScript } = await import("../completions.ts");
    return { kind: "text", text: completionScript(shell) };
  },
};
