/**
 * The one request type: what the command line, the daemon and its clients all hand to the store
 * service (`lib/store/service.ts`). Only adds carry a credential, as bytes. Pure types and a few
 * pure helpers; no I/O.
 */

/** The three operations of `condor_store_cred`. */
export type Action = "add" | "delete" | "query";

/**
 * The credential types, one per request shape of `Subject`; `password` is also the legacy (no
 * suffix) type. Each has its module in lib/store/types/ and its line in that folder's registry.
 */
export type CredType = Subject["type"];

/** The OAuth part of a request (ref: docs/upstream.md "OAuth"). */
export interface OAuthSelector {
  /** `-s`: required for add; without it query and delete cover every service of the user. */
  readonly service: string | null;
  /** `-H`: ignored without a service. */
  readonly handle: string | null;
  /** `-S`: merged into a JSON `.top` on add; compared exactly on query. */
  readonly scopes: string | null;
  /** `-A`: as scopes. */
  readonly audience: string | null;
  /** `-P`: the credential is an access token, stored as `.use`. */
  readonly accessToken: boolean;
}

/** What a request is about. `user` null means "the caller". */
export type Subject =
  | {
    readonly type: "password";
    /** `-c`: the pool password (`user` is then null). */
    readonly pool: boolean;
    /** `user@domain` (`condor_pool@...` is the pool too), or null for the caller's own account. */
    readonly user: string | null;
  }
  | {
    readonly type: "kerberos";
    /** `user@domain` (the part before the last `@` names the files), or null for the caller. */
    readonly user: string | null;
  }
  | ({
    readonly type: "oauth";
    /** As for kerberos. */
    readonly user: string | null;
  } & OAuthSelector);

/** One request to the store. */
export type CredRequest =
  | (Subject & { readonly action: "add"; readonly credential: Uint8Array })
  | (Subject & { readonly action: "delete" })
  | (Subject & {
    readonly action: "query";
    /** `--min-ttl`: an OAuth access token must stay valid at least this many seconds. */
    readonly minTtl?: number | null;
  });

/** A request before its credential is read: everything that can be checked up front. */
export type RequestDraft =
  | (Subject & { readonly action: "add" })
  | (Subject & { readonly action: "delete" })
  | (Subject & { readonly action: "query"; readonly minTtl?: number | null });

/** `list[-type] [-u user@domain]`: what is stored, without secret bytes. */
export interface ListRequest {
  readonly action: "list";
  /** One type, or null for every type. */
  readonly type: CredType | null;
  /** One account, or null: the caller's own (everyone's for root and CRED_SUPER_USERS). */
  readonly user: string | null;
}

/** Who asks. Proven by the transport (process identity, socket challenge or token). */
export interface Caller {
  /** The caller's uid on this machine, or null for a remote (token) caller. */
  readonly uid: number | null;
  /** The caller's user name. */
  readonly name: string;
  /** The caller's domain (UID_DOMAIN for local callers, the token's domain for remote ones). */
  readonly domain: string;
  /**
   * The caller performs the operation itself, with its own file permissions (the in-process
   * path): whatever it may write, it may store. Daemon callers are never in-process.
   */
  readonly inProcess: boolean;
}

/** The user name HTCondor reserves for the pool password. */
export const POOL_USER = "condor_pool";

/** Splits `user@domain` at its last `@`; no `@` gives an empty domain. */
export function splitAccount(account: string): { user: string; domain: string } {
  const at = account.lastIndexOf("@");
  if (at < 0) return { user: account, domain: "" };
  return { user: account.slice(0, at), domain: account.slice(at + 1) };
}

/** `caller` as `user@domain` (upstream's `fully_qualified_user`). */
export function callerAccount(caller: Caller): string {
  return `${caller.name}@${caller.domain}`;
}

/** True when the request names the pool account (with -c, or `-u condor_pool@...`). */
export function isPoolRequest(request: Subject): boolean {
  if (request.type === "password" && request.pool) return true;
  return request.user !== null && splitAccount(request.user).user === POOL_USER;
}

/** Zeroes the credential of an add (no-op for other actions). */
export function wipeRequest(request: CredRequest): void {
  if (request.action === "add") request.credential.fill(0);
}
