/**
 * `condor_store_cred doctor`: examines the configured store (lib/store/doctor.ts) and prints one
 * finding per line, or JSON. Exit 0 when nothing is wrong, 1 otherwise. It changes nothing.
 */

import { ConfigError } from "../config/mod.ts";
import { StoreError } from "../errors.ts";
import type { Io } from "../io.ts";
import { emptyInfo, formatJson, JSON_SCHEMA_VERSION } from "../output/json.ts";
import { printable } from "../errors.ts";
import { ResultCode as Code } from "../messages.ts";
import { examineStore, type Finding } from "../store/doctor.ts";
import { createStoreContext } from "../store/service.ts";
import { PROGRAM_NAME } from "./grammar.ts";
import { openSession } from "./session.ts";

/** The help text of `doctor`. */
export function doctorHelp(program = PROGRAM_NAME): string {
  return [
    `Usage: ${program} doctor [--json] [-d]`,
    "  Examines the configured credential store as HTCondor's daemons see it: owners and",
    "  modes of every directory and file, links, temporary files and interrupted writes,",
    "  the credmons (pid file, process, completed scan), credentials waiting too long for",
    "  their credmon, expired access tokens, marks nobody sweeps, configuration warnings.",
    "  One finding per line, with the fix. It changes nothing. Exit 0 when healthy, else 1.",
    "",
  ].join("\n");
}

function json(findings: readonly Finding[], message: string) {
  return {
    schema: JSON_SCHEMA_VERSION,
    ok: findings.length === 0,
    action: "doctor" as const,
    type: null,
    user: null,
    status: findings.length === 0 ? "healthy" as const : "findings" as const,
    reason: findings.length === 0 ? "healthy" : "findings",
    code: findings.length === 0 ? Code.SUCCESS : Code.FAILURE,
    message,
    changed: null,
    warnings: [],
    info: emptyInfo(),
    findings,
  };
}

/** Runs `doctor`. Returns the exit status. */
export async function runDoctor(
  io: Io,
  options: { json: boolean; debug: boolean },
): Promise<number> {
  let findings: Finding[];
  try {
    const session = openSession(io);
    const debug = options.debug ? (line: string) => io.writeErr(`debug: ${line}\n`) : undefined;
    findings = await examineStore(
      createStoreContext(session.config, { euid: session.uid, debug }),
      Math.floor(Date.now() / 1000),
    );
  } catch (error) {
    const failure = error instanceof ConfigError ? new StoreError("config", error.message) : error;
    if (!(failure instanceof StoreError)) throw failure;
    findings = [{
      kind: failure.code,
      path: failure.path ?? "",
      problem: failure.message,
      fix: failure.remedy ?? "",
    }];
  }
  const summary = findings.length === 0
    ? "No problem found."
    : `${findings.length} problem${findings.length === 1 ? "" : "s"} found.`;
  if (options.json) {
    io.writeOut(formatJson(json(findings, summary) as never));
  } else {
    for (const f of findings) {
      io.writeOut(
        printable(`${f.path ? `${f.path}: ` : ""}${f.problem}`) +
          `\n    fix: ${printable(f.fix)}\n`,
      );
    }
    io.writeOut(`${summary}\n`);
  }
  return findings.length === 0 ? 0 : 1;
}
