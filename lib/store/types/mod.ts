/**
 * The credential-type registry (README "Architecture"): one line per type, each a module of this
 * folder. `satisfies` makes a type of lib/request.ts without a line here (or a line without a
 * type) a compile error, and every per-type table elsewhere is a `Record<CredType, …>`, so the
 * compiler names each place a new type must be handled.
 */

import type { CredType } from "../../request.ts";
import { kerberos } from "./kerberos.ts";
import { oauth } from "./oauth.ts";
import { password } from "./password.ts";
import type { CredentialType } from "./type.ts";

export type { CredentialType } from "./type.ts";

/** Every credential type, in the order listings and the grammar's keywords use. */
export const CREDENTIAL_TYPES = {
  password,
  kerberos,
  oauth,
} as const satisfies { readonly [T in CredType]: CredentialType<T> };

/** The type names, in the registry's order. */
export const CRED_TYPES: readonly CredType[] = Object.keys(CREDENTIAL_TYPES) as CredType[];

/** The type called `name`. */
export function credentialType<T extends CredType>(name: T): CredentialType<T> {
  return CREDENTIAL_TYPES[name] as CredentialType<T>;
}

/** True when `name` (from a peer or a file: any value) names a credential type. */
export function isCredType(name: unknown): name is CredType {
  return typeof name === "string" && Object.hasOwn(CREDENTIAL_TYPES, name);
}

/** The type names as a sentence's list: `password, kerberos or oauth`. */
export function typeNames(last: string = "or"): string {
  return `${CRED_TYPES.slice(0, -1).join(", ")} ${last} ${CRED_TYPES[CRED_TYPES.length - 1]}`;
}
