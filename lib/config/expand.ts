/**
 * Macro expansion (docs/upstream.md "Configuration"): lazy, memoized per definition, with recursion
 * detection where upstream would loop forever.
 */

import { LoadBudget } from "./budget.ts";
import { ConfigError, sourceErrorMessage } from "./errors.ts";
import { isDollar, nextMacro, replaceDollars } from "./macros.ts";
import { type Definition, describeOrigin, type KnobTable, type Origin } from "./table.ts";

/** Upper bound on substitutions in one value; past it the expansion cannot be terminating. */
const MAX_STEPS = 10_000;
/** Upper bound on the length of a value while it is expanded (1 MiB). */
const MAX_LENGTH = 1 << 20;

/** Builds a ConfigError whose location is the place `origin` names. */
export function errorAt(origin: Origin, problem: string): ConfigError {
  if (origin.kind === "file") {
    return new ConfigError(sourceErrorMessage(origin.file, origin.line, problem), {
      file: origin.file,
      line: origin.line,
    });
  }
  return new ConfigError(`Configuration error: ${problem} (from ${describeOrigin(origin)})`);
}

interface Frame {
  readonly name: string;
  readonly definition: Definition;
}

/** Expands knob values against a {@link KnobTable} and an environment. */
export class Expander {
  readonly #table: KnobTable;
  readonly #env: Readonly<Record<string, string>>;
  readonly #cache = new Map<Definition, string>();
  readonly #stack: Frame[] = [];
  readonly #budget: LoadBudget;

  /**
   * @param env the environment `$ENV(…)` reads.
   * @param budget counts every substitution, for as long as this expander is used.
   */
  constructor(
    table: KnobTable,
    env: Readonly<Record<string, string>>,
    budget: LoadBudget = new LoadBudget(),
  ) {
    this.#table = table;
    this.#env = env;
    this.#budget = budget;
  }

  /** Drops memoized expansions; call whenever the table changes. */
  invalidate(): void {
    this.#cache.clear();
  }

  /**
   * The expansion of knob `name` (lookup order of {@link KnobTable.lookup}), with `$(DOLLAR)`
   * still escaped. Undefined knobs expand to "". UID_DOMAIN falls back to FULL_HOSTNAME when it
   * expands to "" (docs/upstream.md "Configuration").
   *
   * @throws {ConfigError} on a recursive or non-terminating definition.
   */
  expandKnob(name: string): string {
    const value = this.expandOwn(name);
    if (value === "" && name.toUpperCase() === "UID_DOMAIN") {
      return this.expandKnob("FULL_HOSTNAME");
    }
    return value;
  }

  /** Like {@link expandKnob}, without the UID_DOMAIN fallback. */
  expandOwn(name: string): string {
    const definition = this.#table.lookup(name);
    return definition === undefined ? "" : this.#expandDefinition(definition);
  }

  /**
   * The final value of knob `name`: {@link expandKnob} with `$(DOLLAR)` turned into `$`.
   *
   * @throws {ConfigError} on a recursive or non-terminating definition, or when the load's
   * expansion budget runs out (naming where `name` is defined).
   */
  param(name: string): string {
    const value = this.expandKnob(name);
    const origin = this.#table.lookup(name)?.origin ?? { kind: "default" };
    return replaceDollars(value, (length) => this.#count(length, origin, name));
  }

  /**
   * Expands arbitrary text (an include file name, an `if` condition, an `error :` message).
   *
   * @throws {ConfigError} on a recursive or non-terminating definition, or when the load's
   * expansion budget runs out.
   */
  expandText(text: string, origin: Origin): string {
    const value = this.#expand(text, origin, "the value");
    return replaceDollars(value, (length) => this.#count(length, origin, "the value"));
  }

  /**
   * The raw value `name` resolves to (no expansion), or undefined when it is not defined at
   * all. Detected values are computed.
   */
  rawValue(name: string): string | undefined {
    const definition = this.#table.lookup(name);
    if (definition === undefined) return undefined;
    return definition.compute === undefined ? definition.raw : this.#expandDefinition(definition);
  }

  /**
   * Expands only the references of `value` to knob `self` (and, for `SUBSYS.X`, to `X`), with
   * the raw value `self` has now: how `A = $(A) more` appends.
   *
   * @throws {ConfigError} when the substitution does not terminate, or when the load's
   * expansion budget runs out.
   */
  expandSelf(value: string, self: string, origin: Origin): string {
    const first = self.toLowerCase();
    const prefix = this.#table.prefix;
    const second = first.startsWith(prefix) && first.length > prefix.length
      ? first.slice(prefix.length)
      : undefined;
    const skip = (ref: { kind: string; name: string }) => {
      if (ref.kind !== "normal") return true;
      const name = ref.name.toLowerCase();
      return name !== first && name !== second;
    };
    let s = value;
    for (let steps = 0;; steps++) {
      const ref = nextMacro(s, 0, skip);
      if (ref === null) return s;
      if (steps >= MAX_STEPS || s.length > MAX_LENGTH) {
        throw errorAt(origin, `self-reference of ${self} does not terminate`);
      }
      let replacement = this.rawValue(ref.name) ?? "";
      if (replacement === "" && ref.fallback !== undefined) replacement = ref.fallback;
      s = s.slice(0, ref.start) + replacement + s.slice(ref.end);
      this.#count(s.length, origin, self);
    }
  }

  /** Counts a substitution in `what` that left `length` characters against the load's budget. */
  #count(length: number, origin: Origin, what: string): void {
    const problem = this.#budget.countStep(length, what);
    if (problem !== null) throw errorAt(origin, problem);
  }

  #expandDefinition(definition: Definition): string {
    const cached = this.#cache.get(definition);
    if (cached !== undefined) return cached;
    const seen = this.#stack.findIndex((f) => f.definition === definition);
    if (seen >= 0) {
      const chain = [...this.#stack.map((f) => f.name), definition.name].join(" -> ");
      throw errorAt(definition.origin, `recursive macro reference: ${chain}`);
    }
    this.#stack.push({ name: definition.name, definition });
    try {
      const value = definition.compute !== undefined
        ? definition.compute()
        : this.#expand(definition.raw, definition.origin, definition.name);
      this.#cache.set(definition, value);
      return value;
    } finally {
      this.#stack.pop();
    }
  }

  /** True when `$(name:default)` takes its default: `name` is undefined or its raw value is "". */
  #takesDefault(name: string): boolean {
    if (name.toUpperCase() === "UID_DOMAIN") return this.expandKnob(name) === "";
    const raw = this.rawValue(name);
    return raw === undefined || raw === "";
  }

  /**
   * Replaces macros until none is left, leftmost-innermost first, rescanning from the start
   * after each substitution (so `$($(NAME))` works). `$(DOLLAR)` and unsupported `$FUNC(…)`
   * forms are left in place.
   */
  #expand(text: string, origin: Origin, what: string): string {
    let s = text;
    for (let steps = 0;; steps++) {
      const ref = nextMacro(s, 0, (r) => r.kind === "function" || isDollar(r));
      if (ref === null) return s;
      if (steps >= MAX_STEPS || s.length > MAX_LENGTH) {
        throw errorAt(origin, `macro expansion of ${what} does not terminate`);
      }
      let replacement: string;
      if (ref.kind === "env") {
        const value = Object.hasOwn(this.#env, ref.name) ? this.#env[ref.name] : undefined;
        if (value !== undefined && value !== "") replacement = value;
        else if (ref.fallback !== undefined) replacement = ref.fallback;
        else replacement = value === undefined ? "UNDEFINED" : "";
      } else if (ref.fallback !== undefined && this.#takesDefault(ref.name)) {
        replacement = ref.fallback;
      } else {
        replacement = this.expandKnob(ref.name);
      }
      s = s.slice(0, ref.start) + replacement + s.slice(ref.end);
      this.#count(s.length, origin, what);
    }
  }
}
