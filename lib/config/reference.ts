/**
 * Every configuration knob the program reads, with its default and meaning: the CONFIGURATION
 * section of the man page is generated from this table, and a test checks it against the knobs
 * the source reads, so that the documentation cannot miss one. Generated from the table of
 * knobs.ts. Pure data.
 */

import { type Knob, type KnobGroup as Group, KNOBS } from "./knobs.ts";

/** Where a knob matters. */
export type KnobGroup = Exclude<Group, "internal">;

/** One documented knob. */
export interface KnobDoc {
  readonly name: string;
  readonly group: KnobGroup;
  /** Its default, as an operator would write it ("unset" when it has none). */
  readonly default: string;
  readonly meaning: string;
}

/** The knobs, grouped, in the order the man page lists them (the table of knobs.ts). */
export const KNOB_REFERENCE: readonly KnobDoc[] = (KNOBS as readonly Knob[]).flatMap((k) =>
  k.group === "internal" ? [] : [{
    name: k.name,
    group: k.group,
    default: k.shown ?? k.default ?? "unset",
    meaning: k.meaning,
  }]
);

/** Knobs HTCondor has that this program deliberately ignores, with the reason. */
export const IGNORED_KNOBS: readonly (readonly [string, string])[] = [
  [
    "TRUST_CREDENTIAL_DIRECTORY",
    "ownership and mode checks are always made; every layout HTCondor creates passes them",
  ],
];
