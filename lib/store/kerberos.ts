/**
 * Kerberos/AFS tokens (docs/upstream.md "Kerberos", deviation 9): `<krb>/<user>.cred`
 * written by us, `<krb>/<user>.cc` produced by the Kerberos credmon.
 */

import { StoreError } from "../errors.ts";
import { checkFile, inspectFile } from "../fs/files.ts";
import { withLock } from "../fs/lock.ts";
import { join } from "../fs/paths.ts";
import { lockTimeout, type Outcome, seconds, type StoreContext } from "./context.ts";
import { kickCredmon, removeMark, waitForFile } from "./credmon.ts";
import { storeRoot } from "./layout.ts";
import { addOAuth } from "./oauth.ts";
import { removeFile, TEMP_NAME_EXTRA } from "../fs/files.ts";
import type { Directory } from "../fs/directories.ts";
import { NAME_MAX, nameBytes } from "../fs/paths.ts";
import { isValidName } from "./names.ts";
import { writeCredential } from "./write.ts";

const LOCAL_PREFIX = new TextEncoder().encode("LOCAL:");

/** True for a `LOCAL:<service>` credential: a request for a local-issuer OAuth token. */
export function isLocalIssuerRequest(bytes: Uint8Array): boolean {
  return bytes.length > LOCAL_PREFIX.length && LOCAL_PREFIX.every((b, i) => bytes[i] === b);
}

/** The service a `LOCAL:<service>` credential names. */
export function localIssuerService(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes.subarray(LOCAL_PREFIX.length));
}

/**
 * add-krb: writes `<user>.cred` durably, signals the credmon and waits up to
 * CREDD_POLLING_TIMEOUT for a `.cc` at least as new. A `LOCAL:<service>` credential instead
 * asks the OAuth local issuer for `<service>.top`, whose content is the user name. Zeroes
 * `credential` once written.
 */
export async function addKerberos(
  ctx: StoreContext,
  user: string,
  credential: Uint8Array,
): Promise<Outcome> {
  if (isLocalIssuerRequest(credential)) {
    const service = localIssuerService(credential);
    credential.fill(0);
    // The service name arrives as credential bytes: checked like any name, never repeated.
    if (!isValidName(service) || nameBytes(service) + ".top".length + TEMP_NAME_EXTRA > NAME_MAX) {
      throw new StoreError(
        "bad-args",
        "the LOCAL: credential does not name a valid service (letters, digits and + = _ . - only, " +
          "not beginning with a dot)",
      );
    }
    const selector = { service, handle: null, scopes: null, audience: null, accessToken: false };
    return await addOAuth(ctx, user, selector, new TextEncoder().encode(user));
  }
  const store = storeRoot(ctx, "krb", true)!;
  const cred = `${user}.cred`;
  const cc = `${user}.cc`;
  let written: Deno.FileInfo;
  let changed: boolean;
  try {
    ({ written, changed } = await writeCredential(ctx, {
      store,
      lockKey: user,
      user,
      directory: () => store,
      name: cred,
      data: credential,
      inspect: (dir) => void inspectFile(dir, cc, ctx.owners, "secret"),
    }));
  } finally {
    // Written (or refused): wipe it now, so no copy lives on through the credmon wait.
    credential.fill(0);
  }
  ctx.debug(`wrote ${join(store.path, cred)}`);
  const kick = await kickCredmon(ctx, store);
  if (!kick.signalled) {
    ctx.warnings.push(
      `the Kerberos credmon was not signalled (${kick.reason}); the credential is stored and ` +
        "waits for processing",
    );
    return { status: "pending", changed };
  }
  const timeout = ctx.config.integer("CREDD_POLLING_TIMEOUT");
  const done = await waitForFile(store, cc, written.mtime?.getTime() ?? 0, timeout, ctx.debug);
  if (done === null) {
    throw new StoreError(
      "credmon-timeout",
      `the credential was stored in ${join(store.path, cred)}, but the Kerberos credmon did not ` +
        `write ${join(store.path, cc)} within ${timeout} seconds (CREDD_POLLING_TIMEOUT)`,
      { remedy: "check that the credmon is running" },
    );
  }
  checkFile(join(store.path, cc), done, ctx.owners, "secret");
  return { status: "success", time: seconds(done), changed };
}

/**
 * Removes a user's `.cc` and `.cred` (delete-krb and the sweep), both checked before either goes.
 * The caller holds the user's lock.
 */
export function removeKerberosFiles(ctx: StoreContext, store: Directory, user: string): void {
  const names = [`${user}.cc`, `${user}.cred`];
  for (const n of names) inspectFile(store, n, ctx.owners, "secret");
  for (const n of names) removeFile(store, n, ctx.owners, "secret");
}

/** delete-krb: removes `.cc` and `.cred`; succeeds when neither exists. */
export async function deleteKerberos(ctx: StoreContext, user: string): Promise<Outcome> {
  const store = storeRoot(ctx, "krb", false);
  if (store === null) return { status: "success" };
  await withLock(store, user, ctx.owners, {
    timeoutSeconds: lockTimeout(ctx),
    fn: () => {
      removeMark(store, user);
      removeKerberosFiles(ctx, store, user);
    },
  });
  return { status: "success" };
}

/**
 * query-krb: `.cc` present means valid (its time); only `.cred` means pending, with `CredTime`;
 * neither is not-found.
 */
export function queryKerberos(ctx: StoreContext, user: string): Outcome {
  const store = storeRoot(ctx, "krb", false);
  if (store === null) throw new StoreError("not-found", "");
  removeMark(store, user, ctx.facts);
  const ccInfo = inspectFile(store, `${user}.cc`, ctx.owners, "secret", ctx.facts);
  const credInfo = inspectFile(store, `${user}.cred`, ctx.owners, "secret", ctx.facts);
  if (ccInfo !== null) return { status: "success", time: seconds(ccInfo) };
  if (credInfo !== null) return { status: "pending", ad: { CredTime: seconds(credInfo) } };
  throw new StoreError("not-found", "");
}
