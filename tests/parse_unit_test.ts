/**
 * The parser in-process, as a table (docs/upstream.md "Command line", deviations 1, 3, 4 and 13,
 * README "Usage"): every grammar rule the black-box tests (cli_grammar_test.ts,
 * cli_commands_test.ts) cover, in milliseconds, through the same path as run.ts: choose the
 * command, `-h` first, then the command's line.
 */

import assert from "node:assert/strict";
import { type Command, UsageError } from "../lib/cli/command.ts";
import { commandNamed, COMMANDS } from "../lib/cli/commands.ts";
import { identify, mentions, parseLine } from "../lib/cli/parse.ts";

/** What the parser made of a line: help, a usage error, or a command and what it parsed. */
type Parsed =
  | { readonly help: string }
  | { readonly error: string; readonly usage: boolean }
  | { readonly command: string; readonly parsed: Record<string, unknown> | string | null };

async function parse(args: string[]): Promise<Parsed> {
  let entry = identify(args, COMMANDS) ?? commandNamed("action");
  let command: Command = (await entry.load()).command;
  if (mentions(args, command.options, "help")) return { help: entry.name };
  let parsed: unknown;
  try {
    parsed = parseLine(command, args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { error: error.message, usage: error.usage };
  }
  if (parsed !== null && typeof parsed === "object" && "redirect" in parsed) {
    const redirect = parsed as { redirect: string; parsed: unknown };
    entry = commandNamed(redirect.redirect);
    command = (await entry.load()).command;
    parsed = redirect.parsed;
  }
  return { command: entry.name, parsed: parsed as Parsed & null };
}

/** A row: the arguments, and part of what the parser must make of them. */
type Row = readonly [string[], Record<string, unknown>];

const action = (fields: Record<string, unknown>) => ({ command: "action", parsed: fields });
const usage = (error: string) => ({ error, usage: true });
const plain = (error: string) => ({ error, usage: false });

const ROWS: readonly Row[] = [
  // Action words and type suffixes (docs/upstream.md "Command line").
  [["query"], action({ action: "query", type: "password", legacy: true })],
  [["QUERY"], action({ action: "query", type: "password" })],
  [["Query-PWD"], action({ action: "query", type: "password", legacy: false })],
  ...["-p", "-pw", "-pa", "-password", "--pwd", "--password"].map((s): Row => [
    [`query${s}`],
    action({ type: "password" }),
  ]),
  ...["-kr", "-krb", "-ke", "-kerberos", "--krb", "-KRB"].map((s): Row => [
    [`query${s}`],
    action({ type: "kerberos" }),
  ]),
  ...["-oa", "-oat", "-oath", "-sci", "-scitokens", "--oauth"].map((s): Row => [
    [`query${s}`],
    action({ type: "oauth" }),
  ]),
  [["query-krb", "query-oauth"], action({ type: "kerberos" })],
  // Deviation 4: the type as the next word.
  [["query", "-krb"], action({ type: "kerberos", legacy: false })],
  [["query", "-oauth", "-s", "x"], action({ type: "oauth", service: "x" })],
  [["-u", "bob@x.org", "query"], action({ user: "bob@x.org" })],
  [["query", "--user=bob@x.org"], action({ user: "bob@x.org" })],
  [["query-oauth", "--service", "s", "--handle=h"], action({ service: "s", handle: "h" })],
  [["query-oauth", "-P", "--access-token", "-s", "s"], action({ accessToken: true })],
  [["add", "-p", "-"], action({ action: "add", password: "-" })],
  [["add-oauth", "-s", "s", "-i", "-", "--json", "-d"], action({ json: true, debug: true })],
  [["query-oauth", "-s", "s", "--min-ttl", "60"], action({ minTtl: 60 })],
  [["query", "-n", "host", "--token-file", "t"], action({ name: "host", tokenFile: "t" })],
  // -f is the pool-file command; a later -f wins; -v is the version.
  [["-f", "F", "-p", "-"], { command: "pool-file", parsed: { action: "add", poolFile: "F" } }],
  [["add", "-f", "a", "-f", "b"], { command: "pool-file", parsed: { poolFile: "b" } }],
  [["add-krb", "-f", "F", "-p", "-"], { command: "pool-file", parsed: { type: "password" } }],
  [["-v"], { command: "version", parsed: null }],
  [["--version", "query"], { command: "version", parsed: null }],
  // Rejected action words.
  [["del"], usage("ERROR: Unrecognized command - 'del'\n\n")],
  [["querying-krb"], usage("ERROR: Unrecognized command - 'querying'\n\n")],
  [["xyz-krb"], usage("ERROR: Unrecognized command - 'xyz-krb'\n\n")],
  [[""], usage("ERROR: Unrecognized command - ''\n\n")],
  [["add", "delete"], usage("ERROR: exactly one command must be provided\n")],
  [["query-x"], usage("ERROR: -x is not a known credential type\n")],
  [["add-pS3cr3t"], usage("ERROR: -p… is not a known credential type\n")],
  // Options match exactly (deviation 3); no secret is repeated.
  [["query", "-pool"], usage("ERROR: Unrecognized option - '-pool'\n\n")],
  [["add", "-pS3cr3t"], usage("ERROR: Unrecognized option - '-p…'\n\n")],
  [["add", "--pasword=S3cr3t"], usage("ERROR: Unrecognized option - '--pasword=…'\n\n")],
  [["add", "--S3cr3t"], usage("ERROR: Unrecognized option - '--…'\n\n")],
  [
    ["add", "-p", "correct", "horse"],
    usage(
      "ERROR: Unrecognized command - argument 4 (not shown: it may be part of a secret); quote " +
        "a value that contains spaces\n\n",
    ),
  ],
  // A single-dash word is shown whole only when short or a prefix of a word of the grammar.
  [["query", "-x"], usage("ERROR: Unrecognized option - '-x'\n\n")],
  [["query", "-po"], usage("ERROR: Unrecognized option - '-po'\n\n")],
  [["add", "-pX"], usage("ERROR: Unrecognized option - '-p…'\n\n")],
  [["query", "-ab"], usage("ERROR: Unrecognized option - '-a…'\n\n")],
  [["query", "--a"], usage("ERROR: Unrecognized option - '--a'\n\n")],
  [["query", "--help=x"], usage("ERROR: Option '--help' does not take an argument\n\n")],
  [["query", "-u", "a@b", "-krb"], usage("ERROR: Unrecognized option - '-krb'\n\n")],
  [["-krb", "query"], usage("ERROR: Unrecognized option - '-krb'\n\n")],
  [["query", "-u"], usage("ERROR: Option '-u' requires a username argument\n\n")],
  [["query", "--file"], usage("ERROR: Option '--file' requires a filename argument\n\n")],
  [["query", "--pool=x"], usage("ERROR: Option '--pool' does not take an argument\n\n")],
  // Duplicates, upstream's messages.
  [["query", "-u", "a@b", "-u", "c@d"], usage("ERROR: only one of '-s' or '-u' may be provided\n")],
  [["query", "-c", "-u", "c@d"], usage("ERROR: only one of '-s' or '-u' may be provided\n")],
  [["query", "-u", "a@b", "-c"], usage("ERROR: only one '-c' or '-u' arg may be provided\n")],
  [["query", "-p", "", "-p", "y"], usage("ERROR: only one '-p' arg may be provided\n")],
  [["query", "-s", "a", "-s", "b"], usage("ERROR: OAuth service already specified\n")],
  [["query", "-u", "alice"], usage("ERROR: Username 'alice' is not of the form: account@domain\n")],
  // No action: usage; inter-argument checks: no usage.
  [[], usage("")],
  [["-d"], usage("")],
  [
    ["add-oauth"],
    plain(
      "ERROR: add-krb and add-oauth commands require a credential filename argument\n" +
        "ERROR: add-oauth command requires a service name\n",
    ),
  ],
  [["delete", "-f", "F"], plain("ERROR: -f can only be used to add a password\n")],
  [["-f", "F", "query-krb"], plain("ERROR: -f can only be used to add a password\n")],
  [
    ["query-oauth", "--min-ttl", "x"],
    usage("ERROR: --min-ttl needs a whole number of seconds, not 'x'\n\n"),
  ],
  [
    ["query-krb", "--min-ttl", "5"],
    plain("ERROR: --min-ttl can only be used with query-oauth -s SERVICE\n"),
  ],
  // Deviation 1: -h wins wherever it stands, over every other check, and names the command.
  [["-h"], { help: "action" }],
  [["add-krb", "-h"], { help: "action" }],
  [["query", "-u", "-h"], { help: "action" }],
  [["list", "-u", "-h"], { help: "list" }],
  [["--help", "doctor", "x"], { help: "doctor" }],
  [["token", "-help"], { help: "token" }],
  [["completions", "tcsh", "-h"], { help: "completions" }],
  // The commands beyond the actions, options before or after their word.
  [["list"], { command: "list", parsed: { type: null, user: null } }],
  [["LIST-KRB", "-u", "a@b"], { command: "list", parsed: { type: "kerberos", user: "a@b" } }],
  [["--json", "-u", "a@b", "list-oauth"], { command: "list", parsed: { type: "oauth" } }],
  [["list-x"], usage("ERROR: -x is not a known credential type\n")],
  // A command's word after an action word, or as an option's value, does not select it.
  [
    ["query", "list"],
    usage(
      "ERROR: Unrecognized command - argument 2 (not shown: it may be part of a secret); " +
        "quote a value that contains spaces\n\n",
    ),
  ],
  [["-u", "list"], usage("ERROR: Username 'list' is not of the form: account@domain\n")],
  [["-n", "h", "list"], { command: "list", parsed: { name: "h", user: null } }],
  [["--user=a@b", "list"], { command: "list", parsed: { user: "a@b" } }],
  [
    ["list", "-P"],
    usage("ERROR: list does not take '-P'; it takes -u, -n, --token-file, --json and -d\n"),
  ],
  [
    ["list", "now"],
    usage("ERROR: list does not take 'now'; it takes -u, -n, --token-file, --json and -d\n"),
  ],
  // A word that is not command-like, or follows an option's value, is named by its position.
  [
    ["list", "a@b"],
    usage("ERROR: list does not take 'argument 2'; it takes -u, -n, --token-file, --json and -d\n"),
  ],
  [
    ["list", "-u", "a@b", "x"],
    usage("ERROR: list does not take 'argument 4'; it takes -u, -n, --token-file, --json and -d\n"),
  ],
  [["doctor", "x1"], usage("ERROR: doctor takes only --json, -d and -h, not 'argument 2'\n")],
  [["doctor", "now"], usage("ERROR: doctor takes only --json, -d and -h, not 'now'\n")],
  [["-d", "doctor", "--json"], { command: "doctor", parsed: null }],
  [["doctor", "-u", "a@b"], usage("ERROR: doctor takes only --json, -d and -h, not '-u'\n")],
  [["-d", "serve"], { command: "serve", parsed: null }],
  [["serve", "--json"], {
    error: /^ERROR: serve takes only -d \(--debug\) and -h \(--help\), not '--json'/,
  }],
  [
    ["-identity", "a@b", "token", "create", "--lifetime=60", "-authz", "READ", "-scope", "WRITE"],
    {
      command: "token",
      parsed: {
        identity: "a@b",
        lifetime: 60,
        key: "POOL",
        authz: ["READ", "WRITE"],
        output: null,
      },
    },
  ],
  [
    ["token", "make"],
    usage("ERROR: token needs the word create, as in: token create -identity USER@DOMAIN\n"),
  ],
  [["token", "create"], usage("ERROR: token create needs -identity USER@DOMAIN\n")],
  [
    ["token", "create", "-identity", "alice"],
    usage("ERROR: -identity 'alice' is not of the form USER@DOMAIN\n"),
  ],
  [
    ["token", "create", "-identity", "a@b", "-color", "red"],
    usage("ERROR: token create does not know '-color'\n"),
  ],
  [["completions", "zsh"], { command: "completions", parsed: "zsh" }],
  [["completions"], usage("ERROR: completions needs exactly one shell: bash, zsh, fish\n")],
  [
    ["completions", "bash", "fish"],
    usage("ERROR: completions needs exactly one shell: bash, zsh, fish\n"),
  ],
];

/** True when `actual` has every field of `expected` (regular expressions match strings). */
function contains(actual: unknown, expected: unknown): boolean {
  if (expected instanceof RegExp) return typeof actual === "string" && expected.test(actual);
  if (expected === null || typeof expected !== "object" || Array.isArray(expected)) {
    return JSON.stringify(actual) === JSON.stringify(expected);
  }
  if (actual === null || typeof actual !== "object") return false;
  return Object.entries(expected).every(([k, v]) =>
    contains((actual as Record<string, unknown>)[k], v)
  );
}

Deno.test("the parser reads every line of the grammar table as the black-box tests expect", async () => {
  const wrong: string[] = [];
  for (const [args, expected] of ROWS) {
    const got = await parse(args);
    if (!contains(got, expected)) wrong.push(`${JSON.stringify(args)}: ${JSON.stringify(got)}`);
  }
  assert.deepEqual(wrong, []);
  assert.ok(ROWS.length > 80, `${ROWS.length} rows`);
});

Deno.test("every command of the table loads, and every word selects its own line", async () => {
  for (const entry of COMMANDS) {
    const { command } = await entry.load();
    assert.ok(
      command.options.some((o) => o.key === "help") || entry.words.length === 0,
      entry.name,
    );
    for (const word of entry.words) assert.equal(identify([word], COMMANDS), entry, word);
  }
  // Action words, and words no command takes, go to the actions' grammar.
  for (const word of ["add-krb", "QUERY", "delete", "xyz", "dxyz"]) {
    assert.equal(identify([word], COMMANDS), null, word);
  }
});
