/**
 * Passwords (docs/storage.md): a user's sealed `<user@domain>.pwd` in SEC_CREDENTIAL_DIRECTORY_PWD
 * and the pool password in SEC_PASSWORD_FILE; the legacy type of a command with no suffix.
 */

import type { CredentialType } from "./type.ts";

/** Largest password (docs/storage.md "Limits"). */
export const PASSWORD_LIMIT = 255;

/** The password type. */
export const password: CredentialType<"password"> = {
  name: "password",
  word: "pwd",
  keywords: [{ keyword: "pwd", minLength: 1 }, { keyword: "password", minLength: 2 }],
  directory: "pwd",
  limit: PASSWORD_LIMIT,
  byAccount: true,
  pool: true,
  typed: true,
  services: false,
  namesCaller: false,
  addWaitsForCredmon: false,
  credmonFiles: null,
  checkNames(target, _request, rules) {
    rules.checkName("domain", target.domain);
    rules.checkNameLength("user", target.account, ".pwd".length);
  },
  subject: (user, options) => ({ type: "password", pool: options.pool, user }),
  decode: (user, read) => ({ type: "password", pool: read.flag("pool"), user }),
  async perform(ctx, target, request) {
    const store = await import("../password.ts");
    if (target.pool) {
      if (request.action === "add") return await store.addPoolPassword(ctx, request.credential);
      if (request.action === "delete") return await store.deletePoolPassword(ctx);
      return store.queryPoolPassword(ctx);
    }
    if (request.action === "add") {
      return await store.addUserPassword(ctx, target.account, request.credential);
    }
    if (request.action === "delete") return await store.deleteUserPassword(ctx, target.account);
    return await store.queryUserPassword(ctx, target.account);
  },
};
