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

import { mintToken, TokenError } from "../../auth/idtoken.ts";
import { readSigningKey, signingKeyPath } from "../../auth/keys.ts";
import { ConfigError } from "../../config/mod.ts";
import { printable, quote, StoreError } from "../../errors.ts";
import type { Result } from "../../output/result.ts";
import { type Command, UsageError } from "../command.ts";
import { optionsOf, type OptionSpec, PROGRAM_NAME } from "../grammar.ts";
import { writePrivateFile } from "../private_file.ts";

/** A parsed `token create` command line. */
export interface TokenCreate {
  readonly identity: string;
  readonly lifetime: number | null;
  readonly key: string;
  readonly authz: readonly string[];
  /** `-o FILE`: write the token there (0600) instead of stdout. */
  readonly output: string | null;
}

/** An option of condor_token_create: `-name` or `--name`. */
function own(
  name: string,
  argument: string,
  description: string,
  more: Partial<OptionSpec> = {},
): OptionSpec {
  return {
    short: null,
    long: name,
    aliases: [`-${name}`],
    key: name,
    argument,
    duplicate: { kind: "replace" },
    synopsis: null,
    description: [description],
    completes: "none",
    ...more,
  };
}

const [DEBUG, HELP] = optionsOf("debug", "help");

const OWN_OPTIONS: readonly OptionSpec[] = [
  own("identity", "USER@DOMAIN", "Who the token names (its sub claim)"),
  own("lifetime", "SECONDS", "How long it is valid (default: no expiry)"),
  own("key", "NAME", "The signing key (default POOL)"),
  own("authz", "NAME", "Limit it to an authorization level (repeatable)", {
    aliases: ["-authz", "-scope", "--scope"],
    duplicate: { kind: "append" },
  }),
  own("output", "FILE", "Write the token to FILE, mode 0600, instead of stdout", {
    short: "o",
    aliases: ["-output"],
    completes: "file",
  }),
  DEBUG,
  { ...HELP, aliases: ["-help"] },
];

/** The warning for a token without -lifetime (issue: such a token is valid until the key goes). */
function neverExpires(identity: string): string {
  return `this token never expires: whoever holds it acts as ${quote(identity)} until the ` +
    "signing key is replaced; give it a lifetime with -lifetime SECONDS (for example " +
    "-lifetime 86400 for a day)";
}

const WORD_NEEDED =
  "ERROR: token needs the word create, as in: token create -identity USER@DOMAIN\n";

/** `token create -identity USER@DOMAIN [-lifetime SECONDS] [-key NAME] [-authz NAME]...`. */
export const command: Command<TokenCreate, { words: number }> = {
  options: OWN_OPTIONS,
  usage: () =>
    [
      `Usage: ${PROGRAM_NAME} token create -identity USER@DOMAIN [-lifetime SECONDS] [-key NAME]`,
      "                                  [-authz NAME]... [-o FILE]",
      "  Mints an IDTOKEN signed with this pool's key (root only), for callers of a remote",
      `  ${PROGRAM_NAME} serve. Prints the token and a newline, or writes it to FILE.`,
      "",
      "    -identity USER@DOMAIN   Who the token names (its sub claim)",
      "    -lifetime SECONDS       How long it is valid (default: no expiry, with a warning)",
      "    -key NAME               The signing key: POOL (SEC_TOKEN_POOL_SIGNING_KEY_FILE,",
      "                               the default) or a file in SEC_PASSWORD_DIRECTORY",
      "    -authz NAME             Limit it to an authorization level (WRITE is what storing",
      "                               needs); repeatable; -scope is the same",
      "    -o, --output FILE       Write the token to FILE: atomically, mode 0600, never",
      "                               through a symbolic link (a file others may read is",
      "                               skipped by the client's token directory)",
      "    -d, --debug             Display debugging messages",
      "",
    ].join("\n"),
  // Nothing on this line is a secret: the word is shown as given (at most 20 characters).
  refuse: (_shown, arg) => `ERROR: token create does not know '${printable(arg.slice(0, 20))}'\n`,
  reader: {
    start: () => ({ words: 0 }),
    word(state, word) {
      state.words++;
      if (state.words === 2 && word.text !== "create") throw new UsageError(WORD_NEEDED);
      if (state.words > 2) {
        throw new UsageError(
          `ERROR: token create does not know '${printable(word.text.slice(0, 20))}'\n`,
        );
      }
    },
    finish(state, values) {
      if (state.words < 2) throw new UsageError(WORD_NEEDED);
      const identity = values.identity as string | undefined;
      if (identity === undefined) {
        throw new UsageError("ERROR: token create needs -identity USER@DOMAIN\n");
      }
      const at = identity.lastIndexOf("@");
      if (at < 1 || at === identity.length - 1) {
        throw new UsageError(
          `ERROR: -identity '${printable(identity.slice(0, 255))}' is not of the form ` +
            "USER@DOMAIN\n",
        );
      }
      const lifetime = values.lifetime as string | undefined;
      if (lifetime !== undefined && !/^\d{1,10}$/.test(lifetime)) {
        throw new UsageError("ERROR: -lifetime needs a whole number of seconds\n");
      }
      return {
        identity,
        lifetime: lifetime === undefined ? null : Number(lifetime),
        key: (values.key as string | undefined) ?? "POOL",
        authz: (values.authz as readonly string[] | undefined) ?? [],
        output: (values.output as string | undefined) ?? null,
      };
    },
  },
  details: [
    "Prints an IDTOKEN signed with this pool's key, for a caller of a remote daemon: -identity",
    "user@domain, -lifetime seconds, -key name (default POOL), -authz level (repeatable); -o FILE",
    "writes it to FILE (mode 0600) instead. Without -lifetime the token never expires, and a",
    "warning says so.",
  ],
  async run(session, line): Promise<Result> {
    if (session.uid !== 0) {
      const error = new StoreError(
        "permission",
        "token create reads the pool's signing key: run it as root",
      );
      return { kind: "failure", error };
    }
    let config;
    try {
      config = session.config();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return { kind: "config", message: error.message, about: { command: "other" } };
    }
    let ikm: Uint8Array | null = null;
    try {
      ikm = readSigningKey(config, session.owners(), line.key);
      if (ikm === null) {
        throw new StoreError(
          "config",
          `there is no signing key ${quote(line.key)} (${quote(signingKeyPath(config, line.key))})`,
          {
            remedy: "store the pool password first (condor_store_cred add -c), or name another " +
              "-key",
          },
        );
      }
      const token = await mintToken(ikm, {
        kid: line.key,
        issuer: config.get("TRUST_DOMAIN") ?? "",
        subject: line.identity,
        issuedAt: Math.floor(Date.now() / 1000),
        ...(line.lifetime === null ? {} : { lifetime: line.lifetime }),
        ...(line.authz.length === 0 ? {} : { authz: [...line.authz] }),
      });
      const warnings = line.lifetime === null ? [neverExpires(line.identity)] : [];
      if (line.output !== null) {
        const bytes = new TextEncoder().encode(`${token}\n`);
        try {
          const written = await writePrivateFile(session, line.output, bytes);
          session.debug(`token create done: wrote ${written}`);
        } finally {
          bytes.fill(0);
        }
        return { kind: "text", text: "", warnings };
      }
      session.debug("token create done");
      return { kind: "text", text: `${token}\n`, warnings };
    } catch (error) {
      if (error instanceof TokenError) {
        return { kind: "failure", error: new StoreError("bad-args", error.message) };
      }
      const failure = error instanceof ConfigError
        ? new StoreError("config", error.message)
        : error;
      if (!(failure instanceof StoreError)) throw failure;
      return { kind: "failure", error: failure };
    } finally {
      ikm?.fill(0);
    }
  },
};
