/**
 * Finding macro references in configuration values, with upstream's recognition rules (ref
 * idtokens-and-config §2.5): `$(NAME)`, `$(NAME:default)`, `$ENV(VAR[:default])`, the
 * unsupported `$FUNC(…)` forms, and `$$(…)`, which is never a macro here.
 */

/** What kind of macro a reference is. */
export type MacroKind = "normal" | "env" | "function";

/** One recognised macro reference inside a string. */
export interface MacroRef {
  /** Index of the `$`. */
  readonly start: number;
  /** Index just after the closing `)`. */
  readonly end: number;
  readonly kind: MacroKind;
  /** The text between `$` and `(`, e.g. `""`, `"ENV"`, `"INT"`. */
  readonly func: string;
  /** The name part of the body (before the first `:` for normal and ENV macros). */
  readonly name: string;
  /** The default after the first `:`, or undefined when there is no `:`. */
  readonly fallback: string | undefined;
}

const FUNCTIONS: ReadonlySet<string> = new Set([
  "RANDOM_CHOICE",
  "RANDOM_INTEGER",
  "CHOICE",
  "SUBSTR",
  "INT",
  "REAL",
  "STRING",
  "EVAL",
  "BASENAME",
  "DIRNAME",
]);

/** Characters allowed in a default value besides identifier characters (upstream's set). */
const DEFAULT_EXTRA_CHARS = "$ ,\\:";

/** True for the characters of a knob name: `[A-Za-z0-9_./]`. */
export function isIdChar(c: string | undefined): boolean {
  if (c === undefined) return false;
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") ||
    c === "_" || c === "." || c === "/";
}

/** True when `name` is a legal knob name (`[A-Za-z0-9_./]+`). */
export function isValidName(name: string): boolean {
  if (name === "") return false;
  for (const c of name) if (!isIdChar(c)) return false;
  return true;
}

function isPrefixChar(c: string | undefined): boolean {
  if (c === undefined) return false;
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "_";
}

/** Classifies the text between `$` and `(`; null when it does not start a macro. */
function classify(func: string): { kind: MacroKind; idBody: boolean } | null {
  if (func === "") return { kind: "normal", idBody: true };
  if (func.startsWith("$")) return null; // `$$(` is match-time syntax, never expanded here
  if (func === "ENV") return { kind: "env", idBody: true };
  if (func[0] === "F" && /^[pnxdqabfwu]*$/i.test(func.slice(1))) {
    return { kind: "function", idBody: false };
  }
  if (FUNCTIONS.has(func)) return { kind: "function", idBody: false };
  return null;
}

/**
 * Finds the next macro reference at or after `from` that `skip` does not reject.
 *
 * A normal or `$ENV` body must be identifier characters, optionally followed by `:` and a
 * default made of identifier characters, `$`, space, `,`, `\`, `:` and parenthesised groups;
 * any other body is not a macro and the scan goes on inside it, so `$($(B))` finds `$(B)`
 * first. A body with no closing `)` is not a macro either.
 */
export function nextMacro(
  s: string,
  from: number,
  skip: (ref: MacroRef) => boolean = () => false,
): MacroRef | null {
  let t = from;
  for (;;) {
    let dollar = -1;
    let open = -1;
    let kind: { kind: MacroKind; idBody: boolean } | null = null;
    for (;;) {
      dollar = s.indexOf("$", t);
      if (dollar < 0) return null;
      let p = dollar + 1;
      if (s[p] === "$") p++;
      while (isPrefixChar(s[p])) p++;
      if (s[p] === "(") {
        kind = classify(s.slice(dollar + 1, p));
        if (kind !== null) {
          open = p;
          break;
        }
      }
      t = p;
    }
    const body = open + 1;
    let v = body;
    let colon = -1;
    let recognised = true;
    if (kind.idBody) {
      while (v < s.length && s[v] !== ")") {
        const c = s[v++];
        if (c === ":" && colon < 0) {
          colon = v - 1;
          continue;
        }
        if (colon >= 0) {
          if (c === "(") {
            const close = s.indexOf(")", v);
            if (close >= 0) {
              v = close + 1;
              continue;
            }
          } else if (DEFAULT_EXTRA_CHARS.includes(c)) {
            continue;
          }
        }
        if (!isIdChar(c)) {
          recognised = false;
          break;
        }
      }
    } else {
      while (v < s.length && s[v] !== ")") v++;
    }
    if (!recognised || v >= s.length) {
      t = body;
      continue;
    }
    const ref: MacroRef = {
      start: dollar,
      end: v + 1,
      kind: kind.kind,
      func: s.slice(dollar + 1, open),
      name: colon >= 0 ? s.slice(body, colon) : s.slice(body, v),
      fallback: colon >= 0 ? s.slice(colon + 1, v) : undefined,
    };
    if (skip(ref)) {
      t = v;
      continue;
    }
    return ref;
  }
}

/** True when `ref` is `$(DOLLAR)` (no default), the escape for a literal `$`. */
export function isDollar(ref: MacroRef): boolean {
  return ref.kind === "normal" && ref.fallback === undefined && ref.name.toUpperCase() === "DOLLAR";
}

/**
 * Replaces every `$(DOLLAR)` in `s` with `$` (done once, after all other expansion), calling
 * `onReplace` with the new length after each replacement (each rescans the rest of the value).
 */
export function replaceDollars(s: string, onReplace: (length: number) => void = () => {}): string {
  let out = s;
  let from = 0;
  for (;;) {
    const ref = nextMacro(out, from, (r) => !isDollar(r));
    if (ref === null) return out;
    out = out.slice(0, ref.start) + "$" + out.slice(ref.end);
    onReplace(out.length);
    from = ref.start;
  }
}

/**
 * Returns the index of the first `$(` (or `$NAME(`, `$$(`) whose parentheses are not closed
 * before the end of `s`, or -1.
 */
export function findUnterminatedMacro(s: string): number {
  let t = 0;
  // A `(` before `closed` lies inside a pair already found closed, so it is closed too; not
  // scanning it again keeps nested `$($($(…)))` linear instead of quadratic.
  let closed = 0;
  for (;;) {
    const dollar = s.indexOf("$", t);
    if (dollar < 0) return -1;
    let p = dollar + 1;
    if (s[p] === "$") p++;
    while (isPrefixChar(s[p])) p++;
    if (s[p] === "(" && p >= closed) {
      let depth = 0;
      let q = p;
      for (; q < s.length; q++) {
        if (s[q] === "(") depth++;
        else if (s[q] === ")" && --depth === 0) break;
      }
      if (q >= s.length) return dollar;
      closed = q;
    }
    t = dollar + 1;
  }
}

/** Lists the unsupported `$FUNC(…)` macros in `s`, e.g. `["$INT()"]`, each once. */
export function unsupportedFunctions(s: string): string[] {
  const found = new Set<string>();
  let from = 0;
  for (;;) {
    const ref = nextMacro(s, from, (r) => r.kind !== "function");
    if (ref === null) return [...found];
    found.add(`$${ref.func}()`);
    from = ref.end;
  }
}
