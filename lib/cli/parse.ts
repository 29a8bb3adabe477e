/**
 * The one command-line parser: which command a line is, then that command's line read against
 * its declared options (docs/upstream.md "Command line", with deviations 1, 3, 4 and 13 and the
 * long forms in the README). Pure: no I/O, no environment. No error message repeats an argument
 * that could be a secret: a value glued to `-p`, anything after `=`, and a word that follows an
 * option's value are named by position instead.
 */

import { printable } from "../errors.ts";
import type { Command, CommandEntry, LineReader, OptionValues, Redirect, Word } from "./command.ts";
import { UsageError } from "./command.ts";
import { ACTIONS, OPTIONS, type OptionSpec, type OptionValue, TYPE_KEYWORDS } from "./grammar.ts";

/** Words of the grammar (long option names, type keywords): safe to repeat in a message. */
const GRAMMAR_WORDS = [...OPTIONS.map((o) => o.long), ...TYPE_KEYWORDS.map((k) => k.keyword)];

function isGrammarWord(word: string): boolean {
  const lower = word.toLowerCase();
  return lower.length >= 2 && GRAMMAR_WORDS.some((w) => w.startsWith(lower));
}

/**
 * An unrecognized option as it may be shown: anything after `=`, and of a single-dash word that
 * is not a word of the grammar (`-pool`, `-debug` are shown) everything after its first letter
 * (`-pS3cr3t`, `-cpS3cr3t`, `-dS3cr3t` are shown `-p…`, `-c…`, `-d…`), since a password may have
 * been glued to an option.
 */
export function shownOption(arg: string): string {
  if (arg.length <= 2) return printable(arg);
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const shown = /^--[A-Za-z][A-Za-z-]*$/.test(name) ? name : "--…";
    return eq < 0 ? shown : `${shown}=…`;
  }
  if (!isGrammarWord(arg.slice(1))) return `${printable(arg.slice(0, 2))}…`;
  return printable(arg);
}

/**
 * A word a command does not take, as it may be shown: a command-like word (letters, `-`, `_`) in
 * a command's place is repeated; any other (the rest of an unquoted secret, say) is named by
 * its position.
 */
export function shownWord(word: Word): string {
  return /^[A-Za-z_-]*$/.test(word.text) && !word.followsValue
    ? word.text
    : `argument ${word.index + 1}`;
}

/** The reader of a command that takes no word beyond its own (`doctor`, `serve`). */
export function ownWordOnly(
  refuse: (shown: string) => string,
): LineReader<{ seen: boolean }, null> {
  return {
    start: () => ({ seen: false }),
    word(state, word) {
      if (state.seen) throw new UsageError(refuse(shownWord(word)));
      state.seen = true;
    },
    finish: () => null,
  };
}

const SPELLINGS = new WeakMap<readonly OptionSpec[], Map<string, OptionSpec>>();

/** The options' exact spellings: `-u`, `--user`, and aliases such as `-identity`. */
function spellings(options: readonly OptionSpec[]): Map<string, OptionSpec> {
  let map = SPELLINGS.get(options);
  if (map === undefined) {
    map = new Map();
    for (const o of options) {
      if (o.short !== null) map.set(`-${o.short}`, o);
      map.set(`--${o.long}`, o);
      for (const alias of o.aliases ?? []) map.set(alias, o);
    }
    SPELLINGS.set(options, map);
  }
  return map;
}

/** The option `arg` spells (`--opt=value` included), with the value after `=`, or null. */
function lookup(
  options: readonly OptionSpec[],
  arg: string,
): { spec: OptionSpec; spelling: string; inline: string | null } | null {
  const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
  const spelling = eq > 0 ? arg.slice(0, eq) : arg;
  const spec = spellings(options).get(spelling);
  return spec === undefined ? null : { spec, spelling, inline: eq > 0 ? arg.slice(eq + 1) : null };
}

/** True when `arg` is exactly a spelling of one of `options` (never a detached type, then). */
export function isOptionSpelling(options: readonly OptionSpec[], arg: string): boolean {
  return lookup(options, arg) !== null;
}

/**
 * True when any argument spells the option with `key`, even where it would be another option's
 * value: how `-h` wins wherever it stands and whatever else is wrong on the line (deviation 1:
 * `list -u -h` is help, not a user called `-h`).
 */
export function mentions(args: readonly string[], options: readonly OptionSpec[], key: string) {
  return args.some((arg) => lookup(options, arg)?.spec.key === key && !arg.includes("="));
}

/**
 * True when an option with `key` stands on the line as an option (not as another option's
 * value): how `--json` and `-d` apply to errors found before the parser reaches them. Words it
 * does not know are taken as flags.
 */
export function hasOption(args: readonly string[], options: readonly OptionSpec[], key: string) {
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith("-")) continue;
    const hit = lookup(options, args[i]);
    if (hit === null) continue;
    if (hit.spec.key === key && hit.inline === null) return true;
    if (hit.spec.argument !== null && hit.inline === null) i++;
  }
  return false;
}

/**
 * The command a line is: the first word (not an option or an option's value, read with the
 * shared options; another dash word is taken as a flag) that selects a command of `table`. Null
 * when an action word comes first or no word selects one: the actions' grammar then reads the
 * line (and reports what is wrong).
 */
export function identify(
  args: readonly string[],
  table: readonly CommandEntry[],
): CommandEntry | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith("-")) {
      const hit = lookup(OPTIONS, arg);
      if (hit !== null && hit.spec.argument !== null && hit.inline === null) i++;
      continue;
    }
    const entry = table.find((e) =>
      e.words.length > 0 && (e.selects ? e.selects(arg) : e.words.includes(arg))
    );
    if (entry !== undefined) return entry;
    if ((ACTIONS as readonly string[]).includes(arg.split("-", 1)[0].toLowerCase())) return null;
  }
  return null;
}

function duplicate(spec: OptionSpec): UsageError {
  return new UsageError(spec.duplicate.kind === "error" ? `${spec.duplicate.message}\n` : "");
}

function set(values: Record<string, OptionValue>, spec: OptionSpec, value: string | null): void {
  const given = Object.hasOwn(values, spec.key) ||
    (spec.conflicts !== undefined && Object.hasOwn(values, spec.conflicts));
  if (given && spec.duplicate.kind === "error") throw duplicate(spec);
  if (value === null) {
    values[spec.key] = true;
    return;
  }
  const problem = spec.check?.(value) ?? null;
  if (problem !== null) throw new UsageError(problem);
  const before = values[spec.key];
  values[spec.key] = spec.duplicate.kind === "append"
    ? [...(Array.isArray(before) ? before : []), value]
    : value;
}

/**
 * Reads `args` as a line of `command`: options in any position (`--opt value`, `--opt=value`,
 * single letters exactly), every other word handed to the command's reader in order. Returns
 * the command's parsed form (or a redirect to another command). Throws UsageError, with the
 * command's own message for what it does not take.
 */
export function parseLine<P, S>(command: Command<P, S>, args: readonly string[]): P | Redirect {
  const reader = command.reader;
  if (reader === undefined) throw new Error("this command is reached only by a redirect");
  const state = reader.start();
  try {
    return readLine(command, reader, state, args);
  } catch (error) {
    if (error instanceof UsageError) error.subject ??= reader.subject?.(state) ?? null;
    throw error;
  }
}

function readLine<P, S>(
  command: Command<P, S>,
  reader: LineReader<S, P | Redirect>,
  state: S,
  args: readonly string[],
): P | Redirect {
  const values: Record<string, OptionValue> = {};
  let afterValue = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const followsValue = afterValue;
    afterValue = false;
    if (!arg.startsWith("-")) {
      const word: Word = { text: arg, index: i, followsValue };
      reader.word(state, word);
      continue;
    }
    if (reader.claim?.(state, arg, i)) continue;
    const hit = lookup(command.options, arg);
    if (hit === null) throw new UsageError(command.refuse(shownOption(arg), arg));
    const { spec, spelling, inline } = hit;
    let value: string | null = null;
    if (spec.argument !== null) {
      if (inline !== null) {
        value = inline;
      } else if (i + 1 < args.length) {
        value = args[++i];
        afterValue = true;
      } else {
        throw new UsageError(`ERROR: Option '${arg}' requires a ${spec.argument} argument\n\n`);
      }
    } else if (inline !== null) {
      throw new UsageError(`ERROR: Option '${spelling}' does not take an argument\n\n`);
    }
    set(values, spec, value);
  }
  return reader.finish(state, values as OptionValues);
}
