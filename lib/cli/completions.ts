/**
 * Shell completions for bash, zsh and fish (`condor_store_cred completions SHELL`), generated
 * from the same grammar declarations as the parser, so they cannot drift from it. Pure.
 */

import { DECLARED, type Declared } from "./declarations.ts";
import {
  ACTIONS,
  COMPLETION_SHELLS,
  type CompletionShell,
  OPTIONS as SHARED,
  type OptionSpec,
  PROGRAM_NAME,
} from "./grammar.ts";
import { USAGE_ACTIONS, USAGE_TYPES } from "./usage.ts";

const COMPLETIONS_COMMAND = "completions";
const OPTIONS: readonly OptionSpec[] = SHARED;

/** An option of a command beyond the actions, as the completions offer it. */
interface CommandOption {
  /** Its spellings, e.g. `-u`, `--user`. */
  readonly names: readonly string[];
  /** What its argument is, or null for a flag. */
  readonly argument: "file" | "host" | "value" | null;
  readonly description: string;
}

/** A command beyond the actions, as the completions offer it. */
interface CommandSpec {
  readonly words: readonly string[];
  readonly sub: string | null;
  readonly description: string;
  readonly options: readonly CommandOption[];
}

function commandSpec({ entry, command }: Declared): CommandSpec {
  return {
    words: entry.words,
    sub: entry.sub ?? null,
    description: entry.summary,
    options: command.options.map((o) => ({
      names: spellings(o),
      argument: o.argument === null
        ? null
        : o.completes === "file"
        ? "file"
        : o.completes === "host"
        ? "host"
        : "value",
      description: describe(o),
    })),
  };
}

/** The commands beyond add, delete and query (those selected by a word). */
const COMMANDS: readonly CommandSpec[] = DECLARED.filter((d) => d.entry.words.length > 0).map(
  commandSpec,
);

/** The action words offered: each action alone and with each canonical type suffix. */
export function actionWords(): string[] {
  const suffixes = USAGE_TYPES.map(([suffix]) => suffix);
  return ACTIONS.flatMap((action) => [action, ...suffixes.map((s) => `${action}${s}`)]);
}

/** Every first word of a command beyond add, delete and query. */
export function commandWords(): string[] {
  return COMMANDS.flatMap((c) => c.words);
}

/** The commands that complete their own options (all but `completions`, which takes a shell). */
const OWN_OPTIONS = COMMANDS.filter((c) => !c.words.includes(COMPLETIONS_COMMAND));

function actionDescription(word: string): string {
  const action = word.split("-")[0];
  const base = USAGE_ACTIONS.find(([synopsis]) => synopsis.startsWith(action))?.[1] ?? "";
  const type = USAGE_TYPES.find(([suffix]) => word.endsWith(suffix))?.[1];
  return type ? `${base} (${type.replace(/ \(default\)$/, "").toLowerCase()})` : base;
}

function spellings(option: OptionSpec): string[] {
  return [
    ...(option.short ? [`-${option.short}`] : []),
    `--${option.long}`,
    ...(option.aliases ?? []),
  ];
}

/** The option's first sentence: its first usage line with the lines that continue it. */
function describe(option: OptionSpec): string {
  const [first, ...rest] = option.description.map((line) => line.trim());
  const end = rest.findIndex((line) => !/^[a-z]/.test(line));
  return [first, ...(end < 0 ? rest : rest.slice(0, end))].join(" ");
}

const FILE_OPTIONS = OPTIONS.filter((o) => o.completes === "file");
const HOST_OPTIONS = OPTIONS.filter((o) => o.completes === "host");
const VALUE_OPTIONS = OPTIONS.filter((o) => o.argument !== null);

function bashCommandCases(): string[] {
  return OWN_OPTIONS.flatMap((c) => {
    const names = (kind: CommandOption["argument"]) =>
      c.options.filter((o) => o.argument === kind).flatMap((o) => o.names).join("|");
    const cases = [
      ...(names("file")
        ? [`        ${names("file")}) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;`]
        : []),
      ...(names("host")
        ? [`        ${names("host")}) COMPREPLY=($(compgen -A hostname -- "$cur")); return 0 ;;`]
        : []),
      ...(names("value") ? [`        ${names("value")}) return 0 ;;`] : []),
    ];
    return [
      `    ${c.words.join("|")})`,
      ...(c.sub === null ? [] : [
        `      if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W "${c.sub}" -- "$cur")); return 0; fi`,
      ]),
      ...(cases.length === 0 ? [] : ['      case "$prev" in', ...cases, "      esac"]),
      `      COMPREPLY=($(compgen -W "${c.options.flatMap((o) => o.names).join(" ")}" -- "$cur"))`,
      "      return 0 ;;",
    ];
  });
}

function bash(): string {
  const words = (options: readonly OptionSpec[]) => options.flatMap(spellings).join("|");
  const free = VALUE_OPTIONS.filter((o) => o.completes !== "file" && o.completes !== "host");
  return [
    `# bash completion for ${PROGRAM_NAME} (generated: ${PROGRAM_NAME} ${COMPLETIONS_COMMAND} bash)`,
    `_${PROGRAM_NAME}() {`,
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
    "  COMPREPLY=()",
    `  if [[ $COMP_CWORD -eq 2 && "\${COMP_WORDS[1]}" == ${COMPLETIONS_COMMAND} ]]; then`,
    `    COMPREPLY=($(compgen -W "${COMPLETION_SHELLS.join(" ")}" -- "$cur"))`,
    "    return 0",
    "  fi",
    "  if [[ $COMP_CWORD -ge 2 ]]; then",
    '    case "${COMP_WORDS[1]}" in',
    ...bashCommandCases(),
    `    ${COMPLETIONS_COMMAND}) return 0 ;;`,
    "    esac",
    "  fi",
    '  case "$prev" in',
    `    ${words(FILE_OPTIONS)}) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;`,
    `    ${words(HOST_OPTIONS)}) COMPREPLY=($(compgen -A hostname -- "$cur")); return 0 ;;`,
    `    ${words(free)}) return 0 ;;`,
    "  esac",
    '  if [[ "$cur" == -* ]]; then',
    `    COMPREPLY=($(compgen -W "${OPTIONS.flatMap(spellings).join(" ")}" -- "$cur"))`,
    "  else",
    `    local words="${actionWords().join(" ")}"`,
    `    [[ $COMP_CWORD -eq 1 ]] && words="$words ${commandWords().join(" ")}"`,
    '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    "  fi",
    "}",
    `complete -F _${PROGRAM_NAME} ${PROGRAM_NAME}`,
    "",
  ].join("\n");
}

function zshEscape(text: string): string {
  return text.replace(/[[\]:']/g, (c) => (c === "'" ? "'\\''" : `\\${c}`));
}

function zsh(): string {
  const specs = OPTIONS.map((o) => {
    const names = spellings(o);
    const group = names.length > 1 ? `{${names.join(",")}}` : names[0];
    const action = o.argument === null
      ? ""
      : o.completes === "file"
      ? `:${o.argument}:_files`
      : o.completes === "host"
      ? `:${o.argument}:_hosts`
      : `:${o.argument}:`;
    return `    ${group}'[${zshEscape(describe(o))}]${action}' \\`;
  });
  const actions = [
    ...actionWords().map((w) => `'${w}:${zshEscape(actionDescription(w))}'`),
    ...COMMANDS.flatMap((c) => c.words.map((w) => `'${w}:${zshEscape(c.description)}'`)),
  ];
  const commandCases = OWN_OPTIONS.flatMap((c) => {
    const specs = c.options.map((o) => {
      const group = o.names.length > 1 ? `{${o.names.join(",")}}` : o.names[0];
      const action = o.argument === null
        ? ""
        : o.argument === "file"
        ? ":file:_files"
        : o.argument === "host"
        ? ":host:_hosts"
        : ":value:";
      return `${group}'[${zshEscape(o.description)}]${action}'`;
    });
    return [
      `    (${c.words.join("|")})`,
      ...(c.sub === null ? [] : [
        `      if (( CURRENT == 3 )); then _values command ${c.sub}; return; fi`,
        "      shift words; (( CURRENT-- ))",
      ]),
      "      shift words; (( CURRENT-- ))",
      `      _arguments -s ${specs.join(" ")}`,
      "      return ;;",
    ];
  });
  return [
    `#compdef ${PROGRAM_NAME}`,
    `# zsh completion for ${PROGRAM_NAME} (generated: ${PROGRAM_NAME} ${COMPLETIONS_COMMAND} zsh)`,
    `_${PROGRAM_NAME}() {`,
    `  if (( CURRENT == 3 )) && [[ \${words[2]} == ${COMPLETIONS_COMMAND} ]]; then`,
    `    _values shell ${COMPLETION_SHELLS.join(" ")}`,
    "    return",
    "  fi",
    "  case ${words[2]} in",
    ...commandCases,
    `    (${COMPLETIONS_COMMAND}) return ;;`,
    "  esac",
    "  local -a actions",
    `  actions=(${actions.join(" ")})`,
    "  _arguments -s \\",
    ...specs,
    "    '1:action:{_describe action actions}'",
    "}",
    `compdef _${PROGRAM_NAME} ${PROGRAM_NAME}`,
    "",
  ].join("\n");
}

function fishEscape(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A fish `complete` flag for one spelling: `-s u`, `-l user` or `-o identity`. */
function fishName(name: string): string {
  if (name.startsWith("--")) return `-l ${name.slice(2)}`;
  return name.length === 2 ? `-s ${name.slice(1)}` : `-o ${name.slice(1)}`;
}

function fish(): string {
  const c = `complete -c ${PROGRAM_NAME}`;
  const commands = commandWords().join(" ");
  const lines = [
    `# fish completion for ${PROGRAM_NAME} (generated: ${PROGRAM_NAME} ${COMPLETIONS_COMMAND} fish)`,
    `${c} -f`,
    ...actionWords().map((w) =>
      `${c} -n __fish_use_subcommand -a ${w} -d ${fishEscape(actionDescription(w))}`
    ),
    ...COMMANDS.flatMap((command) =>
      command.words.map((w) =>
        `${c} -n __fish_use_subcommand -a ${w} -d ${fishEscape(command.description)}`
      )
    ),
    `${c} -n '__fish_seen_subcommand_from ${COMPLETIONS_COMMAND}' -a '${
      COMPLETION_SHELLS.join(" ")
    }'`,
  ];
  for (const o of OPTIONS) {
    const parts = [c, `-n 'not __fish_seen_subcommand_from ${commands}'`];
    if (o.short) parts.push(`-s ${o.short}`);
    parts.push(`-l ${o.long}`);
    if (o.argument !== null) parts.push("-r");
    if (o.completes === "file") parts.push("-F");
    if (o.completes === "host") parts.push("-a '(__fish_print_hostnames)'");
    parts.push(`-d ${fishEscape(describe(o))}`);
    lines.push(parts.join(" "));
  }
  for (const command of OWN_OPTIONS) {
    const when = `-n '__fish_seen_subcommand_from ${command.words.join(" ")}'`;
    if (command.sub !== null) {
      const seen = `__fish_seen_subcommand_from ${command.words.join(" ")}`;
      lines.push(
        `${c} -n '${seen}; and not __fish_seen_subcommand_from ${command.sub}' ` +
          `-a ${command.sub}`,
      );
    }
    for (const o of command.options) {
      const parts = [c, when, ...o.names.map(fishName)];
      if (o.argument !== null) parts.push("-r");
      if (o.argument === "file") parts.push("-F");
      if (o.argument === "host") parts.push("-a '(__fish_print_hostnames)'");
      parts.push(`-d ${fishEscape(o.description)}`);
      lines.push(parts.join(" "));
    }
  }
  return lines.join("\n") + "\n";
}

/** The completion script for `shell`. */
export function completionScript(shell: CompletionShell): string {
  switch (shell) {
    case "bash":
      return bash();
    case "zsh":
      return zsh();
    case "fish":
      return fish();
  }
}
