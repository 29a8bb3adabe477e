/**
 * Passwords: the pool password in SEC_PASSWORD_FILE (docs/upstream.md "Pool password", XOR
 * format, deviation 8) and user passwords sealed under a host key (README "Differences from HTCondor",
 * deviation 14). `-f FILE` is the command line's own (lib/cli/pool_file.ts), in the same format.
 */

import { HOST_KEY_BYTES, seal, unseal } from "../crypto/seal.ts";
import { scramblePoolPassword, truncateAtNul, unscramblePoolPassword } from "../crypto/scramble.ts";
import { quote, StoreError } from "../errors.ts";
import type { Directory } from "../fs/directories.ts";
import { createFileOnce, readFile, removeFile } from "../fs/files.ts";
import { withLock } from "../fs/lock.ts";
import { basename, join } from "../fs/paths.ts";
import { DEVIATION } from "../messages.ts";
import { configuredPath, lockTimeout, type Outcome, type StoreContext } from "./context.ts";
import { storeRoot } from "./layout.ts";
import { writeCredential } from "./write.ts";

/** Truncates at NUL (C-string semantics) and refuses an empty result (deviation 7). */
export function poolBytes(password: Uint8Array): Uint8Array {
  const bytes = truncateAtNul(password);
  if (bytes.length === 0) throw new StoreError("empty", DEVIATION.empty);
  return bytes;
}

/** add -c: writes SEC_PASSWORD_FILE atomically with mode 0600 (deviation 8). */
export async function addPoolPassword(ctx: StoreContext, password: Uint8Array): Promise<Outcome> {
  const name = basename(configuredPath(ctx, "pool"));
  const scrambled = scramblePoolPassword(poolBytes(password));
  password.fill(0);
  try {
    const store = storeRoot(ctx, "pool", true)!;
    const { changed } = await writeCredential(ctx, {
      store,
      lockKey: name,
      user: null,
      directory: () => store,
      name,
      data: scrambled,
    });
    ctx.debug(`wrote the pool password to ${join(store.path, name)}`);
    return { status: "success", changed };
  } finally {
    scrambled.fill(0);
  }
}

/** delete -c: removes SEC_PASSWORD_FILE; a missing file is not-found. */
export async function deletePoolPassword(ctx: StoreContext): Promise<Outcome> {
  const name = basename(configuredPath(ctx, "pool"));
  const store = storeRoot(ctx, "pool", false);
  if (store === null) throw new StoreError("not-found", "");
  const removed = await withLock(store, name, ctx.owners, {
    timeoutSeconds: lockTimeout(ctx),
    fn: () => removeFile(store, name, ctx.owners, "secret"),
  });
  if (!removed) throw new StoreError("not-found", "");
  return { status: "success" };
}

/**
 * query of the pool account through `-u condor_pool@<domain>` (upstream's in-process password
 * store answers it): valid when SEC_PASSWORD_FILE holds a non-empty password (old NUL-padded
 * files included), else not-found.
 */
export function queryPoolPassword(ctx: StoreContext): Outcome {
  const name = basename(configuredPath(ctx, "pool"));
  const store = storeRoot(ctx, "pool", false);
  if (store === null) throw new StoreError("not-found", "");
  const scrambled = readFile(store, name, ctx.owners, { role: "secret", maxBytes: 4096 });
  if (scrambled === null) throw new StoreError("not-found", "");
  const password = unscramblePoolPassword(scrambled);
  const stored = password.length > 0;
  scrambled.fill(0);
  password.fill(0);
  if (!stored) throw new StoreError("not-found", "");
  return { status: "success" };
}

// ---- sealed user passwords -------------------------------------------------------------------

const HOST_KEY_NAME = "host.key";

/** Returns the host key, creating it (0400, from the CSPRNG) on first use when `create`. */
async function hostKey(
  ctx: StoreContext,
  dir: Directory,
  create: boolean,
): Promise<Uint8Array | null> {
  const existing = readFile(dir, HOST_KEY_NAME, ctx.owners, {
    role: "secret",
    maxBytes: HOST_KEY_BYTES,
  });
  if (existing !== null || !create) return checkKey(dir, existing);
  const key = crypto.getRandomValues(new Uint8Array(HOST_KEY_BYTES));
  if (await createFileOnce(dir, HOST_KEY_NAME, key, 0o400)) {
    ctx.debug(`created the host key ${join(dir.path, HOST_KEY_NAME)}`);
    return key;
  }
  // Another process won the race: use its key.
  key.fill(0);
  return checkKey(
    dir,
    readFile(dir, HOST_KEY_NAME, ctx.owners, { role: "secret", maxBytes: HOST_KEY_BYTES }),
  );
}

function checkKey(dir: Directory, key: Uint8Array | null): Uint8Array | null {
  if (key === null || key.length === HOST_KEY_BYTES) return key;
  key.fill(0);
  const path = join(dir.path, HOST_KEY_NAME);
  throw new StoreError("insecure", `the host key ${quote(path)} is damaged`, {
    path,
    remedy: "restore it from a backup; without it the sealed passwords cannot be opened",
  });
}

function sealedName(account: string): string {
  return `${account}.pwd`;
}

/** add-pwd for a user: seals the password for `user@domain` and stores it durably. */
export async function addUserPassword(
  ctx: StoreContext,
  account: string,
  password: Uint8Array,
): Promise<Outcome> {
  const store = storeRoot(ctx, "pwd", true)!;
  const key = (await hostKey(ctx, store, true))!;
  let sealed: Uint8Array | null = null;
  try {
    sealed = await seal(password, account, key);
    const { changed } = await writeCredential(ctx, {
      store,
      lockKey: account,
      user: null,
      directory: () => store,
      name: sealedName(account),
      data: sealed,
      async same(old) {
        const plain = await unseal(old, account, key);
        if (plain === null) return false;
        const equal = plain.length === password.length && plain.every((b, i) => b === password[i]);
        plain.fill(0);
        return equal;
      },
    });
    return { status: "success", changed };
  } finally {
    password.fill(0);
    key.fill(0);
    sealed?.fill(0);
  }
}

/** delete-pwd for a user; not-found when nothing is stored. */
export async function deleteUserPassword(ctx: StoreContext, account: string): Promise<Outcome> {
  const store = storeRoot(ctx, "pwd", false);
  if (store === null) throw new StoreError("not-found", "");
  const removed = await withLock(store, account, ctx.owners, {
    timeoutSeconds: lockTimeout(ctx),
    fn: () => removeFile(store, sealedName(account), ctx.owners, "secret"),
  });
  if (!removed) throw new StoreError("not-found", "");
  return { status: "success" };
}

/** query-pwd for a user: valid when the sealed file opens for this account, else bad-password. */
export async function queryUserPassword(ctx: StoreContext, account: string): Promise<Outcome> {
  const store = storeRoot(ctx, "pwd", false);
  if (store === null) throw new StoreError("not-found", "");
  const sealed = readFile(store, sealedName(account), ctx.owners, {
    role: "secret",
    maxBytes: 4096,
  });
  if (sealed === null) throw new StoreError("not-found", "");
  const key = await hostKey(ctx, store, false);
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
