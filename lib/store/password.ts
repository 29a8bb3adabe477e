/**
 * Passwords: the pool password in SEC_PASSWORD_FILE (ref §5.2, XOR format, SPEC deviation 8),
 * `-f FILE`, and user passwords sealed under a host key (SPEC §7, deviation 14).
 */

import { HOST_KEY_BYTES, seal, unseal } from "../crypto/seal.ts";
import { scramblePoolPassword, truncateAtNul, unscramblePoolPassword } from "../crypto/scramble.ts";
import { quote, StoreError } from "../errors.ts";
import { secureParent } from "../fs/directories.ts";
import { withLock } from "../fs/lock.ts";
import {
  basename,
  dirname,
  inspectCredentialFile,
  join,
  osError,
  readFileSecurely,
  removeCredentialFile,
  removeQuietly,
  syncDirectory,
  tempPathFor,
  type Trust,
  writeFileDurably,
} from "../fs/secure_file.ts";
import { DEVIATION } from "../messages.ts";
import {
  configuredPath,
  lockTimeout,
  type Outcome,
  type StoreContext,
  storeDirectory,
} from "./context.ts";

/** Largest password (SPEC §5 "Limits", ref §5.2.2). */
export const PASSWORD_LIMIT = 255;

/** Truncates at NUL (C-string semantics) and refuses an empty result (deviation 7). */
function poolBytes(password: Uint8Array): Uint8Array {
  const bytes = truncateAtNul(password);
  if (bytes.length === 0) throw new StoreError("empty", DEVIATION.empty);
  return bytes;
}

/** add -c: writes SEC_PASSWORD_FILE atomically with mode 0600 (SPEC deviation 8). */
export async function addPoolPassword(ctx: StoreContext, password: Uint8Array): Promise<Outcome> {
  const path = configuredPath(ctx, "pool");
  const dir = dirname(path);
  storeDirectory(ctx, dir, { create: true });
  const scrambled = scramblePoolPassword(poolBytes(password));
  password.fill(0);
  try {
    await withLock(dir, basename(path), ctx.trust, {
      timeoutSeconds: lockTimeout(ctx),
      fn: (lock) => {
        inspectCredentialFile(path, ctx.trust);
        const temp = tempPathFor(path);
        lock.journal(temp);
        writeFileDurably(path, scrambled, { tempPath: temp });
      },
    });
  } finally {
    scrambled.fill(0);
  }
  await ctx.debug(`wrote the pool password to ${path}`);
  return { status: "success" };
}

/** delete -c: removes SEC_PASSWORD_FILE; a missing file is not-found (ref §5.2.2). */
export async function deletePoolPassword(ctx: StoreContext): Promise<Outcome> {
  const path = configuredPath(ctx, "pool");
  const dir = dirname(path);
  if (!storeDirectory(ctx, dir, { create: false })) {
    throw new StoreError("not-found", "");
  }
  const removed = await withLock(dir, basename(path), ctx.trust, {
    timeoutSeconds: lockTimeout(ctx),
    fn: () => removeCredentialFile(path, ctx.trust),
  });
  if (!removed) throw new StoreError("not-found", "");
  return { status: "success" };
}

/**
 * query of the pool user through `-u condor_pool@<domain>` (upstream's in-process password
 * store answers it: ref §5.2.2): valid when SEC_PASSWORD_FILE holds a non-empty password
 * (old NUL-padded files included), else not-found.
 */
export function queryPoolPassword(ctx: StoreContext): Outcome {
  const path = configuredPath(ctx, "pool");
  if (!storeDirectory(ctx, dirname(path), { create: false })) {
    throw new StoreError("not-found", "");
  }
  const scrambled = readFileSecurely(path, ctx.trust, 4096);
  if (scrambled === null) throw new StoreError("not-found", "");
  const password = unscramblePoolPassword(scrambled);
  const stored = password.length > 0;
  scrambled.fill(0);
  password.fill(0);
  if (!stored) throw new StoreError("not-found", "");
  return { status: "success" };
}

/**
 * `-f FILE`: writes a pool-password file at an arbitrary path, durably and atomically, in the
 * same format. Throws StoreError; the caller prints upstream's "error writing password file".
 */
export function writePoolPasswordFile(
  path: string,
  password: Uint8Array,
  trust: Trust,
): void {
  secureParent(path, trust);
  inspectCredentialFile(path, trust);
  const scrambled = scramblePoolPassword(poolBytes(password));
  password.fill(0);
  try {
    writeFileDurably(path, scrambled);
  } finally {
    scrambled.fill(0);
  }
}

// ---- sealed user passwords -------------------------------------------------------------------

const HOST_KEY_NAME = "host.key";

/** Returns the host key, creating it (0400, from the CSPRNG) on first use when `create`. */
async function hostKey(ctx: StoreContext, dir: string, create: boolean) {
  const path = join(dir, HOST_KEY_NAME);
  const existing = readFileSecurely(path, ctx.trust, HOST_KEY_BYTES);
  if (existing !== null || !create) return existing;
  // Write the key under a temp name, then link it into place: link fails if another process
  // won the race, and then its key is used. The key is never visible half-written.
  const key = crypto.getRandomValues(new Uint8Array(HOST_KEY_BYTES));
  const temp = tempPathFor(path);
  try {
    const file = Deno.openSync(temp, { write: true, createNew: true, mode: 0o400 });
    try {
      file.writeSync(key);
      file.syncSync();
    } finally {
      file.close();
    }
    try {
      Deno.linkSync(temp, path);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      key.fill(0);
      return readFileSecurely(path, ctx.trust, HOST_KEY_BYTES);
    } finally {
      removeQuietly(temp);
    }
    syncDirectory(dir);
    await ctx.debug(`created the host key ${path}`);
    return key;
  } catch (error) {
    key.fill(0);
    throw osError(error, "create the host key", path);
  }
}

function sealedPath(dir: string, account: string): string {
  return join(dir, `${account}.pwd`);
}

/** add-pwd for a user: seals the password for `user@domain` and stores it durably. */
export async function addUserPassword(
  ctx: StoreContext,
  account: string,
  password: Uint8Array,
): Promise<Outcome> {
  const dir = configuredPath(ctx, "pwd");
  storeDirectory(ctx, dir, { create: true });
  const key = await hostKey(ctx, dir, true);
  if (key === null || key.length !== HOST_KEY_BYTES) {
    throw new StoreError("insecure", `ERROR: the host key in ${quote(dir)} is damaged`);
  }
  const sealed = await seal(password, account, key);
  password.fill(0);
  key.fill(0);
  const path = sealedPath(dir, account);
  await withLock(dir, account, ctx.trust, {
    timeoutSeconds: lockTimeout(ctx),
    fn: (lock) => {
      inspectCredentialFile(path, ctx.trust);
      const temp = tempPathFor(path);
      lock.journal(temp);
      writeFileDurably(path, sealed, { tempPath: temp });
    },
  });
  return { status: "success" };
}

/** delete-pwd for a user; not-found when nothing is stored. */
export async function deleteUserPassword(ctx: StoreContext, account: string): Promise<Outcome> {
  const dir = configuredPath(ctx, "pwd");
  if (!storeDirectory(ctx, dir, { create: false })) {
    throw new StoreError("not-found", "");
  }
  const path = sealedPath(dir, account);
  const removed = await withLock(dir, account, ctx.trust, {
    timeoutSeconds: lockTimeout(ctx),
    fn: () => removeCredentialFile(path, ctx.trust),
  });
  if (!removed) throw new StoreError("not-found", "");
  return { status: "success" };
}

/** query-pwd for a user: valid when the sealed file opens for this account, else bad-password. */
export async function queryUserPassword(ctx: StoreContext, account: string): Promise<Outcome> {
  const dir = configuredPath(ctx, "pwd");
  if (!storeDirectory(ctx, dir, { create: false })) {
    throw new StoreError("not-found", "");
  }
  const sealed = readFileSecurely(sealedPath(dir, account), ctx.trust, 4096);
  if (sealed === null) throw new StoreError("not-found", "");
  const key = await hostKey(ctx, dir, false);
  const plain = key === null ? null : await unseal(sealed, account, key);
  key?.fill(0);
  if (plain === null) {
    throw new StoreError(
      "bad-password",
      "the stored password cannot be opened with this host's key for this account",
    );
  }
  plain.fill(0);
  return { status: "success" };
}
