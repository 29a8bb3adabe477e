/**
 * What the program knows of one credential type (README "Architecture", "Adding a credential
 * type"): its words on the command line, its directory, its size limit, its name rules, its part
 * of a request on the command line and on the wire, and its add, delete and query. One module per
 * type in this folder, each listed once in `mod.ts`.
 *
 * A type's module is loaded by every command (the command line's grammar reads its keywords), so
 * it stays light: the store code of its add, delete and query is imported only when a request of
 * the type is performed, and the name rules are handed in by the store service.
 */

import type { CredRequest, CredType, Subject } from "../../request.ts";
import type { Outcome, StoreContext, StorePath } from "../context.ts";
import type * as Names from "../names.ts";
import type { Target } from "../service.ts";

/** One keyword of a type suffix, with the minimum prefix length that selects it (docs/upstream.md
 * "Command line"). */
export interface TypeKeyword {
  readonly keyword: string;
  readonly minLength: number;
}

/** The part of a request that names a credential of type `T`. */
export type SubjectOf<T extends CredType> = Extract<Subject, { readonly type: T }>;

/** A request for a credential of type `T`. */
export type RequestOf<T extends CredType> = Extract<CredRequest, { readonly type: T }>;

/** The name checks of lib/store/names.ts, handed in by the store service. */
export type NameRules = Pick<typeof Names, "checkName" | "checkNameLength" | "oauthName">;

/** The command line's options a type's part of a request may read. */
export interface TypeOptions {
  /** `-c`. */
  readonly pool: boolean;
  readonly service: string | null;
  readonly handle: string | null;
  readonly scopes: string | null;
  readonly audience: string | null;
  readonly accessToken: boolean;
}

/** Reads one field of a request sent to the daemon; throws the protocol's error when malformed. */
export interface FieldReader {
  /** A string or null (absent is null). */
  string(key: string): string | null;
  /** true or false (absent is false). */
  flag(key: string): boolean;
}

/** Files a credmon turns one into the other: a row with `input` and without `output` waits. */
export interface CredmonFiles {
  readonly input: string;
  readonly output: string;
}

/** One credential type. */
export interface CredentialType<T extends CredType> {
  /** Its name in requests, replies, the audit log and `CredType:` lines. */
  readonly name: T;
  /** Its word in `add-<word>`, `list-<word>` and the daemon's log lines. */
  readonly word: string;
  /** Its type-suffix keywords, in upstream's matching order. */
  readonly keywords: readonly TypeKeyword[];
  /** Its store directory (the knob naming it: lib/store/context.ts). */
  readonly directory: StorePath;
  /** The largest credential an add may store (docs/storage.md "Limits"). */
  readonly limit: number;
  /**
   * Stored under the whole `user@domain` account (true), or under the user name alone, so that
   * only this pool's domain's users may have one (false; docs/storage.md "Names").
   */
  readonly byAccount: boolean;
  /** It has the pool account (`-c`, `condor_pool@…`). */
  readonly pool: boolean;
  /** An add's credential may be typed (prompt, `-p`); otherwise `-i FILE` is required. */
  readonly typed: boolean;
  /** It takes a service (`-s`, `-H`, `-S`, `-A`, `-P`, `--min-ttl`); an add requires one. */
  readonly services: boolean;
  /** A reply names the authenticated caller (`fully_qualified_user`), as the credd's do. */
  readonly namesCaller: boolean;
  /** An add waits for the credmon (CREDD_POLLING_TIMEOUT). */
  readonly addWaitsForCredmon: boolean;
  /** The files its credmon turns one into the other, or null when it has no credmon. */
  readonly credmonFiles: CredmonFiles | null;
  /**
   * Checks the names a request would create files under (docs/storage.md "Names"), after the
   * user name itself. Throws StoreError("bad-args").
   */
  checkNames(target: Target, request: SubjectOf<T>, rules: NameRules): void;
  /** Its part of a request from the command line's options. */
  subject(user: string | null, options: TypeOptions): SubjectOf<T>;
  /** Its part of a request sent to the daemon (docs/protocol.md). Throws as `read` does. */
  decode(user: string | null, read: FieldReader): SubjectOf<T>;
  /** Performs an add, delete or query (the store service has resolved and authorised it). */
  perform(ctx: StoreContext, target: Target, request: RequestOf<T>): Promise<Outcome>;
}
