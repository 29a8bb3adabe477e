/**
 * The usage text of docs/upstream.md "Command line", built from the grammar declarations so that
 * `-h`, the man page and the completions share one source.
 */

import { COMMANDS } from "./commands.ts";
import { COMPLETION_SHELLS, OPTIONS, type OptionSpec, PROGRAM_NAME } from "./grammar.ts";

const SYNOPSIS_WIDTH = 18;
const CONTINUATION_INDENT = " ".repeat(4 + SYNOPSIS_WIDTH);

/** The action lines of the usage text (synopsis, description). */
export const USAGE_ACTIONS: readonly (readonly [string, string])[] = [
  ["add[-type]", "Add credential to secure storage"],
  ["delete[-type]", "Remove credential from secure storage"],
  ["query[-type]", "Check if a credential has been stored"],
];

/** The type lines of the usage text (synopsis, description). */
export const USAGE_TYPES: readonly (readonly [string, string])[] = [
  ["-pwd", "Credential is a password (default)"],
  ["-krb", "Credential is Kerberos/AFS token"],
  ["-oauth", "Credential is Scitoken or OAuth2 token"],
];

/** The closing paragraph of the usage text. */
export const USAGE_NOTES: readonly string[] = [
  "If no -u argument is supplied, the name of the current user will be used.",
  "The add-krb and add-oauth action must be used with the -i argument to specify",
  "a file to read the credential from. The add or add-pwd action will prompt for",
  "a password unless the -p argument is used.",
  "Using -A or -S with oauth requires the credential to be in JSON format.",
];

function row(synopsis: string, description: readonly string[]): string {
  const [first, ...rest] = description;
  const lines = synopsis.length < SYNOPSIS_WIDTH
    ? [`    ${synopsis.padEnd(SYNOPSIS_WIDTH)}${first}`]
    : [`    ${synopsis}`, `${" ".repeat(4 + SYNOPSIS_WIDTH)}${first}`];
  for (const line of rest) lines.push(`${CONTINUATION_INDENT}${line}`);
  return lines.join("\n");
}

/** Returns upstream's usage text byte for byte (docs/upstream.md "Command line"), ending with one
 * extra blank line. */
export function usageText(program: string = PROGRAM_NAME): string {
  const lines = [
    `Usage: ${program} action [options]`,
    "  where action is one of:",
    ...USAGE_ACTIONS.map(([s, d]) => row(s, [d])),
    "  and -type is an optional credential type. it must be one of:",
    ...USAGE_TYPES.map(([s, d]) => row(s, [d])),
    "  and where [options] is zero or more of:",
    ...OPTIONS.filter((o) => o.synopsis !== null).map((o) => row(o.synopsis!, o.description)),
    "",
    ...USAGE_NOTES,
    "",
  ];
  return lines.join("\n") + "\n";
}

/** The long forms of upstream's options, as the additions text lists them. */
function longForms(): string[] {
  const names = OPTIONS.filter((o) => o.synopsis !== null && o.short !== null).map((o) =>
    `--${o.long}`
  );
  const lines: string[] = [];
  let line = "Each option above also by its long name:";
  for (const [i, name] of names.entries()) {
    const word = ` ${name}${i < names.length - 1 ? "," : ""}`;
    if (line.length + word.length > 58) {
      lines.push(line);
      line = "  ";
    }
    line += word;
  }
  lines.push(line, "   --opt value and --opt=value both work");
  return lines;
}

/**
 * The additions of this product (README "Differences from HTCondor", deviation 19): the long
 * option names, the options upstream lacks and the commands beyond add, delete and query.
 */
export function additionsText(program: string = PROGRAM_NAME): string {
  const extra = OPTIONS.filter((o) => o.synopsis === null).map((o: OptionSpec) => {
    const name = `${o.short ? `-${o.short}, ` : ""}--${o.long}`;
    return row(o.argument === null ? name : `${name} <${o.argument}>`, o.description);
  });
  const lines = [
    `Additions of this ${program} (not in HTCondor's):`,
    "  options:",
    row("--<long>", longForms()),
    ...extra,
    "  commands (each takes -h):",
    ...COMMANDS.flatMap((c) => c.synopsis === null ? [] : [row(c.synopsis, [c.summary])]),
    "",
    `See ${program}(1) for configuration, files, exit status and examples.`,
    "",
  ];
  return lines.join("\n") + "\n";
}

/** What `-h` prints and what follows a usage error: upstream's text, then the additions. */
export function helpText(program: string = PROGRAM_NAME): string {
  return usageText(program) + additionsText(program);
}

/** The usage text of `completions`. */
export function completionsHelp(program: string = PROGRAM_NAME): string {
  return [
    `Usage: ${program} completions ${COMPLETION_SHELLS.join("|")}`,
    "  Prints the completion script for that shell on stdout. For example:",
    `    ${program} completions bash > /etc/bash_completion.d/${program}`,
    `    ${program} completions zsh > "\${fpath[1]}/_${program}"`,
    `    ${program} completions fish > ~/.config/fish/completions/${program}.fish`,
    "",
  ].join("\n");
}
