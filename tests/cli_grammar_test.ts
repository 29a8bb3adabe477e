/**
 * Black-box tests of the command-line grammar (docs/upstream.md "Command line" with deviation 1, 3,
 * 4, 13 and the long forms of README "Usage"): every accepted and rejected spelling and every error
 * string, checked on stdout, stderr and exit code of the real program.
 */

import assert from "node:assert/strict";
import { helpText, usageText } from "../lib/cli/usage.ts";
import { runCli, withSpool } from "../testing/harness.ts";

/** Upstream's usage text (checked byte for byte below). */
const USAGE = usageText();
/** What -h prints and what follows a usage error: upstream's text, then the additions. */
const HELP_TEXT = helpText();

/** A grammar row: arguments and the exact expected result. */
interface Row {
  readonly args: string[];
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

const usageError = (message: string): Omit<Row, "args"> => ({
  stdout: "",
  stderr: message + HELP_TEXT,
  code: 1,
});

const notFound = (account: string, type: string): Omit<Row, "args"> => ({
  stdout: `Account: ${account}\nCredType: ${type}\n\nNo credential is stored.\n`,
  stderr: "",
  code: 1,
});

const PWD_ACCOUNT = "root@test.example";
const CURRENT = "<current> (root)";

/** Accepted action words and type suffixes (docs/upstream.md "Command line"), shown through query's
 * header. */
const ACCEPTED: Row[] = [
  { args: ["query"], ...notFound(PWD_ACCOUNT, "password") },
  { args: ["QUERY"], ...notFound(PWD_ACCOUNT, "password") },
  { args: ["Query-PWD"], ...notFound(PWD_ACCOUNT, "password") },
  ...["-p", "-pw", "-pwd", "-pa", "-pass", "-password", "--pwd", "--password"].map((s) => ({
    args: [`query${s}`],
    ...notFound(PWD_ACCOUNT, "password"),
  })),
  ...["-kr", "-krb", "-ke", "-kerb", "-kerberos", "--krb", "--kerberos", "-KRB"].map((s) => ({
    args: [`query${s}`],
    ...notFound(CURRENT, "kerberos"),
  })),
  ...["-oa", "-oauth", "-oat", "-oath", "-sci", "-scitokens", "--oauth", "--scitokens"].map(
    (s) => ({ args: [`query${s}`], ...notFound(CURRENT, "oauth") }),
  ),
  // A repeated action word of the same operation is ignored, suffix and all.
  { args: ["query-krb", "query-oauth"], ...notFound(CURRENT, "kerberos") },
  { args: ["query", "QUERY"], ...notFound(PWD_ACCOUNT, "password") },
  // Deviation 4: the type as its own word right after the action.
  { args: ["query", "-krb"], ...notFound(CURRENT, "kerberos") },
  { args: ["query", "-oauth", "-s", "x"], ...notFound(CURRENT, "oauth") },
  { args: ["query", "-pwd"], ...notFound(PWD_ACCOUNT, "password") },
  { args: ["query", "--kerberos"], ...notFound(CURRENT, "kerberos") },
  // Options before the action word.
  { args: ["-u", "bob@test.example", "query"], ...notFound("bob@test.example", "password") },
  {
    // Accepted by the parser; the user part before the last @ then fails the name rule.
    args: ["-u", "a@b@c", "query-krb"],
    stdout: "Account: a@b@c\nCredType: kerberos\n\n",
    stderr: "Operation aborted due to missing or bad arguments\n" +
      '    the user name "a@b" contains characters other than letters, digits and + = _ . -\n',
    code: 1,
  },
  // Long forms (README "Usage"), both spellings.
  { args: ["query", "--user=bob@x.org"], ...notFound("bob@x.org", "password") },
  { args: ["query", "--user", "bob@x.org"], ...notFound("bob@x.org", "password") },
  { args: ["query-oauth", "--service", "s", "--handle=h"], ...notFound(CURRENT, "oauth") },
  { args: ["query-oauth", "-P", "--access-token", "-s", "s"], ...notFound(CURRENT, "oauth") },
];

/** Rejected spellings and every parser error string (docs/upstream.md "Command line"). */
const REJECTED: Row[] = [
  // Action words (docs/upstream.md "Command line").
  { args: ["del"], ...usageError("ERROR: Unrecognized command - 'del'\n\n") },
  { args: ["qu"], ...usageError("ERROR: Unrecognized command - 'qu'\n\n") },
  { args: ["adding"], ...usageError("ERROR: Unrecognized command - 'adding'\n\n") },
  { args: ["querying-krb"], ...usageError("ERROR: Unrecognized command - 'querying'\n\n") },
  { args: ["xyz"], ...usageError("ERROR: Unrecognized command - 'xyz'\n\n") },
  { args: ["xyz-krb"], ...usageError("ERROR: Unrecognized command - 'xyz-krb'\n\n") },
  { args: ["config"], ...usageError("ERROR: Unrecognized command - 'config'\n\n") },
  { args: [""], ...usageError("ERROR: Unrecognized command - ''\n\n") },
  {
    args: ["aVeryLongActionWordOverSixteen-krb"],
    ...usageError("ERROR: Unrecognized command - 'aVeryLongActionWordOverSixteen'\n\n"),
  },
  { args: ["add", "delete"], ...usageError("ERROR: exactly one command must be provided\n") },
  {
    args: ["query-krb", "add-krb"],
    ...usageError("ERROR: exactly one command must be provided\n"),
  },
  // Type suffixes (docs/upstream.md "Command line").
  ...["-k", "-o", "-sc", "--kr", "--oa", "-", "-krbx", "-x", "-pwdd"].map((s) => ({
    args: [`query${s}`],
    ...usageError(`ERROR: ${s} is not a known credential type\n`),
  })),
  { args: ["add-K"], ...usageError("ERROR: -K is not a known credential type\n") },
  // Options match exactly (deviation 3).
  ...["-pool", "-help", "-debug", "-de", "-name", "-x", "-", "--", "--anything", "-kr"].map(
    (o) => ({
      args: ["query", "-u", "a@b", o],
      ...usageError(`ERROR: Unrecognized option - '${o}'\n\n`),
    }),
  ),
  // No message repeats what could be a secret (a value glued to -p, anything after =, a word
  // after an option's value): it is named instead.
  ...[
    ["-pS3cr3t", "-p…"],
    ["-cpS3cr3t", "-c…"],
    ["-dpS3cr3t", "-d…"],
    ["-dFZ-5ecr3t-3w8", "-d…"],
    ["--pasword=S3cr3t", "--pasword=…"],
    ["--S3cr3t", "--…"],
  ].map(
    ([o, shown]) => ({
      args: ["add", o],
      ...usageError(`ERROR: Unrecognized option - '${shown}'\n\n`),
    }),
  ),
  {
    args: ["add", "-p", "correct", "horse"],
    ...usageError(
      "ERROR: Unrecognized command - argument 4 (not shown: it may be part of a secret); quote " +
        "a value that contains spaces\n\n",
    ),
  },
  // A detached type is only taken right after the action word (deviation 4).
  {
    args: ["query", "-u", "a@b", "-krb"],
    ...usageError("ERROR: Unrecognized option - '-krb'\n\n"),
  },
  { args: ["query-krb", "-oauth"], ...usageError("ERROR: Unrecognized option - '-oauth'\n\n") },
  { args: ["-krb", "query"], ...usageError("ERROR: Unrecognized option - '-krb'\n\n") },
  // Missing arguments.
  ...([
    ["-u", "username"],
    ["-p", "password"],
    ["-i", "filename"],
    ["-s", "service"],
    ["-H", "handle"],
    ["-S", "scopes"],
    ["-A", "audience"],
    ["-n", "name"],
    ["-f", "filename"],
    ["--user", "username"],
    ["--password", "password"],
    ["--input", "filename"],
    ["--service", "service"],
    ["--handle", "handle"],
    ["--scopes", "scopes"],
    ["--audience", "audience"],
    ["--name", "name"],
    ["--file", "filename"],
  ] as const).map(([o, word]) => ({
    args: ["query", o],
    ...usageError(`ERROR: Option '${o}' requires a ${word} argument\n\n`),
  })),
  // Flags take no value.
  {
    args: ["query", "--pool=x"],
    ...usageError("ERROR: Option '--pool' does not take an argument\n\n"),
  },
  {
    args: ["query", "--json=1"],
    ...usageError("ERROR: Option '--json' does not take an argument\n\n"),
  },
  // Duplicates (upstream's messages, typos included).
  ...([
    [["-u", "a@b", "-u", "c@d"], "ERROR: only one of '-s' or '-u' may be provided\n"],
    [["-c", "-u", "c@d"], "ERROR: only one of '-s' or '-u' may be provided\n"],
    [["-u", "a@b", "-c"], "ERROR: only one '-c' or '-u' arg may be provided\n"],
    [["-c", "-c"], "ERROR: only one '-c' or '-u' arg may be provided\n"],
    [["--pool", "-c"], "ERROR: only one '-c' or '-u' arg may be provided\n"],
    [["-p", "x", "-p", "y"], "ERROR: only one '-p' arg may be provided\n"],
    [["-p", "", "-p", "y"], "ERROR: only one '-p' arg may be provided\n"],
    [["-i", "a", "--input=b"], "ERROR: credential filename already specified\n"],
    [["-s", "a", "-s", "b"], "ERROR: OAuth service already specified\n"],
    [["-H", "a", "-H", "b"], "ERROR: OAuth handle already specified\n"],
    [["-S", "a", "-S", "b"], "ERROR: OAuth scopes already specified\n"],
    [["-A", "a", "-A", "b"], "ERROR: OAuth audience already specified\n"],
    [["-n", "a@b", "-n", "c@d"], "ERROR: only one '-n' arg may be provided\n"],
  ] as const).map(([args, message]) => ({ args: ["query", ...args], ...usageError(message) })),
  // -u must look like account@domain.
  ...["alice", "@example.com", "alice@", "@"].map((u) => ({
    args: ["query", "-u", u],
    ...usageError(`ERROR: Username '${u}' is not of the form: account@domain\n`),
  })),
  // No action: usage, exit 1.
  { args: [], ...usageError("") },
  { args: ["-c"], ...usageError("") },
  { args: ["-d"], ...usageError("") },
  { args: ["-u", "a@b", "-P"], ...usageError("") },
  // Inter-argument validation: no usage text (docs/upstream.md "Command line").
  {
    args: ["add-krb"],
    stdout: "",
    stderr: "ERROR: add-krb and add-oauth commands require a credential filename argument\n",
    code: 1,
  },
  {
    args: ["add", "-krb", "-p", "x"],
    stdout: "",
    stderr: "ERROR: add-krb and add-oauth commands require a credential filename argument\n",
    code: 1,
  },
  {
    args: ["add-oauth"],
    stdout: "",
    stderr: "ERROR: add-krb and add-oauth commands require a credential filename argument\n" +
      "ERROR: add-oauth command requires a service name\n",
    code: 1,
  },
  {
    args: ["add-oauth", "-i", "-"],
    stdout: "",
    stderr: "ERROR: add-oauth command requires a service name\n",
    code: 1,
  },
  // Deviation 13: -f only with add.
  ...[["delete", "-f", "F"], ["-f", "F", "delete"], ["query-krb", "-f", "F"]].map((args) => ({
    args,
    stdout: "",
    stderr: "ERROR: -f can only be used to add a password\n",
    code: 1,
  })),
];

/** -h and --help: usage on stdout, exit 0 (deviation 1). */
const HELP: Row[] = [
  { args: ["-h"], stdout: HELP_TEXT, stderr: "", code: 0 },
  { args: ["--help"], stdout: HELP_TEXT, stderr: "", code: 0 },
  { args: ["query-krb", "-h"], stdout: HELP_TEXT, stderr: "", code: 0 },
  { args: ["-h", "-h", "add"], stdout: HELP_TEXT, stderr: "", code: 0 },
  // Before any other check (deviation 1): a line that is wrong in another way still gets help.
  { args: ["add-krb", "-h"], stdout: HELP_TEXT, stderr: "", code: 0 },
];

function check(rows: Row[], name: string) {
  Deno.test(`condor_store_cred ${name}`, async (t) => {
    await withSpool(async (spool) => {
      for (const row of rows) {
        await t.step(JSON.stringify(row.args), async () => {
          const result = await runCli(row.args, { env: spool.env });
          assert.deepEqual(
            { stdout: result.stdout, stderr: result.stderr, code: result.code },
            { stdout: row.stdout, stderr: row.stderr, code: row.code },
          );
        });
      }
    });
  });
}

check(ACCEPTED, "accepts every action and type spelling");
check(REJECTED, "rejects bad spellings with upstream's exact messages");
check(HELP, "prints help on stdout and exits 0");

Deno.test("usage text is upstream's, byte for byte", () => {
  const expected = [
    "Usage: condor_store_cred action [options]",
    "  where action is one of:",
    "    add[-type]        Add credential to secure storage",
    "    delete[-type]     Remove credential from secure storage",
    "    query[-type]      Check if a credential has been stored",
    "  and -type is an optional credential type. it must be one of:",
    "    -pwd              Credential is a password (default)",
    "    -krb              Credential is Kerberos/AFS token",
    "    -oauth            Credential is Scitoken or OAuth2 token",
    "  and where [options] is zero or more of:",
    "    -u username       Use the specified username",
    "    -c                Manage the condor pool password",
    "    -p <password>     Use the specified password rather than prompting",
    "                         If <password> is -, read from stdin",
    "    -i <filename>     Read the credential from <filename>",
    "                         If <filename> is -, read from stdin",
    "    -s <service>      Add/Remove/Query for the given OAuth2 service",
    "    -H <handle>       Specify a handle for the given OAuth2 service",
    "    -S <scopes>       Add the given OAuth2 comma-separated scopes, or make sure",
    "                         a Query matches",
    "    -A <audience>     Add the given OAuth2 audience, or make sure a Query matches",
    "    -P                The given OAuth2 credential is an access token",
    "    -n <name>         Manage credentials on the named machine",
    "    -f <filename>     Write password to a pool password file",
    "    -d                Display debugging messages",
    "    -h                Display this message",
    "",
    "If no -u argument is supplied, the name of the current user will be used.",
    "The add-krb and add-oauth action must be used with the -i argument to specify",
    "a file to read the credential from. The add or add-pwd action will prompt for",
    "a password unless the -p argument is used.",
    "Using -A or -S with oauth requires the credential to be in JSON format.",
    "",
    "",
  ].join("\n");
  assert.deepEqual(USAGE, expected);
});

Deno.test("--help is upstream's usage followed by every addition of this product", async () => {
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0);
  assert.ok(help.stdout.startsWith(USAGE), "upstream's text comes first, unchanged");
  const additions = help.stdout.slice(USAGE.length);
  assert.match(additions, /^Additions of this condor_store_cred \(not in HTCondor's\):\n/);
  const longs = [
    "user",
    "pool",
    "password",
    "input",
    "service",
    "handle",
    "scopes",
    "audience",
    "access-token",
    "name",
    "file",
    "debug",
    "help",
  ];
  for (const long of longs) assert.match(additions, new RegExp(`--${long}[,\\s]`), long);
  for (
    const line of [
      /\n {4}--min-ttl <seconds>\n {22}With query-oauth -s: fail unless/,
      /\n {4}--token-file <filename>\n {22}With -n or CREDD_HOST: the IDTOKEN/,
      /\n {4}-v, --version {5}Print the version and exit\n/,
      /\n {4}--json {12}Print the result as one JSON object on stdout\n/,
      /\n {4}list\[-type\] {7}List stored credentials/,
      /\n {4}doctor {12}Check the credential store/,
      /\n {4}whoami {12}Ask the daemon who it takes you to be/,
      /\n {4}serve {13}Run the credential daemon/,
      /\n {4}token create {6}Mint an IDTOKEN/,
      /\n {4}completions SHELL Print bash, zsh or fish completions\n/,
    ]
  ) {
    assert.match(additions, line);
  }
  // Nothing in the additions runs past 80 columns.
  for (const l of additions.split("\n")) assert.ok(l.length <= 80, l);
});

Deno.test("each command's -h prints its usage; each of its usage errors prints that usage too", async () => {
  const cases: [string[], string[], RegExp, RegExp][] = [
    [
      ["list", "-h"],
      ["list", "-x"],
      /^Usage: condor_store_cred list\[-type\] /,
      /^ERROR: list does not take '-x'/,
    ],
    [
      ["doctor", "--help"],
      ["doctor", "now"],
      /^Usage: condor_store_cred doctor /,
      /^ERROR: doctor takes only/,
    ],
    [
      ["serve", "-h"],
      ["serve", "--port"],
      /^Usage: condor_store_cred serve /,
      /^ERROR: serve takes only/,
    ],
    [
      ["token", "create", "-h"],
      ["token", "make"],
      /^Usage: condor_store_cred token create /,
      /^ERROR: /,
    ],
    [
      ["completions", "bash", "-h"],
      ["completions", "tcsh"],
      /^Usage: condor_store_cred completions bash\|zsh\|fish\n/,
      /^ERROR: completions needs exactly one shell/,
    ],
  ];
  for (const [helpArgs, badArgs, usage, error] of cases) {
    const help = await runCli(helpArgs);
    const bad = await runCli(badArgs);
    // -h wins wherever it stands (deviation 1), after the shell of completions too.
    assert.deepEqual([help.code, help.stderr], [0, ""], helpArgs.join(" "));
    assert.match(help.stdout, usage);
    assert.equal(bad.code, 1, badArgs.join(" "));
    assert.equal(bad.stdout, "");
    const [message, ...rest] = bad.stderr.split("\n");
    assert.match(`${message}\n`, error);
    assert.match(rest.join("\n"), usage, `${badArgs.join(" ")} prints its own usage`);
    assert.equal(rest.join("\n"), help.stdout);
  }
});

Deno.test("token create refuses a bad command line with the reason and its usage, minting nothing", async () => {
  for (
    const [args, message] of [
      [["token", "create"], "ERROR: token create needs -identity USER@DOMAIN"],
      [
        ["token", "create", "-identity", "alice"],
        "ERROR: -identity 'alice' is not of the form USER@DOMAIN",
      ],
      [
        ["token", "create", "-identity", "alice@"],
        "ERROR: -identity 'alice@' is not of the form USER@DOMAIN",
      ],
      [
        ["token", "create", "-identity", "@x"],
        "ERROR: -identity '@x' is not of the form USER@DOMAIN",
      ],
      [
        ["token", "create", "-identity", "a@b", "-lifetime", "soon"],
        "ERROR: -lifetime needs a whole number of seconds",
      ],
      [
        ["token", "create", "-identity", "a@b", "-color", "red"],
        "ERROR: token create does not know '-color'",
      ],
    ] as [string[], string][]
  ) {
    const r = await runCli(args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stdout, "", "no token is printed");
    const [first, ...rest] = r.stderr.split("\n");
    assert.equal(first, message);
    assert.match(rest.join("\n"), /^Usage: condor_store_cred token create -identity USER@DOMAIN/);
  }
});
