/**
 * The man page `condor_store_cred.1` (roff), generated from the same declarations as `-h`, the
 * parser and the completions. Pure.
 */

import { IGNORED_KNOBS, KNOB_REFERENCE, type KnobGroup } from "../config/reference.ts";
import { JSON_SCHEMA_VERSION, JSON_STATUSES, type JsonStatus } from "../output/json.ts";
import { DECLARED } from "./declarations.ts";
import {
  ACTIONS,
  matchTypeSuffix,
  OPTIONS,
  type OptionSpec,
  PROGRAM_NAME,
  TYPE_KEYWORDS,
} from "./grammar.ts";
import { USAGE_ACTIONS, USAGE_NOTES, USAGE_TYPES } from "./usage.ts";

/** Escapes text for roff: backslashes, hyphens, and a leading dot or quote. */
function roff(text: string): string {
  const escaped = text.replace(/\\/g, "\\e").replace(/-/g, "\\-");
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

const bold = (text: string) => `\\fB${roff(text)}\\fR`;
const italic = (text: string) => `\\fI${roff(text)}\\fR`;

function optionHeading(short: string | null, long: string, argument: string | null): string {
  const names = [...(short ? [bold(`-${short}`)] : []), bold(`--${long}`)].join(", ");
  return argument === null ? names : `${names} ${italic(argument)}`;
}

/** The type spellings a keyword accepts, e.g. `-kr`, `-krb` for krb (minimum length 2). */
function typeSpellings(type: string): string {
  return TYPE_KEYWORDS.filter((k) => k.type === type)
    .map((k) =>
      `\\-${roff(k.keyword.slice(0, k.minLength))}[${roff(k.keyword.slice(k.minLength))}]`
    )
    .join(", ");
}

/** Joins usage-text description lines: a capitalised line starts a new sentence. */
function joinDescription(lines: readonly string[]): string {
  return lines.map((l) => l.trim()).reduce((text, line) =>
    /^[A-Z]/.test(line) ? `${text.replace(/[.]?$/, ".")} ${line}` : `${text} ${line}`
  ) + ".";
}

/** One line per JSON status: what it means. Typed so that a new status cannot go undocumented. */
const STATUS_MEANING: Readonly<Record<JsonStatus, string>> = {
  stored: "an add stored the credential",
  pending: "stored, and the credmon has not processed it yet",
  deleted: "a delete removed it",
  valid: "a query found it (and, with --min-ttl, long enough valid)",
  listed: "list found credentials",
  healthy: "doctor found nothing wrong",
  "not-found": "no such credential",
  mismatch: "query-oauth: stored, with other scopes or audience (exit 2)",
  expiring: "query-oauth --min-ttl: the access token expires too soon, or is not there yet " +
    "(info.expires and expires_in say when)",
  "expiry-unknown": "query-oauth --min-ttl: the access token's expiry cannot be read (not a JWT " +
    'with an "exp" claim)',
  denied: "the caller may not do this",
  insecure: "a file or directory is not safe to use; nothing was done",
  config: "the configuration is missing or wrong",
  usage: "the command line is wrong",
  invalid: "the credential or an argument is malformed",
  input: "the credential could not be read, or is empty or too large",
  locked: "another writer held the user's lock too long",
  io: "reading or writing failed",
  permission: "this user may not write the store",
  timeout: "stored, but the credmon did not process it in time",
  unsupported: "not possible on this system",
  unreachable: "no daemon answered",
  "not-secure": "the channel to the daemon was not secure",
  findings: "doctor found problems",
  identified:
    "whoami: the daemon says who it takes the caller to be (info.caller) and, over TLS, " +
    "until when the IDTOKEN is valid (info.expires)",
};

const KNOB_GROUPS: readonly (readonly [KnobGroup, string])[] = [
  ["configuration", "Reading the configuration"],
  ["store", "The store"],
  ["daemon", "The daemon (serve)"],
  ["remote", "Remote daemons and IDTOKENS"],
];

/**
 * One line of prose: plain text is escaped for roff; `word` is bold and ~word~ italic. A line
 * that would start with a dot is protected.
 */
function t(line: string): string {
  const parts = line.split(/(`[^`]+`|~[^~]+~)/);
  const text = parts.map((part) =>
    part.startsWith("`") && part.endsWith("`") && part.length > 1
      ? bold(part.slice(1, -1))
      : part.startsWith("~") && part.endsWith("~") && part.length > 1
      ? italic(part.slice(1, -1))
      : roff(part).replace(/^\\&/, "")
  ).join("");
  return /^[.']/.test(text) ? `\\&${text}` : text;
}

/** A tagged paragraph: heading, then body lines of prose. */
const tp = (heading: string, ...body: string[]) => [".TP", t(heading), ...body.map(t)];
const example = (...lines: string[]) => [".PP", ".nf", ".RS 4", ...lines.map(roff), ".RE", ".fi"];

/** The commands of the man page's COMMANDS section (those the help lists). */
const LISTED = DECLARED.filter((d) => d.entry.synopsis !== null);

/** Renders the man page for `version`. */
export function renderManPage(version: string): string {
  const P = PROGRAM_NAME;
  const lines: string[] = [
    `.\\" Generated from lib/cli/grammar.ts, lib/cli/commands/, lib/cli/usage.ts and`,
    `.\\" lib/config/reference.ts by`,
    `.\\" scripts/man.ts (deno task man); do not edit.`,
    `.TH CONDOR_STORE_CRED 1 "" "${P} ${version}" "User Commands"`,
    ".SH NAME",
    t(`${P} - add, delete, query and list credentials for HTCondor`),
    ".SH SYNOPSIS",
    `.B ${roff(P)}`,
    t("~action~[~-type~] [~options~]"),
    ".br",
    `.B ${roff(P)}`,
    t("`-f` ~file~ [`-p` ~password~]"),
    ...LISTED.flatMap(({ entry: c, command }) => {
      const [word, ...rest] = c.synopsis!.split(" ");
      const args = rest.map((w) => (/^[A-Z]+$/.test(w) ? `~${w.toLowerCase()}~` : `\`${w}\``));
      const options = command.options.some((o) => o.key !== "help") ? " [~options~]" : "";
      return [".br", `.B ${roff(P)}`, t([`\`${word}\``, ...args].join(" ") + options)];
    }),
    ".br",
    `.B ${roff(P)}`,
    t("`-h` | `--version`"),
    ".SH DESCRIPTION",
    t(`${P} stores credentials for HTCondor jobs and daemons: passwords (including`),
    t("the pool password), Kerberos/AFS tokens, and OAuth2 or SciTokens refresh or access tokens."),
    t("It writes them in the files, layout and byte formats that HTCondor's daemons and credmons"),
    t("read, with durable atomic writes and strict ownership and permission checks."),
    ".PP",
    t("Where the caller may write the store (root, or the owner of a personal or configured store)"),
    t("the work is done in this process. Otherwise, and for `-n` or `CREDD_HOST`, it goes to a"),
    t(`daemon (\`${P} serve\`): on this machine over the Unix socket \`CREDD_SOCKET\`, on another`),
    t("over TLS, proving who the caller is with an IDTOKEN. A user who is not root can act only on"),
    t("their own credentials, unless CRED_SUPER_USERS names them."),
    ".SH ACTIONS",
  ];
  for (const [synopsis, description] of USAGE_ACTIONS) {
    lines.push(".TP", bold(synopsis), `${roff(description)}.`);
  }
  lines.push(
    ".PP",
    `The action word is matched case-insensitively and in full (${
      ACTIONS.map(bold).join(", ")
    }). The type is glued to it (${bold("add-krb")}) or given as the next word (${
      bold("add -krb")
    }).`,
    ".SH TYPES",
  );
  for (const [suffix, description] of USAGE_TYPES) {
    // The parser's own reading of the suffix, so the spellings listed are the ones it accepts.
    const type = matchTypeSuffix(suffix);
    if (type === null) throw new Error(`usage type ${suffix} is not a type the parser accepts`);
    lines.push(".TP", bold(suffix), `${roff(description)}. Spellings: ${typeSpellings(type)}.`);
  }
  lines.push(".SH OPTIONS");
  for (const option of OPTIONS as readonly OptionSpec[]) {
    const text = joinDescription(option.description);
    lines.push(".TP", optionHeading(option.short, option.long, option.argument), roff(text));
  }
  lines.push(
    ".PP",
    t("Long options take ~--opt value~ or ~--opt=value~. Single-letter options match exactly."),
    t("`-f` ~file~ without an action writes a pool password file (the password from `-p` or the"),
    t("prompt) and nothing else; it prints nothing on success."),
    ".SH COMMANDS",
    t("Each takes `-h` for its own usage."),
  );
  for (const { entry, command } of LISTED) {
    lines.push(".TP", bold(entry.synopsis!), t(`${entry.summary}.`));
    const options = command.options.filter((o) => o.key !== "help");
    if (options.length > 0) {
      const shown = options.map((o) =>
        [...(o.short ? [`-${o.short}`] : []), `--${o.long}`, ...(o.aliases ?? [])]
          .map((n) => `\`${n}\``).join(", ") + (o.argument === null ? "" : ` ~${o.argument}~`)
      );
      lines.push(t(`Options: ${shown.join("; ")}.`));
    }
    lines.push(...command.details.map(t));
  }
  lines.push(
    ".SH OUTPUT",
    t("Text output is upstream's, line for line: an Account and CredType header, the result line,"),
    t("and for a query a `Credential info:` block. Warnings start with `WARNING:` on stderr: a"),
    t("credmon that could not be signalled, an audit log that could not be written, a password"),
    t("whose last byte is a newline."),
    ".PP",
    t(`With \`--json\`, stdout is one JSON object (schema version ${JSON_SCHEMA_VERSION},`),
    t(
      `docs/result.schema.json) with the keys ${
        [
          "schema",
          "ok",
          "action",
          "type",
          "user",
          "status",
          "reason",
          "code",
          "message",
          "changed",
          "warnings",
          "info",
        ].map((k) => `\`${k}\``).join(", ")
      };`,
    ),
    t("`list` adds `credentials`, `doctor` adds `findings` and `whoami` adds `whoami` (the daemon's"),
    t("answer). `info` always has the keys caller,"),
    t("stored, stored_unix, expires, expires_unix, expires_in and ad. The exit status is the same"),
    t("as without `--json`. `status` is one of:"),
  );
  for (const status of JSON_STATUSES) lines.push(...tp(`\`${status}\``, STATUS_MEANING[status]));
  lines.push(
    ".SH EXIT STATUS",
    ...tp(
      "`0`",
      "Success: stored, deleted, found and valid, listed, healthy; also stored and still waiting",
      "for the credmon (pending).",
    ),
    ...tp(
      "`1`",
      "Failure: usage errors, refusals, not found, `--min-ttl` not met, doctor findings; and an",
      "add-krb whose credmon did not answer within CREDD_POLLING_TIMEOUT, whose credential is",
      "nevertheless stored (query-krb finds it), as upstream's.",
    ),
    ...tp("`2`", "`query-oauth` found a credential whose scopes or audience differ from -S or -A."),
    ...tp("`130`", "The password prompt was interrupted (Ctrl-C); nothing was stored."),
    ".SH CONFIGURATION",
    t("HTCondor's own configuration: the file CONDOR_CONFIG names, else /etc/condor/condor_config,"),
    t("then LOCAL_CONFIG_FILE and the files of LOCAL_CONFIG_DIR; `_CONDOR_`~KNOB~ in the"),
    t("environment overrides a knob. `use feature:OAUTH` and `use feature:KRB` set the credential"),
    t("directories. With no configuration file, root uses the paths of the HTCondor packages and"),
    t("any other user a personal store (see FILES). The knobs read, with their defaults:"),
  );
  for (const [group, title] of KNOB_GROUPS) {
    lines.push(".SS", t(title));
    for (const knob of KNOB_REFERENCE.filter((k) => k.group === group)) {
      lines.push(...tp(`\`${knob.name}\``, `${knob.meaning}. Default: ${knob.default}.`));
    }
  }
  lines.push(".SS", "Ignored");
  for (const [name, reason] of IGNORED_KNOBS) {
    lines.push(...tp(`\`${name}\``, `Ignored: ${reason}.`));
  }
  lines.push(
    ".SH ENVIRONMENT",
    ...tp("`CONDOR_CONFIG`", "The configuration file, or `ONLY_ENV` for none."),
    ...tp("`_CONDOR_`~KNOB~", "Overrides configuration knob ~KNOB~."),
    ...tp(
      "`XDG_DATA_HOME`, `HOME`",
      "Where a non-root user's personal store lives when there is no configuration file.",
    ),
    ...tp(
      "`CONDOR_STORE_CRED_IDTOKEN`",
      "The IDTOKEN for a remote daemon (`-n`, `CREDD_HOST`) when `--token-file` is not given;",
      "before the token directory.",
    ),
    ...tp("`USER`, `LOGNAME`", "The caller's name when the passwd database has none."),
    ...tp("`TZ`", "The time zone of the times printed."),
    ".SH FILES",
    t("The paths of a node installed from HTCondor's packages (the defaults for root):"),
    ...tp("/etc/condor/condor_config", "The configuration read when CONDOR_CONFIG is unset."),
    ...tp(
      "/etc/condor/passwords.d/POOL",
      "The pool password (`add -c`), 0600; also the key that signs IDTOKENS named POOL.",
    ),
    ...tp(
      "/var/lib/condor/oauth_credentials/",
      "The OAuth store, root:condor 2770: ~user~/~service~.top (a refresh token or JSON), .use",
      "(an access token, from -P or the credmon), .meta; the credmon's pid and CREDMON_COMPLETE.",
    ),
    ...tp(
      "/var/lib/condor/krb_credentials/",
      "The Kerberos store, root 0755: ~user~.cred, and the credmon's ~user~.cc.",
    ),
    ...tp(
      "/var/lib/condor/pwd_credentials/",
      "Sealed user passwords, and host.key (0400), the key that seals them.",
    ),
    ...tp("/run/condor/credd.sock", "The daemon's socket (CREDD_SOCKET)."),
    ...tp("~/.condor/tokens.d/", "Where a client finds its IDTOKEN (SEC_TOKEN_DIRECTORY)."),
    ...tp(
      "~/.local/share/condor_store_cred/",
      "The personal store of a user who is not root, when there is no configuration file: mode",
      "0700, the same layout inside.",
    ),
    ".SH EXAMPLES",
    t("The pool password from configuration management, never in argv, reporting in JSON whether"),
    t("anything changed:"),
    ...example(`printf %s "$POOL_PASSWORD" | ${P} add -c -p - --json`),
    ".PP",
    t("A user's Kerberos ticket, then whether the credmon made its cache:"),
    ...example(`${P} add-krb -i /tmp/krb5cc_$(id -u)`, `${P} query-krb`),
    ".PP",
    t("A CI job (README.md, Recipes: `CREDD_HOST` and `AUTH_SSL_CLIENT_CAFILE` set as `_CONDOR_`"),
    t("variables, its IDTOKEN in `CONDOR_STORE_CRED_IDTOKEN`) checking who the credd takes it to"),
    t("be, storing its access token there, then failing unless it stays valid ten more minutes:"),
    ...example(
      `${P} whoami`,
      `printf %s "$ACCESS_TOKEN" | ${P} add-oauth -s scitokens -P -i - --json`,
      `${P} query-oauth -s scitokens --min-ttl 600`,
    ),
    ".PP",
    t("What is stored, and whether the store is healthy:"),
    ...example(`${P} list-oauth`, `${P} doctor`),
    ".SH NOTES",
    ...USAGE_NOTES.map(t),
    ".SH SEE ALSO",
    t(
      "`condor_credmon_oauth`(1), `condor_token_create`(1), `systemctl`(1); README.md,",
    ),
    t("docs/daemon.md and docs/storage.md of this project."),
  );
  return lines.join("\n") + "\n";
}
