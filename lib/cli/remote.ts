/**
 * What a client needs to reach a remote daemon (README "Remote daemons"): the CA certificates it
 * trusts (AUTH_SSL_CLIENT_CAFILE, besides Deno's built-in roots) and the IDTOKEN it proves itself with
 * (`--token-file FILE` or `-`, the environment variable CONDOR_STORE_CRED_IDTOKEN, else the token
 * directory upstream would use), chosen once the daemon's trust domain is known: issued by that
 * domain, naming an identity, not expired.
 */

import type { AccountDb } from "../accounts.ts";
import {
  readTokenDirectory,
  readTokenFile,
  type SkippedToken,
  tokenDirectory,
  tokenProblem,
  tokensIn,
} from "../auth/keys.ts";
import type { Config } from "../config/mod.ts";
import { quote, StoreError } from "../errors.ts";
import type { Owners } from "../fs/owners.ts";
import { readStandardInput } from "../input.ts";
import type { Io } from "../io.ts";
import { TOKEN_VARIABLE } from "./grammar.ts";

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

/** Largest IDTOKEN text read from standard input or the environment. */
const MAX_TOKEN_TEXT = 64 * 1024;

/**
 * Where the caller's IDTOKENs come from, in order of precedence: `--token-file FILE`,
 * `--token-file -` (standard input, read before anything is sent), the environment variable
 * {@link TOKEN_VARIABLE}, the token directory. Never the command line.
 */
export type TokenOrigin =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "text"; readonly text: string; readonly shown: string }
  | { readonly kind: "directory" };

/** Options of `tokenChooser`. */
export interface TokenSource {
  readonly config: Config;
  readonly owners: Owners;
  readonly accounts: AccountDb;
  readonly euid: number;
  readonly cwd: string;
  readonly origin: TokenOrigin;
  /** The daemon, for messages. */
  readonly shown: string;
}

/**
 * Where a remote request's IDTOKEN comes from: `--token-file` (`-` reads standard input, up to
 * 64 KiB), else the environment variable {@link TOKEN_VARIABLE} when set and not empty, else the
 * token directory. Throws StoreError("input") when standard input cannot be read or is too long.
 */
export async function tokenOrigin(
  tokenFile: string | null,
  io: Io,
  debug: (line: string) => void,
): Promise<TokenOrigin> {
  if (tokenFile === "-") {
    debug("reading the IDTOKEN from standard input (--token-file -)");
    const bytes = await readStandardInput(io, MAX_TOKEN_TEXT, "the IDTOKEN on standard input");
    try {
      return { kind: "text", text: new TextDecoder().decode(bytes), shown: "on standard input" };
    } finally {
      bytes.fill(0);
    }
  }
  if (tokenFile !== null) return { kind: "file", path: tokenFile };
  const text = io.env[TOKEN_VARIABLE];
  if (text !== undefined && text.trim() !== "") {
    debug(`using the IDTOKEN of the environment variable ${TOKEN_VARIABLE}`);
    return {
      kind: "text",
      text: text.slice(0, MAX_TOKEN_TEXT),
      shown: `in the environment variable ${TOKEN_VARIABLE}`,
    };
  }
  return { kind: "directory" };
}

/** At most this many skipped token files are named in an error. */
const SHOWN_SKIPPED = 5;

/** The files of a token directory that were skipped, for the error that found no token. */
function describeSkipped(skipped: readonly SkippedToken[]): string {
  if (skipped.length === 0) return "";
  const shown = skipped.slice(0, SHOWN_SKIPPED).map((s) => {
    const why = s.why.replace(`refusing to use ${quote(s.path)}: `, "");
    return `; skipped ${quote(s.path)}: ${why}${s.remedy ? ` (${s.remedy})` : ""}`;
  });
  const rest = skipped.length - SHOWN_SKIPPED;
  return shown.join("") + (rest > 0 ? `; and skipped ${rest} more` : "");
}

/**
 * Returns the function that picks the caller's token for a daemon of a given trust domain.
 * It throws StoreError("not-secure") saying why none fits (none found, all expired, another
 * issuer), where it looked, and which files of the token directory it skipped and why.
 */
export function tokenChooser(source: TokenSource): (trustDomain: string) => string {
  return (trustDomain) => {
    const { origin } = source;
    const dir = origin.kind === "directory"
      ? tokenDirectory(source.config, source.euid, source.accounts)
      : null;
    const found = origin.kind === "file"
      ? { tokens: readTokenFile(origin.path, source.owners, source.cwd), skipped: [] }
      : origin.kind === "text"
      ? { tokens: tokensIn(origin.text), skipped: [] }
      : dir === null
      ? { tokens: [], skipped: [] }
      : readTokenDirectory(source.config, dir, source.owners);
    const where = origin.kind === "file"
      ? `in ${quote(origin.path)}`
      : origin.kind === "text"
      ? origin.shown
      : dir === null
      ? "(no token directory: set SEC_TOKEN_DIRECTORY)"
      : `in ${quote(dir)}`;
    const now = Math.floor(Date.now() / 1000);
    const problems: string[] = [];
    for (const token of found.tokens) {
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
      `cannot prove who you are to the daemon at ${source.shown}: ${why}` +
        describeSkipped(found.skipped),
      {
        remedy: "ask the pool's administrator for a token (condor_store_cred token create, or " +
          "condor_token_create) and put it in your token directory (mode 0600), name it with " +
          `--token-file, or set ${TOKEN_VARIABLE}`,
      },
    );
  };
}
