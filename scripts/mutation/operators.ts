/**
 * The mutation operators of the generated mutation run (TESTING.md), written as a Deno lint
 * plugin: `deno lint` parses the source and this plugin reports every place a mutant can be made,
 * one diagnostic per mutant, its message the JSON of a `MutantSite`. scripts/mutation/generate.ts
 * runs it over the modules; the tests run it in-process with `Deno.lint.runPlugin`.
 *
 * A site replaces the source text between two offsets (UTF-16, as JavaScript strings count) with
 * other text; only the operator, keyword or literal is replaced, never a whole expression, so
 * the parse of the rest is unchanged.
 */

/** The kinds of mutant, each a rule a test must guard. */
export const KINDS = {
  boundary: "a comparison's boundary moved (< and <=, > and >=)",
  equality: "an equality inverted (=== and !==)",
  logical: "a logical operator swapped (&& and ||)",
  arithmetic: "an arithmetic operator swapped (+ and -)",
  bitwise: "a bit operation swapped (& and |)",
  negation: "a negation dropped (!x to x)",
  mask: "a mode mask changed (one octal digit zeroed: 0o022 to 0o002)",
  constant: "a number nudged (n to n+1 and n-1)",
  "check-removed": "an if (...) throw removed",
  "refusal-removed": "an if (...) return removed (a refusal or early exit)",
  "await-dropped": "an await dropped (not `return await` outside a try: equivalent)",
  "fsync-dropped": "an fsync dropped",
} as const;

/** A kind of mutant. */
export type Kind = keyof typeof KINDS;

/** One mutant in a source file. */
export interface MutantSite {
  readonly kind: Kind;
  /** Offsets of the replaced text (UTF-16 code units). */
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
  /** What the mutant does, e.g. `< to <=` or `removed: if (...) throw`. */
  readonly description: string;
}

const FLIPS: Record<string, [Kind, string]> = {
  "<": ["boundary", "<="],
  "<=": ["boundary", "<"],
  ">": ["boundary", ">="],
  ">=": ["boundary", ">"],
  "===": ["equality", "!=="],
  "!==": ["equality", "==="],
  "==": ["equality", "!="],
  "!=": ["equality", "=="],
  "&&": ["logical", "||"],
  "||": ["logical", "&&"],
  "+": ["arithmetic", "-"],
  "-": ["arithmetic", "+"],
  "&": ["bitwise", "|"],
  "|": ["bitwise", "&"],
};

/** Calls whose removal drops an fsync. */
const SYNC_CALLS = new Set([
  "sync",
  "syncSync",
  "syncData",
  "syncDataSync",
  "fsync",
  "fsyncSync",
  "fdatasync",
  "fdatasyncSync",
  "syncDirectory",
]);

const OPERATOR_CHARS = "<>=!&|+-*/%?^~";

/** The offset of `op` as a whole token in `text` between `from` and `to`, or -1. */
export function findOperator(text: string, op: string, from: number, to: number): number {
  for (let i = text.indexOf(op, from); i >= 0 && i + op.length <= to; i = text.indexOf(op, i + 1)) {
    const before = text[i - 1] ?? " ";
    const after = text[i + op.length] ?? " ";
    if (!OPERATOR_CHARS.includes(before) && !OPERATOR_CHARS.includes(after)) return i;
  }
  return -1;
}

/** A number written as the source writes it: hex stays hex, negatives are parenthesised. */
function formatNumber(value: number, raw: string): string {
  if (value < 0) return `(${value})`;
  if (/^0x/i.test(raw)) return `0x${value.toString(16)}`;
  if (/^0b/i.test(raw)) return `0b${value.toString(2)}`;
  return String(value);
}

// The lint AST, as far as the operators read it (Deno.lint's node types are a union too wide
// to narrow by hand here).
interface Node {
  readonly type: string;
  readonly range: [number, number];
  readonly parent?: Node;
  readonly [key: string]: unknown;
}

const child = (node: Node, key: string) => node[key] as Node | null | undefined;

/** The sites of one file, from the lint AST; `source` is the file's text. */
function visitors(source: string, report: (site: MutantSite) => void) {
  const binary = (node: Node) => {
    const op = node.operator as string;
    const flip = FLIPS[op];
    if (flip === undefined) return;
    const left = child(node, "left")!;
    const right = child(node, "right")!;
    // String concatenation: `+` to `-` never type-checks.
    if (op === "+" && [left, right].some(isString)) return;
    const at = findOperator(source, op, left.range[1], right.range[0]);
    if (at < 0) return;
    report({
      kind: flip[0],
      start: at,
      end: at + op.length,
      replacement: flip[1],
      description: `${op} to ${flip[1]}`,
    });
  };
  const isString = (node: Node) =>
    node.type === "TemplateLiteral" || (node.type === "Literal" && typeof node.value === "string");
  const removal = (node: Node, kind: Kind, what: string) => {
    const parent = node.parent?.type ?? "";
    const inList = ["BlockStatement", "Program", "SwitchCase", "StaticBlock"].includes(parent);
    report({
      kind,
      start: node.range[0],
      end: node.range[1],
      replacement: inList ? "" : "{}",
      description: `removed: ${what}`,
    });
  };
  return {
    BinaryExpression: binary,
    LogicalExpression: binary,
    UnaryExpression(node: Node) {
      if (node.operator !== "!") return;
      if (node.parent?.type === "UnaryExpression" && node.parent.operator === "!") return;
      if (child(node, "argument")?.type === "UnaryExpression") return;
      report({
        kind: "negation",
        start: node.range[0],
        end: node.range[0] + 1,
        replacement: "",
        description: "! dropped",
      });
    },
    Literal(node: Node) {
      if (typeof node.value !== "number") return;
      const parent = node.parent?.type ?? "";
      // Types, enum values and property keys are not values the program computes with.
      if (parent === "TSLiteralType" || parent === "TSEnumMember") return;
      if (parent === "Property" && node.parent!.key === node) return;
      const raw = node.raw as string;
      // The parser's value of a literal with separators (10_000) is not to be trusted.
      const value = Number(raw.replaceAll("_", ""));
      if (!Number.isFinite(value)) return;
      if (/^0o/i.test(raw)) {
        const digits = raw.slice(2);
        for (let i = 0; i < digits.length; i++) {
          if (digits[i] === "0" || digits[i] === "_") continue;
          const zeroed = `${raw.slice(0, 2)}${digits.slice(0, i)}0${digits.slice(i + 1)}`;
          report({
            kind: "mask",
            start: node.range[0],
            end: node.range[1],
            replacement: zeroed,
            description: `${raw} to ${zeroed}`,
          });
        }
        return;
      }
      for (const nudged of [value + 1, value - 1]) {
        const text = formatNumber(nudged, raw);
        report({
          kind: "constant",
          start: node.range[0],
          end: node.range[1],
          replacement: text,
          description: `${raw} to ${text}`,
        });
      }
    },
    IfStatement(node: Node) {
      if (child(node, "alternate")) return;
      let last = child(node, "consequent")!;
      if (last.type === "BlockStatement") {
        const body = last.body as Node[];
        if (body.length === 0) return;
        last = body[body.length - 1];
      }
      if (last.type === "ThrowStatement") removal(node, "check-removed", "if (...) throw");
      if (last.type === "ReturnStatement") removal(node, "refusal-removed", "if (...) return");
    },
    AwaitExpression(node: Node) {
      const argument = child(node, "argument")!;
      const expression = node.parent?.type === "ExpressionStatement" ? node.parent : null;
      if (expression !== null && isSyncCall(argument)) return; // the fsync rule removes it whole
      // `return await p` is `return p` in an async function, outside a try: equivalent by the
      // language, never generated.
      if (isReturned(node) && !inTry(node)) return;
      report({
        kind: "await-dropped",
        start: node.range[0],
        end: argument.range[0],
        replacement: "",
        description: "await dropped",
      });
    },
    ExpressionStatement(node: Node) {
      let expression = child(node, "expression")!;
      if (expression.type === "AwaitExpression") expression = child(expression, "argument")!;
      if (isSyncCall(expression)) removal(node, "fsync-dropped", source.slice(...node.range));
    },
  };
}

const FUNCTIONS = ["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"];

/** True when `node` is what its function returns (`return x`, or an arrow's body). */
function isReturned(node: Node): boolean {
  const parent = node.parent;
  return parent?.type === "ReturnStatement" ||
    (parent?.type === "ArrowFunctionExpression" && parent.body === node);
}

/** True when `node` is inside a try statement of its own function. */
function inTry(node: Node): boolean {
  for (let n = node.parent; n !== undefined && !FUNCTIONS.includes(n.type); n = n.parent) {
    if (n.type === "TryStatement") return true;
  }
  return false;
}

/** True for a call of `sync()`, `syncSync()`, `fsync()`, `syncDirectory()` and the like. */
function isSyncCall(node: Node): boolean {
  if (node.type !== "CallExpression") return false;
  const callee = child(node, "callee")!;
  const name = callee.type === "Identifier"
    ? callee.name
    : callee.type === "MemberExpression"
    ? child(callee, "property")?.name
    : undefined;
  return typeof name === "string" && SYNC_CALLS.has(name);
}

/** The plugin: rule `mutants/sites` reports every site as JSON. */
const plugin: Deno.lint.Plugin = {
  name: "mutants",
  rules: {
    sites: {
      create(context) {
        const source = context.sourceCode.text;
        const report = (site: MutantSite) =>
          context.report({ range: [site.start, site.end], message: JSON.stringify(site) });
        return visitors(source, report) as unknown as Deno.lint.LintVisitor;
      },
    },
  },
};

export default plugin;
