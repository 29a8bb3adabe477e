/**
 * The program: parse the command line, load the configuration, print the header, read the
 * credential, perform the action in-process, report. `main.ts` calls `run()` and sets the exit
 * code; nothing here exits the process.
 */

import type { CredType } from "./cli/grammar.ts";
import { type CommandLine, parseCommandLine } from "./cli/parse.ts";
import { completionScript } from "./cli/completions.ts";
import { usageText } from "./cli/usage.ts";
import { type Config, ConfigError, loadConfig } from "./config/mod.ts";
import { StoreError } from "./errors.ts";
import { lookupName, lookupUid } from "./fs/passwd.ts";
import type { Trust } from "./fs/secure_file.ts";
import { CANCELLED, describeSource, readCredential } from "./input.ts";
import type { Io } from "./io.ts";
import { ResultCode, UPSTREAM } from "./messages.ts";
import {
  formatHeader,
  formatJson,
  formatLocalTime,
  jsonError,
  jsonOutcome,
  type Report,
  reportError,
  reportOutcome,
  type Subject,
} from "./output.ts";
import { versionText } from "./version.ts";
import { appendAudit } from "./store/audit.ts";
import type { Outcome, StoreContext } from "./store/context.ts";
import { addKerberos, deleteKerberos, queryKerberos } from "./store/kerberos.ts";
import { checkName, POOL_USER, splitAccount } from "./store/names.ts";
import { addOAuth, deleteOAuth, OAUTH_LIMIT, queryOAuth } from "./store/oauth.ts";
import {
  addPoolPassword,
  addUserPassword,
  deletePoolPassword,
  deleteUserPassword,
  PASSWORD_LIMIT,
  queryPoolPassword,
  queryUserPassword,
  writePoolPasswordFile,
} from "./store/password.ts";

/** Exit status after an interrupted prompt (128 + SIGINT). */
const EXIT_CANCELLED = 130;

/** Who to trust: the caller for files; root, the caller and the `condor` user for directories. */
function trustFor(uid: number): Trust {
  const condor = lookupName("condor")?.uid;
  const owners = [0, uid, ...(condor === undefined ? [] : [condor])];
  return { fileOwner: uid, dirOwners: [...new Set(owners)] };
}

/** The resolved target of an operation. */
interface Target {
  /** The header's account text. */
  readonly shown: string;
  /** The account as `user@domain`, or the local user name for Kerberos and OAuth. */
  readonly user: string;
  /** A pool-password operation. */
  readonly pool: boolean;
}

function loginName(io: Io, uid: number): string | null {
  return lookupUid(uid)?.name ?? io.env.USER ?? io.env.LOGNAME ?? null;
}

function needLogin(login: string | null, uid: number): string {
  if (login !== null) return login;
  throw new StoreError(
    "bad-args",
    `cannot find a user name for uid ${uid} in /etc/passwd; name the account with -u user@domain`,
  );
}

/** Decides the account (ref §2.3 with SPEC deviation 5) and the header text. */
function resolveTarget(command: CommandLine, config: Config, login: string | null, uid: number) {
  const uidDomain = config.get("UID_DOMAIN") ?? "";
  if (command.pool) {
    const domain = config.get("SEC_PASSWORD_DOMAIN") ?? config.get("UID_DOMAIN");
    if (domain === undefined) return null;
    const account = `${POOL_USER}@${domain}`;
    return { shown: account, user: account, pool: true };
  }
  if (command.user !== null) {
    const pool = splitAccount(command.user).user === POOL_USER;
    return { shown: command.user, user: command.user, pool };
  }
  const name = needLogin(login, uid);
  if (command.type === "password") {
    const account = `${name}@${uidDomain}`;
    return { shown: account, user: account, pool: false };
  }
  return { shown: `<current> (${name})`, user: name, pool: false };
}

/** Refusals that upstream reports as bad arguments after the header (ref §2.4, §5.2.1). */
function checkArguments(command: CommandLine, target: Target): void {
  if (target.pool && command.type !== "password") {
    throw new StoreError(
      "bad-args",
      `the pool account (${POOL_USER}) only has a password; it cannot be used with the ` +
        "kerberos or oauth type",
    );
  }
  const oauthOptions = command.service ?? command.handle ?? command.scopes ?? command.audience;
  if (command.legacy && oauthOptions !== null) {
    throw new StoreError(
      "bad-args",
      "-s, -H, -S and -A belong to OAuth credentials; use add-oauth, delete-oauth or query-oauth",
    );
  }
  if (command.name !== null) {
    throw new StoreError(
      "unsupported",
      `ERROR: -n ${command.name} needs the condor_store_cred daemon (serve), which this ` +
        "version does not include yet; run the command on that machine instead",
    );
  }
}

/** The local user name of an account: the part before the last `@`, checked. */
function localUser(account: string): string {
  return checkName("user", splitAccount(account).user);
}

/** The `user@domain` of a password account, both parts checked. */
function passwordAccount(account: string): string {
  const { user, domain } = splitAccount(account);
  checkName("user", user);
  checkName("domain", domain);
  return account;
}

function limitFor(type: CredType): number {
  return type === "password" ? PASSWORD_LIMIT : OAUTH_LIMIT;
}

/** Performs the action in-process. */
async function perform(
  ctx: StoreContext,
  command: CommandLine,
  target: Target,
  credential: Uint8Array | null,
): Promise<Outcome> {
  const oauth = { ...command };
  switch (command.type) {
    case "password":
      if (target.pool) {
        if (command.action === "add") return await addPoolPassword(ctx, credential!);
        if (command.action === "delete") return await deletePoolPassword(ctx);
        // Only `-u condor_pool@...` gets here: `-c` queries are refused earlier, as upstream.
        return queryPoolPassword(ctx);
      }
      if (command.action === "add") {
        return await addUserPassword(ctx, passwordAccount(target.user), credential!);
      }
      if (command.action === "delete") {
        return await deleteUserPassword(ctx, passwordAccount(target.user));
      }
      return await queryUserPassword(ctx, passwordAccount(target.user));
    case "kerberos":
      if (command.action === "add") {
        return await addKerberos(ctx, localUser(target.user), credential!);
      }
      if (command.action === "delete") return await deleteKerberos(ctx, localUser(target.user));
      return queryKerberos(ctx, localUser(target.user));
    case "oauth":
      if (command.action === "add") {
        return await addOAuth(ctx, localUser(target.user), { ...oauth, credential: credential! });
      }
      if (command.action === "delete") {
        return await deleteOAuth(ctx, localUser(target.user), oauth);
      }
      return queryOAuth(ctx, localUser(target.user), oauth);
  }
}

/** Checks everything that can be checked before a secret is read, so a refusal reads nothing. */
function precheck(command: CommandLine, target: Target): void {
  checkArguments(command, target);
  if (target.pool) return;
  if (command.type === "password") passwordAccount(target.user);
  else localUser(target.user);
  if (command.type === "oauth" && command.service !== null) {
    checkName("service", command.service);
    if (command.handle) checkName("handle", command.handle);
  }
}

async function emit(io: Io, report: Report): Promise<number> {
  if (report.stdout) await io.writeOut(report.stdout);
  if (report.stderr) await io.writeErr(report.stderr);
  return report.exitCode;
}

/** The `-f FILE` branch (ref §2.2): no header, no configuration, print nothing on success. */
async function runPoolFile(command: CommandLine, io: Io, trust: Trust): Promise<number> {
  const file = command.poolFile!;
  let credential: Uint8Array | typeof CANCELLED | null = null;
  try {
    credential = await readCredential(command, io, {
      limit: PASSWORD_LIMIT,
      promptTo: command.json ? "stderr" : "stdout",
    });
    if (credential === CANCELLED) return EXIT_CANCELLED;
    writePoolPasswordFile(file, credential, trust);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    const upstream = error.code === "input" || error.code === "too-large" ||
        error.code === "empty"
      ? ""
      : `${UPSTREAM.writePoolFileFailed(file)}\n`;
    await io.writeErr(`${upstream}${error.message}\n`);
    return 1;
  } finally {
    if (credential instanceof Uint8Array) credential.fill(0);
  }
  return 0;
}

/**
 * Records an add or delete in the audit log (SPEC §7). A log that cannot be written is reported
 * as a warning; the operation's own result and exit status stand.
 */
async function audit(
  io: Io,
  ctx: StoreContext,
  command: CommandLine,
  target: Target,
  result: string,
): Promise<void> {
  if (command.action === "query") return;
  try {
    appendAudit(ctx, {
      action: command.action,
      type: command.type,
      user: target.user,
      pool: target.pool,
      service: command.service,
      handle: command.handle,
      result,
    });
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    const reason = error.message.replace(/^ERROR: /, "");
    await io.writeErr(`WARNING: the audit log was not written: ${reason}\n`);
  }
}

/**
 * The -d channel: local time, then milliseconds since the process started (so a debug run is
 * also a coarse profile of where the time goes), then the message.
 */
function debugChannel(command: CommandLine, io: Io) {
  if (!command.debug) return () => Promise.resolve();
  return (line: string) => {
    const since = `+${performance.now().toFixed(1)}ms`;
    return io.writeErr(`${formatLocalTime(Math.floor(Date.now() / 1000))} ${since} ${line}\n`);
  };
}

async function execute(command: CommandLine, io: Io): Promise<number> {
  const uid = io.uid();
  const trust = trustFor(uid);
  if (command.poolFile !== null) return await runPoolFile(command, io, trust);
  const debug = debugChannel(command, io);
  await debug(`${command.action}: command line parsed`);
  const login = loginName(io, uid);

  let config: Config;
  try {
    config = loadConfig({
      env: { ...io.env },
      uid,
      hostname: io.hostname(),
      home: lookupUid(uid)?.home,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    await io.writeErr(`${error.message}\n`);
    return 1;
  }
  await debug(
    `configuration loaded: ${config.rootFile ?? (config.embedded ? "embedded" : "none")}`,
  );
  for (const warning of config.warnings) await debug(`warning: ${warning}`);

  if (command.pool && command.action === "query") {
    await io.writeErr(`${UPSTREAM.poolQueryUnsupported}\n`);
    return 1;
  }
  let subject: Subject = {
    action: command.action,
    type: command.type,
    account: "",
    pool: command.pool,
  };
  let credential: Uint8Array | typeof CANCELLED | null = null;
  let target: Target | null = null;
  let ctx: StoreContext | null = null;
  try {
    ctx = {
      config,
      caller: { uid, name: login ?? `uid ${uid}` },
      trust,
      uidDomain: config.get("UID_DOMAIN") ?? "",
      debug,
    };
    target = resolveTarget(command, config, login, uid);
    if (target === null) {
      await io.writeErr(`${UPSTREAM.noPoolDomain}\n`);
      return 1;
    }
    subject = { ...subject, account: target.shown, pool: target.pool };
    if (!command.json) await io.writeOut(formatHeader(target.shown, command.type));
    precheck(command, target);
    if (!target.pool && command.type !== "password" && config.get("CREDD_HOST") !== undefined) {
      throw new StoreError(
        "unsupported",
        `ERROR: CREDD_HOST is set to ${config.get("CREDD_HOST")}, but this version cannot ` +
          "reach a remote credd yet; unset CREDD_HOST to store the credential on this machine",
      );
    }
    if (command.action === "add") {
      await debug(`reading the credential from ${describeSource(command)}`);
      credential = await readCredential(command, io, {
        limit: limitFor(command.type),
        promptTo: command.json ? "stderr" : "stdout",
      });
      if (credential === CANCELLED) return EXIT_CANCELLED;
    }
    const outcome = await perform(ctx, command, target, credential);
    await debug(`${command.action} done: ${outcome.status}`);
    await audit(io, ctx, command, target, outcome.status);
    if (command.json) {
      await io.writeOut(formatJson(jsonOutcome(subject, target.user, outcome)));
      return 0;
    }
    return await emit(io, reportOutcome(subject, outcome));
  } catch (error) {
    if (error instanceof ConfigError) {
      await io.writeErr(`${error.message}\n`);
      return 1;
    }
    if (!(error instanceof StoreError)) throw error;
    if (ctx !== null && target !== null) await audit(io, ctx, command, target, error.code);
    if (command.json) {
      const report = reportError(subject, error);
      await io.writeOut(formatJson(jsonError(subject, target?.user ?? null, error)));
      return report.exitCode;
    }
    return await emit(io, reportError(subject, error));
  } finally {
    if (credential instanceof Uint8Array) credential.fill(0);
  }
}

/**
 * Runs `condor_store_cred` with `args` (without argv0) against `io`. Returns the exit status:
 * 0 success or pending, 2 scope/audience mismatch, 130 interrupted prompt, 1 otherwise.
 */
export async function run(args: readonly string[], io: Io): Promise<number> {
  const parsed = parseCommandLine(args);
  if (parsed.kind === "help") {
    await io.writeOut(usageText());
    return 0;
  }
  if (parsed.kind === "version") {
    await io.writeOut(versionText());
    return 0;
  }
  if (parsed.kind === "completions") {
    await io.writeOut(completionScript(parsed.shell));
    return 0;
  }
  if (parsed.kind === "error") {
    await io.writeErr(parsed.message + (parsed.usage ? usageText() : ""));
    if (parsed.json) {
      await io.writeOut(formatJson({
        ok: false,
        action: null,
        type: null,
        user: null,
        status: "usage",
        code: ResultCode.FAILURE_BAD_ARGS,
        message: parsed.message.trim() || "an action is required",
        info: {},
      }));
    }
    return 1;
  }
  try {
    return await execute(parsed.command, io);
  } catch (error) {
    // A bug or an unforeseen OS error: say so plainly, never with secret bytes (none are in
    // error messages: they carry paths and OS reasons only).
    const message = error instanceof Error ? error.message : String(error);
    await io.writeErr(`ERROR: unexpected failure: ${message}\n`);
    return 1;
  }
}
