/**
 * OAuth2 / SciTokens (docs/upstream.md "OAuth", deviation 10):
 * `<oauth>/<user>/<service>[_<handle>].top` for refresh tokens (read by the credmon) and `.use`
 * for access tokens (`-P`, or the credmon's output). `.meta` is the web flow's and only ever
 * removed with the whole user directory.
 */

import { quote, StoreError } from "../errors.ts";
import type { Directory } from "../fs/directories.ts";
import {
  checkFile,
  inspectFile,
  listNames,
  readFile,
  removeEntry,
  removeFile,
} from "../fs/files.ts";
import { withLock } from "../fs/lock.ts";
import { join } from "../fs/paths.ts";
import {
  decodeScalar,
  findMembers,
  jsonType,
  keyIs,
  type MemberSpan,
  scanObject,
} from "../json_scan.ts";
import { accessTokenExpiry } from "../jwt.ts";
import type { OAuthSelector } from "../request.ts";
import {
  type Ad,
  configuredPath,
  lockTimeout,
  type Outcome,
  seconds,
  setAttribute,
  type StoreContext,
  useAttribute,
} from "./context.ts";
import { kickCredmon, removeMark } from "./credmon.ts";
import { oauthUserDirectory, storeRoot } from "./layout.ts";
import { oauthName } from "./names.ts";
import { OAUTH_LIMIT } from "./types/oauth.ts";
import { writeCredential } from "./write.ts";

/** The string value of the top-level member `name` of the JSON object in `bytes`, if any. */
function storedText(bytes: Uint8Array, name: string): string | null {
  const { result, found } = findMembers(bytes, [name]);
  const span = found.get(name);
  if (result !== "object" || span === undefined) return null;
  if (jsonType(bytes, span.valueStart) !== "string") return null;
  return decodeScalar(bytes, span.valueStart, span.valueEnd) as string;
}

/** Refuses a Vault token whose `vault_url` host is not in TRUSTED_VAULT_HOSTS. */
function checkVaultHost(ctx: StoreContext, credential: Uint8Array): void {
  const trusted = (ctx.config.get("TRUSTED_VAULT_HOSTS") ?? "").split(/[\s,]+/).filter(Boolean)
    .map((h) => h.toLowerCase());
  if (trusted.length === 0) return;
  const url = storedText(credential, "vault_url");
  if (url === null) return;
  let host = "";
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    // An unparsable URL has no trusted host.
  }
  if (!trusted.includes(host)) {
    throw new StoreError(
      "untrusted-host",
      `the Vault host ${shown(host)} is not listed in TRUSTED_VAULT_HOSTS`,
    );
  }
}

/** Characters of a stored value a message quotes; the rest is counted, not shown. */
const SHOWN_LENGTH = 200;

/** `quote(value)`, cut to SHOWN_LENGTH characters: a stored value can be a megabyte long. */
function shown(value: string): string {
  if (value.length <= SHOWN_LENGTH) return quote(value);
  return `${quote(value.slice(0, SHOWN_LENGTH))} (and ${
    value.length - SHOWN_LENGTH
  } more characters)`;
}

const encoder = new TextEncoder();

/** Bytes put into a buffer of fixed capacity: past it nothing more is kept, and `over` says so. */
class BoundedBytes {
  readonly #buffer: Uint8Array;
  #length = 0;
  over = false;

  constructor(limit: number) {
    this.#buffer = new Uint8Array(limit);
  }

  put(bytes: Uint8Array): void {
    if (this.over || this.#length + bytes.length > this.#buffer.length) {
      this.over = true;
      return;
    }
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Puts the (checked) JSON value at `span` of `from`, without the white space outside strings. */
  putCompact(from: Uint8Array, span: MemberSpan): void {
    const to = this.#buffer;
    let at = this.#length;
    let inString = false;
    for (let i = span.valueStart; i < span.valueEnd && !this.over; i++) {
      const c = from[i];
      if (!inString && (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      // In a string, a backslash and the byte after it go together (an escaped quote).
      const escape = inString && c === 0x5c;
      if (at + (escape ? 2 : 1) > to.length) {
        this.over = true;
        break;
      }
      if (c === 0x22) inString = !inString;
      to[at++] = c;
      if (escape) to[at++] = from[++i];
    }
    this.#length = at;
  }

  /** A copy of what was written; the buffer is zeroed. */
  take(): Uint8Array {
    const out = this.#buffer.slice(0, this.#length);
    this.wipe();
    return out;
  }

  wipe(): void {
    this.#buffer.fill(0);
  }
}

const OPEN = encoder.encode("{\n  ");
const NEXT = encoder.encode(",\n  ");
const COLON = encoder.encode(": ");
const CLOSE = encoder.encode("\n}\n");

/**
 * Adds scopes and audience to a JSON credential, as HTCondor's ClassAd round trip does
 * (docs/upstream.md "OAuth"): members whose name matches case-insensitively are replaced, the new
 * ones go last, one member per line with 2-space indentation and a final newline. Each member's
 * value is copied as given with its white space removed, so the result is never much larger
 * than the input (re-indenting nested values made 6 KB of nested arrays megabytes), and nothing
 * is built but the output. Throws StoreError: "json-parse" when the credential is not a JSON
 * object, "too-large" when the result would exceed `limit` bytes (nothing is stored then).
 */
function mergeScopes(
  credential: Uint8Array,
  selector: OAuthSelector,
  options: { readonly limit: number; readonly path: () => string },
): Uint8Array {
  const added: [string, string][] = [];
  if (selector.scopes) added.push(["scopes", selector.scopes]);
  if (selector.audience) added.push(["audience", selector.audience]);
  const out = new BoundedBytes(options.limit);
  let members = 0;
  const result = scanObject(credential, (span) => {
    if (added.some(([name]) => keyIs(credential, span, name, { ignoreCase: true }))) return;
    out.put(members++ === 0 ? OPEN : NEXT);
    out.put(credential.subarray(span.keyStart, span.keyEnd));
    out.put(COLON);
    out.putCompact(credential, span);
  });
  if (result !== "object") {
    out.wipe();
    throw new StoreError(
      "json-parse",
      "-S and -A need the credential to be a JSON object; store it without them, or with -P",
    );
  }
  for (const [name, value] of added) {
    out.put(members++ === 0 ? OPEN : NEXT);
    out.put(encoder.encode(`${JSON.stringify(name)}: ${JSON.stringify(value)}`));
  }
  out.put(CLOSE);
  if (out.over) {
    out.wipe();
    const path = options.path();
    throw new StoreError(
      "too-large",
      `with the scopes and audience added, the credential for ${quote(path)} would be larger ` +
        `than ${options.limit} bytes, the most a credential may be; store a smaller one`,
      { path },
    );
  }
  return out.take();
}

/**
 * What `derive` makes of the stored file `name` (`info`: the `lstat` just taken of it, or null);
 * undefined when the file is not there. A daemon remembers it as the fact `kind` by the file's
 * version (ctx.facts) and reads the file again only when it changed. The bytes read are wiped.
 */
function derivedFact<T>(
  ctx: StoreContext,
  dir: Directory,
  file: { readonly name: string; readonly info: Deno.FileInfo | null; readonly kind: string },
  derive: (content: Uint8Array, path: string) => T,
): T | undefined {
  const { name, info, kind } = file;
  const path = join(dir.path, name);
  const known = info === null ? undefined : ctx.facts?.get<T>(kind, path, info);
  if (known !== undefined) return known;
  const began = ctx.facts?.now() ?? 0;
  const content = readFile(dir, name, ctx.owners, { role: "secret", maxBytes: OAUTH_LIMIT });
  if (content === null) return undefined;
  try {
    const value = derive(content, path);
    if (info !== null) ctx.facts?.remember(kind, path, info, value, began);
    return value;
  } finally {
    content.fill(0);
  }
}

/**
 * The `exp` claim of the access token in `name` (`info`: the `lstat` just taken of it, or null),
 * or null when it has none; undefined when the file is not there.
 */
function accessTokenExp(
  ctx: StoreContext,
  dir: Directory,
  name: string,
  info: Deno.FileInfo | null,
): number | null | undefined {
  return derivedFact(
    ctx,
    dir,
    { name, info, kind: "exp" },
    (content) => accessTokenExpiry(content),
  );
}

/**
 * add-oauth: writes `.top` (or `.use` with -P) durably. `.use` answers with its time; `.top`
 * with an existing `.use` answers with the old `.use` time and no signal; otherwise the OAuth
 * credmon is signalled and the result is pending. Zeroes the credential once written.
 */
export async function addOAuth(
  ctx: StoreContext,
  user: string,
  selector: OAuthSelector & { readonly service: string },
  credential: Uint8Array,
): Promise<Outcome> {
  const stem = oauthName(selector.service, selector.handle);
  checkVaultHost(ctx, credential);
  const extension = selector.accessToken ? "use" : "top";
  const name = `${stem}.${extension}`;
  const merged = extension === "top" && (selector.scopes || selector.audience)
    ? mergeScopes(credential, selector, {
      limit: OAUTH_LIMIT,
      path: () => join(configuredPath(ctx, "oauth"), user, name),
    })
    : null;
  const store = storeRoot(ctx, "oauth", true)!;
  // The expiry of an access token comes from the bytes written, before they are zeroed (reading
  // the file back would give the same bytes).
  const expires = extension === "use" ? accessTokenExpiry(credential) ?? undefined : undefined;
  let useBefore: Deno.FileInfo | null = null;
  let written: Deno.FileInfo;
  let changed: boolean;
  try {
    ({ written, changed } = await writeCredential(ctx, {
      store,
      lockKey: user,
      user,
      directory: () => oauthUserDirectory(ctx, store, user, true)!,
      subdir: user,
      name,
      data: merged ?? credential,
      inspect(dir) {
        useBefore = inspectFile(dir, `${stem}.use`, ctx.owners, "secret");
      },
    }));
  } finally {
    merged?.fill(0);
    credential.fill(0);
  }
  const userDir = join(store.path, user);
  ctx.debug(`wrote ${join(userDir, name)}`);
  if (extension === "use") return { status: "success", time: seconds(written), changed, expires };
  if (useBefore !== null) return { status: "success", time: seconds(useBefore), changed };
  const kick = await kickCredmon(ctx, store);
  if (!kick.signalled) {
    ctx.warnings.push(
      `the OAuth credmon was not signalled (${kick.reason}); the credential is stored and ` +
        "waits for processing",
    );
  }
  return { status: "pending", changed };
}

/**
 * Removes a user's whole OAuth directory (delete-oauth without -s, and the sweep): every entry
 * must be a file the store may trust, all checked before any is removed. The caller holds the
 * user's lock. A missing directory is fine.
 */
export function removeUserDirectory(ctx: StoreContext, store: Directory, user: string): void {
  const dir = oauthUserDirectory(ctx, store, user, false);
  if (dir === null) return;
  const names = listNames(dir);
  for (const n of names) {
    const path = join(dir.path, n);
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    checkFile(path, info, ctx.owners, "secret");
  }
  for (const n of names) removeEntry(dir, n);
  try {
    Deno.removeSync(join(store.path, user));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new StoreError(
        "io",
        `could not remove the directory ${quote(join(store.path, user))}: ` +
          `${(error as Error).message.replace(/: \w+ '.*'$/, "")}`,
        { path: join(store.path, user) },
      );
    }
  }
}

/** delete-oauth: with -s the `.top` and `.use`; without, the whole user directory. */
export async function deleteOAuth(
  ctx: StoreContext,
  user: string,
  selector: OAuthSelector,
): Promise<Outcome> {
  const store = storeRoot(ctx, "oauth", false);
  if (store === null) return { status: "success" };
  await withLock(store, user, ctx.owners, {
    timeoutSeconds: lockTimeout(ctx),
    fn: () => {
      removeMark(store, user);
      const dir = oauthUserDirectory(ctx, store, user, false);
      if (dir === null) return;
      if (selector.service !== null) {
        const stem = oauthName(selector.service, selector.handle);
        const names = [`${stem}.top`, `${stem}.use`];
        // Check both before removing either, so a refusal changes nothing.
        for (const n of names) inspectFile(dir, n, ctx.owners, "secret");
        for (const n of names) removeFile(dir, n, ctx.owners, "secret");
        return;
      }
      removeUserDirectory(ctx, store, user);
    },
  });
  return { status: "success" };
}

/**
 * The text of the member `key` of a stored `.top` (found by `findMembers`): absent or null is "",
 * a string is itself, any other JSON type is an error naming the type (never the value).
 */
function storedString(
  bytes: Uint8Array,
  span: MemberSpan | undefined,
  where: { readonly key: string; readonly path: string },
): string {
  const { key, path } = where;
  if (span === undefined) return "";
  const type = jsonType(bytes, span.valueStart);
  if (type === "null") return "";
  if (type === "string") return decodeScalar(bytes, span.valueStart, span.valueEnd) as string;
  throw new StoreError(
    "json-parse",
    `the ${key} in ${quote(path)} is a JSON ${type}, not a string; delete the credential and add ` +
      "it again",
    { path },
  );
}

/**
 * The scopes and audience of the stored `.top` `name` (`info`: the `lstat` just taken of it),
 * "" each when absent, null or the file is not a JSON object (deviation 10). A daemon remembers
 * them by the file's version (ctx.facts). Throws StoreError("json-parse") for a member that is
 * not a string.
 */
function storedScopes(
  ctx: StoreContext,
  dir: Directory,
  name: string,
  info: Deno.FileInfo,
): { readonly scopes: string; readonly audience: string } {
  const found = derivedFact(ctx, dir, { name, info, kind: "scopes" }, (content, path) => {
    // A .top that is not a JSON object has no scopes or audience (deviation 10).
    const members = findMembers(content, ["scopes", "audience"]);
    if (members.result !== "object") return { scopes: "", audience: "" };
    return {
      scopes: storedString(content, members.found.get("scopes"), { key: "scopes", path }),
      audience: storedString(content, members.found.get("audience"), { key: "audience", path }),
    };
  });
  return found ?? { scopes: "", audience: "" };
}

/**
 * `--min-ttl`: the access token in `<stem>.use` (a bare JWT, or credmon JSON with an
 * `access_token`) must not expire within `minTtl` seconds. Returns its `exp`. Messages name the
 * file by its name alone: a remote caller is never told the daemon's paths. Throws
 * StoreError("expiring") for a token that expires too soon (with its `exp`) or that is not there
 * yet, and ("expiry-unknown") for one whose expiry cannot be read.
 */
function checkLifetime(
  ctx: StoreContext,
  dir: Directory,
  file: { readonly name: string; readonly info: Deno.FileInfo | null },
  minTtl: number,
): number {
  const { name } = file;
  const path = join(dir.path, name);
  const exp = accessTokenExp(ctx, dir, name, file.info);
  if (exp === undefined) {
    throw new StoreError(
      "expiring",
      `--min-ttl: there is no access token ${quote(name)} yet to check`,
      { path, remedy: "wait for the credmon, or store one with add-oauth -P" },
    );
  }
  if (exp === null) {
    throw new StoreError(
      "expiry-unknown",
      `--min-ttl: the access token in ${quote(name)} is not a JWT with an "exp" claim, so its ` +
        "lifetime cannot be checked",
      { path, remedy: "query it without --min-ttl, or store a JWT access token" },
    );
  }
  const left = exp - Math.floor(Date.now() / 1000);
  if (left < minTtl) {
    const when = new Date(exp * 1000).toISOString().replace("T", " ").slice(0, 19);
    const state = left < 0 ? `expired ${-left} seconds ago` : `expires in ${left} seconds`;
    throw new StoreError(
      "expiring",
      `the access token in ${quote(name)} ${state} (${when} UTC), less than --min-ttl ${minTtl}`,
      { path, remedy: "refresh it (add-oauth -P) or wait for the credmon", expires: exp },
    );
  }
  return exp;
}

/**
 * query-oauth. Without -s: every `.top`/`.use` of the user, pending while a `.top` lacks its
 * `.use`. With -s: compares -S/-A exactly with the `.top`'s `scopes`/`audience` (a non-JSON
 * `.top` has neither: deviation 10), then `.use` means valid and `.top` alone pending.
 */
export function queryOAuth(
  ctx: StoreContext,
  user: string,
  selector: OAuthSelector,
  minTtl: number | null,
): Outcome {
  const store = storeRoot(ctx, "oauth", false);
  if (store === null) throw new StoreError("not-found", "");
  removeMark(store, user, ctx.facts);
  const dir = oauthUserDirectory(ctx, store, user, false);
  if (dir === null) throw new StoreError("not-found", "");
  const ad: Ad = {};
  if (selector.service === null) {
    const tops = new Set<string>();
    const uses = new Set<string>();
    for (const name of listNames(dir)) {
      const match = /^(.+)\.(top|use)$/.exec(name);
      if (!match) continue;
      const info = inspectFile(dir, name, ctx.owners, "secret");
      if (info === null) continue;
      setAttribute(ad, name, seconds(info));
      (match[2] === "top" ? tops : uses).add(match[1]);
    }
    if (tops.size === 0 && uses.size === 0) throw new StoreError("not-found", "");
    const pending = [...tops].some((t) => !uses.has(t));
    return { status: pending ? "pending" : "success", ad };
  }
  const stem = oauthName(selector.service, selector.handle);
  const top = inspectFile(dir, `${stem}.top`, ctx.owners, "secret", ctx.facts);
  const use = inspectFile(dir, `${stem}.use`, ctx.owners, "secret", ctx.facts);
  if (top !== null) {
    setAttribute(ad, `Top${stem}Time`, seconds(top));
    const { scopes, audience } = storedScopes(ctx, dir, `${stem}.top`, top);
    if ((selector.scopes ?? "") !== scopes || (selector.audience ?? "") !== audience) {
      throw new StoreError(
        "mismatch",
        `stored scopes ${shown(scopes)} and audience ${shown(audience)}; requested ` +
          `${shown(selector.scopes ?? "")} and ${shown(selector.audience ?? "")}`,
      );
    }
  }
  // A credential that is not there at all is not found, --min-ttl or not.
  if (top === null && use === null) throw new StoreError("not-found", "");
  let expires: number | undefined;
  if (minTtl !== null) {
    expires = checkLifetime(ctx, dir, { name: `${stem}.use`, info: use }, minTtl);
  }
  if (use !== null) {
    setAttribute(ad, useAttribute(stem), seconds(use));
    expires ??= accessTokenExp(ctx, dir, `${stem}.use`, use) ?? undefined;
    return { status: "success", ad, expires };
  }
  if (top !== null) return { status: "pending", ad };
  throw new StoreError("not-found", "");
}
