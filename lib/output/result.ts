/**
 * What a command returns, and the one place that turns it into stdout, stderr and the exit
 * status, as text or as `--json` (README "--json"). Commands never format: they return one of
 * these values, and only this layer (with text.ts, json.ts and list.ts) adds `ERROR: `, remedies
 * and escaping. Pure functions.
 */

import type { StoreError } from "../errors.ts";
import { printable, StoreError as Failure } from "../errors.ts";
import { ResultCode as Code } from "../messages.ts";
import type { Action, CredType } from "../request.ts";
import type { Finding } from "../store/doctor.ts";
import type { CredentialRow } from "../store/list.ts";
import type { Outcome } from "../store/context.ts";
import {
  emptyInfo,
  formatJson,
  JSON_SCHEMA_VERSION,
  jsonError,
  jsonOutcome,
  type JsonResult,
  jsonUsage,
} from "./json.ts";
import { formatList, jsonList, refusedSummary } from "./list.ts";
import { jsonWhoami, type WhoamiAnswer, whoamiLine } from "./whoami.ts";
import {
  errorText,
  formatWarnings,
  type Report,
  reportError,
  reportOutcome,
  type Subject,
} from "./text.ts";

/** Exit status after an interrupted prompt (128 + SIGINT). */
export const EXIT_CANCELLED = 130;

/** The outcome of a credential action, or why it failed. */
export type ActionReply =
  | { readonly ok: true; readonly outcome: Outcome }
  | { readonly ok: false; readonly error: StoreError };

/** What a command returns. */
export type Result =
  /** Text for stdout, exit 0: help, the version, completions, a token (with its warnings). */
  | { readonly kind: "text"; readonly text: string; readonly warnings?: readonly string[] }
  /** A usage error: the parser's message, then the command's usage (on stderr), exit 1. */
  | {
    readonly kind: "usage";
    readonly message: string;
    readonly usage: string | null;
    readonly action: Action | null;
    readonly type: CredType | null;
  }
  /**
   * An add, delete or query (`subject` is what the header showed; `user` the account acted on),
   * or the pool-password file of `-f` (`poolFile`: nothing on stdout on success, and upstream's
   * line naming the file before a failure that is not the input's).
   */
  | {
    readonly kind: "credential";
    readonly subject: Subject;
    readonly user: string | null;
    /** Who asked (`user@domain`), where the program knows it. */
    readonly caller?: string | null;
    readonly reply: ActionReply;
    readonly warnings: readonly string[];
    readonly minTtl?: number | null;
    readonly poolFile?: string;
  }
  /** A refusal in upstream's own complete line (stderr as is), exit 1. */
  | {
    readonly kind: "refused";
    readonly line: string;
    readonly subject: Subject | null;
    readonly caller?: string | null;
  }
  /** The configuration could not be loaded: its message as is, exit 1. */
  | { readonly kind: "config"; readonly message: string; readonly about: About }
  /** `list`: the rows, or why there are none. */
  | {
    readonly kind: "list";
    readonly type: CredType | null;
    readonly user: string | null;
    readonly rows: readonly CredentialRow[];
    readonly warnings: readonly string[];
    readonly error?: StoreError;
    /** Who asked (`user@domain`), where the program knows it. */
    readonly caller?: string | null;
  }
  /** `doctor`: what it found (nothing: healthy), and who asked. */
  | {
    readonly kind: "doctor";
    readonly findings: readonly Finding[];
    readonly caller?: string | null;
  }
  /** `whoami`: who the daemon takes the caller to be, or why it could not say. */
  | {
    readonly kind: "whoami";
    readonly answer: WhoamiAnswer | null;
    readonly error?: StoreError;
  }
  /** A command that failed as a whole (`serve` cannot start, `token create` has no key). */
  | { readonly kind: "failure"; readonly error: StoreError; readonly doing?: string }
  /** A finished run whose output was its own (the daemon's log), or an interrupted prompt. */
  | { readonly kind: "exit"; readonly code: number }
  /** A bug or an unforeseen OS error (never with secret bytes: messages carry paths only). */
  | { readonly kind: "unexpected"; readonly message: string };

/** What a configuration error is about, for its `--json` form. */
export type About =
  | { readonly command: "action"; readonly subject: Subject }
  | { readonly command: "list"; readonly type: CredType | null; readonly user: string | null }
  | { readonly command: "other" };

const quiet = (code: number, stderr = ""): Report => ({ stdout: "", stderr, exitCode: code });

/** A JSON result with `info.caller` set to who asked, when the program knows it. */
function jsonFor(result: JsonResult, caller: string | null | undefined): string {
  if (caller === undefined || caller === null) return formatJson(result);
  return formatJson({ ...result, info: { ...result.info, caller } });
}

/** The text form of `doctor`: one finding per line with its fix, then the count. */
export function formatFindings(findings: readonly Finding[]): string {
  const lines = findings.map((f) =>
    printable(`${f.path ? `${f.path}: ` : ""}${f.problem}`) + `\n    fix: ${printable(f.fix)}\n`
  );
  return lines.join("") + `${findingsSummary(findings)}\n`;
}

function findingsSummary(findings: readonly Finding[]): string {
  return findings.length === 0
    ? "No problem found."
    : `${findings.length} problem${findings.length === 1 ? "" : "s"} found.`;
}

/** The JSON form of `doctor`: the usual fields, and the findings. */
export function jsonFindings(
  findings: readonly Finding[],
): JsonResult & { readonly findings: readonly Finding[] } {
  const healthy = findings.length === 0;
  return {
    schema: JSON_SCHEMA_VERSION,
    ok: healthy,
    action: "doctor",
    type: null,
    user: null,
    status: healthy ? "healthy" : "findings",
    reason: healthy ? "healthy" : "findings",
    code: healthy ? Code.SUCCESS : Code.FAILURE,
    message: findingsSummary(findings),
    changed: null,
    warnings: [],
    info: emptyInfo(),
    findings,
  };
}

function renderCredential(result: Extract<Result, { kind: "credential" }>, json: boolean): Report {
  const { subject, user, reply, warnings } = result;
  const warned = formatWarnings(warnings);
  if (reply.ok) {
    if (json) {
      return {
        stdout: jsonFor(jsonOutcome(subject, user, reply.outcome, warnings), result.caller),
        stderr: warned,
        exitCode: 0,
      };
    }
    if (result.poolFile !== undefined) return quiet(0, warned);
    const report = reportOutcome(subject, reply.outcome, { minTtl: result.minTtl });
    return { ...report, stderr: report.stderr + warned };
  }
  const { error } = reply;
  const report = reportError(subject, error);
  // -f names the file first, unless the input itself was refused (upstream's line).
  const own = error.code === "input" || error.code === "too-large" || error.code === "empty";
  const preface = result.poolFile !== undefined && !own
    ? `error writing password file: ${result.poolFile}\n`
    : "";
  if (json) {
    return {
      stdout: jsonFor(jsonError(subject, user, error, warnings), result.caller),
      stderr: preface + (result.poolFile !== undefined ? report.stderr : "") + warned,
      exitCode: report.exitCode,
    };
  }
  const stdout = result.poolFile !== undefined ? "" : report.stdout;
  return { stdout, stderr: preface + report.stderr + warned, exitCode: report.exitCode };
}

function renderList(result: Extract<Result, { kind: "list" }>, json: boolean): Report {
  const now = Math.floor(Date.now() / 1000);
  if (result.error !== undefined) {
    const message = `ERROR: ${errorText(result.error)}`;
    const stdout = json
      ? jsonFor({
        ...jsonList(result.type, result.user, [], [], now),
        ok: false,
        status: "config",
        reason: result.error.code,
        message,
      }, result.caller)
      : "";
    return { stdout, stderr: `${message}\n`, exitCode: 1 };
  }
  const found = result.rows.length > 0;
  const stdout = json
    ? jsonFor(jsonList(result.type, result.user, result.rows, result.warnings, now), result.caller)
    : found
    ? formatList(result.rows, now)
    : "No credential is stored.\n";
  // An account that could not be read is a row, and the exit status says so (1).
  const refused = refusedSummary(result.rows);
  const stderr = formatWarnings(result.warnings) + (refused ? `ERROR: ${refused}\n` : "");
  return { stdout, stderr, exitCode: found && !refused ? 0 : 1 };
}

function renderWhoami(result: Extract<Result, { kind: "whoami" }>, json: boolean): Report {
  const now = Math.floor(Date.now() / 1000);
  const { answer } = result;
  const error = result.error ?? null;
  const stdout = json
    ? formatJson(jsonWhoami(answer, error, now))
    : answer === null
    ? ""
    : `${whoamiLine(answer, now)}\n`;
  if (answer !== null) return { stdout, stderr: "", exitCode: 0 };
  return { stdout, stderr: `ERROR: ${errorText(error!)}\n`, exitCode: 1 };
}

/** Turns a command's result into what to print and the exit status. */
export function render(result: Result, options: { readonly json: boolean }): Report {
  const { json } = options;
  switch (result.kind) {
    case "text":
      return { stdout: result.text, stderr: formatWarnings(result.warnings ?? []), exitCode: 0 };
    case "usage":
      return {
        stdout: json ? formatJson(jsonUsage(result.message, result.action, result.type)) : "",
        stderr: result.message + (result.usage ?? ""),
        exitCode: 1,
      };
    case "credential":
      return renderCredential(result, json);
    case "refused": {
      const stdout = json && result.subject !== null
        ? jsonFor(
          jsonError(result.subject, null, new Failure("bad-args", result.line), []),
          result.caller,
        )
        : "";
      return { stdout, stderr: `${result.line}\n`, exitCode: 1 };
    }
    case "config": {
      const failure = new Failure("config", result.message);
      const about = result.about;
      let stdout = "";
      if (json && about.command === "action") {
        stdout = formatJson(jsonError(about.subject, null, failure, []));
      } else if (json && about.command === "list") {
        stdout =
          renderList({ ...about, kind: "list", rows: [], warnings: [], error: failure }, json)
            .stdout;
      }
      return { stdout, stderr: `${result.message}\n`, exitCode: 1 };
    }
    case "list":
      return renderList(result, json);
    case "doctor":
      return {
        stdout: json
          ? jsonFor(jsonFindings(result.findings), result.caller)
          : formatFindings(result.findings),
        stderr: "",
        exitCode: result.findings.length === 0 ? 0 : 1,
      };
    case "whoami":
      return renderWhoami(result, json);
    case "failure":
      return quiet(
        1,
        `ERROR: ${result.doing ? `${result.doing}: ` : ""}${errorText(result.error)}\n`,
      );
    case "exit":
      return quiet(result.code);
    case "unexpected":
      return quiet(1, `ERROR: unexpected failure: ${printable(result.message)}\n`);
  }
}
