/**
 * OAuth (docs/storage.md): `<service>[_<handle>].top` and `.use` in the user's directory of
 * SEC_CREDENTIAL_DIRECTORY_OAUTH, which the OAuth credmon turns one into the other.
 */

import { StoreError } from "../../errors.ts";
import type { CredentialType } from "./type.ts";

/** Largest OAuth (and Kerberos) credential (docs/storage.md "Limits"). */
export const OAUTH_LIMIT = 1024 * 1024;

/** The OAuth type. */
export const oauth: CredentialType<"oauth"> = {
  name: "oauth",
  word: "oauth",
  keywords: [
    { keyword: "oauth", minLength: 2 },
    { keyword: "oath", minLength: 2 },
    { keyword: "scitokens", minLength: 3 },
  ],
  directory: "oauth",
  limit: OAUTH_LIMIT,
  byAccount: false,
  pool: false,
  typed: false,
  services: true,
  namesCaller: true,
  addWaitsForCredmon: false,
  credmonFiles: { input: ".top", output: ".use" },
  checkNames(target, request, rules) {
    rules.checkNameLength("user", target.user, ".cred".length);
    if (request.service === null) return;
    rules.checkName("service", request.service);
    rules.checkNameLength("service", request.service, ".top".length);
    if (request.handle) {
      rules.checkName("handle", request.handle);
      rules.checkNameLength("handle", request.handle, ".top".length);
      rules.checkNameLength(
        "service",
        rules.oauthName(request.service, request.handle),
        ".top".length,
      );
    }
  },
  subject: (user, options) => ({
    type: "oauth",
    user,
    service: options.service,
    handle: options.service === null ? null : options.handle,
    scopes: options.scopes,
    audience: options.audience,
    accessToken: options.accessToken,
  }),
  decode: (user, read) => ({
    type: "oauth",
    user,
    service: read.string("service"),
    handle: read.string("handle"),
    scopes: read.string("scopes"),
    audience: read.string("audience"),
    accessToken: read.flag("accessToken"),
  }),
  async perform(ctx, target, request) {
    const store = await import("../oauth.ts");
    if (request.action === "add") {
      if (request.service === null) {
        throw new StoreError("bad-args", "add-oauth needs a service name (-s)");
      }
      return await store.addOAuth(
        ctx,
        target.user,
        { ...request, service: request.service },
        request.credential,
      );
    }
    if (request.action === "delete") return await store.deleteOAuth(ctx, target.user, request);
    return store.queryOAuth(ctx, target.user, request, request.minTtl ?? null);
  },
};
