/**
 * `condor_store_cred token create`: mints an IDTOKEN with this pool's signing key, as upstream's
 * `condor_token_create` does (docs/upstream.md "IDTOKENS"), so small pools and tests can give
 * remote callers a token. Root only: it reads the signing key.
 *
 *   token create -identity USER@DOMAIN [-lifetime SECONDS] [-key NAME] [-authz NAME]...
 *
 * Options are spelled as condor_token_create spells them, with one or two dashes; `-scope` is
 * another name for `-authz`.
 */

import { AccountDb } from "../accounts.ts";
import { mintToken, TokenError } from "../auth/idtoken.ts";
import { readSigningKey, signingKeyPath } from "../auth/keys.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { printable, quote, StoreError } from "../errors.ts";
import type { Io } from "../io.ts";
import { errorText } from "../output/text.ts";
import { createStoreContext } from "../store/service.ts";

/** A parsed `token create` command line. */
export interface TokenCreate {
  readonly identity: string;
  readonly lifetime: number | null;
  readonly key: string;
  readonly authz: readonly string[];
}

/** The help text of `token create`. */
export function tokenHelp(program = "condor_store_cred"): string {
  return [
    `Usage: ${program} token create -identity USER@DOMAIN [-lifetime SECONDS] [-key NAME]`,
    "                                  [-authz NAME]...",
    "  Mints an IDTOKEN signed with this pool's key (root only), for callers of a remote",
    `  ${program} serve. Prints the token and a newline.`,
    "",
    "    -identity USER@DOMAIN   Who the token names (its sub claim)",
    "    -lifetime SECONDS       How long it is valid (default: no expiry)",
    "    -key NAME               The signing key: POOL (SEC_TOKEN_POOL_SIGNING_KEY_FILE,",
    "                               the default) or a file in SEC_PASSWORD_DIRECTORY",
    "    -authz NAME             Limit it to an authorization level (WRITE is what storing",
    "                               needs); repeatable; -scope is the same",
    "",
  ].join("\n");
}

/** Parses the words after `token`. Returns the command, "help", or an error message. */
export function parseTokenCommand(args: readonly string[]): TokenCreate | "help" | string {
  if (args.includes("-h") || args.includes("--help") || args.includes("-help")) return "help";
  if (args[0] !== "create") {
    return "ERROR: token needs the word create, as in: token create -identity USER@DOMAIN\n";
  }
  let identity: string | null = null;
  let lifetime: number | null = null;
  let key = "POOL";
  const authz: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const name = args[i].replace(/^--?/, "");
    const value = args[i + 1];
    if (
      !["identity", "lifetime", "key", "authz", "scope"].includes(name) || !args[i].startsWith("-")
    ) {
      return `ERROR: token create does not know '${printable(args[i].slice(0, 20))}'\n`;
    }
    if (value === undefined) return `ERROR: -${name} requires an argument\n`;
    i++;
    if (name === "identity") identity = value;
    else if (name === "key") key = value;
    else if (name === "lifetime") {
      if (!/^\d{1,10}$/.test(value)) return `ERROR: -lifetime needs a whole number of seconds\n`;
      lifetime = Number(value);
    } else authz.push(value);
  }
  if (identity === null) return "ERROR: token create needs -identity USER@DOMAIN\n";
  const at = identity.lastIndexOf("@");
  if (at < 1 || at === identity.length - 1) {
    return `ERROR: -identity '${
      printable(identity.slice(0, 255))
    }' is not of the form USER@DOMAIN\n`;
  }
  return { identity, lifetime, key, authz };
}

/** Mints and prints the token. Returns the exit status. */
export async function runTokenCreate(io: Io, command: TokenCreate): Promise<number> {
  const uid = io.uid();
  if (uid !== 0) {
    io.writeErr("ERROR: token create reads the pool's signing key: run it as root\n");
    return 1;
  }
  let config;
  try {
    config = loadConfig({
      env: { ...io.env },
      uid,
      hostname: io.hostname(),
      home: new AccountDb().byUid(uid)?.home,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.writeErr(`${error.message}\n`);
    return 1;
  }
  const issuer = config.get("TRUST_DOMAIN") ?? "";
  let ikm: Uint8Array | null = null;
  try {
    ikm = readSigningKey(config, createStoreContext(config, { euid: uid }).owners, command.key);
    if (ikm === null) {
      throw new StoreError(
        "config",
        `there is no signing key ${quote(command.key)} (${
          quote(signingKeyPath(config, command.key))
        })`,
        {
          remedy: "store the pool password first (condor_store_cred add -c), or name another -key",
        },
      );
    }
    const token = await mintToken(ikm, {
      kid: command.key,
      issuer,
      subject: command.identity,
      issuedAt: Math.floor(Date.now() / 1000),
      ...(command.lifetime === null ? {} : { lifetime: command.lifetime }),
      ...(command.authz.length === 0 ? {} : { authz: [...command.authz] }),
    });
    io.writeOut(`${token}\n`);
    return 0;
  } catch (error) {
    if (error instanceof TokenError) {
      io.writeErr(`ERROR: ${printable(error.message)}\n`);
      return 1;
    }
    const failure = error instanceof ConfigError ? new StoreError("config", error.message) : error;
    if (!(failure instanceof StoreError)) throw failure;
    io.writeErr(`ERROR: ${errorText(failure)}\n`);
    return 1;
  } finally {
    ikm?.fill(0);
  }
}
