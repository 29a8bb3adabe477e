/**
 * The command table: one line per command, what the dispatcher needs to choose it and what the
 * main help lists, and the import of its module, loaded only when chosen (each a static string
 * import(), so `deno compile` embeds it and `deno bundle --code-splitting` makes it a chunk of
 * its own). A new command is a file in lib/cli/commands/ and a line here.
 */

import type { CommandEntry } from "./command.ts";

/** True for `list` and `list-…` in any case: `/^list(-|$)/i` without a regular expression. */
function isListWord(word: string): boolean {
  return word.slice(0, 4).toLowerCase() === "list" && (word.length === 4 || word[4] === "-");
}

/**
 * Every command, the commands list of the help in this order. The actions' grammar (add, delete
 * and query of every type) reads any line no other command selects; `-f` and `--version` are
 * lines of that grammar that it hands on to their commands by name.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "action",
    words: [],
    synopsis: null,
    summary: "Add, delete or query a credential",
    load: () => import("./commands/action.ts"),
  },
  {
    name: "pool-file",
    words: [],
    synopsis: null,
    summary: "Write a pool password file",
    load: () => import("./commands/pool_file.ts"),
  },
  {
    name: "version",
    words: [],
    synopsis: null,
    summary: "Print the version",
    load: () => import("./commands/version.ts"),
  },
  {
    name: "list",
    words: ["list", "list-pwd", "list-krb", "list-oauth"],
    selects: isListWord,
    synopsis: "list[-type]",
    summary: "List stored credentials and their metadata, never a secret",
    load: () => import("./commands/list.ts"),
  },
  {
    name: "doctor",
    words: ["doctor"],
    synopsis: "doctor",
    summary: "Check the credential store's owners, modes and credmons",
    load: () => import("./commands/doctor.ts"),
  },
  {
    name: "whoami",
    words: ["whoami"],
    synopsis: "whoami",
    summary: "Ask the daemon who it takes you to be, and token validity",
    load: () => import("./commands/whoami.ts"),
  },
  {
    name: "serve",
    words: ["serve"],
    synopsis: "serve",
    summary: "Run the credential daemon (root)",
    load: () => import("./commands/serve.ts"),
  },
  {
    name: "token",
    words: ["token"],
    sub: "create",
    synopsis: "token create",
    summary: "Mint an IDTOKEN for callers of a remote daemon (root)",
    load: () => import("./commands/token.ts"),
  },
  {
    name: "completions",
    words: ["completions"],
    synopsis: "completions SHELL",
    summary: "Print bash, zsh or fish completions",
    load: () => import("./commands/completions.ts"),
  },
];

/** The table line called `name`. Throws when there is none (a redirect to a missing command). */
export function commandNamed(name: string): CommandEntry {
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry === undefined) throw new Error(`no command ${name} in the table`);
  return entry;
}
