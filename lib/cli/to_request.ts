/**
 * From a parsed command line to a request (lib/request.ts): the account shown in the header, the
 * request draft, and where an add's credential comes from. Pure functions.
 */

import type { Config } from "../config/mod.ts";
import { StoreError } from "../errors.ts";
import type { CredentialSource } from "../input.ts";
import { POOL_USER, type RequestDraft, splitAccount } from "../request.ts";
import { poolAccount } from "../store/service.ts";
import { credentialType } from "../store/types/mod.ts";
import type { CommandLine } from "./commands/action.ts";

/**
 * The account as the header shows it (docs/upstream.md "Account and header", deviation 5):
 * the pool account for `-c`, the `-u` value, `<login>@<UID_DOMAIN>` for passwords, else
 * `<current> (<login>)`. Null when `-c` has no domain to use.
 */
export function headerAccount(
  command: CommandLine,
  config: Config,
  login: string | null,
): { account: string; pool: boolean } | null {
  if (command.pool) {
    const account = poolAccount(config);
    return account === null ? null : { account, pool: true };
  }
  if (command.user !== null) {
    return { account: command.user, pool: splitAccount(command.user).user === POOL_USER };
  }
  const name = login ?? "";
  if (credentialType(command.type).byAccount) {
    return { account: `${name}@${config.get("UID_DOMAIN") ?? ""}`, pool: false };
  }
  return { account: `<current> (${name})`, pool: false };
}

/**
 * The request a command line asks for, before any credential is read. Throws
 * StoreError("bad-args") for OAuth options without an OAuth type (upstream refuses them as bad
 * arguments) and for a caller without a login name and no `-u`.
 */
export function planRequest(
  command: CommandLine,
  config: Config,
  login: string | null,
  uid: number,
): RequestDraft {
  const oauthOptions = command.service ?? command.handle ?? command.scopes ?? command.audience;
  if (command.legacy && oauthOptions !== null) {
    throw new StoreError(
      "bad-args",
      "-s, -H, -S and -A belong to OAuth credentials; use add-oauth, delete-oauth or query-oauth",
    );
  }
  // -c with a Kerberos or OAuth type names the pool account, which the service refuses.
  const type = credentialType(command.type);
  const user = command.pool && !type.pool ? poolAccount(config) : command.user;
  if (user === null && !command.pool && login === null) {
    throw new StoreError(
      "bad-args",
      `cannot find a user name for uid ${uid} in /etc/passwd; name the account with -u user@domain`,
    );
  }
  const base = command.action === "query"
    ? { action: "query" as const, minTtl: command.minTtl }
    : { action: command.action };
  return { ...base, ...type.subject(user, command) };
}

/** Where an add's credential comes from, in upstream's order: -i, -p -, -p VALUE, the prompt. */
export function credentialSource(command: CommandLine): CredentialSource {
  if (command.input !== null) return { kind: "input", path: command.input };
  if (command.password === "-") return { kind: "password-stdin" };
  if (command.password) return { kind: "password", value: command.password };
  return { kind: "prompt" };
}
