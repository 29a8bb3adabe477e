/**
 * Declarations of the command-line grammar: actions, credential-type keywords and options.
 *
 * The parser, the usage text, the man page and the shell completions are all generated from
 * these tables, so they cannot drift apart. Upstream's grammar: docs/upstream.md "Command line".
 */

import type { Action, CredType } from "../request.ts";

export type { Action, CredType };

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

/** The names of the fields an option sets on the parsed command line. */
export type OptionKey =
  | "name"
  | "password"
  | "pool"
  | "user"
  | "input"
  | "service"
  | "handle"
  | "scopes"
  | "audience"
  | "accessToken"
  | "poolFile"
  | "debug"
  | "help"
  | "json"
  | "version"
  | "minTtl"
  | "tokenFile";

/** How a repeated option is treated. */
export type Duplicate =
  | { readonly kind: "allowed" }
  | { readonly kind: "replace" }
  | { readonly kind: "error"; readonly message: string };

/** One option of the grammar. */
export interface OptionSpec {
  /** The single letter after `-` (case-sensitive), or null for long-only options. */
  readonly short: string | null;
  /** The long name after `--` (README "Usage"). */
  readonly long: string;
  readonly key: OptionKey;
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

const DUPLICATE_USER = "ERROR: only one of '-s' or '-u' may be provided";
const DUPLICATE_POOL = "ERROR: only one '-c' or '-u' arg may be provided";

/**
 * Options in usage-text order. The duplicate messages are upstream's, byte for byte (including
 * its typo in the `-u` message, README "Differences from HTCondor").
 */
export const OPTIONS: readonly OptionSpec[] = [
  {
    short: "u",
    long: "user",
    key: "user",
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
      "   are (default: your token directory)",
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
];

/** Shells `condor_store_cred completions SHELL` knows. */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;

/** One of the completion shells. */
export type CompletionShell = typeof COMPLETION_SHELLS[number];

/** The word that selects the completions command (only as the first argument). */
export const COMPLETIONS_COMMAND = "completions";

/** The word that selects the daemon (only as the first argument). */
export const SERVE_COMMAND = "serve";

/** The word that selects token minting (`token create`, only as the first argument). */
export const TOKEN_COMMAND = "token";

/** The word that selects the listing (`list[-type]`, only as the first argument). */
export const LIST_COMMAND = "list";

/** The word that selects the store's health check (only as the first argument). */
export const DOCTOR_COMMAND = "doctor";

/** An option of a command beyond add, delete and query (for its completions). */
export interface CommandOption {
  /** Its spellings, e.g. `-u`, `--user`. */
  readonly names: readonly string[];
  /** What its argument is, or null for a flag. */
  readonly argument: "file" | "host" | "value" | null;
  readonly description: string;
}

/** A command of this product beyond upstream's actions (README "Usage"). */
export interface CommandSpec {
  /** The first words that select it (`list`, `list-krb`, ...). */
  readonly words: readonly string[];
  /** The word after the first one, if the command has one (`token create`). */
  readonly sub: string | null;
  /** The usage-text synopsis. */
  readonly synopsis: string;
  /** One line for the usage text, the man page and the completions. */
  readonly description: string;
  /** Its options (each command also takes -h, --help). */
  readonly options: readonly CommandOption[];
}

const HELP_OPTION: CommandOption = {
  names: ["-h", "--help"],
  argument: null,
  description: "Display this message",
};
const DEBUG_OPTION: CommandOption = {
  names: ["-d", "--debug"],
  argument: null,
  description: "Display debugging messages",
};
const JSON_OPTION: CommandOption = {
  names: ["--json"],
  argument: null,
  description: "Print the result as one JSON object on stdout",
};

/** The commands beyond add, delete and query, in usage-text order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    words: ["list", "list-pwd", "list-krb", "list-oauth"],
    sub: null,
    synopsis: "list[-type]",
    description: "List stored credentials and their metadata, never a secret",
    options: [
      { names: ["-u", "--user"], argument: "value", description: "Only this user@domain" },
      { names: ["-n", "--name"], argument: "host", description: "List on the named machine" },
      { names: ["--token-file"], argument: "file", description: "The IDTOKEN for -n" },
      JSON_OPTION,
      DEBUG_OPTION,
      HELP_OPTION,
    ],
  },
  {
    words: ["doctor"],
    sub: null,
    synopsis: "doctor",
    description: "Check the credential store's owners, modes and credmons",
    options: [JSON_OPTION, DEBUG_OPTION, HELP_OPTION],
  },
  {
    words: ["serve"],
    sub: null,
    synopsis: "serve",
    description: "Run the credential daemon (root)",
    options: [DEBUG_OPTION, HELP_OPTION],
  },
  {
    words: ["token"],
    sub: "create",
    synopsis: "token create",
    description: "Mint an IDTOKEN for callers of a remote daemon (root)",
    options: [
      { names: ["-identity"], argument: "value", description: "Who the token names" },
      { names: ["-lifetime"], argument: "value", description: "Seconds it is valid" },
      { names: ["-key"], argument: "value", description: "The signing key's name" },
      { names: ["-authz"], argument: "value", description: "An authorization level" },
      HELP_OPTION,
    ],
  },
  {
    words: ["completions"],
    sub: null,
    synopsis: "completions SHELL",
    description: "Print bash, zsh or fish completions",
    options: [],
  },
];

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
