/**
 * Every command's declaration, loaded: what the man page and the completions are generated from
 * (one list: the table of lib/cli/commands.ts). Only those generators import this module; a run
 * of one command loads that command alone.
 */

import type { Command, CommandEntry } from "./command.ts";
import { COMMANDS } from "./commands.ts";

/** A table line with its command's declaration. */
export interface Declared {
  readonly entry: CommandEntry;
  readonly command: Command;
}

/** Every command, in the table's order. */
export const DECLARED: readonly Declared[] = await Promise.all(
  COMMANDS.map(async (entry) => ({ entry, command: (await entry.load()).command })),
);
