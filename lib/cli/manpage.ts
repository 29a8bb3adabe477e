/**
 * The man page `condor_store_cred.1` (roff), generated from the same declarations as `-h`, the
 * parser and the completions. Pure.
 */

import {
  ACTIONS,
  COMPLETION_SHELLS,
  matchTypeSuffix,
  OPTIONS,
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

/** Renders the man page for `version`. */
export function renderManPage(version: string): string {
  const lines: string[] = [
    `.\\" Generated from lib/cli/grammar.ts and lib/cli/usage.ts by scripts/man.ts; do not edit.`,
    `.TH CONDOR_STORE_CRED 1 "" "${PROGRAM_NAME} ${version}" "User Commands"`,
    ".SH NAME",
    `${roff(PROGRAM_NAME)} \\- add, delete and query credentials for HTCondor`,
    ".SH SYNOPSIS",
    `.B ${roff(PROGRAM_NAME)}`,
    `${italic("action")}[${italic("-type")}] [${italic("options")}]`,
    ".br",
    `.B ${roff(PROGRAM_NAME)}`,
    `${bold("-h")} | ${bold("--version")}`,
    ".br",
    `.B ${roff(PROGRAM_NAME)}`,
    `${bold("completions")} ${COMPLETION_SHELLS.map(bold).join(" | ")}`,
    ".SH DESCRIPTION",
    `${roff(PROGRAM_NAME)} stores credentials for HTCondor jobs and daemons: passwords (including`,
    "the pool password), Kerberos/AFS tokens, and OAuth2 or SciTokens refresh or access tokens.",
    "It writes them in the files, layout and byte formats that HTCondor's daemons and credmons",
    "read, with durable atomic writes and strict ownership and permission checks.",
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
  for (const option of OPTIONS) {
    const text = joinDescription(option.description);
    lines.push(".TP", optionHeading(option.short, option.long, option.argument), roff(text));
  }
  lines.push(
    ".PP",
    `Long options take ${italic("--opt value")} or ${italic("--opt=value")}.`,
    "Single-letter options match exactly.",
    ".SH NOTES",
    ...USAGE_NOTES.map(roff),
    ".SH EXIT STATUS",
    ".TP",
    bold("0"),
    "Success, or stored and waiting for the credmon.",
    ".TP",
    bold("1"),
    "Failure: usage errors, refusals, nothing stored.",
    ".TP",
    bold("2"),
    `${bold("query-oauth")} found a credential whose scopes or audience differ.`,
    ".TP",
    bold("130"),
    "The password prompt was interrupted.",
    ".SH ENVIRONMENT",
    ".TP",
    bold("CONDOR_CONFIG"),
    `The HTCondor configuration file, or ${bold("ONLY_ENV")}.`,
    ".TP",
    bold("_CONDOR_<KNOB>"),
    "Overrides configuration knob KNOB.",
    ".TP",
    bold("XDG_DATA_HOME"),
    "Where a non-root user's personal spool lives when there is no configuration.",
    ".SH FILES",
    ".TP",
    bold("/etc/condor/condor_config"),
    "The configuration file read when CONDOR_CONFIG is not set.",
    ".TP",
    bold("~/.local/share/condor_store_cred/"),
    "The personal spool of a non-root user without configuration.",
    ".SH SEE ALSO",
    `${bold("condor_credmon_oauth")}(1), ${bold("condor_token_create")}(1)`,
  );
  return lines.join("\n") + "\n";
}
