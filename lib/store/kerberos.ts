/**
 * Kerberos/AFS tokens (ref §5.3, SPEC deviation 9): `<dir>/<user>.cred` written by us,
 * `<dir>/<user>.cc` produced by the Kerberos credmon.
 */

import { StoreError } from "../errors.ts";
import { withLock } from "../fs/lock.ts";
import {
  checkCredentialFile,
  inspectCredentialFile,
  join,
  removeCredentialFile,
  tempPathFor,
  writeFileDurably,
} from "../fs/secure_file.ts";
import {
  baseAd,
  configuredPath,
  lockTimeout,
  type Outcome,
  seconds,
  type StoreContext,
  storeDirectory,
} from "./context.ts";
import { kickCredmon, removeMark, waitForFile } from "./credmon.ts";
import { addOAuth } from "./oauth.ts";

const LOCAL_PREFIX = new TextEncoder().encode("LOCAL:");

function isLocalIssuerRequest(bytes: Uint8Array): boolean {
  return bytes.length > LOCAL_PREFIX.length && LOCAL_PREFIX.every((b, i) => bytes[i] === b);
}

function paths(dir: string, user: string) {
  return { cred: join(dir, `${user}.cred`), cc: join(dir, `${user}.cc`) };
}

/**
 * add-krb: writes `<user>.cred` durably, signals the credmon and waits up to
 * CREDD_POLLING_TIMEOUT for a `.cc` at least as new. A `LOCAL:<service>` credential instead
 * asks the OAuth local issuer for `<service>.top` (ref §5.3). Zeroes `credential` once written.
 */
export async function addKerberos(
  ctx: StoreContext,
  user: string,
  credential: Uint8Array,
): Promise<Outcome> {
  if (isLocalIssuerRequest(credential)) {
    const service = new TextDecoder().decode(credential.subarray(LOCAL_PREFIX.length));
    return await addOAuth(ctx, user, {
      service,
      handle: null,
      scopes: null,
      audience: null,
      accessToken: false,
      credential: new TextEncoder().encode(user),
    });
  }
  const dir = configuredPath(ctx, "krb");
  storeDirectory(ctx, dir, { create: true });
  const { cred, cc } = paths(dir, user);
  const written = await withLock(dir, user, ctx.trust, {
    timeoutSeconds: lockTimeout(ctx),
    fn: (lock) => {
      inspectCredentialFile(cred, ctx.trust);
      inspectCredentialFile(cc, ctx.trust);
      const temp = tempPathFor(cred);
      lock.journal(temp);
      writeFileDurably(cred, credential, { tempPath: temp });
      removeMark(dir, user);
      return inspectCredentialFile(cred, ctx.trust)!;
    },
  });
  // Written: wipe it now, so no copy lives on through the credmon wait.
  credential.fill(0);
  await ctx.debug(`wrote ${cred} (${credential.length} bytes)`);
  if (!(await kickCredmon(ctx, dir))) return { status: "pending", ad: baseAd(ctx) };
  const timeout = ctx.config.getInt("CREDD_POLLING_TIMEOUT", 20);
  const done = await waitForFile(cc, written.mtime?.getTime() ?? 0, timeout);
  if (done === null) {
    throw new StoreError(
      "credmon-timeout",
      `the credential was stored in ${cred}, but the Kerberos credmon did not write ${cc} ` +
        `within ${timeout} seconds (CREDD_POLLING_TIMEOUT); check that it is running`,
    );
  }
  checkCredentialFile(cc, done, ctx.trust);
  return { status: "success", time: seconds(done), ad: baseAd(ctx) };
}

/** delete-krb: removes `.cc` and `.cred`; succeeds when neither exists (ref §5.3). */
export async function deleteKerberos(ctx: StoreContext, user: string): Promise<Outcome> {
  const dir = configuredPath(ctx, "krb");
  if (!storeDirectory(ctx, dir, { create: false })) {
    return { status: "success", ad: baseAd(ctx) };
  }
  const { cred, cc } = paths(dir, user);
  await withLock(dir, user, ctx.trust, {
    timeoutSeconds: lockTimeout(ctx),
    fn: () => {
      // Check both before removing either, so a refusal changes nothing.
      inspectCredentialFile(cc, ctx.trust);
      inspectCredentialFile(cred, ctx.trust);
      removeCredentialFile(cc, ctx.trust);
      removeCredentialFile(cred, ctx.trust);
      removeMark(dir, user);
    },
  });
  return { status: "success", ad: baseAd(ctx) };
}

/**
 * query-krb: `.cc` present means valid (its time); only `.cred` means pending, with `CredTime`;
 * neither is not-found (ref §5.3).
 */
export function queryKerberos(ctx: StoreContext, user: string): Outcome {
  const dir = configuredPath(ctx, "krb");
  if (!storeDirectory(ctx, dir, { create: false })) {
    throw new StoreError("not-found", "");
  }
  const { cred, cc } = paths(dir, user);
  const ccInfo = inspectCredentialFile(cc, ctx.trust);
  const credInfo = inspectCredentialFile(cred, ctx.trust);
  removeMark(dir, user);
  if (ccInfo !== null) return { status: "success", time: seconds(ccInfo), ad: baseAd(ctx) };
  if (credInfo !== null) {
    return { status: "pending", ad: { ...baseAd(ctx), CredTime: seconds(credInfo) } };
  }
  throw new StoreError("not-found", "");
}
