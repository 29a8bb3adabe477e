/**
 * Per-user limits (docs/storage.md "Per-user limits"): the store's files are root's, so disk
 * quotas and the root reserve protect nobody, and one user could fill the file system the others'
 * credentials live on. A user bound by the limits (`perform` decides who: lib/store/service.ts)
 * may keep at most CRED_MAX_CREDENTIALS_PER_USER credentials and CRED_MAX_BYTES_PER_USER bytes.
 *
 * What counts is what is on disk for the user, read with `lstat` only: `<krb>/<user>.cred` and
 * `.cc`, every file of `<oauth>/<user>/` (a `.top` and `.use` of one name are one credential;
 * `.meta` and other files count their bytes only), and the sealed `<pwd>/<user@domain>.pwd`. An
 * add is checked under the user's lock, before anything of the user's is written, as the total
 * it would leave: the file it replaces counts with its new size, not old plus new.
 *
 * Permissions: --allow-read on the store.
 */

import { quote, StoreError } from "../errors.ts";
import type { Directory } from "../fs/directories.ts";
import { listNames } from "../fs/files.ts";
import { basename, dirname, join } from "../fs/paths.ts";
import { splitAccount } from "../request.ts";
import type { StoreContext } from "./context.ts";
import { oauthUserDirectory, storeRoot } from "./layout.ts";

/** The limits of one user; 0 means no limit. */
export interface UserLimits {
  readonly credentials: number;
  readonly bytes: number;
}

/**
 * The limits the configuration sets (knobs CRED_MAX_CREDENTIALS_PER_USER and
 * CRED_MAX_BYTES_PER_USER, defaults in lib/config/knobs.ts; 0 or less turns one off). Throws
 * ConfigError for a value that is not an integer.
 */
export function userLimits(ctx: StoreContext): UserLimits {
  return {
    credentials: Math.max(0, ctx.config.integer("CRED_MAX_CREDENTIALS_PER_USER")),
    bytes: Math.max(0, ctx.config.integer("CRED_MAX_BYTES_PER_USER")),
  };
}

/** One file of a user, with the credential it belongs to (null: it counts its bytes only). */
interface UsedFile {
  readonly size: number;
  readonly credential: string | null;
}

function regularSize(path: string): number | null {
  try {
    const info = Deno.lstatSync(path);
    return info.isFile ? info.size : null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** The credential an OAuth file belongs to: its name without `.top` or `.use`. */
function oauthCredential(name: string): string | null {
  const match = /^(.+)\.(top|use)$/.exec(name);
  return match ? `oauth:${match[1]}` : null;
}

/** The store's parts a configuration has (a part that is not configured holds nothing). */
function configuredRoot(ctx: StoreContext, which: "krb" | "oauth" | "pwd"): Directory | null {
  const knob = {
    krb: "SEC_CREDENTIAL_DIRECTORY_KRB",
    oauth: "SEC_CREDENTIAL_DIRECTORY_OAUTH",
    pwd: "SEC_CREDENTIAL_DIRECTORY_PWD",
  }[which];
  return ctx.config.get(knob) === undefined ? null : storeRoot(ctx, which, false);
}

/**
 * Every file stored for `account` (Kerberos and OAuth by its user part, the sealed password by
 * the whole account), by path, and the path of its OAuth directory. Throws StoreError for a
 * store that fails the storage rules.
 */
function filesOf(
  ctx: StoreContext,
  account: string,
): { files: Map<string, UsedFile>; oauthDir: string | null } {
  const { user } = splitAccount(account);
  const files = new Map<string, UsedFile>();
  const add = (path: string, credential: string | null) => {
    const size = regularSize(path);
    if (size !== null) files.set(path, { size, credential });
  };
  const krb = configuredRoot(ctx, "krb");
  if (krb !== null) {
    add(join(krb.path, `${user}.cred`), "kerberos");
    add(join(krb.path, `${user}.cc`), "kerberos");
  }
  const oauth = configuredRoot(ctx, "oauth");
  const oauthDir = oauth === null ? null : join(oauth.path, user);
  const dir = oauth === null ? null : oauthUserDirectory(ctx, oauth, user, false);
  if (dir !== null) {
    for (const name of listNames(dir)) add(join(oauthDir!, name), oauthCredential(name));
  }
  const pwd = configuredRoot(ctx, "pwd");
  if (pwd !== null) add(join(pwd.path, `${account}.pwd`), "password");
  return { files, oauthDir };
}

/** The credential a file about to be written belongs to. */
function credentialOf(path: string, oauthDir: string | null): string | null {
  const name = basename(path);
  if (dirname(path) === oauthDir) return oauthCredential(name);
  if (name.endsWith(".cred") || name.endsWith(".cc")) return "kerberos";
  if (name.endsWith(".pwd")) return "password";
  return null;
}

const REMEDY = "delete the credentials no longer used (list shows them; delete-oauth -s SERVICE " +
  "removes one service's, delete-krb the Kerberos one) or ask the administrator to raise";

/**
 * Checks that writing `target.size` bytes at `target.path` leaves `account` within `limits`.
 * Called under the user's lock, before anything is written. Throws StoreError("not-allowed")
 * naming the limit, its knob and what to do; StoreError for a store that fails the storage rules.
 */
export function checkUserLimits(
  ctx: StoreContext,
  target: { readonly path: string; readonly size: number },
  options: { readonly account: string; readonly limits: UserLimits },
): void {
  const { account, limits } = options;
  if (limits.credentials === 0 && limits.bytes === 0) return;
  const { files, oauthDir } = filesOf(ctx, account);
  const credentials = new Set<string>();
  let before = 0;
  let others = 0;
  for (const [path, file] of files) {
    if (file.credential !== null) credentials.add(file.credential);
    before += file.size;
    // The file being replaced counts with its new size.
    if (path !== target.path) others += file.size;
  }
  // An add that does not grow what the user stores is never refused (a limit lowered below
  // what is stored still lets credentials be refreshed).
  const credential = credentialOf(target.path, oauthDir);
  if (
    limits.credentials > 0 && credential !== null && !credentials.has(credential) &&
    credentials.size + 1 > limits.credentials
  ) {
    throw new StoreError(
      "not-allowed",
      `${quote(account)} already has ${credentials.size} credentials stored, the most ` +
        `CRED_MAX_CREDENTIALS_PER_USER (${limits.credentials}) allows; ${REMEDY} ` +
        "CRED_MAX_CREDENTIALS_PER_USER",
    );
  }
  const after = others + target.size;
  if (limits.bytes > 0 && after > limits.bytes && after > before) {
    throw new StoreError(
      "not-allowed",
      `storing this credential would bring the credentials of ${quote(account)} to ${after} ` +
        `bytes, more than CRED_MAX_BYTES_PER_USER (${limits.bytes}) allows; ${REMEDY} ` +
        "CRED_MAX_BYTES_PER_USER",
    );
  }
}
