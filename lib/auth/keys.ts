/**
 * IDTOKENS signing keys and token files on disk (docs/upstream.md "IDTOKENS"): the key named by
 * a token's `kid` (POOL is SEC_TOKEN_POOL_SIGNING_KEY_FILE, any other SEC_PASSWORD_DIRECTORY/<kid>),
 * and the tokens a client holds (SEC_TOKEN_DIRECTORY, ~/.condor/tokens.d, SEC_TOKEN_SYSTEM_DIRECTORY,
 * or --token-file). Every file is read through the store's checked reads (docs/storage.md):
 * trusted owner, no group or other access, no links.
 *
 * Permissions: --allow-read on the key and token files.
 */

import type { AccountDb } from "../accounts.ts";
import type { Config } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import { storeDirectory } from "../fs/directories.ts";
import { listNames, readFile } from "../fs/files.ts";
import type { Owners } from "../fs/owners.ts";
import { basename, dirname, join } from "../fs/paths.ts";
import { decodeJwt, timeClaim } from "../jwt.ts";
import { checkKeyId, signingKeyMaterial } from "./idtoken.ts";

/** The file holding signing key `kid`. Throws TokenError("kid") or StoreError("config"). */
export function signingKeyPath(config: Config, kid: string): string {
  checkKeyId(kid);
  if (kid === "POOL") {
    const path = config.get("SEC_TOKEN_POOL_SIGNING_KEY_FILE");
    if (path === undefined) {
      throw new StoreError(
        "config",
        "No master pool token key setup in SEC_TOKEN_POOL_SIGNING_KEY_FILE",
      );
    }
    return path;
  }
  const dir = config.get("SEC_PASSWORD_DIRECTORY");
  if (dir === undefined) throw new StoreError("config", "SEC_PASSWORD_DIRECTORY is undefined");
  return join(dir, kid);
}

/**
 * The HKDF input keying material of signing key `kid` (unscrambled, the POOL key doubled), or
 * null when there is no such key. Throws StoreError for a key that fails the storage rules.
 */
export function readSigningKey(config: Config, owners: Owners, kid: string): Uint8Array | null {
  const path = signingKeyPath(config, kid);
  if (!path.startsWith("/")) {
    throw new StoreError("config", `the signing key path ${quote(path)} is not absolute`);
  }
  const dir = storeDirectory(dirname(path), owners);
  if (dir === null) return null;
  const bytes = readFile(dir, basename(path), owners, { role: "secret", maxBytes: 64 * 1024 });
  if (bytes === null) return null;
  try {
    return signingKeyMaterial(bytes, {
      pool: kid === "POOL",
      truncateAtNul: config.flag("SEC_TOKEN_POOL_SIGNING_KEY_IS_PASSWORD"),
    });
  } finally {
    bytes.fill(0);
  }
}

/**
 * The directory a client's tokens come from, as upstream chooses it: SEC_TOKEN_DIRECTORY; else,
 * for a non-root caller, `.condor/tokens.d` in the passwd home (not $HOME); else (root)
 * SEC_TOKEN_SYSTEM_DIRECTORY.
 */
export function tokenDirectory(config: Config, euid: number, accounts: AccountDb): string | null {
  const configured = config.get("SEC_TOKEN_DIRECTORY");
  if (configured !== undefined) return configured;
  if (euid !== 0) {
    const home = accounts.byUid(euid)?.home;
    return home ? join(home, ".condor/tokens.d") : null;
  }
  return config.get("SEC_TOKEN_SYSTEM_DIRECTORY") ?? null;
}

/** The tokens in one file's text: one per line, trimmed, `#` lines and empty lines skipped. */
export function tokensIn(text: string): string[] {
  const end = text.indexOf("\0");
  return (end < 0 ? text : text.slice(0, end)).split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Why a token is not usable against a daemon of `trustDomain` at `now`, or null when it is. */
export function tokenProblem(token: string, trustDomain: string, now: number): string | null {
  const jwt = decodeJwt(token);
  if (jwt === null) return "it is not a token";
  if (typeof jwt.header.kid !== "string") return "it has no key ID";
  if (jwt.claims.iss !== trustDomain) return `it was issued by ${quote(String(jwt.claims.iss))}`;
  if (typeof jwt.claims.sub !== "string") return "it names no identity";
  const exp = timeClaim(jwt.claims, "exp");
  if (exp !== null && exp < now) return "it has expired";
  return null;
}

const decoder = new TextDecoder();

/**
 * Reads the token of `--token-file FILE`: the file must pass the storage rules for secrets (a
 * trusted owner, no group or other access). Throws StoreError.
 */
export function readTokenFile(path: string, owners: Owners, cwd: string): string[] {
  const absolute = path.startsWith("/") ? path : join(cwd, path);
  const dir = storeDirectory(dirname(absolute), owners, { loose: true });
  const bytes = dir === null
    ? null
    : readFile(dir, basename(absolute), owners, { role: "secret", maxBytes: 64 * 1024 });
  if (bytes === null) {
    throw new StoreError("not-secure", `the token file ${quote(path)} does not exist`);
  }
  try {
    return tokensIn(decoder.decode(bytes));
  } finally {
    bytes.fill(0);
  }
}

/** A file of a token directory that was not read, and why. */
export interface SkippedToken {
  readonly path: string;
  /** Why, as a sentence; with the StoreError's remedy when it has one. */
  readonly why: string;
  readonly remedy?: string;
}

/** What a token directory holds: its tokens, and the files skipped with the reason. */
export interface TokenDirectory {
  readonly tokens: string[];
  readonly skipped: SkippedToken[];
}

/**
 * The tokens of a token directory, in upstream's order: files in byte order, skipping
 * directories, names LOCAL_CONFIG_DIR_EXCLUDE_REGEXP excludes, and files that fail the storage
 * rules (a file others may read, as `token create > FILE` under umask 022 makes one); each
 * skipped file is reported with the reason, so that the caller's error can name it. No tokens
 * when the directory is missing or unusable.
 */
export function readTokenDirectory(config: Config, dir: string, owners: Owners): TokenDirectory {
  const skipped: SkippedToken[] = [];
  let checked;
  try {
    checked = storeDirectory(dir, owners);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    skipped.push({ path: dir, why: error.message, remedy: error.remedy });
    return { tokens: [], skipped };
  }
  if (checked === null) return { tokens: [], skipped };
  const exclude = config.get("LOCAL_CONFIG_DIR_EXCLUDE_REGEXP");
  let pattern: RegExp | null = null;
  try {
    pattern = exclude === undefined ? null : new RegExp(exclude);
  } catch {
    pattern = null;
  }
  const tokens: string[] = [];
  for (const name of listNames(checked)) {
    const path = join(checked.path, name);
    if (pattern?.test(name)) {
      skipped.push({ path, why: "its name is excluded by LOCAL_CONFIG_DIR_EXCLUDE_REGEXP" });
      continue;
    }
    try {
      const bytes = readFile(checked, name, owners, { role: "secret", maxBytes: 64 * 1024 });
      if (bytes === null) continue;
      tokens.push(...tokensIn(decoder.decode(bytes)));
      bytes.fill(0);
    } catch (error) {
      // A directory, a link or a file others may read is skipped, as upstream skips it.
      if (!(error instanceof StoreError)) throw error;
      skipped.push({ path, why: error.message, remedy: error.remedy });
    }
  }
  return { tokens, skipped };
}
