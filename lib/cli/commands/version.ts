/** `--version` (`-v`): the version line (a line of the actions' grammar hands on to it). */

import type { Result } from "../../output/result.ts";
import { versionText } from "../../version.ts";
import type { Command } from "../command.ts";
import { optionsOf } from "../grammar.ts";
import { helpText } from "../usage.ts";

/** `-v`, `--version`: `condor_store_cred <version> (Deno <version>, <target>)`. */
export const command: Command<null> = {
  options: optionsOf("version"),
  usage: () => helpText(),
  refuse: (shown) => `ERROR: Unrecognized option - '${shown}'\n\n`,
  details: [],
  harmless: true,
  run: (): Promise<Result> => Promise.resolve({ kind: "text", text: versionText() }),
};
