/**
 * Declarations of the command-line grammar: actions, credential-type keywords and options.
 *
 * The parser, the usage text, the man page and the shell completions are all generated from
 * these tables, so they cannot drift apart. Upstream's grammar: docs/upstream.md "Command line".
 */

import { printable } from "../errors.ts";
import type { Action, CredType } from "../request.ts";

export type { Action, CredType };

/**
 * The environment variable that may hold the caller's IDTOKEN for a remote daemon, when
 * `--token-file` is not given (README "Remote daemons"); never the command line.
 */
export const TOKEN_VARIABLE = "CONDOR_STORE_CRED_IDTOKEN";

/** Action words, matched case-insensitively and in full (docs/upstream.md "Command line"). */
export const ACTIONS: readonly Action[] = ["add", "delete", "query"];

/** One keyword of a type suffix, with the minimum prefix length that selects it (docs/upstream.md
 * "Command line"). */
export interface TypeKeyword {
  readonly keyword: string;
  readonly minLength: number;
  readonly type: CredType;
}

/** Type-suffix keywords in upstream's matching order. */
export const TYPE_KEYWORDS: readonly TypeKeyword[] = [
  { keyword: "pwd", minLength: 1, type: "password" },
  { keyword: "password", minLength: 2, type: "password" },
  { keyword: "krb", minLength: 2, type: "kerberos" },
  { keyword: "kerberos", minLength: 2, type: "kerberos" },
  { keyword: "oauth", minLength: 2, type: "oauth" },
  { keyword: "oath", minLength: 2, type: "oauth" },
  { keyword: "scitokens", minLength: 3, type: "oauth" },
];

/** How a repeated option is treated. */
export type Duplicate =
  | { readonly kind: "allowed" }
  | { readonly kind: "replace" }
  /** Each value is kept, in order (token create's -authz). */
  | { readonly kind: "append" }
  | { readonly kind: "error"; readonly message: string };

/** One option of the grammar. */
export interface OptionSpec {
  /** The single letter after `-` (case-sensitive), or null for long-only options. */
  readonly short: string | null;
  /** The long name after `--` (README "Usage"). */
  readonly long: string;
  /** Other exact spellings (token create's `-identity`, as condor_token_create spells it). */
  readonly aliases?: readonly string[];
  /** The field the option sets on the parsed line. */
  readonly key: string;
  /** An option that may not be given with this one: giving both is this one's duplicate. */
  readonly conflicts?: string;
  /** Checks a value; returns the error line (with its `ERROR: `), or null when it is good. */
  readonly check?: (value: string) => string | null;
  /** The word in "requires a <word> argument", or null for a flag. */
  readonly argument: string | null;
  readonly duplicate: Duplicate;
  /** Usage-text synopsis (left column), or null when upstream's usage does not list it. */
  readonly synopsis: string | null;
  /** Usage-text description lines (right column). */
  readonly description: readonly string[];
  /** For completions: what kind of value the argument is. */
  readonly completes?: "file" | "host" | "user" | "none";
}

/** Checks `-u`'s value: an `@` that is neither the first nor the last character. */
function checkAccount(value: string): string | null {
  const at = value.indexOf("@");
  return at > 0 && at !== value.length - 1
    ? null
    : `ERROR: Username '${printable(value)}' is not of the form: account@domain\n`;
}

const DUPLICATE_USER = "ERROR: only one of '-s' or '-u' may be provided";
const DUPLICATE_POOL = "ERROR: only one '-c' or '-u' arg may be provided";

/**
 * Options in usage-text order. The duplicate messages are upstream's, byte for byte (including
 * its typo in the `-u` message, README "Differences from HTCondor").
 */
export const OPTIONS = [
  {
    short: "u",
    long: "user",
    key: "user",
    conflicts: "pool",
    check: checkAccount,
    argument: "username",
    duplicate: { kind: "error", message: DUPLICATE_USER },
    synopsis: "-u username",
    description: ["Use the specified username"],
    completes: "user",
  },
  {
    short: "c",
    long: "pool",
    key: "pool",
    conflicts: "user",
    argument: null,
    duplicate: { kind: "error", message: DUPLICATE_POOL },
    synopsis: "-c",
    description: ["Manage the condor pool password"],
  },
  {
    short: "p",
    long: "password",
    key: "password",
    argument: "password",
    duplicate: { kind: "error", message: "ERROR: only one '-p' arg may be provided" },
    synopsis: "-p <password>",
    description: [
      "Use the specified password rather than prompting",
      "   If <password> is -, read from stdin",
    ],
    completes: "none",
  },
  {
    short: "i",
    long: "input",
    key: "input",
    argument: "filename",
    duplicate: { kind: "error", message: "ERROR: credential filename already specified" },
    synopsis: "-i <filename>",
    description: [
      "Read the credential from <filename>",
      "   If <filename> is -, read from stdin",
    ],
    completes: "file",
  },
  {
    short: "s",
    long: "service",
    key: "service",
    argument: "service",
    duplicate: { kind: "error", message: "ERROR: OAuth service already specified" },
    synopsis: "-s <service>",
    description: ["Add/Remove/Query for the given OAuth2 service"],
    completes: "none",
  },
  {
    short: "H",
    long: "handle",
    key: "handle",
    argument: "handle",
    duplicate: { kind: "error", message: "ERROR: OAuth handle already specified" },
    synopsis: "-H <handle>",
    description: ["Specify a handle for the given OAuth2 service"],
    completes: "none",
  },
  {
    short: "S",
    long: "scopes",
    key: "scopes",
    argument: "scopes",
    duplicate: { kind: "error", message: "ERROR: OAuth scopes already specified" },
    synopsis: "-S <scopes>",
    description: [
      "Add the given OAuth2 comma-separated scopes, or make sure",
      "   a Query matches",
    ],
    completes: "none",
  },
  {
    short: "A",
    long: "audience",
    key: "audience",
    argument: "audience",
    duplicate: { kind: "error", message: "ERROR: OAuth audience already specified" },
    synopsis: "-A <audience>",
    description: ["Add the given OAuth2 audience, or make sure a Query matches"],
    completes: "none",
  },
  {
    short: "P",
    long: "access-token",
    key: "accessToken",
    argument: null,
    duplicate: { kind: "allowed" },
    synopsis: "-P",
    description: ["The given OAuth2 credential is an access token"],
  },
  {
    short: "n",
    long: "name",
    key: "name",
    argument: "name",
    duplicate: { kind: "error", message: "ERROR: only one '-n' arg may be provided" },
    synopsis: "-n <name>",
    description: ["Manage credentials on the named machine"],
    completes: "host",
  },
  {
    short: "f",
    long: "file",
    key: "poolFile",
    argument: "filename",
    duplicate: { kind: "replace" },
    synopsis: "-f <filename>",
    description: ["Write password to a pool password file"],
    completes: "file",
  },
  {
    short: "d",
    long: "debug",
    key: "debug",
    argument: null,
    duplicate: { kind: "allowed" },
    synopsis: "-d",
    description: ["Display debugging messages"],
  },
  {
    short: "h",
    long: "help",
    key: "help",
    argument: null,
    duplicate: { kind: "allowed" },
    synopsis: "-h",
    description: ["Display this message"],
  },
  {
    short: null,
    long: "min-ttl",
    key: "minTtl",
    argument: "seconds",
    duplicate: { kind: "error", message: "ERROR: --min-ttl already specified" },
    synopsis: null,
    description: [
      "With query-oauth -s: fail unless the access token stays",
      "   valid at least this many more seconds",
    ],
    completes: "none",
  },
  {
    short: null,
    long: "token-file",
    key: "tokenFile",
    argument: "filename",
    duplicate: { kind: "error", message: "ERROR: --token-file already specified" },
    synopsis: null,
    description: [
      "With -n or CREDD_HOST: the IDTOKEN that proves who you",
      "   are; - reads it from standard input (default:",
      "   CONDOR_STORE_CRED_IDTOKEN, else your token directory)",
    ],
    completes: "file",
  },
  {
    short: "v",
    long: "version",
    key: "version",
    argument: null,
    duplicate: { kind: "allowed" },
    synopsis: null,
    description: ["Print the version and exit"],
  },
  {
    short: null,
    long: "json",
    key: "json",
    argument: null,
    duplicate: { kind: "allowed" },
    synopsis: null,
    description: ["Print the result as one JSON object on stdout"],
  },
] as const satisfies readonly OptionSpec[];

/** The names of the fields the shared options set (OPTIONS' keys). */
export type OptionKey = typeof OPTIONS[number]["key"];

/** What a parsed option holds: a flag is true or false, an option with an argument its value
 * or null, a repeatable one its values. */
export type OptionValue = boolean | string | readonly string[] | null;

/** The shared options' values, typed from OPTIONS: flags are booleans, the others strings. */
export type Values = {
  readonly [S in typeof OPTIONS[number] as S["key"]]: S["argument"] extends null ? boolean
    : string | null;
};

/** The shared options with these keys, in OPTIONS' order. */
export function optionsOf(...keys: OptionKey[]): readonly OptionSpec[] {
  return OPTIONS.filter((o) => keys.includes(o.key));
}

/** Shells `condor_store_cred completions SHELL` knows. */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;

/** One of the completion shells. */
export type CompletionShell = typeof COMPLETION_SHELLS[number];

/** The program name used in the usage text and messages. */
export const PROGRAM_NAME = "condor_store_cred";

/**
 * Matches a type suffix such as `-krb` (with its dash) against the keyword table: the text after
 * the dash must be a prefix of a keyword at least `minLength` long, and a `--` suffix must equal
 * the keyword exactly (docs/upstream.md "Command line"). The suffix is lower-cased first.
 */
export function matchTypeSuffix(suffix: string): CredType | null {
  const lower = suffix.toLowerCase();
  if (lower.startsWith("--")) {
    const word = lower.slice(2);
    return TYPE_KEYWORDS.find((k) => k.keyword === word)?.type ?? null;
  }
  if (!lower.startsWith("-")) return null;
  const word = lower.slice(1);
  const hit = TYPE_KEYWORDS.find((k) => word.length >= k.minLength && k.keyword.startsWith(word));
  return hit?.type ?? null;
}

/** The shared options' values of a parsed line, each key present (false or null when absent). */
export function sharedValues(given: Readonly<Record<string, OptionValue>>): Values {
  const values: Record<string, OptionValue> = {};
  for (const o of OPTIONS) values[o.key] = given[o.key] ?? (o.argument === null ? false : null);
  return values as Values;
}
