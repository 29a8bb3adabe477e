/**
 * Surviving mutants argued equivalent (TESTING.md "Survivors"): no behaviour changes, so no test
 * can kill them. A survivor matches an entry by file, source line (trimmed) and mutation, never
 * by line number, so entries stay valid while code around them moves; a survivor that matches
 * none is reported as a plain survivor for someone to kill or argue.
 */

/** One argued-equivalent mutant. */
export interface Equivalent {
  readonly file: string;
  /** The mutated source line, trimmed, as the report prints it. */
  readonly source: string;
  /** The mutation, as the report prints it (e.g. `< to <=`). */
  readonly mutation: string;
  /** Why no behaviour changes. */
  readonly why: string;
  /** What would observe it, if anything could. */
  readonly observe: string;
}

/** The argued equivalents. */
export const EQUIVALENTS: readonly Equivalent[] = [];

/** The argument for `m`, or null when it has none. */
export function equivalentOf(
  m: { readonly file: string; readonly source: string; readonly description: string },
): Equivalent | null {
  return EQUIVALENTS.find((e) =>
    e.file === m.file && e.source === m.source && e.mutation === m.description
  ) ?? null;
}
