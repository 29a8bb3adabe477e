/**
 * What a client needs to reach a remote daemon (README "Remote daemons"): the CA certificates it
 * trusts (AUTH_SSL_CLIENT_CAFILE, besides Deno's built-in roots) and the IDTOKEN it proves itself with
 * (`--token-file`, else the token directory upstream would use), chosen once the daemon's trust
 * domain is known: issued by that domain, naming an identity, not expired.
 */

import type { AccountDb } from "../accounts.ts";
import { readTokenDirectory, readTokenFile, tokenDirectory, tokenProblem } from "../auth/keys.ts";
import type { Config } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import type { Owners } from "../fs/owners.ts";

/**
 * The CA certificates of AUTH_SSL_CLIENT_CAFILE (a comma-separated list of PEM files; every
 * readable one counts), or undefined when it names none that can be read.
 */
export function caCertificates(config: Config): string[] | undefined {
  const files = (config.get("AUTH_SSL_CLIENT_CAFILE") ?? "").split(",").map((f) => f.trim())
    .filter(Boolean);
  const certs: string[] = [];
  for (const file of files) {
    try {
      certs.push(Deno.readTextFileSync(file));
    } catch {
      // An unreadable file of the list is skipped.
    }
  }
  return certs.length === 0 ? undefined : certs;
}

/** Options of `tokenChooser`. */
export interface TokenSource {
  readonly config: Config;
  readonly owners: Owners;
  readonly accounts: AccountDb;
  readonly euid: number;
  readonly cwd: string;
  /** `--token-file`, or null for the token directory. */
  readonly tokenFile: string | null;
  /** The daemon, for messages. */
  readonly shown: string;
}

/**
 * Returns the function that picks the caller's token for a daemon of a given trust domain.
 * It throws StoreError("not-secure") saying why none fits (none found, all expired, another
 * issuer) and where it looked.
 */
export function tokenChooser(source: TokenSource): (trustDomain: string) => string {
  return (trustDomain) => {
    const dir = source.tokenFile === null
      ? tokenDirectory(source.config, source.euid, source.accounts)
      : null;
    const tokens = source.tokenFile !== null
      ? readTokenFile(source.tokenFile, source.owners, source.cwd)
      : dir === null
      ? []
      : readTokenDirectory(source.config, dir, source.owners);
    const where = source.tokenFile !== null
      ? `in ${quote(source.tokenFile)}`
      : dir === null
      ? "(no token directory: set SEC_TOKEN_DIRECTORY)"
      : `in ${quote(dir)}`;
    const now = Math.floor(Date.now() / 1000);
    const problems: string[] = [];
    for (const token of tokens) {
      const problem = tokenProblem(token, trustDomain, now);
      if (problem === null) return token;
      problems.push(problem);
    }
    const why = problems.length === 0
      ? `no IDTOKEN found ${where}`
      : problems.includes("it has expired")
      ? `every IDTOKEN ${where} for ${quote(trustDomain)} has expired`
      : `no IDTOKEN ${where} is for the trust domain ${quote(trustDomain)} (${problems[0]})`;
    throw new StoreError(
      "not-secure",
      `cannot prove who you are to the daemon at ${source.shown}: ${why}`,
      {
        remedy: "ask the pool's administrator for a token (condor_store_cred token create, or " +
          "condor_token_create) and put it in your token directory or name it with --token-file",
      },
    );
  };
}
