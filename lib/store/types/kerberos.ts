/**
 * Kerberos (docs/storage.md): `<user>.cred` in SEC_CREDENTIAL_DIRECTORY_KRB, which the Kerberos
 * credmon turns into `<user>.cc`.
 */

import { OAUTH_LIMIT } from "./oauth.ts";
import type { CredentialType } from "./type.ts";

/** The Kerberos type. */
export const kerberos: CredentialType<"kerberos"> = {
  name: "kerberos",
  word: "krb",
  keywords: [{ keyword: "krb", minLength: 2 }, { keyword: "kerberos", minLength: 2 }],
  directory: "krb",
  limit: OAUTH_LIMIT,
  byAccount: false,
  pool: false,
  typed: false,
  services: false,
  namesCaller: true,
  addWaitsForCredmon: true,
  credmonFiles: { input: ".cred", output: ".cc" },
  checkNames(target, _request, rules) {
    rules.checkNameLength("user", target.user, ".cred".length);
  },
  subject: (user) => ({ type: "kerberos", user }),
  decode: (user) => ({ type: "kerberos", user }),
  async perform(ctx, target, request) {
    const store = await import("../kerberos.ts");
    if (request.action === "add") {
      return await store.addKerberos(ctx, target.user, request.credential);
    }
    if (request.action === "delete") return await store.deleteKerberos(ctx, target.user);
    return store.queryKerberos(ctx, target.user);
  },
};
