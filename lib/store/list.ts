/**
 * `list` (README "list"): every stored credential of one user, or of all users, with what an
 * operator asks first (which files, how big, when written, scopes and audience, the access
 * token's claims and expiry), read through the store's checked reads. Never a secret byte: a
 * `.top` contributes only its `scopes` and `audience`, a JWT access token only its `iss`, `sub`,
 * `aud`, `scope` and `exp` claims.
 */

import { StoreError, type StoreErrorCode } from "../errors.ts";
import type { Directory } from "../fs/directories.ts";
import { inspectFile, listNames, readFileStart } from "../fs/files.ts";
import { join } from "../fs/paths.ts";
import {
  decodeScalar,
  findMembers,
  forEachElement,
  jsonType,
  type MemberSpan,
} from "../json_scan.ts";
import { accessTokenOf, jwtClaims, timeAt } from "../jwt.ts";
import type { CredType } from "../request.ts";
import { configuredPath, seconds, type StoreContext } from "./context.ts";
import { oauthUserDirectory, storeRoot } from "./layout.ts";
import { isValidName } from "./names.ts";
import { basename } from "../fs/paths.ts";

/** One stored file of a credential. */
export interface FileFacts {
  readonly size: number;
  /** Unix seconds. */
  readonly mtime: number;
}

/** The claims of a JWT access token that a listing shows. */
export interface TokenFacts {
  readonly iss: string | null;
  readonly sub: string | null;
  readonly aud: string | null;
  readonly scope: string | null;
  /** Unix seconds, or null when the token has no `exp`. */
  readonly exp: number | null;
}

/** One stored credential. */
export interface CredentialRow {
  readonly type: CredType;
  /** The local user (Kerberos, OAuth) or the `user@domain` account (passwords). */
  readonly user: string;
  /** OAuth: the file stem `<service>[_<handle>]`; pool password: the file name; else null. */
  readonly name: string | null;
  /** Its files by extension (`.top`, `.use`, `.meta`, `.cred`, `.cc`, `.pwd`, or the pool file). */
  readonly files: Readonly<Record<string, FileFacts>>;
  /** A `.top`'s scopes and audience when it is JSON. */
  readonly scopes: string | null;
  readonly audience: string | null;
  /** The `.use` access token's claims when it is a JWT. */
  readonly token: TokenFacts | null;
  /**
   * Why part of it could not be read or shown (an insecure file, a field of an unexpected type,
   * a file read only in part); null when all was read.
   */
  readonly problem: string | null;
  /**
   * Set when nothing of it could be read: its account's directory or its file was refused (a
   * loose mode, a wrong owner); the error's code. `problem` then says why, and the fix.
   */
  readonly refused?: StoreErrorCode;
}

/** The row of an account (or its one file) that could not be read at all, with why and the fix. */
function refusedRow(
  type: CredType,
  user: string,
  name: string | null,
  error: StoreError,
): CredentialRow {
  return {
    type,
    user,
    name,
    files: {},
    scopes: null,
    audience: null,
    token: null,
    problem: error.remedy ? `${error.message}; ${error.remedy}` : error.message,
    refused: error.code,
  };
}

/** Runs `read`; a StoreError becomes the refused row `refuse` makes of it. */
function orRefused(
  read: () => CredentialRow[],
  refuse: (error: StoreError) => CredentialRow,
): CredentialRow[] {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return [refuse(error)];
  }
}

/** What to list. */
export interface ListSelector {
  /** One type, or null for all three. */
  readonly type: CredType | null;
  /** One user (the local part for Kerberos and OAuth; `user@domain` for passwords), or null for all. */
  readonly user: string | null;
  /** The local part of `user` (for Kerberos and OAuth). */
  readonly localUser: string | null;
}

function facts(info: Deno.FileInfo): FileFacts {
  return { size: info.size, mtime: seconds(info) };
}

/**
 * Bytes of a `.top` or `.use` that `list` and `doctor` read (README "list"): enough for the
 * scopes, audience and access token of any credential seen in practice; what lies beyond is not
 * looked at, so a listing costs at most this much per file whatever is stored.
 */
export const LIST_READ_LIMIT = 64 * 1024;

/**
 * Characters of one field (scopes, audience, a claim) a listing shows: what a row carries stays
 * small whatever is stored (a daemon's listing of every user is one reply).
 */
export const LIST_FIELD_LIMIT = 2048;

/**
 * A text field of stored JSON as a listing shows it: a string as it is, an array of strings
 * joined by spaces (a JWT's `aud` may be one), absent or null as null, at most LIST_FIELD_LIMIT
 * characters. Any other shape is data, not an error: null, and a note in `notes` naming `what`
 * and the JSON type (never the value); so is a field cut short.
 */
function textAt(
  bytes: Uint8Array,
  span: MemberSpan | undefined,
  note: { readonly what: string; readonly notes: string[] },
): string | null {
  if (span === undefined) return null;
  const type = jsonType(bytes, span.valueStart);
  let text: string | null = null;
  if (type === "string") text = decodeScalar(bytes, span.valueStart, span.valueEnd) as string;
  else if (type === "array") {
    const words: string[] = [];
    let other: string | null = null;
    forEachElement(bytes, span, (e) => {
      const t = jsonType(bytes, e.valueStart);
      if (t === "string") words.push(decodeScalar(bytes, e.valueStart, e.valueEnd) as string);
      else other ??= t;
    });
    if (other !== null) {
      note.notes.push(`${note.what} is a JSON array holding a JSON ${other}, not text`);
      return null;
    }
    text = words.join(" ");
  } else if (type !== "null") {
    note.notes.push(`${note.what} is a JSON ${type}, not text`);
  }
  if (text === null || text.length <= LIST_FIELD_LIMIT) return text;
  note.notes.push(
    `${note.what} is ${text.length} characters long; only the first ${LIST_FIELD_LIMIT} are shown`,
  );
  return text.slice(0, LIST_FIELD_LIMIT);
}

/** What a listing shows of a `.top` or `.use`, with notes on what it could not show. */
interface Shown<T> {
  readonly facts: T;
  readonly notes: string[];
}

/** Scopes and audience of a `.top`, when it is a JSON object (read up to LIST_READ_LIMIT). */
function topFacts(
  ctx: StoreContext,
  dir: Directory,
  name: string,
): Shown<{ scopes: string | null; audience: string | null }> {
  const notes: string[] = [];
  const none = { facts: { scopes: null, audience: null }, notes };
  const read = readFileStart(dir, name, ctx.owners, { role: "secret", bytes: LIST_READ_LIMIT });
  if (read === null) return none;
  const { content, whole } = read;
  try {
    const { result, found } = findMembers(content, ["scopes", "audience"], { partial: !whole });
    // Not a JSON object: no scopes or audience (deviation 10).
    if (result === "invalid") return none;
    if (result === "truncated" && found.size < 2) {
      notes.push(
        `only the first ${LIST_READ_LIMIT} bytes of ${name} were read, and its scopes or ` +
          "audience may lie beyond",
      );
    }
    const field = (key: string) =>
      textAt(content, found.get(key), { what: `the "${key}" of ${name}`, notes });
    return { facts: { scopes: field("scopes"), audience: field("audience") }, notes };
  } finally {
    content.fill(0);
  }
}

/** The claims a listing shows. */
const CLAIMS = ["iss", "sub", "aud", "scope", "exp"] as const;

/**
 * The claims of a `.use`, when its access token is a JWT (read up to LIST_READ_LIMIT); claims
 * of an unexpected type are null with a note. Also what `doctor` reads for an expired token.
 */
export function useFacts(
  ctx: StoreContext,
  dir: Directory,
  name: string,
): Shown<TokenFacts | null> {
  const notes: string[] = [];
  const read = readFileStart(dir, name, ctx.owners, { role: "secret", bytes: LIST_READ_LIMIT });
  if (read === null) return { facts: null, notes };
  let claims: Uint8Array | null;
  try {
    const token = accessTokenOf(read.content, { partial: !read.whole });
    claims = token === null ? null : jwtClaims(token);
  } finally {
    read.content.fill(0);
  }
  if (claims === null) {
    if (!read.whole) {
      notes.push(
        `only the first ${LIST_READ_LIMIT} bytes of ${name} were read, and they hold no whole ` +
          "JWT header and claims",
      );
    }
    return { facts: null, notes };
  }
  const { found } = findMembers(claims, CLAIMS);
  const text = (claim: typeof CLAIMS[number]) =>
    textAt(claims, found.get(claim), { what: `the access token's "${claim}" claim`, notes });
  const shown = { iss: text("iss"), sub: text("sub"), aud: text("aud"), scope: text("scope") };
  const exp = found.get("exp");
  const expiry = exp === undefined ? null : timeAt(claims, exp);
  if (exp !== undefined && expiry === null && jsonType(claims, exp.valueStart) !== "null") {
    notes.push(
      `the access token's "exp" claim is a JSON ${
        jsonType(claims, exp.valueStart)
      } that is not a time in seconds`,
    );
  }
  return { facts: { ...shown, exp: expiry }, notes };
}

function oauthRows(ctx: StoreContext, store: Directory, user: string): CredentialRow[] {
  const dir = oauthUserDirectory(ctx, store, user, false);
  if (dir === null) return [];
  const stems = new Map<string, Record<string, FileFacts>>();
  const problems = new Map<string, string>();
  for (const name of listNames(dir)) {
    const match = /^(.+)(\.top|\.use|\.meta)$/.exec(name);
    if (!match) continue;
    const [, stem, ext] = match;
    try {
      const info = inspectFile(dir, name, ctx.owners, "secret");
      if (info === null) continue;
      stems.set(stem, { ...stems.get(stem), [ext]: facts(info) });
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      stems.set(stem, { ...stems.get(stem) });
      problems.set(stem, error.message);
    }
  }
  return [...stems].map(([stem, files]) => {
    let detail = { scopes: null as string | null, audience: null as string | null };
    let token: TokenFacts | null = null;
    const notes: string[] = [];
    const refused = problems.get(stem);
    if (refused !== undefined) notes.push(refused);
    try {
      if (files[".top"]) {
        const top = topFacts(ctx, dir, `${stem}.top`);
        detail = top.facts;
        notes.push(...top.notes);
      }
      if (files[".use"]) {
        const use = useFacts(ctx, dir, `${stem}.use`);
        token = use.facts;
        notes.push(...use.notes);
      }
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      notes.push(error.message);
    }
    return {
      type: "oauth",
      user,
      name: stem,
      files: inOrder(files),
      ...detail,
      token,
      problem: notes.length === 0 ? null : notes.join("; "),
    } as const;
  });
}

/** The order files are reported in, whatever order the directory listed them in. */
const FILE_ORDER = [".top", ".use", ".meta", ".cred", ".cc", ".pwd"];

function inOrder(files: Record<string, FileFacts>): Record<string, FileFacts> {
  const rank = (ext: string) => FILE_ORDER.indexOf(ext) >>> 0;
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => rank(a) - rank(b)));
}

function kerberosRows(ctx: StoreContext, store: Directory, only: string | null): CredentialRow[] {
  const users = new Map<string, Record<string, FileFacts>>();
  const problems = new Map<string, string>();
  for (const name of listNames(store)) {
    const match = /^(.+)(\.cred|\.cc)$/.exec(name);
    if (!match || (only !== null && match[1] !== only)) continue;
    try {
      const info = inspectFile(store, name, ctx.owners, "secret");
      if (info !== null) users.set(match[1], { ...users.get(match[1]), [match[2]]: facts(info) });
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      users.set(match[1], { ...users.get(match[1]) });
      problems.set(match[1], error.message);
    }
  }
  return [...users].map(([user, files]) => ({
    type: "kerberos",
    user,
    name: null,
    files: inOrder(files),
    scopes: null,
    audience: null,
    token: null,
    problem: problems.get(user) ?? null,
  }));
}

function passwordRows(
  ctx: StoreContext,
  only: string | null,
  poolAccount: string,
): CredentialRow[] {
  const rows: CredentialRow[] = [];
  const poolPath = configuredPath(ctx, "pool");
  const poolDir = only === null || only === poolAccount ? storeRoot(ctx, "pool", false) : null;
  if (poolDir !== null) {
    rows.push(...orRefused(() => {
      const info = inspectFile(poolDir, basename(poolPath), ctx.owners, "secret");
      return info === null ? [] : [{
        type: "password",
        user: poolAccount,
        name: basename(poolPath),
        files: { [basename(poolPath)]: facts(info) },
        scopes: null,
        audience: null,
        token: null,
        problem: null,
      }];
    }, (error) => refusedRow("password", poolAccount, basename(poolPath), error)));
  }
  if (ctx.config.get("SEC_CREDENTIAL_DIRECTORY_PWD") === undefined) return rows;
  const store = storeRoot(ctx, "pwd", false);
  if (store === null) return rows;
  for (const name of listNames(store)) {
    const match = /^(.+@.*)\.pwd$/.exec(name);
    if (!match || (only !== null && match[1] !== only)) continue;
    rows.push(...orRefused(() => {
      const info = inspectFile(store, name, ctx.owners, "secret");
      return info === null ? [] : [{
        type: "password",
        user: match[1],
        name: null,
        files: { ".pwd": facts(info) },
        scopes: null,
        audience: null,
        token: null,
        problem: null,
      }];
    }, (error) => refusedRow("password", match[1], null, error)));
  }
  return rows;
}

/**
 * Lists what is stored for `selector`, sorted by type, user and name. A type whose directory is
 * not configured is skipped when listing all types. An account whose directory or file must be
 * refused is a row with `refused` set. Throws StoreError for a store directory that fails the
 * storage rules.
 */
export function listCredentials(
  ctx: StoreContext,
  selector: ListSelector,
  poolAccount: string,
): CredentialRow[] {
  const wants = (type: CredType) => selector.type === null || selector.type === type;
  const configured = (knob: string) => selector.type !== null || ctx.config.get(knob) !== undefined;
  const rows: CredentialRow[] = [];
  if (wants("password") && configured("SEC_PASSWORD_FILE")) {
    rows.push(...passwordRows(ctx, selector.user, poolAccount));
  }
  if (wants("kerberos") && configured("SEC_CREDENTIAL_DIRECTORY_KRB")) {
    const store = storeRoot(ctx, "krb", false);
    if (store !== null) rows.push(...kerberosRows(ctx, store, selector.localUser));
  }
  if (wants("oauth") && configured("SEC_CREDENTIAL_DIRECTORY_OAUTH")) {
    const store = storeRoot(ctx, "oauth", false);
    if (store !== null) {
      const users = selector.localUser !== null
        ? [selector.localUser]
        : listNames(store).filter((n) => isValidName(n) && !n.endsWith(".mark"));
      for (const user of users) {
        let info: Deno.FileInfo;
        try {
          info = Deno.lstatSync(join(store.path, user));
        } catch {
          continue;
        }
        if (!info.isDirectory && !info.isSymlink) continue;
        // One account's directory that must be refused (a loose mode, a wrong owner) is a row
        // saying so; the others are listed.
        rows.push(
          ...orRefused(
            () => oauthRows(ctx, store, user),
            (error) => refusedRow("oauth", user, null, error),
          ),
        );
      }
    }
  }
  const order = { password: 0, kerberos: 1, oauth: 2 };
  return rows.sort((a, b) =>
    order[a.type] - order[b.type] || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0) ||
    ((a.name ?? "") < (b.name ?? "") ? -1 : (a.name ?? "") > (b.name ?? "") ? 1 : 0)
  );
}
