/**
 * The credential actions, upstream's grammar (docs/upstream.md "Command line", deviations 3, 4
 * and 13): `add`, `delete` and `query` of every type, with every shared option. A line with
 * `-f FILE` is the pool-file command, one with `-v` the version; a line that selects no other
 * command is read here, so here an unknown word is an unrecognized command.
 *
 * One request's path: the words → a CommandLine → `planRequest` (to_request.ts) → the header →
 * `checkRequest` (before a secret is read) → the route → `readCredential` (input.ts) → `send`
 * (the store service in-process, or a daemon) → the result, rendered by lib/output/.
 */

import { ConfigError } from "../../config/mod.ts";
import { printable, quote, StoreError } from "../../errors.ts";
import { classifyInput } from "../../fs/input_path.ts";
import {
  CANCELLED,
  type CredentialSource,
  describeSource,
  readCredential,
  trailingNewlineWarning,
} from "../../input.ts";
import { UPSTREAM } from "../../messages.ts";
import { EXIT_CANCELLED, type Result } from "../../output/result.ts";
import { formatHeader, type Subject } from "../../output/text.ts";
import type { Action, CredRequest, CredType, RequestDraft } from "../../request.ts";
import {
  auditRefusal,
  checkRequest,
  createStoreContext,
  credentialLimit,
  perform,
  type Reply,
} from "../../store/service.ts";
import { type Command, type OptionValues, type Redirect, UsageError } from "../command.ts";
import {
  ACTIONS,
  matchTypeSuffix,
  OPTIONS,
  sharedValues,
  TOKEN_VARIABLE,
  type Values,
} from "../grammar.ts";
import { isOptionSpelling } from "../parse.ts";
import { chooseRoute, daemonAddress, namedDaemon, type Route } from "../route.ts";
import { send } from "../send.ts";
import type { Session } from "../session.ts";
import { credentialSource, headerAccount, planRequest } from "../to_request.ts";
import { helpText } from "../usage.ts";

/** A parsed action: the shared options' values, and what the words said. */
export type CommandLine = Omit<Values, "help" | "version" | "minTtl"> & {
  readonly action: Action;
  readonly type: CredType;
  /** No type suffix was given: upstream's LEGACY_PWD mode. */
  readonly legacy: boolean;
  /** `--min-ttl SECONDS` (query-oauth -s only). */
  readonly minTtl: number | null;
};

interface ActionState {
  action: Action | null;
  type: CredType | null;
  actionIndex: number;
  typeGiven: boolean;
  positionals: number;
}

/**
 * The message for an argument that is not a command. Only a command-like word (letters, `-`
 * and `_`, no digits) in the command's place is repeated; any other word (one after an option's
 * value, say the second half of an unquoted password) is named by its position.
 */
function unrecognizedCommand(shown: string, position: number, safe: boolean): UsageError {
  if (safe && /^[A-Za-z_-]*$/.test(shown)) {
    return new UsageError(`ERROR: Unrecognized command - '${shown}'\n\n`);
  }
  return new UsageError(
    `ERROR: Unrecognized command - argument ${position} (not shown: it may be part of a ` +
      "secret); quote a value that contains spaces\n\n",
  );
}

/** A type suffix that names no type; a glued value (`add-pS3cr3t`) is not repeated. */
export function unknownType(suffix: string): UsageError {
  const shown = /^-[A-Za-z-]*$/.test(suffix) ? suffix : `${suffix.slice(0, 2)}…`;
  return new UsageError(`ERROR: ${printable(shown)} is not a known credential type\n`);
}

function actionWord(state: ActionState, arg: string, position: number, safe: boolean): void {
  // "add-krb" splits at its first dash into the action "add" and the suffix "-krb".
  const dash = arg.indexOf("-");
  const word = dash > 0 ? arg.slice(0, dash) : arg;
  const suffix = dash > 0 ? arg.slice(dash) : null;
  const action = ACTIONS.find((a) => a[0] === word[0]?.toLowerCase());
  if (action === undefined) throw unrecognizedCommand(arg, position, safe);
  if (word.toLowerCase() !== action) throw unrecognizedCommand(word, position, safe);
  if (state.action === null) {
    state.action = action;
    if (suffix !== null) {
      const type = matchTypeSuffix(suffix);
      if (type === null) throw unknownType(suffix);
      state.type = type;
    }
  } else if (state.action !== action) {
    throw new UsageError("ERROR: exactly one command must be provided\n");
  }
  // A repeated action word of the same operation is ignored, suffix and all (docs/upstream.md
  // "Command line").
}

/** The checks that run after a successful scan (docs/upstream.md "Command line"). */
function finish(state: ActionState, given: OptionValues): CommandLine | Redirect {
  const values = sharedValues(given);
  if (values.poolFile !== null && (state.action === "delete" || state.action === "query")) {
    // Deviation 13: upstream silently turned the action into a pool-file write.
    throw new UsageError("ERROR: -f can only be used to add a password\n", false);
  }
  const action = state.action ?? (values.poolFile !== null ? "add" : null);
  let minTtl: number | null = null;
  if (values.minTtl !== null) {
    if (!/^\d{1,9}$/.test(values.minTtl)) {
      throw new UsageError(
        `ERROR: --min-ttl needs a whole number of seconds, not '${printable(values.minTtl)}'\n\n`,
      );
    }
    if (action !== "query" || state.type !== "oauth" || values.service === null) {
      throw new UsageError(
        "ERROR: --min-ttl can only be used with query-oauth -s SERVICE\n",
        false,
      );
    }
    minTtl = Number(values.minTtl);
  }
  // `-f` always writes a password, whatever type came with the add (docs/upstream.md "Command
  // line").
  const type: CredType = values.poolFile !== null ? "password" : state.type ?? "password";
  let message = "";
  if (action === "add" && type !== "password" && values.input === null) {
    message += "ERROR: add-krb and add-oauth commands require a credential filename argument\n";
  }
  if (action === "add" && type === "oauth" && values.service === null) {
    message += "ERROR: add-oauth command requires a service name\n";
  }
  if (message) throw new UsageError(message, false);
  const { help: _help, version, ...rest } = values;
  if (version) return { redirect: "version", parsed: null };
  if (action === null) throw new UsageError("");
  const line: CommandLine = {
    ...rest,
    action,
    type,
    legacy: state.type === null || values.poolFile !== null,
    minTtl,
  };
  if (line.tokenFile === "-" && action === "add" && readsStandardInput(credentialSource(line))) {
    throw new UsageError(
      "ERROR: --token-file - reads the IDTOKEN from standard input, and so does this add's " +
        `credential; give the credential with -i FILE, or the IDTOKEN in a file or in ${TOKEN_VARIABLE}\n`,
      false,
    );
  }
  return values.poolFile !== null ? { redirect: "pool-file", parsed: line } : line;
}

/** True when a credential comes from standard input (`-i -`, `-p -`, or the prompt). */
function readsStandardInput(source: CredentialSource): boolean {
  if (source.kind === "input") {
    return source.path === "-" || classifyInput(source.path).kind === "stdin";
  }
  return source.kind !== "password";
}

/**
 * What a caller with no HTCondor configuration is told after an add (README "Configuration"): the
 * credential is in their personal spool, which no HTCondor daemon reads.
 */
function personalStoreNote(store: string): string {
  return `the credential went to your personal store ${quote(store)}, which HTCondor's daemons ` +
    "do not read (no HTCondor configuration was found); to store it for HTCondor, set " +
    "CONDOR_CONFIG to your pool's configuration";
}

/** An in-process reply, or a refusal before the request was performed. */
type Answer = Reply | {
  readonly ok: false;
  readonly error: StoreError;
  readonly target: { readonly account: string } | null;
  readonly warnings: readonly string[];
  readonly caller: string | null;
};

/** The result of an answer: the header's subject, the account acted on, the warnings. */
function result(
  header: Subject,
  answer: Answer,
  inputWarnings: readonly string[],
  minTtl: number | null,
): Result {
  return {
    kind: "credential",
    subject: header,
    user: answer.target?.account ?? null,
    caller: answer.caller ?? null,
    reply: answer.ok ? { ok: true, outcome: answer.outcome } : { ok: false, error: answer.error },
    warnings: [...inputWarnings, ...answer.warnings],
    minTtl,
  };
}

async function perform_(session: Session, command: CommandLine): Promise<Result> {
  const { io, uid, debug } = session;
  const subject: Subject = {
    action: command.action,
    type: command.type,
    account: "",
    pool: command.pool,
  };
  let config;
  try {
    config = session.config();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { kind: "config", message: error.message, about: { command: "action", subject } };
  }
  if (command.pool && command.action === "query") {
    const caller = command.name === null ? session.account() : null;
    return { kind: "refused", line: UPSTREAM.poolQueryUnsupported, subject, caller };
  }
  if (command.name !== null && await daemonAddress(command.name) === null) {
    return { kind: "refused", line: UPSTREAM.invalidDaemonName(printable(command.name)), subject };
  }
  const shown = headerAccount(command, config, session.login);
  if (shown === null) return { kind: "refused", line: UPSTREAM.noPoolDomain, subject };
  const header: Subject = { ...subject, account: shown.account, pool: shown.pool };
  if (!session.json) io.writeOut(formatHeader(shown.account, command.type));

  let credential: Uint8Array | typeof CANCELLED | null = null;
  let account: string | null = null;
  let draft: RequestDraft | null = null;
  /** Warnings about the input itself (a password ending in a newline). */
  const inputWarnings: string[] = [];
  let route: Route | null = null;
  /**
   * A refusal before the request was performed: audited when this process would have performed
   * it (a request for a daemon is the daemon's to audit: this client never writes its log), then
   * the result.
   */
  const refuse = async (error: StoreError): Promise<Result> => {
    let warnings: readonly string[] = [];
    if (draft !== null && (await wouldRunHere(draft)) && command.action !== "query") {
      try {
        const ctx = createStoreContext(config, { euid: uid, debug, accounts: session.accounts });
        warnings = auditRefusal(ctx, session.caller(), draft, error);
      } catch (auditError) {
        if (!(auditError instanceof StoreError)) throw auditError;
      }
    }
    const target = account === null ? null : { account };
    // Who asked: this user, unless a remote daemon (which knows the caller by a token) was named.
    let remote = command.name !== null;
    try {
      remote ||= draft !== null && namedDaemon(command, config, draft) !== null;
    } catch (configError) {
      if (!(configError instanceof ConfigError)) throw configError;
    }
    const caller = remote ? null : session.account();
    return result(
      header,
      { ok: false, error, target, warnings, caller },
      inputWarnings,
      command.minTtl,
    );
  };
  /** Whether `draft` is performed in this process: its route, when it could be chosen. */
  const wouldRunHere = async (draft: RequestDraft): Promise<boolean> => {
    if (route !== null) return route.kind === "local";
    try {
      return (await chooseRoute(command, config, draft, uid)).kind === "local";
    } catch (routeError) {
      if (routeError instanceof StoreError || routeError instanceof ConfigError) return false;
      throw routeError;
    }
  };
  try {
    draft = planRequest(command, config, session.login, uid);
    account = checkRequest(config, session.caller(), draft).account;
    route = await chooseRoute(command, config, draft, uid);
    if (draft.action === "add") {
      const source = credentialSource(command);
      debug(`reading the credential from ${describeSource(source)}`);
      credential = await readCredential(source, io, {
        limit: credentialLimit(command.type),
        promptTo: session.json ? "stderr" : "stdout",
      });
      if (credential === CANCELLED) return { kind: "exit", code: EXIT_CANCELLED };
      const newline = command.type === "password"
        ? trailingNewlineWarning(source, credential)
        : null;
      if (newline !== null) inputWarnings.push(newline);
    }
    const request =
      (draft.action === "add" ? { ...draft, credential: credential! } : draft) as CredRequest;
    const reply = await send(session, route, {
      call: (client) => client.storeCall(request),
      local: () =>
        perform(
          createStoreContext(config, { euid: uid, debug, accounts: session.accounts }),
          session.caller(),
          request,
        ),
      tokenFile: command.tokenFile,
    });
    debug(`${command.action} done: ${reply.ok ? reply.outcome.status : reply.error.code}`);
    if (reply.ok && draft.action === "add" && route.kind === "local" && route.personal !== null) {
      inputWarnings.push(personalStoreNote(route.personal));
    }
    return result(header, reply, inputWarnings, command.minTtl);
  } catch (error) {
    if (error instanceof ConfigError) return await refuse(new StoreError("config", error.message));
    if (!(error instanceof StoreError)) throw error;
    return await refuse(error);
  } finally {
    if (credential instanceof Uint8Array) credential.fill(0);
  }
}

/** add, delete and query of every type. */
export const command: Command<CommandLine, ActionState> = {
  options: OPTIONS,
  usage: () => helpText(),
  refuse: (shown) => `ERROR: Unrecognized option - '${shown}'\n\n`,
  reader: {
    start: () => ({ action: null, type: null, actionIndex: -1, typeGiven: false, positionals: 0 }),
    word(state, word) {
      const before = state.action;
      // Only the first word, not right after an option's value, is where a command goes.
      const safe = state.positionals++ === 0 && !word.followsValue;
      actionWord(state, word.text, word.index + 1, safe);
      if (before === null) {
        state.actionIndex = word.index;
        state.typeGiven = state.type !== null;
      }
    },
    // Deviation 4: `add -krb` when the word right after the action names a type.
    claim(state, arg, index) {
      if (state.actionIndex < 0 || index !== state.actionIndex + 1 || state.typeGiven) return false;
      if (isOptionSpelling(OPTIONS, arg)) return false;
      const type = matchTypeSuffix(arg);
      if (type === null) return false;
      state.type = type;
      state.typeGiven = true;
      return true;
    },
    finish,
    subject: (state) => ({ action: state.action, type: state.type }),
  },
  details: [],
  label: (line) => line.action,
  run: perform_,
};
