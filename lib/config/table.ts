/**
 * The table of knob definitions and HTCondor's lookup order (docs/upstream.md "Configuration"):
 * `SUBSYS.NAME` from the configuration, then `NAME`, then the built-in default. Names are
 * case-insensitive.
 */

import { KNOB_DEFAULTS } from "./defaults.ts";

/** Where a definition came from. */
export type Origin =
  | { readonly kind: "file"; readonly file: string; readonly line: number }
  | { readonly kind: "env"; readonly variable: string }
  | { readonly kind: "default" }
  | { readonly kind: "embedded" }
  | { readonly kind: "detected" };

/** One knob definition: a raw (unexpanded) value, or a value computed on demand. */
export interface Definition {
  /** The name as written where it was defined, e.g. `TOOL.SEC_PASSWORD_FILE`. */
  readonly name: string;
  /** The raw value, self-references already expanded. Unused when `compute` is set. */
  readonly raw: string;
  readonly origin: Origin;
  /** For detected values (FULL_HOSTNAME…): returns the final value, already expanded. */
  readonly compute?: () => string;
}

/** Formats an origin for messages: `"/etc/condor/condor_config", line 12`, … */
export function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case "file":
      return `"${origin.file}", line ${origin.line}`;
    case "env":
      return `environment ${origin.variable}`;
    case "default":
      return "built-in default";
    case "embedded":
      return "embedded default";
    case "detected":
      return "detected";
  }
}

const DEFAULT_DEFINITIONS: ReadonlyMap<string, Definition> = new Map(
  Object.entries(KNOB_DEFAULTS).map((
    [name, raw],
  ) => [name.toLowerCase(), { name, raw, origin: { kind: "default" } }]),
);

/** The knob definitions of one configuration, in HTCondor's lookup order. */
export class KnobTable {
  readonly #entries = new Map<string, Definition>();
  readonly #prefix: string;
  readonly #onChange: () => void;

  /**
   * @param subsystem the subsystem whose `SUBSYS.NAME` definitions win over plain names.
   * @param onChange called after every change (to drop cached expansions).
   */
  constructor(subsystem: string, onChange: () => void = () => {}) {
    this.#prefix = `${subsystem.toLowerCase()}.`;
    this.#onChange = onChange;
  }

  /** The subsystem prefix with its dot, lower case, e.g. `tool.`. */
  get prefix(): string {
    return this.#prefix;
  }

  /** Defines (or redefines) a knob. */
  set(definition: Definition): void {
    this.#entries.set(definition.name.toLowerCase(), definition);
    this.#onChange();
  }

  /**
   * Looks `name` up as `SUBSYS.name`, then `name`, then in the built-in defaults. A definition
   * with an empty value counts: it hides the default.
   */
  lookup(name: string): Definition | undefined {
    const key = name.toLowerCase();
    return this.#entries.get(this.#prefix + key) ?? this.#entries.get(key) ??
      DEFAULT_DEFINITIONS.get(key);
  }
}
