/**
 * Every configuration knob the program reads, in one table: its name, type, built-in default and
 * meaning. The built-in defaults of the configuration (defaults.ts), the typed accessors of a
 * loaded configuration (`Config.integer`, `Config.flag`), the man page's CONFIGURATION section
 * (reference.ts) and the test that checks the table against the knobs the source reads all come
 * from it. A new knob is one row here. Pure data.
 */

/** Upstream's default LOCAL_CONFIG_DIR_EXCLUDE_REGEXP (docs/upstream.md "Configuration"), used as a
 * JS RegExp. */
export const DEFAULT_EXCLUDE_REGEXP =
  "^((\\..*)|(.*\\.pl)|(.*\\.py)|(.*\\.sh)|(.*~)|(#.*)|(.*\\.rpmsave)|(.*\\.rpmnew)|" +
  "(.*\\.dpkg-old)|(.*\\.dpkg-dist)|(.*\\.cfsaved))$";

/** Where a knob matters; "internal" knobs are bases of other defaults, not settings. */
export type KnobGroup = "configuration" | "store" | "daemon" | "remote" | "internal";

/** How a knob's value is read. */
export type KnobType = "path" | "string" | "list" | "integer" | "boolean";

/** One knob. */
export interface Knob {
  readonly name: string;
  readonly group: KnobGroup;
  readonly type: KnobType;
  /** Its built-in default as HTCondor writes values (macros expanded when read), or null. */
  readonly default: string | null;
  /** The default as the man page shows it, when that is not `default` (or "unset"). */
  readonly shown?: string;
  readonly meaning: string;
}

/** The knobs, grouped, in the order the man page lists them; internal ones last. */
export const KNOBS = [
  {
    name: "LOCAL_CONFIG_FILE",
    group: "configuration",
    type: "list",
    default: null,
    meaning: "More configuration files, read after the main one",
  },
  {
    name: "LOCAL_CONFIG_DIR",
    group: "configuration",
    type: "list",
    default: null,
    meaning: "Directories whose files are read in name order after LOCAL_CONFIG_FILE",
  },
  {
    name: "LOCAL_CONFIG_DIR_EXCLUDE_REGEXP",
    group: "configuration",
    type: "string",
    default: DEFAULT_EXCLUDE_REGEXP,
    shown: "HTCondor's (dot files, *.rpmsave, *~, ...)",
    meaning: "Files of LOCAL_CONFIG_DIR that are skipped",
  },
  {
    name: "REQUIRE_LOCAL_CONFIG_FILE",
    group: "configuration",
    type: "boolean",
    default: "true",
    meaning: "Whether a missing LOCAL_CONFIG_FILE is an error",
  },
  {
    name: "NETWORK_HOSTNAME",
    group: "configuration",
    type: "string",
    default: null,
    meaning: "This host's name, instead of the system's",
  },
  {
    name: "DEFAULT_DOMAIN_NAME",
    group: "configuration",
    type: "string",
    default: null,
    meaning: "Appended to a host name without a domain to make FULL_HOSTNAME",
  },
  {
    name: "UID_DOMAIN",
    group: "store",
    type: "string",
    default: "$(FULL_HOSTNAME)",
    meaning: "The domain of user@domain names; -u must name it",
  },
  {
    name: "SEC_CREDENTIAL_DIRECTORY_OAUTH",
    group: "store",
    type: "path",
    default: null,
    shown: "unset (no configuration: /var/lib/condor/oauth_credentials)",
    meaning: "The OAuth store; use feature:OAUTH sets it",
  },
  {
    name: "SEC_CREDENTIAL_DIRECTORY_KRB",
    group: "store",
    type: "path",
    default: null,
    shown: "unset (no configuration: /var/lib/condor/krb_credentials)",
    meaning: "The Kerberos store; use feature:KRB sets it",
  },
  {
    name: "SEC_CREDENTIAL_DIRECTORY_PWD",
    group: "store",
    type: "path",
    default: "$(LOCAL_DIR)/lib/condor/pwd_credentials",
    meaning: "The sealed user passwords",
  },
  {
    name: "SEC_PASSWORD_DIRECTORY",
    group: "store",
    type: "path",
    default: "$(ETC)/passwords.d",
    meaning: "The pool's signing keys (IDTOKENS)",
  },
  {
    name: "SEC_PASSWORD_FILE",
    group: "store",
    type: "path",
    default: "$(SEC_PASSWORD_DIRECTORY)/POOL",
    meaning: "The pool password file",
  },
  {
    name: "SEC_PASSWORD_DOMAIN",
    group: "store",
    type: "string",
    default: null,
    shown: "$(UID_DOMAIN)",
    meaning: "The domain of the pool account condor_pool@domain",
  },
  {
    name: "CONDOR_IDS",
    group: "store",
    type: "string",
    default: null,
    shown: "the condor account",
    meaning: "uid.gid of the condor user, a trusted owner of the store",
  },
  {
    name: "CRED_SUPER_USERS",
    group: "store",
    type: "list",
    default: null,
    meaning: "Users who may act on other users' credentials (root always may)",
  },
  {
    name: "CRED_AUDIT_LOG",
    group: "store",
    type: "path",
    default: null,
    meaning: "A file that gets one JSON line per add or delete, never a secret",
  },
  {
    name: "CRED_LOCK_TIMEOUT",
    group: "store",
    type: "integer",
    default: "10",
    meaning: "Seconds to wait for another writer of the same user's credentials",
  },
  {
    name: "CREDD_POLLING_TIMEOUT",
    group: "store",
    type: "integer",
    default: "20",
    meaning: "Seconds add-krb waits for the credmon's .cc",
  },
  {
    name: "TRUSTED_VAULT_HOSTS",
    group: "store",
    type: "list",
    default: null,
    meaning: "When set, add-oauth refuses a Vault token from any other host",
  },
  {
    name: "SEC_CREDENTIAL_SWEEP_DELAY",
    group: "store",
    type: "integer",
    default: "3600",
    meaning: "Seconds after a mark before a user's credentials are swept",
  },
  {
    name: "CREDD_SOCKET",
    group: "daemon",
    type: "path",
    default: "$(RUN)/credd.sock",
    shown: "$(RUN)/credd.sock (/run/condor/credd.sock, or /var/run/condor/credd.sock with " +
      "the packaged configuration: the same place)",
    meaning: "The daemon's Unix socket",
  },
  {
    name: "CREDD_CHALLENGE_DIRECTORY",
    group: "daemon",
    type: "path",
    default: "/tmp",
    meaning: "Where local callers prove who they are (root-owned, sticky, 1777)",
  },
  {
    name: "CREDD_CHALLENGE_LIFETIME",
    group: "daemon",
    type: "integer",
    default: "10",
    meaning: "Seconds a caller has to answer an identity challenge",
  },
  {
    name: "CREDD_MAX_CONNECTIONS",
    group: "daemon",
    type: "integer",
    default: "4096",
    meaning: "Open connections at most; at the limit an idle one of whoever holds the most is " +
      "closed",
  },
  {
    name: "CREDD_MAX_UNPROVEN_CONNECTIONS",
    group: "daemon",
    type: "integer",
    default: "256",
    shown: "256 (at most CREDD_MAX_CONNECTIONS)",
    meaning: "Connections that have not proven a caller yet; a new one closes the oldest of them",
  },
  {
    name: "CREDD_MAX_CALLER_CONNECTIONS",
    group: "daemon",
    type: "integer",
    default: "64",
    meaning: "Connections one caller (but root) may hold; one more closes its own oldest idle one",
  },
  {
    name: "CREDD_MAX_CALLER_REQUESTS",
    group: "daemon",
    type: "integer",
    default: "4",
    meaning: "Requests of one caller (but root) performed at once; the next ones wait their turn",
  },
  {
    name: "CREDD_WORKERS",
    group: "daemon",
    type: "integer",
    default: "4",
    meaning: "Threads that run requests",
  },
  {
    name: "CRED_MAX_CREDENTIALS_PER_USER",
    group: "daemon",
    type: "integer",
    default: "100",
    meaning: "Credentials a daemon caller other than root and CRED_SUPER_USERS may keep (a .top " +
      "and .use of one name are one); an add past it is refused; 0 turns the limit off",
  },
  {
    name: "CRED_MAX_BYTES_PER_USER",
    group: "daemon",
    type: "integer",
    default: "16777216",
    shown: "16777216 (16 MiB)",
    meaning: "Bytes of credential files such a caller may keep, every file stored for them " +
      "counted; an add that would pass it is refused; 0 turns the limit off",
  },
  {
    name: "SEC_CREDENTIAL_SWEEP_INTERVAL",
    group: "daemon",
    type: "integer",
    default: "300",
    meaning: "Seconds between the daemon's sweeps of marked credentials",
  },
  {
    name: "CREDD_TLS_ADDRESS",
    group: "remote",
    type: "string",
    default: null,
    shown: "unset (no TCP listener)",
    meaning: "host:port, :port or host (port 9620) the daemon serves remote callers on",
  },
  {
    name: "AUTH_SSL_SERVER_CERTFILE",
    group: "remote",
    type: "list",
    default: null,
    meaning: "The daemon's TLS certificate chain (PEM)",
  },
  {
    name: "AUTH_SSL_SERVER_KEYFILE",
    group: "remote",
    type: "list",
    default: null,
    meaning: "The daemon's TLS private key (PEM)",
  },
  {
    name: "AUTH_SSL_CLIENT_CAFILE",
    group: "remote",
    type: "list",
    default: null,
    shown: "unset (Deno's built-in roots only)",
    meaning: "PEM files (comma-separated) of CAs a client trusts for the daemon's certificate, " +
      "besides Deno's built-in roots",
  },
  {
    name: "CREDD_AUTH_FAILURE_LIMIT",
    group: "remote",
    type: "integer",
    default: "10",
    meaning: "Failed verifications of one token per minute before it is refused unverified; " +
      "0 turns the limit off",
  },
  {
    name: "CREDD_AUTH_FAILURES_PER_MINUTE",
    group: "remote",
    type: "integer",
    default: "600",
    meaning: "Failed token verifications per minute in all before tokens not verified in that " +
      "minute are refused unverified; 0 turns the limit off",
  },
  {
    name: "CREDD_HOST",
    group: "remote",
    type: "string",
    default: null,
    meaning: "The daemon every command but the pool password's goes to, as -n would name it",
  },
  {
    name: "TRUST_DOMAIN",
    group: "remote",
    type: "string",
    default: "$(UID_DOMAIN)",
    meaning: "The issuer of IDTOKENS this pool makes and accepts",
  },
  {
    name: "SEC_TOKEN_POOL_SIGNING_KEY_FILE",
    group: "remote",
    type: "path",
    default: "$(SEC_PASSWORD_FILE)",
    meaning: "The key of IDTOKENS signed with the key name POOL",
  },
  {
    name: "SEC_TOKEN_POOL_SIGNING_KEY_IS_PASSWORD",
    group: "remote",
    type: "boolean",
    default: "false",
    meaning: "Read that key as a password (up to its first NUL byte)",
  },
  {
    name: "SEC_TOKEN_MAX_AGE",
    group: "remote",
    type: "integer",
    default: null,
    shown: "unset (no limit)",
    meaning: "Seconds after its iat that the daemon still accepts a token",
  },
  {
    name: "SEC_TOKEN_DIRECTORY",
    group: "remote",
    type: "path",
    default: null,
    shown: "~/.condor/tokens.d (root: SEC_TOKEN_SYSTEM_DIRECTORY)",
    meaning: "Where a client looks for its IDTOKEN",
  },
  {
    name: "SEC_TOKEN_SYSTEM_DIRECTORY",
    group: "remote",
    type: "path",
    default: "$(ETC)/tokens.d",
    meaning: "Where root's client looks for its IDTOKEN",
  },
  {
    name: "RELEASE_DIR",
    group: "internal",
    type: "path",
    default: "/usr",
    meaning: "A base of other defaults (HTCondor's)",
  },
  {
    name: "LOCAL_DIR",
    group: "internal",
    type: "path",
    default: "$(TILDE)",
    meaning: "A base of other defaults (HTCondor's)",
  },
  {
    name: "ETC",
    group: "internal",
    type: "path",
    default: "$(LOCAL_DIR)",
    meaning: "A base of other defaults (HTCondor's)",
  },
  {
    name: "LOG",
    group: "internal",
    type: "path",
    default: "$(LOCAL_DIR)/log",
    meaning: "A base of other defaults (HTCondor's)",
  },
  {
    name: "LOCK",
    group: "internal",
    type: "path",
    default: "$(LOG)",
    meaning: "A base of other defaults (HTCondor's)",
  },
  {
    name: "RUN",
    group: "internal",
    type: "path",
    default: "$(LOCK)",
    meaning: "A base of other defaults (HTCondor's)",
  },
  {
    name: "SPOOL",
    group: "internal",
    type: "path",
    default: "$(LOCAL_DIR)/spool",
    meaning: "A base of other defaults (HTCondor's)",
  },
  {
    name: "LIBEXEC",
    group: "internal",
    type: "path",
    default: "$(RELEASE_DIR)/libexec",
    meaning: "A base of other defaults (HTCondor's)",
  },
  {
    name: "SEC_CREDENTIAL_REFRESH_INTERVAL",
    group: "internal",
    type: "integer",
    default: "-1",
    meaning: "HTCondor's default, kept for configurations that expand it",
  },
  {
    name: "CREDD_OAUTH_MODE",
    group: "internal",
    type: "boolean",
    default: "true",
    meaning: "HTCondor's default, kept for configurations that expand it",
  },
  {
    name: "TRUST_CREDENTIAL_DIRECTORY",
    group: "internal",
    type: "boolean",
    default: "false",
    meaning: "HTCondor's default, kept for configurations that expand it",
  },
  {
    name: "CREDMON_ALLOW_SPECIAL_CHAR_NAMES",
    group: "internal",
    type: "boolean",
    default: "false",
    meaning: "HTCondor's default, kept for configurations that expand it",
  },
  {
    name: "COLLECTOR_PORT",
    group: "internal",
    type: "integer",
    default: "9618",
    meaning: "HTCondor's default, kept for configurations that expand it",
  },
] as const satisfies readonly Knob[];

/** A knob of the table. */
export type KnobName = typeof KNOBS[number]["name"];

/** The knobs read as whole numbers, with a default (`Config.integer`). */
export type IntegerKnob = Extract<
  typeof KNOBS[number],
  { readonly type: "integer"; readonly default: string }
>["name"];

/** The knobs read as booleans, with a default (`Config.flag`). */
export type BooleanKnob = Extract<
  typeof KNOBS[number],
  { readonly type: "boolean"; readonly default: string }
>["name"];

/** The row of a knob. */
export function knob(name: KnobName): Knob {
  return KNOBS.find((k) => k.name === name)!;
}
