/**
 * The store service: the one way into the store, for the command line, the daemon and its
 * clients alike. `perform(ctx, caller, request)` validates the names, authorises the caller,
 * applies the per-user limits to the adds of the callers they bind, dispatches to the per-type
 * store, audits adds and deletes, and returns the outcome or the error together with the
 * warnings for the caller. It never prints.
 */

import type { AccountDb } from "../accounts.ts";
import { type Config, ConfigError } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import { DEVIATION } from "../messages.ts";
import {
  type Caller,
  callerAccount,
  type CredRequest,
  type CredType,
  isPoolRequest,
  type ListRequest,
  POOL_USER,
  type RequestDraft,
  splitAccount,
  wipeRequest,
} from "../request.ts";
import type { CheckedRoots } from "../fs/directories.ts";
import type { FileFacts } from "../fs/facts.ts";
import { appendAudit, type RefusalLimiter } from "./audit.ts";
import { type Outcome, type StoreContext, trustedOwners } from "./context.ts";
import { type CredentialRow, listCredentials } from "./list.ts";
import { checkName, checkNameLength, oauthName } from "./names.ts";
import { checkUserLimits, userLimits } from "./quota.ts";
import { credentialType } from "./types/mod.ts";

/** The account a request acts on, resolved against its caller and checked. */
export interface Target {
  /** `user@domain` (for the pool: `condor_pool@<domain>`). */
  readonly account: string;
  /** The part before the last `@`. */
  readonly user: string;
  /** The part after the last `@`. */
  readonly domain: string;
  readonly pool: boolean;
}

/**
 * The result of `perform`: an outcome or an error, with the caller's warnings and who the caller
 * is (`user@domain`, null when a reply does not say) either way.
 */
export type Reply =
  & {
    readonly warnings: readonly string[];
    readonly target: Target | null;
    readonly caller?: string | null;
  }
  & (
    | { readonly ok: true; readonly outcome: Outcome }
    | { readonly ok: false; readonly error: StoreError }
  );

/** Options of `createStoreContext`. */
export interface StoreContextOptions {
  /** The effective uid of this process. */
  readonly euid: number;
  /** Debug lines (never secret bytes); default: dropped. */
  readonly debug?: (line: string) => void;
  /**
   * The passwd lookups of this request, when the caller already made them (the command line
   * reads the file once per run); default: a fresh `AccountDb`.
   */
  readonly accounts?: AccountDb;
  /** The process's audit limiter (StoreContext.auditLimiter); default: none. */
  readonly auditLimiter?: RefusalLimiter;
  /** The process's facts of unchanged files (StoreContext.facts); default: none. */
  readonly facts?: FileFacts;
  /** The process's recently checked store roots (StoreContext.roots); default: none. */
  readonly roots?: CheckedRoots;
}

/**
 * A fresh context for one request: the trusted owners come from this process's uid and the
 * condor account (CONDOR_IDS, else the passwd file), read anew for each request.
 * Throws StoreError("config") for a malformed CONDOR_IDS.
 */
export function createStoreContext(config: Config, options: StoreContextOptions): StoreContext {
  const debug = options.debug ?? (() => {});
  const owners = trustedOwners(config, options);
  if (owners.condor === null) {
    debug("no condor account (CONDOR_IDS unset, no condor user): using the layout without one");
  }
  return {
    config,
    owners,
    debug,
    warnings: [],
    auditLimiter: options.auditLimiter,
    facts: options.facts,
    roots: options.roots,
  };
}

/** The pool account of this configuration: `condor_pool@<SEC_PASSWORD_DOMAIN or UID_DOMAIN>`. */
export function poolAccount(config: Config): string | null {
  const domain = config.get("SEC_PASSWORD_DOMAIN") ?? config.get("UID_DOMAIN");
  return domain === undefined ? null : `${POOL_USER}@${domain}`;
}

function asStoreError(error: unknown): unknown {
  if (error instanceof ConfigError) return new StoreError("config", error.message);
  return error;
}

/**
 * Resolves and checks the account a request acts on, before anything is read or written: names
 * against docs/storage.md "Names" (also their length in the files they would create), the pool
 * account only with the password type. Throws StoreError ("bad-args", "config").
 */
export function checkRequest(config: Config, caller: Caller, request: RequestDraft): Target {
  try {
    return resolveTarget(config, caller, request);
  } catch (error) {
    throw asStoreError(error);
  }
}

function resolveTarget(config: Config, caller: Caller, request: RequestDraft): Target {
  const type = credentialType(request.type);
  if (isPoolRequest(request)) {
    if (!type.pool) {
      throw new StoreError(
        "bad-args",
        `the pool account (${POOL_USER}) only has a password; it cannot be used with the ` +
          "kerberos or oauth type",
      );
    }
    const account = request.user ?? poolAccount(config) ?? `${POOL_USER}@`;
    const { domain } = splitAccount(account);
    return { account, user: POOL_USER, domain, pool: true };
  }
  const account = request.user ?? callerAccount(caller);
  const { user, domain } = splitAccount(account);
  checkName("user", user);
  const target = { account, user, domain, pool: false };
  type.checkNames(target, request, NAME_RULES);
  return target;
}

/** The name checks a type's `checkNames` applies (lib/store/names.ts). */
const NAME_RULES = { checkName, checkNameLength, oauthName };

/** The size limit of a credential of `type` (docs/storage.md "Limits"). */
export function credentialLimit(type: CredType): number {
  return credentialType(type).limit;
}

/**
 * Refuses an empty credential and one over its type's limit, before anything is touched: the
 * command line checks as it reads, and this holds for every other way in (the daemon's callers).
 */
function checkCredential(type: CredType, credential: Uint8Array): void {
  if (credential.length === 0) throw new StoreError("empty", DEVIATION.empty);
  const limit = credentialLimit(type);
  if (credential.length > limit) throw new StoreError("too-large", DEVIATION.tooLarge(limit));
}

/**
 * True when `caller` is listed in CRED_SUPER_USERS: as `user@domain`, or by a bare name, which
 * stands for that user of this pool's UID_DOMAIN only (a token for `admin@elsewhere` is not
 * `admin`).
 */
function isSuperUser(config: Config, caller: Caller): boolean {
  const list = (config.get("CRED_SUPER_USERS") ?? "").split(/[\s,]+/).filter(Boolean);
  if (list.includes(callerAccount(caller))) return true;
  return list.includes(caller.name) && caller.domain === (config.get("UID_DOMAIN") ?? "");
}

function authorize(
  ctx: StoreContext,
  caller: Caller,
  target: Target,
  type: CredType | null,
): void {
  if (caller.inProcess) return;
  // Kerberos and OAuth credentials are kept by user name alone (upstream's layout), so they are
  // this pool's users': a daemon caller may not reach them under another domain's name.
  const domain = ctx.config.get("UID_DOMAIN") ?? "";
  const byUserName = type === null || !credentialType(type).byAccount;
  if (!target.pool && byUserName && target.domain !== domain) {
    throw new StoreError(
      "not-allowed",
      `${quote(target.account)} is not a user of this pool's domain ${quote(domain)}: Kerberos ` +
        "and OAuth credentials are stored by user name alone, so only its users' can be",
    );
  }
  if (caller.uid === 0 || isSuperUser(ctx.config, caller)) return;
  const who = caller.uid === null
    ? "CRED_SUPER_USERS may (a remote caller is never root)"
    : "root and CRED_SUPER_USERS may";
  if (target.pool) {
    throw new StoreError(
      "not-allowed",
      `${callerAccount(caller)} may not manage the pool password; only ${who}`,
    );
  }
  if (target.user === caller.name && target.domain === caller.domain) return;
  throw new StoreError(
    "not-allowed",
    `${callerAccount(caller)} may not act on the credentials of ${quote(target.account)}; only ` +
      `${who.replace(" may", " may act for other users")}`,
  );
}

/**
 * True when the per-user limits (lib/store/quota.ts) bind `caller`: a daemon's caller that is
 * neither root nor in CRED_SUPER_USERS. An in-process caller (root on a node, the owner of a
 * personal spool) writes with its own permissions and could write the files directly: a limit
 * would protect nothing from it, and root is who the limits protect the store for.
 */
function boundByLimits(config: Config, caller: Caller): boolean {
  return !caller.inProcess && caller.uid !== 0 && !isSuperUser(config, caller);
}

/** `ctx` with the per-user limits of `target` checked on every write, when they bind `caller`. */
function withLimits(ctx: StoreContext, caller: Caller, target: Target): StoreContext {
  if (!boundByLimits(ctx.config, caller)) return ctx;
  const limits = userLimits(ctx);
  return {
    ...ctx,
    checkWrite: (write) => checkUserLimits(ctx, write, { account: target.account, limits }),
  };
}

/** Records an add or delete in the audit log; a failure becomes a warning. */
function audit(
  ctx: StoreContext,
  caller: Caller,
  request: RequestDraft,
  target: Target | null,
  result: string,
): void {
  if (request.action === "query") return;
  const oauth = request.type === "oauth" ? request : null;
  try {
    appendAudit(ctx, caller, {
      action: request.action,
      type: request.type,
      user: target?.account ?? request.user ?? callerAccount(caller),
      pool: target?.pool ?? false,
      service: oauth?.service ?? null,
      handle: oauth?.handle ?? null,
      result,
    });
  } catch (error) {
    const failure = asStoreError(error);
    if (!(failure instanceof StoreError)) throw failure;
    const done = result === "success" || result === "pending"
      ? `the ${request.action} itself ${result === "pending" ? "is done and pending" : "succeeded"}`
      : `the ${request.action} itself failed (${result})`;
    const why = failure.message.replace(/; nothing was changed$/, "");
    if (caller.inProcess) {
      ctx.warnings.push(`the audit log was not written: ${why}; ${done}`);
      return;
    }
    // The log is the daemon's: its path and state are for its operator (doctor, the daemon's
    // start-up line), not for a caller, remote or local.
    ctx.debug(`the audit log was not written: ${why}`);
    ctx.warnings.push(
      `the daemon's audit log was not written (its administrator can find why with ` +
        `condor_store_cred doctor); ${done}`,
    );
  }
}

/**
 * Records in the audit log an add or delete that was refused before it reached `perform` (a bad
 * name, an unreadable credential). Returns the warnings (an audit log that cannot be written).
 */
export function auditRefusal(
  ctx: StoreContext,
  caller: Caller,
  request: RequestDraft,
  error: StoreError,
): readonly string[] {
  let target: Target | null = null;
  try {
    target = resolveTarget(ctx.config, caller, request);
  } catch {
    // The refusal may be the name itself: record what was asked.
  }
  audit(ctx, caller, request, target, error.code);
  return ctx.warnings;
}

/** The result of `performList`, with who the caller is (`user@domain`, null when not said). */
export type ListReply =
  & {
    readonly warnings: readonly string[];
    readonly user: string | null;
    readonly caller?: string | null;
  }
  & (
    | { readonly ok: true; readonly rows: readonly CredentialRow[] }
    | { readonly ok: false; readonly error: StoreError }
  );

/**
 * Lists credentials for `caller` (README "list"): its own, or any user's and everyone's for root,
 * CRED_SUPER_USERS and an in-process caller (who holds the store's permissions anyway). Never
 * throws for expected failures.
 */
export function performList(ctx: StoreContext, caller: Caller, request: ListRequest): ListReply {
  const privileged = caller.inProcess || caller.uid === 0 || isSuperUser(ctx.config, caller);
  const who = callerAccount(caller);
  let account: string | null = request.user;
  try {
    if (account === null && !privileged) account = callerAccount(caller);
    let localUser: string | null = null;
    if (account !== null) {
      const { user, domain } = splitAccount(account);
      checkName("user", user);
      const byAccount = request.type !== null && credentialType(request.type).byAccount;
      if (byAccount && user !== POOL_USER) checkName("domain", domain);
      localUser = user;
      authorize(ctx, caller, { account, user, domain, pool: user === POOL_USER }, request.type);
    }
    const rows = listCredentials(
      ctx,
      { type: request.type, user: account, localUser },
      poolAccount(ctx.config) ?? `${POOL_USER}@`,
    );
    ctx.debug(`listed ${rows.length} credentials of ${quote(account ?? "everyone")}`);
    return { ok: true, rows, warnings: ctx.warnings, user: account, caller: who };
  } catch (error) {
    const failure = asStoreError(error);
    if (!(failure instanceof StoreError)) throw failure;
    return { ok: false, error: failure, warnings: ctx.warnings, user: account, caller: who };
  }
}

/**
 * Performs `request` for `caller`: validates, authorises, dispatches, audits. Zeroes the
 * request's credential whatever happens. Throws only for bugs; every expected failure is a
 * `{ ok: false }` reply.
 */
export async function perform(
  ctx: StoreContext,
  caller: Caller,
  request: CredRequest,
): Promise<Reply> {
  let target: Target | null = null;
  const who = callerAccount(caller);
  try {
    target = resolveTarget(ctx.config, caller, request);
    authorize(ctx, caller, target, request.type);
    if (request.action === "add") checkCredential(request.type, request.credential);
    const limited = request.action === "add" ? withLimits(ctx, caller, target) : ctx;
    const type = credentialType(request.type);
    let outcome = await type.perform(limited, target, request);
    if (type.namesCaller) {
      // Every credd reply for Kerberos and OAuth names the authenticated caller.
      // (No service's attribute has this name: see useAttribute.)
      outcome = { ...outcome, ad: { ...outcome.ad, fully_qualified_user: who } };
    }
    audit(ctx, caller, request, target, outcome.status);
    return { ok: true, outcome, warnings: ctx.warnings, target, caller: who };
  } catch (error) {
    const failure = asStoreError(error);
    if (!(failure instanceof StoreError)) throw failure;
    audit(ctx, caller, request, target, failure.code);
    return { ok: false, error: failure, warnings: ctx.warnings, target, caller: who };
  } finally {
    wipeRequest(request);
  }
}
