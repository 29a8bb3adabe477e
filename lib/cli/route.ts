/**
 * Where a request goes. This version performs every request in-process; `-n` and CREDD_HOST
 * name a daemon, which is refused here, in one place, with a clear message.
 */

import type { Config } from "../config/mod.ts";
import { StoreError } from "../errors.ts";
import type { RequestDraft } from "../request.ts";
import type { CommandLine } from "./parse.ts";

/** Refuses a request that would need a daemon. Throws StoreError("unsupported"). */
export function checkRoute(command: CommandLine, config: Config, draft: RequestDraft): void {
  if (command.name !== null) {
    throw new StoreError(
      "unsupported",
      `-n ${command.name} needs the condor_store_cred daemon (serve), which this version does ` +
        "not include yet",
      { remedy: "run the command on that machine instead" },
    );
  }
  const credd = config.get("CREDD_HOST");
  const pool = draft.type === "password" && (draft.pool || draft.user?.startsWith("condor_pool@"));
  if (credd !== undefined && draft.type !== "password" && !pool) {
    throw new StoreError(
      "unsupported",
      `CREDD_HOST is set to ${credd}, but this version cannot reach a remote credd yet`,
      { remedy: "unset CREDD_HOST to store the credential on this machine" },
    );
  }
}
