/**
 * What a command is: the declaration every file of lib/cli/commands/ exports, and the line of
 * the table (lib/cli/commands.ts) that selects and loads it. The one generic parser (parse.ts)
 * reads a command line against a declaration; help, usage errors and `--json` errors are
 * handled once for every command (run.ts); the usage text, the man page and the completions
 * are generated from the declarations.
 */

import type { Result } from "../output/result.ts";
import type { Action, CredType } from "../request.ts";
import type { OptionSpec, OptionValue } from "./grammar.ts";
import type { Session } from "./session.ts";

/** A word of the command line that is not an option or an option's value. */
export interface Word {
  readonly text: string;
  /** Its index in the arguments (0 = the first argument after the program's name). */
  readonly index: number;
  /** It comes right after an option's value (so it may be the rest of a secret). */
  readonly followsValue: boolean;
}

/** A usage error: the message (complete lines), and whether the command's usage follows it. */
export class UsageError extends Error {
  /** What the line named before the error, for `--json` (set by the parser). */
  subject: { readonly action: Action | null; readonly type: CredType | null } | null = null;

  constructor(message: string, readonly usage = true) {
    super(message);
  }
}

/** The options of a scanned line, by key; a key never given is absent. */
export type OptionValues = Readonly<Record<string, OptionValue>>;

/**
 * How a command reads its line: the parser calls `word` for every word in order (a command
 * with words beyond its name, or the actions' grammar), may let the command claim a dash word
 * that is not one of its options (`add -krb`), and ends with `finish`. Each may throw
 * UsageError; `finish` returns the parsed form `run` takes.
 */
export interface LineReader<S, P> {
  /** A fresh state for one line. */
  start(): S;
  /** A word (not an option, not an option's value), in order. */
  word(state: S, word: Word): void;
  /** A dash word that is no option of the command: true when the command takes it. */
  claim?(state: S, arg: string, index: number): boolean;
  /** The parsed form, from the state and the options' values. */
  finish(state: S, values: OptionValues): P;
  /** The action and type read so far, for the `--json` form of a usage error. */
  subject?(state: S): { readonly action: Action | null; readonly type: CredType | null };
}

/** Another command a line turns out to be (`add -f FILE` is the pool-file command). */
export interface Redirect {
  readonly redirect: string;
  readonly parsed: unknown;
}

/** One command: its options, usage, documentation and what it does. */
export interface Command<P = unknown, S = unknown> {
  /** Its options, shared ones (grammar.ts OPTIONS) and its own. */
  readonly options: readonly OptionSpec[];
  /** The usage text shown by `-h` and after its usage errors. */
  usage(): string;
  /**
   * The message for an option or word it does not take (its usage follows): `shown` is the
   * argument as it may be shown (parse.ts `shownOption`), `arg` the argument itself.
   */
  refuse(shown: string, arg: string): string;
  /** Reads its line; absent for a command only a redirect reaches (`-f`, `--version`). */
  readonly reader?: LineReader<S, P | Redirect>;
  /** What it does beyond its one-line summary: lines of the man page's COMMANDS section. */
  readonly details: readonly string[];
  /** What the `-d` trace calls it (default: its name in the table), e.g. the action word. */
  label?(parsed: P): string;
  /** It stores, reads or deletes nothing, so it also runs where credentials cannot be
   * protected (the Windows build: README "Differences from HTCondor"). */
  readonly harmless?: boolean;
  /** Does it; returns the result lib/output/ renders. Expected failures are results. */
  run(session: Session, parsed: P): Promise<Result>;
}

/**
 * A line of the command table: what the dispatcher and the main help need before the command's
 * module is loaded (its words, synopsis and summary), and its loader.
 */
export interface CommandEntry {
  /** The name a redirect uses, e.g. `pool-file`. */
  readonly name: string;
  /** The first words that select it (all its spellings, for the completions); none for the
   * actions' grammar, which takes every line no other command claims, and for commands only a
   * redirect reaches. */
  readonly words: readonly string[];
  /** True when `word` selects it (default: one of `words`, exactly). */
  readonly selects?: (word: string) => boolean;
  /** The word after the first one, if the command has one (`token create`). */
  readonly sub?: string;
  /** The usage-text synopsis and one-line summary; null keeps it out of the commands list. */
  readonly synopsis: string | null;
  readonly summary: string;
  /** Imports the command's module (a static string import(), so bundles keep it apart). */
  readonly load: () => Promise<{ readonly command: Command }>;
}
