/**
 * The program: choose the command (lib/cli/commands.ts), load its module, read the line against
 * its declaration, run it, and render its result (lib/output/result.ts). `main.ts` calls `run()`
 * and sets the exit code; nothing here exits the process. Help, usage errors and `--json` errors
 * are handled here, once, for every command.
 */

import type { Io } from "../io.ts";
import { render } from "../output/result.ts";
import type { Report } from "../output/text.ts";
import type { Command, CommandEntry } from "./command.ts";
import { UsageError } from "./command.ts";
import { commandNamed, COMMANDS } from "./commands.ts";
import { hasOption, identify, mentions, parseLine } from "./parse.ts";
import { openSession } from "./session.ts";

function emit(io: Io, report: Report): number {
  if (report.stdout) io.writeOut(report.stdout);
  if (report.stderr) io.writeErr(report.stderr);
  return report.exitCode;
}

/** The refusal of the Windows build (README "Differences from HTCondor"). */
const WINDOWS_REFUSAL =
  "ERROR: this Windows build cannot protect credentials (owner-only ACLs are not " +
  "implemented), so it refuses to store, query or delete them; run condor_store_cred on " +
  "Linux or macOS\n";

/**
 * Runs `condor_store_cred` with `args` (without argv0) against `io`. Returns the exit status:
 * 0 success or pending, 2 scope/audience mismatch, 130 interrupted prompt, 1 otherwise.
 */
export async function run(args: readonly string[], io: Io): Promise<number> {
  let entry: CommandEntry = identify(args, COMMANDS) ?? commandNamed("action");
  let command: Command = (await entry.load()).command;
  // Deviation 1: -h wins wherever it stands, whatever else is wrong on the line.
  if (mentions(args, command.options, "help")) {
    return emit(io, render({ kind: "text", text: command.usage() }, { json: false }));
  }
  const json = hasOption(args, command.options, "json");
  let parsed: unknown;
  try {
    parsed = parseLine(command, args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return emit(
      io,
      render({
        kind: "usage",
        message: error.message,
        usage: error.usage ? command.usage() : null,
        action: error.subject?.action ?? null,
        type: error.subject?.type ?? null,
      }, { json }),
    );
  }
  if (parsed !== null && typeof parsed === "object" && "redirect" in parsed) {
    const redirect = parsed as { redirect: string; parsed: unknown };
    entry = commandNamed(redirect.redirect);
    command = (await entry.load()).command;
    parsed = redirect.parsed;
  }
  if (io.os === "windows" && !command.harmless) {
    io.writeErr(WINDOWS_REFUSAL);
    return 1;
  }
  const session = openSession(io, { debug: hasOption(args, command.options, "debug"), json });
  session.debug(`${command.label?.(parsed) ?? entry.name}: command line parsed`);
  try {
    return emit(io, render(await command.run(session, parsed), { json }));
  } catch (error) {
    // A bug or an unforeseen OS error: say so plainly, never with secret bytes (none are in
    // error messages: they carry paths and OS reasons only).
    const message = error instanceof Error ? error.message : String(error);
    return emit(io, render({ kind: "unexpected", message }, { json: false }));
  }
}
