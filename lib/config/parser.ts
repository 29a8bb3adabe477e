/**
 * Parsing one configuration source into a {@link KnobTable} (docs/upstream.md "Configuration"):
 * assignments, `+=`, `@=TAG` blocks, `include`, `use`, `error`/`warning` and `if` blocks.
 */

import type { LoadBudget } from "./budget.ts";
import { CONFIG_VERSION, METAKNOBS } from "./defaults.ts";
import { ConfigError, sourceError, sourceWarningMessage } from "./errors.ts";
import type { Expander } from "./expand.ts";
import { isSpace, readLogicalLines, trimEndSpace, trimSpace, trimStartSpace } from "./lines.ts";
import { findUnterminatedMacro, isValidName, unsupportedFunctions } from "./macros.ts";
import type { KnobTable, Origin } from "./table.ts";

/** Includes may nest this deep below the file that starts parsing (depth 0). */
export const MAX_INCLUDE_DEPTH = 20;

/** What parsing writes to and reads from. */
export interface ParseContext {
  readonly table: KnobTable;
  readonly expander: Expander;
  readonly warnings: string[];
  /** The work left to this load: files and bytes read here, expansion steps in `expander`. */
  readonly budget: LoadBudget;
}

/** A statement split at its operator. */
interface Statement {
  readonly name: string;
  /** Words between the name and the operator (`ifexist`, the `use` category, `+`…). */
  readonly words: string;
  readonly op: "=" | ":" | "@=";
  readonly rhs: string;
}

/**
 * Splits `text` into name, words, operator and right-hand side the way upstream does: the name
 * ends at whitespace, `=` or `:`; the operator is the next `=`, `:` or `@=`.
 */
function splitStatement(text: string): Statement | null {
  let i = 0;
  while (i < text.length && !isSpace(text[i]) && text[i] !== "=" && text[i] !== ":") i++;
  const name = text.slice(0, i);
  if (text[i] === "=" || text[i] === ":") {
    return { name, words: "", op: text[i] as "=" | ":", rhs: trimStartSpace(text.slice(i + 1)) };
  }
  let j = i;
  while (j < text.length && isSpace(text[j])) j++;
  const wordsStart = j;
  while (j < text.length && text[j] !== "=" && text[j] !== ":" && text[j] !== "@") j++;
  if (j >= text.length) return null;
  const words = trimEndSpace(text.slice(wordsStart, j));
  if (text[j] === "@") {
    if (text[j + 1] !== "=") return null;
    return { name, words, op: "@=", rhs: trimStartSpace(text.slice(j + 2)) };
  }
  return { name, words, op: text[j] as "=" | ":", rhs: trimStartSpace(text.slice(j + 1)) };
}

/** The separator of an append operator written as `op` + `=` (`+`, `+,`, `+&&`…), or null. */
function appendSeparator(op: string): string | null {
  if (!op.startsWith("+")) return null;
  const rest = op.slice(1);
  if (rest === "") return " ";
  if (!/^[,;|&*]{1,2}$/.test(rest)) return null;
  if (rest.length === 1) return rest;
  return rest[0] === rest[1] ? ` ${rest} ` : null;
}

interface IfFrame {
  /** The branch being read is taken. */
  taken: boolean;
  /** Some branch of this if was taken. */
  anyTaken: boolean;
  inElse: boolean;
  readonly parentEnabled: boolean;
  readonly line: number;
}

class IfStack {
  readonly #frames: IfFrame[] = [];

  get inside(): boolean {
    return this.#frames.length > 0;
  }

  get enabled(): boolean {
    const top = this.#frames.at(-1);
    return top === undefined || (top.parentEnabled && top.taken);
  }

  begin(evaluate: () => boolean, line: number): void {
    const parentEnabled = this.enabled;
    const taken = parentEnabled ? evaluate() : false;
    this.#frames.push({ taken, anyTaken: taken, inElse: false, parentEnabled, line });
  }

  /** Returns an error text, or null. */
  elif(evaluate: () => boolean): string | null {
    const top = this.#frames.at(-1);
    if (top === undefined) return "elif without matching if";
    if (top.inElse) return "elif is not allowed after else";
    if (!top.parentEnabled || top.anyTaken) {
      top.taken = false;
    } else {
      top.taken = evaluate();
      top.anyTaken = top.taken;
    }
    return null;
  }

  /** Returns an error text, or null. */
  else(): string | null {
    const top = this.#frames.at(-1);
    if (top === undefined) return "else without matching if";
    if (top.inElse) return "else is not allowed after else";
    top.inElse = true;
    top.taken = !top.anyTaken;
    return null;
  }

  /** Returns an error text, or null. */
  end(): string | null {
    return this.#frames.pop() === undefined ? "endif without matching if" : null;
  }

  /** The line of the innermost open `if`, or undefined. */
  openLine(): number | undefined {
    return this.#frames.at(-1)?.line;
  }
}

const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const IDENTIFIER = /^[A-Za-z0-9_./]+$/;

class ConditionError extends Error {}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/** Parser state for one source. */
class SourceParser {
  readonly #ctx: ParseContext;
  readonly #file: string;
  readonly #depth: number;
  readonly #ifs = new IfStack();
  #block: { name: string; tag: string; line: number; body: string[] } | null = null;

  constructor(ctx: ParseContext, file: string, depth: number) {
    this.#ctx = ctx;
    this.#file = file;
    this.#depth = depth;
  }

  parse(content: string): void {
    const lines = readLogicalLines(content, this.#file, (w) => this.#ctx.warnings.push(w));
    for (const { text, line } of lines) {
      const block = this.#block;
      if (block !== null) {
        if (text === `@${block.tag}`) {
          this.#block = null;
          this.#assign(block.name, block.body.join("\n"), null, block.line);
        } else {
          block.body.push(text);
        }
        continue;
      }
      let statement = text;
      // A ':' at the start of an if body line is ignored (pre-8.1.5 compatibility).
      if (statement.startsWith(":") && (this.#ifs.inside || /^:if(\s|$)/.test(statement))) {
        statement = statement.slice(1);
      }
      if (this.#conditional(statement, line)) continue;
      if (!this.#ifs.enabled) continue;
      this.#statement(statement, line);
    }
    if (this.#block !== null) {
      throw this.#error(
        this.#block.line,
        `unterminated @= value of ${this.#block.name}: end of file before its closing tag`,
      );
    }
    const open = this.#ifs.openLine();
    if (open !== undefined) {
      throw this.#error(open, "if without matching endif: endif(s) not found before end-of-file");
    }
  }

  #error(line: number, problem: string): ConfigError {
    return sourceError(this.#file, line, problem);
  }

  #warn(line: number, problem: string): void {
    this.#ctx.warnings.push(sourceWarningMessage(this.#file, line, problem));
  }

  #origin(line: number): Origin {
    return { kind: "file", file: this.#file, line };
  }

  /** Handles if/elif/else/endif lines; returns false for any other line. */
  #conditional(text: string, line: number): boolean {
    // Every keyword begins with i or e: other lines skip the regular expression.
    const first = text.charCodeAt(0) | 0x20;
    if (first !== 0x69 && first !== 0x65) return false;
    const match = /^(if|elif|else|endif)(\s|$)/i.exec(text);
    if (match === null) return false;
    const keyword = match[1].toLowerCase();
    const expression = trimSpace(text.slice(keyword.length));
    const evaluate = () => this.#evaluate(expression, line, keyword);
    let problem: string | null = null;
    if (keyword === "if") this.#ifs.begin(evaluate, line);
    else if (keyword === "elif") problem = this.#ifs.elif(evaluate);
    else if (keyword === "else") problem = this.#ifs.else();
    else problem = this.#ifs.end();
    if (problem !== null) throw this.#error(line, problem);
    return true;
  }

  #evaluate(expression: string, line: number, keyword: string): boolean {
    try {
      return this.#test(expression, line);
    } catch (e) {
      if (!(e instanceof ConditionError)) throw e;
      throw this.#error(line, `not a valid ${keyword} condition because ${e.message}`);
    }
  }

  #test(expression: string, line: number): boolean {
    let e = expression;
    const expanded = e.includes("$");
    if (expanded) e = trimEndSpace(this.#ctx.expander.expandText(e, this.#origin(line)));
    e = trimStartSpace(e);
    let inverted = false;
    if (e.startsWith("!")) {
      inverted = true;
      e = trimStartSpace(e.slice(1));
    }
    const value = expanded && e === "" ? false : this.#simpleCondition(trimSpace(e), line);
    return inverted ? !value : value;
  }

  #simpleCondition(e: string, line: number): boolean {
    if (NUMBER.test(e)) return Number(e) !== 0;
    if (/^(true|yes|t)$/i.test(e)) return true;
    if (/^(false|no|f)$/i.test(e)) return false;
    if (/^version(\s|[<>=!]|$)/i.test(e)) return this.#version(e.slice(7));
    if (/^defined(\s|$)/i.test(e)) return this.#defined(trimSpace(e.slice(7)), line);
    if (e === "" || IDENTIFIER.test(e)) {
      throw new ConditionError("expression is not a conditional");
    }
    throw new ConditionError("complex conditionals are not supported");
  }

  #version(rest: string): boolean {
    const m = /^\s*(!?)([<>=]?)(=?)\s*[vV]?(\d+)\.(\d+)(?:\.(\d+))?/.exec(rest);
    if (m === null || Number(m[4]) < 6) {
      throw new ConditionError("the version literal is invalid");
    }
    const theirs = [
      Number(m[4]),
      Number(m[5]),
      m[6] === undefined ? CONFIG_VERSION[2] : Number(m[6]),
    ];
    const diff = compareVersions(CONFIG_VERSION, theirs);
    const op = m[2] === "<" ? -1 : m[2] === ">" ? 1 : 0;
    const result = diff === op || (m[3] === "=" && diff === 0);
    return m[1] === "!" ? !result : result;
  }

  #defined(what: string, line: number): boolean {
    if (what === "") return false;
    if (NUMBER.test(what) || /^(true|false)$/i.test(what)) return true;
    if (/^use\s/i.test(what)) {
      const metaknob = trimSpace(what.slice(4));
      if (/\s/.test(metaknob)) {
        throw new ConditionError("defined use meta argument with internal spaces will never match");
      }
      const [category, name = ""] = metaknob.split(":", 2);
      const known = name === ""
        ? category.toLowerCase() === "feature"
        : METAKNOBS.has(`${category}:${name}`.toLowerCase());
      if (!known) {
        this.#warn(line, `metaknob ${metaknob} is not known here; 'defined use' is false for it`);
      }
      return known;
    }
    if (!IDENTIFIER.test(what)) {
      throw new ConditionError("defined argument must be param name, boolean, or number");
    }
    const raw = this.#ctx.expander.rawValue(what);
    if ((raw === undefined || raw === "") && /^(yes|no|t|f)$/i.test(what)) return true;
    return raw !== undefined && raw !== "";
  }

  #statement(text: string, line: number): void {
    const statement = splitStatement(text);
    if (statement === null) {
      if (text.startsWith("[")) return; // .ini-style section header
      throw this.#error(line, "Syntax Error, missing : or =");
    }
    let { name, words, op } = statement;
    const { rhs } = statement;
    if (op === ":") {
      const keyword = (name.startsWith("@") ? name.slice(1) : name).toLowerCase();
      switch (keyword) {
        case "include":
          return this.#include(words, rhs, line);
        case "use":
          return this.#use(words, rhs, line);
        case "error":
          throw this.#error(line, this.#ctx.expander.expandText(rhs, this.#origin(line)));
        case "warning":
          return this.#warn(line, this.#ctx.expander.expandText(rhs, this.#origin(line)));
      }
    }
    let separator: string | null = null;
    if (op === "=") {
      const plus = name.lastIndexOf("+");
      if (words !== "" && appendSeparator(words) !== null) {
        separator = appendSeparator(words);
        words = "";
      } else if (words === "" && plus > 0 && appendSeparator(name.slice(plus)) !== null) {
        separator = appendSeparator(name.slice(plus));
        name = name.slice(0, plus);
      }
    }
    if (op === ":") {
      this.#warn(line, `obsolete use of ':' for parameter assignment at ${name}`);
      op = "=";
    }
    if (words !== "") {
      this.#warn(line, `text between ${name} and the operator is ignored`);
    }
    if (name.includes("$")) name = this.#ctx.expander.expandText(name, this.#origin(line));
    if (!isValidName(name)) throw this.#error(line, `Illegal Identifier: <${name}>`);
    if (op === "@=") {
      this.#block = { name, tag: rhs, line, body: [] };
      return;
    }
    this.#assign(name, rhs, separator, line);
  }

  #assign(name: string, value: string, separator: string | null, line: number): void {
    if (findUnterminatedMacro(value) >= 0) {
      throw this.#error(line, `unterminated macro reference in the value of ${name}`);
    }
    for (const func of unsupportedFunctions(value)) {
      this.#warn(line, `${func} is not supported; it is left as literal text in ${name}`);
    }
    this.#define(name, value, separator, this.#origin(line));
  }

  #define(name: string, value: string, separator: string | null, origin: Origin): void {
    const expander = this.#ctx.expander;
    let raw = expander.expandSelf(value, name, origin);
    if (separator !== null) {
      const old = expander.rawValue(name) ?? "";
      if (old !== "") raw = old + separator + raw;
    }
    this.#ctx.table.set({ name, raw, origin });
  }

  #include(words: string, rhs: string, line: number): void {
    const options = words.split(/\s+/).filter((w) => w !== "");
    let optional = false;
    if (options.length > 0 && /^ifexists?$/i.test(options[0])) {
      optional = true;
      options.shift();
    }
    if (options.length > 0 && /^(command|output)$/i.test(options[0])) {
      throw this.#error(line, "piped configuration commands are not supported");
    }
    if (options.length > 0) {
      throw this.#error(line, `unexpected keyword(s) '${options.join(" ")}' after include`);
    }
    const target = trimSpace(this.#ctx.expander.expandText(rhs, this.#origin(line)));
    if (target.endsWith("|")) {
      throw this.#error(line, "piped configuration commands are not supported");
    }
    const problem = this.#ctx.budget.countFile();
    if (problem !== null) throw this.#error(line, problem);
    let content: string;
    try {
      content = readConfigFile(target, this.#ctx.budget);
    } catch (e) {
      const reason = fileErrorReason(e);
      if (reason === null) throw e;
      if (optional) return;
      throw this.#error(line, `can't open include file "${target}": ${reason}`);
    }
    if (this.#depth + 1 > MAX_INCLUDE_DEPTH) {
      throw this.#error(line, "includes nested too deep");
    }
    parseSource(this.#ctx, target, content, this.#depth + 1);
  }

  #use(words: string, rhs: string, line: number): void {
    let category = trimSpace(words);
    if (category.includes("$")) {
      category = trimSpace(this.#ctx.expander.expandText(category, this.#origin(line)));
    }
    const items = metaknobItems(rhs);
    if (category === "" || items.length === 0) {
      this.#warn(line, `use ${category}:${rhs} is not supported and was ignored`);
      return;
    }
    for (const item of items) {
      const body = METAKNOBS.get(`${category}:${item}`.toLowerCase());
      if (body === undefined) {
        this.#warn(line, `use ${category}:${item} is not supported and was ignored`);
        continue;
      }
      for (const [name, value] of body) this.#define(name, value, null, this.#origin(line));
    }
  }
}

/** The metaknob names of a `use` right-hand side (`A, B(args) C`), arguments dropped. */
function metaknobItems(rhs: string): string[] {
  const items: string[] = [];
  let i = 0;
  while (i < rhs.length) {
    while (i < rhs.length && (isSpace(rhs[i]) || rhs[i] === ",")) i++;
    const start = i;
    while (i < rhs.length && !isSpace(rhs[i]) && rhs[i] !== "," && rhs[i] !== "(") i++;
    if (i > start) items.push(rhs.slice(start, i));
    while (i < rhs.length && isSpace(rhs[i])) i++;
    if (rhs[i] === "(") {
      let depth = 0;
      for (; i < rhs.length; i++) {
        if (rhs[i] === "(") depth++;
        else if (rhs[i] === ")" && --depth === 0) break;
      }
      i++;
    }
    if (i === start) i++;
  }
  return items;
}

/**
 * A short reason for a failed file read, or null when `e` is not a file-system error (and
 * should be rethrown).
 */
export function fileErrorReason(e: unknown): string | null {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  if (e instanceof Deno.errors.NotADirectory) return "a path component is not a directory";
  if (e instanceof Deno.errors.FilesystemLoop) return "too many levels of symbolic links";
  if (e instanceof Deno.errors.InvalidData) return "not valid text";
  if (e instanceof Error && "code" in e && typeof e.code === "string") return e.code;
  return null;
}

const DECODER = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Reads configuration file `path` as text (invalid UTF-8 becomes U+FFFD, as with
 * `Deno.readTextFileSync`), counting its bytes against `budget`. Reads at most one byte past
 * the budget, so a huge or endless file (an include of /dev/zero) is refused without reading it
 * all. Needs `--allow-read`.
 *
 * @throws {ConfigError} when the byte budget runs out, naming `path` and the line it ran out on.
 * @throws {Deno.errors.NotFound} and the other errors of opening and reading `path`.
 */
export function readConfigFile(path: string, budget: LoadBudget): string {
  const left = budget.bytesLeft;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const file = Deno.openSync(path);
  try {
    while (size <= left) {
      const chunk = new Uint8Array(Math.min(1 << 16, left + 1 - size));
      const n = file.readSync(chunk);
      if (n === null) break;
      chunks.push(chunk.subarray(0, n));
      size += n;
    }
  } finally {
    file.close();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const problem = budget.countBytes(size);
  if (problem !== null) {
    let line = 1;
    for (let i = 0; i < left; i++) if (bytes[i] === 0x0a) line++;
    throw sourceError(path, line, problem);
  }
  return DECODER.decode(bytes);
}

/**
 * Parses one configuration source into `ctx.table`. Include files are read synchronously and
 * parsed in place; `depth` is the include depth of this source (0 for the file that starts).
 * Needs `--allow-read` for includes.
 *
 * @throws {ConfigError} for any syntax error, naming file and line.
 */
export function parseSource(ctx: ParseContext, file: string, content: string, depth: number): void {
  new SourceParser(ctx, file, depth).parse(content);
}
