/**
 * The command-line parser: arguments in, a plain value out, no I/O (docs/upstream.md "Command
 * line", with deviations 1, 3, 4 and 13 and the long forms in the README). No error message
 * repeats an argument that could be a secret: a value glued to `-p`, anything after `=`, and a
 * word that follows an option's value are named by position instead.
 */

import { printable } from "../errors.ts";
import type { Action, CredType } from "../request.ts";
import { parseTokenCommand, type TokenCreate } from "./token.ts";
import {
  ACTIONS,
  COMPLETION_SHELLS,
  COMPLETIONS_COMMAND,
  type CompletionShell,
  DOCTOR_COMMAND,
  LIST_COMMAND,
  matchTypeSuffix,
  OPTIONS,
  type OptionSpec,
  SERVE_COMMAND,
  TOKEN_COMMAND,
  TYPE_KEYWORDS,
} from "./grammar.ts";

/** A successfully parsed command line. */
export interface CommandLine {
  readonly action: Action;
  readonly type: CredType;
  /** No type suffix was given: upstream's LEGACY_PWD mode. */
  readonly legacy: boolean;
  /** The `-u` value, verbatim. */
  readonly user: string | null;
  /** `-c`: the pool password. */
  readonly pool: boolean;
  /** The `-p` value (`-` means stdin). It is a secret when it is not `-`. */
  readonly password: string | null;
  readonly input: string | null;
  readonly service: string | null;
  readonly handle: string | null;
  readonly scopes: string | null;
  readonly audience: string | null;
  readonly accessToken: boolean;
  readonly name: string | null;
  /** `-f FILE`: write a pool password file instead of storing. */
  readonly poolFile: string | null;
  readonly debug: boolean;
  readonly json: boolean;
  /** `--min-ttl SECONDS` (query-oauth -s only). */
  readonly minTtl: number | null;
  /** `--token-file FILE`: the IDTOKEN for a remote daemon. */
  readonly tokenFile: string | null;
}

/** Which usage text follows an error: the main one (upstream's and the additions) or a
 * command's own. */
export type UsageTopic = "main" | "list" | "doctor" | "serve" | "token" | "completions";

/** What the parser decided. `message` is printed on stderr as is, then the usage text of
 * `usage` when it is not null. */
export type ParseResult =
  | { readonly kind: "command"; readonly command: CommandLine }
  | { readonly kind: "help"; readonly json: boolean }
  | { readonly kind: "version" }
  | { readonly kind: "completions"; readonly shell: CompletionShell }
  | { readonly kind: "serve"; readonly debug: boolean; readonly help: boolean }
  | { readonly kind: "token"; readonly command: TokenCreate | "help" }
  | { readonly kind: "list"; readonly command: ListCommand }
  | {
    readonly kind: "doctor";
    readonly json: boolean;
    readonly debug: boolean;
    readonly help: boolean;
  }
  | {
    readonly kind: "error";
    readonly message: string;
    readonly usage: UsageTopic | null;
    readonly json: boolean;
    /** What was parsed before the error, for `--json`. */
    readonly action: Action | null;
    readonly type: CredType | null;
  };

interface Draft {
  action: Action | null;
  type: CredType | null;
  user: string | null;
  pool: boolean;
  password: string | null;
  input: string | null;
  service: string | null;
  handle: string | null;
  scopes: string | null;
  audience: string | null;
  accessToken: boolean;
  name: string | null;
  poolFile: string | null;
  debug: boolean;
  help: boolean;
  json: boolean;
  version: boolean;
  minTtl: string | null;
  tokenFile: string | null;
}

class UsageError extends Error {
  constructor(message: string, readonly usage = true) {
    super(message);
  }
}

function emptyDraft(): Draft {
  return {
    action: null,
    type: null,
    user: null,
    pool: false,
    password: null,
    input: null,
    service: null,
    handle: null,
    scopes: null,
    audience: null,
    accessToken: false,
    name: null,
    poolFile: null,
    debug: false,
    help: false,
    json: false,
    version: false,
    minTtl: null,
    tokenFile: null,
  };
}

const SHORT = new Map(OPTIONS.filter((o) => o.short).map((o) => [`-${o.short}`, o]));
const LONG = new Map(OPTIONS.map((o) => [`--${o.long}`, o]));
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
function shownOption(arg: string): string {
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

/** True when `arg` is exactly an option spelling (so it is never taken as a detached type). */
function isOptionSpelling(arg: string): boolean {
  return SHORT.has(arg) || LONG.has(arg.split("=", 1)[0]);
}

/** Checks `-u`'s value: an `@` that is neither the first nor the last character. */
function isAccountAtDomain(value: string): boolean {
  const at = value.indexOf("@");
  return at > 0 && at !== value.length - 1;
}

/**
 * The message for an argument that is not a command. Only a command-like word (letters, `-`
 * and `_`, no digits) in the command's place is repeated; any other word (one after an option's
 * value, say the second half of an unquoted password) is named by its position.
 */
function unrecognizedCommand(shown: string, position: number, safe: boolean): UsageError {
  if (safe && /^[A-Za-z_-]*$/.test(shown)) {
    return new UsageError(`ERROR: Unrecognized command - '${shown}'\n\n`);
  }
  return new UsageError(
    `ERROR: Unrecognized command - argument ${position} (not shown: it may be part of a ` +
      "secret); quote a value that contains spaces\n\n",
  );
}

function applyActionWord(draft: Draft, arg: string, position: number, safe: boolean): void {
  // "add-krb" splits at its first dash into the action "add" and the suffix "-krb".
  const dash = arg.indexOf("-");
  const word = dash > 0 ? arg.slice(0, dash) : arg;
  const suffix = dash > 0 ? arg.slice(dash) : null;
  const action = ACTIONS.find((a) => a[0] === word[0]?.toLowerCase());
  if (action === undefined) throw unrecognizedCommand(arg, position, safe);
  if (word.toLowerCase() !== action) throw unrecognizedCommand(word, position, safe);
  if (draft.action === null) {
    draft.action = action;
    if (suffix !== null) {
      const type = matchTypeSuffix(suffix);
      if (type === null) {
        // A glued value (`add-pS3cr3t`) is not repeated: only a word-like suffix is.
        const shown = /^-[A-Za-z-]*$/.test(suffix) ? suffix : `${suffix.slice(0, 2)}…`;
        throw new UsageError(`ERROR: ${printable(shown)} is not a known credential type\n`);
      }
      draft.type = type;
    }
  } else if (draft.action !== action) {
    throw new UsageError("ERROR: exactly one command must be provided\n");
  }
  // A repeated action word of the same operation is ignored, suffix and all (docs/upstream.md
  // "Command line").
}

function setOption(draft: Draft, spec: OptionSpec, value: string | null): void {
  const { key } = spec;
  if (key === "user") {
    if (draft.user !== null || draft.pool) throw new UsageError(duplicateMessage(spec));
    if (!isAccountAtDomain(value!)) {
      throw new UsageError(
        `ERROR: Username '${printable(value!)}' is not of the form: account@domain\n`,
      );
    }
    draft.user = value;
    return;
  }
  if (key === "pool") {
    if (draft.user !== null || draft.pool) throw new UsageError(duplicateMessage(spec));
    draft.pool = true;
    return;
  }
  if (
    key === "accessToken" || key === "debug" || key === "help" || key === "json" ||
    key === "version"
  ) {
    draft[key] = true;
    return;
  }
  if (draft[key] !== null && spec.duplicate.kind === "error") {
    throw new UsageError(duplicateMessage(spec));
  }
  draft[key] = value;
}

function duplicateMessage(spec: OptionSpec): string {
  return spec.duplicate.kind === "error" ? `${spec.duplicate.message}\n` : "";
}

function scan(args: readonly string[], draft: Draft): void {
  let actionIndex = -1;
  let typeGiven = false;
  let afterValue = false;
  let positionals = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const followsValue = afterValue;
    afterValue = false;
    if (!arg.startsWith("-")) {
      const before = draft.action;
      // Only the first word, not right after an option's value, is where a command goes.
      applyActionWord(draft, arg, i + 1, positionals++ === 0 && !followsValue);
      if (before === null) {
        actionIndex = i;
        typeGiven = draft.type !== null;
      }
      continue;
    }
    // Deviation 4: `add -krb` when the word right after the action names a type.
    if (actionIndex >= 0 && i === actionIndex + 1 && !typeGiven && !isOptionSpelling(arg)) {
      const type = matchTypeSuffix(arg);
      if (type !== null) {
        draft.type = type;
        typeGiven = true;
        continue;
      }
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const spelling = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = arg.startsWith("--") ? LONG.get(spelling) : SHORT.get(arg);
    if (spec === undefined) {
      throw new UsageError(`ERROR: Unrecognized option - '${shownOption(arg)}'\n\n`);
    }
    let value: string | null = null;
    if (spec.argument !== null) {
      if (eq > 0) {
        value = arg.slice(eq + 1);
      } else if (i + 1 < args.length) {
        value = args[++i];
        afterValue = true;
      } else {
        throw new UsageError(`ERROR: Option '${arg}' requires a ${spec.argument} argument\n\n`);
      }
    } else if (eq > 0) {
      throw new UsageError(`ERROR: Option '${spelling}' does not take an argument\n\n`);
    }
    setOption(draft, spec, value);
  }
}

/** The checks that run after a successful scan (docs/upstream.md "Command line"), returning the
 * final command line. */
function validate(draft: Draft): CommandLine | UsageError | "help" | "version" {
  if (draft.poolFile !== null && (draft.action === "delete" || draft.action === "query")) {
    // Deviation 13: upstream silently turned the action into a pool-file write.
    return new UsageError("ERROR: -f can only be used to add a password\n", false);
  }
  const action = draft.action ?? (draft.poolFile !== null ? "add" : null);
  let minTtl: number | null = null;
  if (draft.minTtl !== null) {
    if (!/^\d{1,9}$/.test(draft.minTtl)) {
      return new UsageError(
        `ERROR: --min-ttl needs a whole number of seconds, not '${printable(draft.minTtl)}'\n\n`,
      );
    }
    if (action !== "query" || draft.type !== "oauth" || draft.service === null) {
      return new UsageError(
        "ERROR: --min-ttl can only be used with query-oauth -s SERVICE\n",
        false,
      );
    }
    minTtl = Number(draft.minTtl);
  }
  // `-f` always writes a password, whatever type came with the add (docs/upstream.md "Command
  // line").
  const type: CredType = draft.poolFile !== null ? "password" : draft.type ?? "password";
  let message = "";
  if (action === "add" && type !== "password" && draft.input === null) {
    message += "ERROR: add-krb and add-oauth commands require a credential filename argument\n";
  }
  if (action === "add" && type === "oauth" && draft.service === null) {
    message += "ERROR: add-oauth command requires a service name\n";
  }
  if (message) return new UsageError(message, false);
  if (draft.help) return "help";
  if (draft.version) return "version";
  if (action === null) return new UsageError("");
  const { help: _help, version: _version, ...rest } = draft;
  return {
    ...rest,
    action,
    type,
    legacy: draft.type === null || draft.poolFile !== null,
    minTtl,
  };
}

/** A parsed `list[-type]` command line. */
export interface ListCommand {
  readonly type: CredType | null;
  readonly user: string | null;
  readonly name: string | null;
  readonly tokenFile: string | null;
  readonly json: boolean;
  readonly debug: boolean;
  readonly help: boolean;
}

/** `list[-type] [-u user@domain] [-n host[:port]] [--token-file F] [--json] [-d] [-h]`. */
function parseList(word: string, args: readonly string[]): ParseResult {
  const json = args.includes("--json");
  const fail = (message: string): ParseResult => ({
    kind: "error",
    message,
    usage: "list",
    json,
    action: null,
    type: null,
  });
  const suffix = word.slice(LIST_COMMAND.length);
  const type = suffix === "" ? null : matchTypeSuffix(suffix);
  if (suffix !== "" && type === null) {
    return fail(
      `ERROR: ${
        printable(/^-[A-Za-z-]*$/.test(suffix) ? suffix : `${suffix.slice(0, 2)}…`)
      } is not a known credential type\n`,
    );
  }
  const values: Record<string, string | null> = { user: null, name: null, tokenFile: null };
  let debug = false;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const spelling = eq > 0 ? arg.slice(0, eq) : arg;
    const key = ({
      "-u": "user",
      "--user": "user",
      "-n": "name",
      "--name": "name",
      "--token-file": "tokenFile",
    } as Record<string, string>)[spelling];
    if (arg === "--json") continue;
    if (arg === "-d" || arg === "--debug") debug = true;
    else if (arg === "-h" || arg === "--help") help = true;
    else if (key !== undefined) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) return fail(`ERROR: Option '${spelling}' requires an argument\n`);
      if (values[key] !== null) return fail(`ERROR: only one '${spelling}' may be provided\n`);
      if (key === "user" && !isAccountAtDomain(value)) {
        return fail(`ERROR: Username '${printable(value)}' is not of the form: account@domain\n`);
      }
      values[key] = value;
    } else {
      return fail(
        `ERROR: list does not take '${
          shownOption(arg)
        }'; it takes -u, -n, --token-file, --json and -d\n`,
      );
    }
  }
  return {
    kind: "list",
    command: {
      type,
      user: values.user,
      name: values.name,
      tokenFile: values.tokenFile,
      json,
      debug,
      help,
    },
  };
}

/** `doctor [--json] [-d] [-h]`. */
function parseDoctor(args: readonly string[]): ParseResult {
  const json = args.includes("--json");
  let debug = false;
  let help = false;
  for (const arg of args) {
    if (arg === "--json") continue;
    if (arg === "-d" || arg === "--debug") debug = true;
    else if (arg === "-h" || arg === "--help") help = true;
    else {
      const message = `ERROR: doctor takes only --json, -d and -h, not '${shownOption(arg)}'\n`;
      return { kind: "error", message, usage: "doctor", json, action: null, type: null };
    }
  }
  return { kind: "doctor", json, debug, help };
}

/** `serve [-d|--debug] [-h|--help]`: everything else is configuration (CREDD_SOCKET, ...). */
function parseServe(args: readonly string[]): ParseResult {
  let debug = false;
  let help = false;
  for (const arg of args) {
    if (arg === "-d" || arg === "--debug") debug = true;
    else if (arg === "-h" || arg === "--help") help = true;
    else {
      const message = `ERROR: ${SERVE_COMMAND} takes only -d (--debug) and -h (--help), not ` +
        `'${shownOption(arg)}'; it is configured through HTCondor's configuration ` +
        "(CREDD_SOCKET, CREDD_CHALLENGE_DIRECTORY, CREDD_TLS_ADDRESS, ...)\n";
      return { kind: "error", message, usage: "serve", json: false, action: null, type: null };
    }
  }
  return { kind: "serve", debug, help };
}

/** True for `list` and `list-…` in any case: `/^list(-|$)/i` without a regular expression. */
function isListWord(arg: string): boolean {
  return arg.slice(0, 4).toLowerCase() === "list" && (arg.length === 4 || arg[4] === "-");
}

/**
 * Parses the program's arguments (without argv0). Pure: no I/O, no environment.
 * Never throws; every problem is a `{kind: "error"}` result carrying upstream's message text.
 */
export function parseCommandLine(args: readonly string[]): ParseResult {
  if (args[0] === COMPLETIONS_COMMAND) {
    const shell = COMPLETION_SHELLS.find((s) => s === args[1]);
    if (shell === undefined || args.length !== 2) {
      const message = `ERROR: ${COMPLETIONS_COMMAND} needs exactly one shell: ` +
        `${COMPLETION_SHELLS.join(", ")}\n`;
      return {
        kind: "error",
        message,
        usage: "completions",
        json: false,
        action: null,
        type: null,
      };
    }
    return { kind: "completions", shell };
  }
  if (args[0] === SERVE_COMMAND) return parseServe(args.slice(1));
  if (args[0] === DOCTOR_COMMAND) return parseDoctor(args.slice(1));
  if (args[0] !== undefined && isListWord(args[0])) {
    return parseList(args[0].toLowerCase(), args.slice(1));
  }
  if (args[0] === TOKEN_COMMAND) {
    const token = parseTokenCommand(args.slice(1));
    if (typeof token === "string" && token !== "help") {
      return {
        kind: "error",
        message: token,
        usage: "token",
        json: false,
        action: null,
        type: null,
      };
    }
    return { kind: "token", command: token };
  }
  const draft = emptyDraft();
  // --json is honoured even when the scan stops before reaching it, so errors are JSON too.
  const json = args.includes("--json");
  try {
    scan(args, draft);
  } catch (error) {
    if (error instanceof UsageError) {
      const { action, type } = draft;
      const usage = error.usage ? "main" : null;
      return { kind: "error", message: error.message, usage, json, action, type };
    }
    throw error;
  }
  const result = validate(draft);
  if (result === "help") return { kind: "help", json };
  if (result === "version") return { kind: "version" };
  if (result instanceof UsageError) {
    const { action, type } = draft;
    const usage = result.usage ? "main" : null;
    return { kind: "error", message: result.message, usage, json, action, type };
  }
  return { kind: "command", command: result };
}
