/**
 * The program: parse the command line, turn it into a request, route the request (in-process,
 * or later the local or remote daemon), and render the reply. `main.ts` calls `run()` and sets
 * the exit code; nothing here exits the process.
 *
 * One request's path: `parseCommandLine` (cli/parse.ts) → `planRequest` (cli/to_request.ts) →
 * header → `checkRequest` (store/service.ts, before a secret is read) → `readCredential`
 * (input.ts) → `perform` (store/service.ts → store/<type>.ts → fs/) → render (output/).
 */

import { AccountDb } from "../accounts.ts";
import { type Config, ConfigError, loadConfig } from "../config/mod.ts";
import { printable, StoreError } from "../errors.ts";
import { CANCELLED, describeSource, readCredential, trailingNewlineWarning } from "../input.ts";
import type { Io } from "../io.ts";
import { UPSTREAM } from "../messages.ts";
import { formatJson, jsonError, jsonOutcome, jsonUsage } from "../output/json.ts";
import {
  formatHeader,
  formatLocalTime,
  formatWarnings,
  type Report,
  reportError,
  reportOutcome,
  type Subject,
} from "../output/text.ts";
import type { Caller, CredRequest, RequestDraft } from "../request.ts";
import {
  auditRefusal,
  checkRequest,
  createStoreContext,
  perform,
  type Reply,
} from "../store/service.ts";
import { versionText } from "../version.ts";
import { completionScript } from "./completions.ts";
import { type CommandLine, parseCommandLine, type UsageTopic } from "./parse.ts";
import { writePoolPasswordFile } from "./pool_file.ts";
import { chooseRoute } from "./route.ts";
import { runServe, serveHelp } from "./serve.ts";
import { runTokenCreate, type TokenCreate, tokenHelp } from "./token.ts";
import { listHelp, runList } from "./list.ts";
import { doctorHelp, runDoctor } from "./doctor.ts";
import { sendLocal, sendRemote, storeCall } from "../daemon/client.ts";
import { caCertificates, tokenChooser } from "./remote.ts";
import { daemonAddress } from "./route.ts";
import { credentialSource, headerAccount, planRequest } from "./to_request.ts";
import { credentialLimit } from "../store/service.ts";
import { completionsHelp, helpText } from "./usage.ts";

/** Exit status after an interrupted prompt (128 + SIGINT). */
const EXIT_CANCELLED = 130;

function emit(io: Io, report: Report): number {
  if (report.stdout) io.writeOut(report.stdout);
  if (report.stderr) io.writeErr(report.stderr);
  return report.exitCode;
}

/**
 * The -d channel: local time, then milliseconds since the process started (so a debug run is
 * also a coarse profile of where the time goes), then the message. Never secret bytes.
 */
function debugChannel(command: CommandLine, io: Io): (line: string) => void {
  if (!command.debug) return () => {};
  return (line: string) => {
    const since = `+${performance.now().toFixed(1)}ms`;
    io.writeErr(`${formatLocalTime(Math.floor(Date.now() / 1000))} ${since} ${line}\n`);
  };
}

/** The `-f FILE` branch: no header, no configuration, nothing printed on success. */
async function runPoolFile(command: CommandLine, io: Io): Promise<number> {
  const file = command.poolFile!;
  const subject: Subject = { action: "add", type: "password", account: "", pool: true };
  let credential: Uint8Array | typeof CANCELLED | null = null;
  const warnings: string[] = [];
  try {
    const source = credentialSource(command);
    credential = await readCredential(source, io, {
      limit: credentialLimit("password"),
      promptTo: command.json ? "stderr" : "stdout",
    });
    if (credential === CANCELLED) return EXIT_CANCELLED;
    const newline = trailingNewlineWarning(source, credential);
    if (newline !== null) warnings.push(newline);
    writePoolPasswordFile(file, credential, { euid: io.uid(), cwd: io.cwd() });
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    const own = error.code === "input" || error.code === "too-large" || error.code === "empty";
    if (!own) io.writeErr(`${UPSTREAM.writePoolFileFailed(file)}\n`);
    if (command.json) io.writeOut(formatJson(jsonError(subject, null, error, warnings)));
    const code = emit(io, { ...reportError(subject, error), stdout: "" });
    io.writeErr(formatWarnings(warnings));
    return code;
  } finally {
    if (credential instanceof Uint8Array) credential.fill(0);
  }
  if (command.json) {
    io.writeOut(formatJson(jsonOutcome(subject, null, { status: "success" }, warnings)));
  }
  io.writeErr(formatWarnings(warnings));
  return 0;
}

function loginName(io: Io, accounts: AccountDb, uid: number): string | null {
  return accounts.byUid(uid)?.name ?? io.env.USER ?? io.env.LOGNAME ?? null;
}

/** Renders a reply (or a refusal before the request was performed) as text or JSON. */
function render(
  io: Io,
  command: CommandLine,
  subject: Subject,
  reply: Reply | {
    readonly ok: false;
    readonly error: StoreError;
    readonly account: string | null;
  },
  inputWarnings: readonly string[] = [],
): number {
  const warnings = [...inputWarnings, ...("warnings" in reply ? reply.warnings : [])];
  const user = "target" in reply ? reply.target?.account ?? null : reply.account;
  let code: number;
  if (reply.ok) {
    if (command.json) {
      io.writeOut(formatJson(jsonOutcome(subject, user, reply.outcome, warnings)));
      code = 0;
    } else {
      code = emit(io, reportOutcome(subject, reply.outcome, { minTtl: command.minTtl }));
    }
  } else if (command.json) {
    io.writeOut(formatJson(jsonError(subject, user, reply.error, warnings)));
    code = reportError(subject, reply.error).exitCode;
  } else {
    code = emit(io, reportError(subject, reply.error));
  }
  io.writeErr(formatWarnings(warnings));
  return code;
}

async function execute(command: CommandLine, io: Io): Promise<number> {
  if (command.poolFile !== null) return await runPoolFile(command, io);
  const uid = io.uid();
  const debug = debugChannel(command, io);
  debug(`${command.action}: command line parsed`);
  const accounts = new AccountDb();
  const login = loginName(io, accounts, uid);
  const subject: Subject = {
    action: command.action,
    type: command.type,
    account: "",
    pool: command.pool,
  };

  let config: Config;
  try {
    config = loadConfig({
      env: { ...io.env },
      uid,
      hostname: io.hostname(),
      home: accounts.byUid(uid)?.home,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (command.json) {
      const failure = new StoreError("config", error.message);
      io.writeOut(formatJson(jsonError(subject, null, failure, [])));
    }
    io.writeErr(`${error.message}\n`);
    return 1;
  }
  debug(`configuration loaded: ${config.rootFile ?? (config.embedded ? "embedded" : "none")}`);
  for (const warning of config.warnings) debug(`warning: ${warning}`);

  if (command.pool && command.action === "query") {
    io.writeErr(`${UPSTREAM.poolQueryUnsupported}\n`);
    return 1;
  }
  if (command.name !== null && daemonAddress(command.name) === null) {
    io.writeErr(`${UPSTREAM.invalidDaemonName(printable(command.name))}\n`);
    return 1;
  }
  const shown = headerAccount(command, config, login);
  if (shown === null) {
    io.writeErr(`${UPSTREAM.noPoolDomain}\n`);
    return 1;
  }
  const header: Subject = { ...subject, account: shown.account, pool: shown.pool };
  const caller: Caller = {
    uid,
    name: login ?? `uid${uid}`,
    domain: config.get("UID_DOMAIN") ?? "",
    inProcess: true,
  };
  if (!command.json) io.writeOut(formatHeader(shown.account, command.type));

  let credential: Uint8Array | typeof CANCELLED | null = null;
  let account: string | null = null;
  let draft: RequestDraft | null = null;
  /** Warnings about the input itself (a password ending in a newline). */
  const inputWarnings: string[] = [];
  /** A refusal before the request was performed: audited, then rendered. */
  const refuse = (error: StoreError) => {
    let warnings: readonly string[] = [];
    if (draft !== null) {
      try {
        warnings = auditRefusal(
          createStoreContext(config, { euid: uid, debug, accounts }),
          caller,
          draft,
          error,
        );
      } catch (auditError) {
        if (!(auditError instanceof StoreError)) throw auditError;
      }
    }
    return render(io, command, header, { ok: false, error, account, warnings }, inputWarnings);
  };
  try {
    draft = planRequest(command, config, login, uid);
    account = checkRequest(config, caller, draft).account;
    const route = chooseRoute(command, config, draft, uid);
    if (draft.action === "add") {
      const source = credentialSource(command);
      debug(`reading the credential from ${describeSource(source)}`);
      credential = await readCredential(source, io, {
        limit: credentialLimit(command.type),
        promptTo: command.json ? "stderr" : "stdout",
      });
      if (credential === CANCELLED) return EXIT_CANCELLED;
      const newline = command.type === "password"
        ? trailingNewlineWarning(source, credential)
        : null;
      if (newline !== null) inputWarnings.push(newline);
    }
    const request =
      (draft.action === "add" ? { ...draft, credential: credential! } : draft) as CredRequest;
    let reply: Reply;
    if (route.kind === "socket") {
      debug(`sending the request to the daemon on ${route.socket}`);
      reply = await sendLocal(route.socket, route.challengeDir, storeCall(request));
    } else if (route.kind === "remote") {
      debug(`sending the request to the daemon at ${route.shown} (TLS)`);
      const owners = createStoreContext(config, { euid: uid, accounts }).owners;
      reply = await sendRemote({
        host: route.host,
        port: route.port,
        caCerts: caCertificates(config),
        token: tokenChooser({
          config,
          owners,
          accounts,
          euid: uid,
          cwd: io.cwd(),
          tokenFile: command.tokenFile,
          shown: route.shown,
        }),
      }, storeCall(request));
    } else {
      reply = await perform(
        createStoreContext(config, { euid: uid, debug, accounts }),
        caller,
        request,
      );
    }
    debug(`${command.action} done: ${reply.ok ? reply.outcome.status : reply.error.code}`);
    return render(io, command, header, reply, inputWarnings);
  } catch (error) {
    if (error instanceof ConfigError) return refuse(new StoreError("config", error.message));
    if (!(error instanceof StoreError)) throw error;
    return refuse(error);
  } finally {
    if (credential instanceof Uint8Array) credential.fill(0);
  }
}

/** The usage text that follows a usage error of `topic`. */
function usageFor(topic: UsageTopic): string {
  switch (topic) {
    case "main":
      return helpText();
    case "list":
      return listHelp();
    case "doctor":
      return doctorHelp();
    case "serve":
      return serveHelp();
    case "token":
      return tokenHelp();
    case "completions":
      return completionsHelp();
  }
}

/**
 * Runs `condor_store_cred` with `args` (without argv0) against `io`. Returns the exit status:
 * 0 success or pending, 2 scope/audience mismatch, 130 interrupted prompt, 1 otherwise.
 */
export async function run(args: readonly string[], io: Io): Promise<number> {
  const parsed = parseCommandLine(args);
  if (parsed.kind === "help") {
    io.writeOut(helpText());
    return 0;
  }
  if (parsed.kind === "version") {
    io.writeOut(versionText());
    return 0;
  }
  if (parsed.kind === "completions") {
    io.writeOut(completionScript(parsed.shell));
    return 0;
  }
  if (parsed.kind === "serve" && parsed.help) {
    io.writeOut(serveHelp());
    return 0;
  }
  if (parsed.kind === "token" && parsed.command === "help") {
    io.writeOut(tokenHelp());
    return 0;
  }
  if (parsed.kind === "list" && parsed.command.help) {
    io.writeOut(listHelp());
    return 0;
  }
  if (parsed.kind === "doctor" && parsed.help) {
    io.writeOut(doctorHelp());
    return 0;
  }
  if (parsed.kind === "error") {
    io.writeErr(parsed.message + (parsed.usage === null ? "" : usageFor(parsed.usage)));
    if (parsed.json) io.writeOut(formatJson(jsonUsage(parsed.message, parsed.action, parsed.type)));
    return 1;
  }
  if (io.os === "windows") {
    io.writeErr(
      "ERROR: this Windows build cannot protect credentials (owner-only ACLs are not " +
        "implemented), so it refuses to store, query or delete them; run condor_store_cred on " +
        "Linux or macOS\n",
    );
    return 1;
  }
  try {
    if (parsed.kind === "serve") return await runServe(io, { debug: parsed.debug });
    if (parsed.kind === "token") return await runTokenCreate(io, parsed.command as TokenCreate);
    if (parsed.kind === "list") return await runList(io, parsed.command);
    if (parsed.kind === "doctor") return await runDoctor(io, parsed);
    return await execute(parsed.command, io);
  } catch (error) {
    // A bug or an unforeseen OS error: say so plainly, never with secret bytes (none are in
    // error messages: they carry paths and OS reasons only).
    const message = error instanceof Error ? error.message : String(error);
    io.writeErr(`ERROR: unexpected failure: ${message}\n`);
    return 1;
  }
}
