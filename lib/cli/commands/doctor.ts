/**
 * `condor_store_cred doctor`: examines the configured store (lib/store/doctor.ts) as HTCondor's
 * daemons see it. Exit 0 when nothing is wrong, 1 otherwise. It changes nothing.
 */

import { ConfigError } from "../../config/mod.ts";
import { StoreError } from "../../errors.ts";
import type { Result } from "../../output/result.ts";
import { examineStore, type Finding } from "../../store/doctor.ts";
import { createStoreContext } from "../../store/service.ts";
import type { Command } from "../command.ts";
import { optionsOf, PROGRAM_NAME } from "../grammar.ts";
import { ownWordOnly } from "../parse.ts";

const refuse = (shown: string) => `ERROR: doctor takes only --json, -d and -h, not '${shown}'\n`;

/** `doctor [--json] [-d] [-h]`. */
export const command: Command<null, { seen: boolean }> = {
  options: optionsOf("json", "debug", "help"),
  usage: () =>
    [
      `Usage: ${PROGRAM_NAME} doctor [--json] [-d]`,
      "  Examines the configured credential store as HTCondor's daemons see it: owners and",
      "  modes of every directory and file, links, temporary files and interrupted writes,",
      "  the credmons (pid file, process, completed scan), credentials waiting too long for",
      "  their credmon, expired access tokens, marks nobody sweeps, configuration warnings.",
      "  One finding per line, with the fix. It changes nothing. Exit 0 when healthy, else 1.",
      "",
    ].join("\n"),
  refuse,
  reader: ownWordOnly(refuse),
  details: [
    "Examines the configured store as HTCondor's daemons see it: owners and modes up every",
    "directory chain, files with group or other bits, links, temporary files, credmon pid files",
    "and scans, credentials waiting too long for their credmon, expired access tokens, stale",
    "marks, an audit log (CRED_AUDIT_LOG) that cannot be written, configuration warnings. One",
    "finding per line with its fix. It changes nothing.",
    "Exit 0 when healthy, else 1.",
  ],
  async run(session): Promise<Result> {
    let findings: Finding[];
    try {
      const ctx = createStoreContext(session.config(), {
        euid: session.uid,
        debug: session.debug,
        accounts: session.accounts,
      });
      findings = await examineStore(ctx, Math.floor(Date.now() / 1000));
    } catch (error) {
      const failure = error instanceof ConfigError
        ? new StoreError("config", error.message)
        : error;
      if (!(failure instanceof StoreError)) throw failure;
      findings = [{
        kind: failure.code,
        path: failure.path ?? "",
        problem: failure.message,
        fix: failure.remedy ?? "",
      }];
    }
    session.debug(`doctor done: ${findings.length} finding(s)`);
    return { kind: "doctor", findings, caller: session.account() };
  },
};
