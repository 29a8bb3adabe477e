/**
 * OAuth2 / SciTokens (ref §5.4, SPEC deviation 10): `<dir>/<user>/<service>[_<handle>].top` for
 * refresh tokens (read by the credmon) and `.use` for access tokens (`-P`, or the credmon's
 * output).
 */

import { quote, StoreError } from "../errors.ts";
import { withLock } from "../fs/lock.ts";
import {
  checkCredentialFile,
  inspectCredentialFile,
  join,
  lstatOrNull,
  osError,
  readFileSecurely,
  removeCredentialFile,
  tempPathFor,
  writeFileDurably,
} from "../fs/secure_file.ts";
import { secureDirectory } from "../fs/directories.ts";
import {
  type Ad,
  baseAd,
  configuredPath,
  lockTimeout,
  type Outcome,
  seconds,
  type StoreContext,
  storeDirectory,
} from "./context.ts";
import { kickCredmon, removeMark } from "./credmon.ts";
import { checkName, oauthName } from "./names.ts";

/** Largest OAuth credential (SPEC §5 "Limits"). */
export const OAUTH_LIMIT = 1024 * 1024;

/** The OAuth-specific part of a request. */
export interface OAuthRequest {
  readonly service: string | null;
  readonly handle: string | null;
  readonly scopes: string | null;
  readonly audience: string | null;
  /** `-P`: store an access token as `.use`. */
  readonly accessToken: boolean;
  /** `--min-ttl`: the `.use` token must stay valid at least this many seconds (query only). */
  readonly minTtl?: number | null;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses bytes as JSON; undefined when they are not JSON. */
function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The file stem for a request, with service and handle checked (SPEC deviation 11). */
function fileStem(request: OAuthRequest): string {
  const service = checkName("service", request.service ?? "");
  if (request.handle) checkName("handle", request.handle);
  return oauthName(service, request.handle);
}

/** Refuses a Vault token whose `vault_url` host is not in TRUSTED_VAULT_HOSTS (ref §5.4). */
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
 * Adds scopes and audience to a JSON credential (ref §5.4 step 5): keys matching
 * case-insensitively are replaced, as in HTCondor's ClassAd round trip; the result is 2-space
 * indented JSON with a trailing newline.
 */
function mergeScopes(credential: Uint8Array, request: OAuthRequest): Uint8Array {
  const json = parseJson(credential);
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
  if (request.scopes) set("scopes", request.scopes);
  if (request.audience) set("audience", request.audience);
  return new TextEncoder().encode(JSON.stringify(json, null, 2) + "\n");
}

function userDirectory(ctx: StoreContext, user: string, create: boolean) {
  const dir = configuredPath(ctx, "oauth");
  const exists = storeDirectory(ctx, dir, { create, sharedGroup: true });
  const userDir = join(dir, user);
  const userExists = exists &&
    secureDirectory(userDir, ctx.trust, { create, sharedParent: true });
  return { dir, userDir, exists: userExists };
}

/**
 * add-oauth: writes `.top` (or `.use` with -P) durably. `.use` answers with its time; `.top`
 * with an existing `.use` answers with the old `.use` time and no signal; otherwise the OAuth
 * credmon is signalled and the result is pending (ref §5.4 "add", §3.3 step 9). Zeroes the
 * credential once written.
 */
export async function addOAuth(
  ctx: StoreContext,
  user: string,
  request: OAuthRequest & { readonly credential: Uint8Array },
): Promise<Outcome> {
  const stem = fileStem(request);
  const json = parseJson(request.credential);
  checkVaultHost(ctx, json);
  const extension = request.accessToken ? "use" : "top";
  const merged = extension === "top" && (request.scopes || request.audience)
    ? mergeScopes(request.credential, request)
    : null;
  const { dir, userDir } = userDirectory(ctx, user, true);
  const target = join(userDir, `${stem}.${extension}`);
  const usePath = join(userDir, `${stem}.use`);
  const useBefore = await withLock(dir, user, ctx.trust, {
    timeoutSeconds: lockTimeout(ctx),
    fn: (lock) => {
      inspectCredentialFile(target, ctx.trust);
      const use = inspectCredentialFile(usePath, ctx.trust);
      const temp = tempPathFor(target);
      lock.journal(temp);
      try {
        writeFileDurably(target, merged ?? request.credential, { tempPath: temp });
      } finally {
        merged?.fill(0);
      }
      removeMark(dir, user);
      return use;
    },
  });
  request.credential.fill(0);
  await ctx.debug(`wrote ${target}`);
  if (extension === "use") {
    const info = inspectCredentialFile(target, ctx.trust)!;
    return { status: "success", time: seconds(info), ad: baseAd(ctx) };
  }
  if (useBefore !== null) return { status: "success", time: seconds(useBefore), ad: baseAd(ctx) };
  await kickCredmon(ctx, dir);
  return { status: "pending", ad: baseAd(ctx) };
}

/** delete-oauth: with -s the `.top` and `.use`; without, the whole user directory (ref §5.4). */
export async function deleteOAuth(
  ctx: StoreContext,
  user: string,
  request: OAuthRequest,
): Promise<Outcome> {
  const stem = request.service === null ? null : fileStem(request);
  const { dir, userDir, exists } = userDirectory(ctx, user, false);
  if (!exists) return { status: "success", ad: baseAd(ctx) };
  await withLock(dir, user, ctx.trust, {
    timeoutSeconds: lockTimeout(ctx),
    fn: () => {
      if (stem !== null) {
        const files = [join(userDir, `${stem}.top`), join(userDir, `${stem}.use`)];
        // Check both before removing either, so a refusal changes nothing.
        for (const f of files) inspectCredentialFile(f, ctx.trust);
        for (const f of files) removeCredentialFile(f, ctx.trust);
      } else {
        for (const name of listDirectory(userDir)) {
          const path = join(userDir, name);
          const info = lstatOrNull(path);
          if (info !== null) checkCredentialFile(path, info, ctx.trust);
        }
        try {
          Deno.removeSync(userDir, { recursive: true });
        } catch (error) {
          throw osError(error, "remove", userDir);
        }
      }
      removeMark(dir, user);
    },
  });
  return { status: "success", ad: baseAd(ctx) };
}

function listDirectory(dir: string): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) names.push(entry.name);
  } catch (error) {
    throw osError(error, "list", dir);
  }
  return names.sort();
}

function storedString(value: unknown, key: string, path: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  throw new StoreError(
    "json-parse",
    `the ${key} in ${quote(path)} is a JSON ${Array.isArray(value) ? "array" : typeof value}, ` +
      "not a string; delete the credential and add it again",
  );
}

/** The `exp` claim (Unix seconds) of a JWT, or null when `token` is not a JWT with one. */
export function jwtExpiry(token: string): number | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const payload = JSON.parse(new TextDecoder().decode(
      Uint8Array.from(
        atob(base64 + "=".repeat((4 - base64.length % 4) % 4)),
        (c) => c.charCodeAt(0),
      ),
    ));
    return isObject(payload) && typeof payload.exp === "number" ? payload.exp : null;
  } catch {
    return null;
  }
}

/**
 * `--min-ttl` (SPEC §7): the access token in `usePath` (a bare JWT, or credmon JSON with an
 * `access_token`) must not expire within `minTtl` seconds. Throws StoreError("expiring").
 */
function checkLifetime(
  ctx: StoreContext,
  usePath: string,
  use: Deno.FileInfo | null,
  minTtl: number,
): void {
  if (use === null) {
    throw new StoreError(
      "expiring",
      `ERROR: --min-ttl: there is no access token ${quote(usePath)} yet to check; wait for the ` +
        "credmon, or store one with add-oauth -P",
    );
  }
  const content = readFileSecurely(usePath, ctx.trust, OAUTH_LIMIT);
  const json = content === null ? undefined : parseJson(content);
  const text = content === null ? "" : new TextDecoder().decode(content).trim();
  content?.fill(0);
  const token = isObject(json) && typeof json.access_token === "string" ? json.access_token : text;
  const exp = jwtExpiry(token);
  if (exp === null) {
    throw new StoreError(
      "expiring",
      `ERROR: --min-ttl: the access token in ${quote(usePath)} is not a JWT with an "exp" claim, ` +
        "so its lifetime cannot be checked",
    );
  }
  const left = exp - Math.floor(Date.now() / 1000);
  if (left < minTtl) {
    const when = new Date(exp * 1000).toISOString().replace("T", " ").slice(0, 19);
    const state = left < 0 ? `expired ${-left} seconds ago` : `expires in ${left} seconds`;
    throw new StoreError(
      "expiring",
      `ERROR: the access token in ${quote(usePath)} ${state} (${when} UTC), less than ` +
        `--min-ttl ${minTtl}; refresh it (add-oauth -P) or wait for the credmon`,
    );
  }
}

/**
 * query-oauth. Without -s: every `.top`/`.use` of the user, pending while a `.top` lacks its
 * `.use`. With -s: compares -S/-A exactly with the `.top`'s `scopes`/`audience` (a non-JSON
 * `.top` has neither: SPEC deviation 10), then `.use` means valid and `.top` alone pending.
 */
export function queryOAuth(
  ctx: StoreContext,
  user: string,
  request: OAuthRequest,
): Outcome {
  const stem = request.service === null ? null : fileStem(request);
  const { dir, userDir, exists } = userDirectory(ctx, user, false);
  if (!exists) throw new StoreError("not-found", "");
  const ad: Ad = baseAd(ctx);
  if (stem === null) {
    const tops = new Set<string>();
    const uses = new Set<string>();
    for (const name of listDirectory(userDir)) {
      const match = /^(.+)\.(top|use)$/.exec(name);
      if (!match) continue;
      const info = inspectCredentialFile(join(userDir, name), ctx.trust)!;
      ad[name] = seconds(info);
      (match[2] === "top" ? tops : uses).add(match[1]);
    }
    removeMark(dir, user);
    if (tops.size === 0 && uses.size === 0) throw new StoreError("not-found", "");
    const pending = [...tops].some((t) => !uses.has(t));
    return { status: pending ? "pending" : "success", ad };
  }
  const topPath = join(userDir, `${stem}.top`);
  const usePath = join(userDir, `${stem}.use`);
  const top = inspectCredentialFile(topPath, ctx.trust);
  const use = inspectCredentialFile(usePath, ctx.trust);
  if (top !== null) {
    ad[`Top${stem}Time`] = seconds(top);
    const content = readFileSecurely(topPath, ctx.trust, OAUTH_LIMIT);
    const json = content === null ? undefined : parseJson(content);
    content?.fill(0);
    const stored = isObject(json) ? json : {};
    const scopes = storedString(stored.scopes, "scopes", topPath);
    const audience = storedString(stored.audience, "audience", topPath);
    if ((request.scopes ?? "") !== scopes || (request.audience ?? "") !== audience) {
      throw new StoreError(
        "mismatch",
        `stored scopes ${quote(scopes)} and audience ${quote(audience)}; requested ` +
          `${quote(request.scopes ?? "")} and ${quote(request.audience ?? "")}`,
      );
    }
  }
  removeMark(dir, user);
  if (request.minTtl != null) checkLifetime(ctx, usePath, use, request.minTtl);
  if (use !== null) {
    ad[stem] = seconds(use);
    return { status: "success", ad };
  }
  if (top !== null) return { status: "pending", ad };
  throw new StoreError("not-found", "");
}
