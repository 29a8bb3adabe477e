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
import { accessTokenExpiry, decodeJwt, isObject, parseJson, timeClaim } from "../jwt.ts";
import type { OAuthSelector } from "../request.ts";
import {
  type Ad,
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
import { writeCredential } from "./write.ts";

/** Largest OAuth credential (docs/storage.md "Limits"). */
export const OAUTH_LIMIT = 1024 * 1024;

/** Refuses a Vault token whose `vault_url` host is not in TRUSTED_VAULT_HOSTS. */
function checkVaultHost(ctx: StoreContext, json: unknown): void {
  if (!isObject(json) || typeof json.vault_url !== "string") return;
  const trusted = (ctx.config.get("TRUSTED_VAULT_HOSTS") ?? "").split(/[\s,]+/).filter(Boolean)
    .map((h) => h.toLowerCase());
  if (trusted.length === 0) return;
  let host = "";
  try {
    host = new URL(json.vault_url).hostname.toLowerCase();
  } catch {
    // An unparsable URL has no trusted host.
  }
  if (!trusted.includes(host)) {
    throw new StoreError(
      "untrusted-host",
      `the Vault host ${quote(host)} is not listed in TRUSTED_VAULT_HOSTS`,
    );
  }
}

/**
 * Adds scopes and audience to a JSON credential: keys matching case-insensitively are replaced,
 * as in HTCondor's ClassAd round trip; the result is 2-space indented JSON with a newline.
 */
function mergeScopes(json: unknown, selector: OAuthSelector): Uint8Array {
  if (!isObject(json)) {
    throw new StoreError(
      "json-parse",
      "-S and -A need the credential to be a JSON object; store it without them, or with -P",
    );
  }
  const set = (key: string, value: string) => {
    for (const k of Object.keys(json)) if (k.toLowerCase() === key) delete json[k];
    json[key] = value;
  };
  if (selector.scopes) set("scopes", selector.scopes);
  if (selector.audience) set("audience", selector.audience);
  let text: string;
  try {
    text = JSON.stringify(json, null, 2);
  } catch {
    throw new StoreError("json-parse", "the credential is JSON nested too deeply to re-serialise");
  }
  return new TextEncoder().encode(text + "\n");
}

/** The `exp` of `<name>.use` in `dir`, when it is a JWT access token. */
function useExpiry(ctx: StoreContext, dir: Directory, name: string): number | undefined {
  const content = readFile(dir, name, ctx.owners, { role: "secret", maxBytes: OAUTH_LIMIT });
  if (content === null) return undefined;
  const exp = accessTokenExpiry(content);
  content.fill(0);
  return exp ?? undefined;
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
  const json = parseJson(credential);
  checkVaultHost(ctx, json);
  const extension = selector.accessToken ? "use" : "top";
  const merged = extension === "top" && (selector.scopes || selector.audience)
    ? mergeScopes(json, selector)
    : null;
  const store = storeRoot(ctx, "oauth", true)!;
  const name = `${stem}.${extension}`;
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

function storedString(value: unknown, key: string, path: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  throw new StoreError(
    "json-parse",
    `the ${key} in ${quote(path)} is a JSON ${Array.isArray(value) ? "array" : typeof value}, ` +
      "not a string; delete the credential and add it again",
    { path },
  );
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
  name: string,
  minTtl: number,
): number {
  const path = join(dir.path, name);
  const content = readFile(dir, name, ctx.owners, { role: "secret", maxBytes: OAUTH_LIMIT });
  if (content === null) {
    throw new StoreError(
      "expiring",
      `--min-ttl: there is no access token ${quote(name)} yet to check`,
      { path, remedy: "wait for the credmon, or store one with add-oauth -P" },
    );
  }
  const exp = accessTokenExpiry(content);
  content.fill(0);
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
  removeMark(store, user);
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
  const top = inspectFile(dir, `${stem}.top`, ctx.owners, "secret");
  const use = inspectFile(dir, `${stem}.use`, ctx.owners, "secret");
  if (top !== null) {
    setAttribute(ad, `Top${stem}Time`, seconds(top));
    const path = join(dir.path, `${stem}.top`);
    const content = readFile(dir, `${stem}.top`, ctx.owners, {
      role: "secret",
      maxBytes: OAUTH_LIMIT,
    });
    const json = content === null ? undefined : parseJson(content);
    content?.fill(0);
    const stored = isObject(json) ? json : {};
    const scopes = storedString(stored.scopes, "scopes", path);
    const audience = storedString(stored.audience, "audience", path);
    if ((selector.scopes ?? "") !== scopes || (selector.audience ?? "") !== audience) {
      throw new StoreError(
        "mismatch",
        `stored scopes ${quote(scopes)} and audience ${quote(audience)}; requested ` +
          `${quote(selector.scopes ?? "")} and ${quote(selector.audience ?? "")}`,
      );
    }
  }
  // A credential that is not there at all is not found, --min-ttl or not.
  if (top === null && use === null) throw new StoreError("not-found", "");
  let expires: number | undefined;
  if (minTtl !== null) expires = checkLifetime(ctx, dir, `${stem}.use`, minTtl);
  if (use !== null) {
    setAttribute(ad, useAttribute(stem), seconds(use));
    return { status: "success", ad, expires: expires ?? useExpiry(ctx, dir, `${stem}.use`) };
  }
  if (top !== null) return { status: "pending", ad };
  throw new StoreError("not-found", "");
}

/** The claims of a JWT access token, for listings; null when `token` is not one. */
export function accessTokenClaims(token: string) {
  const jwt = decodeJwt(token);
  if (jwt === null) return null;
  return { claims: jwt.claims, exp: timeClaim(jwt.claims, "exp") };
}
