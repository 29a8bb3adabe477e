/**
 * Every configuration knob the program reads, with its default and meaning: the CONFIGURATION
 * section of the man page is generated from this table, and a test checks it against the knobs
 * the source reads, so that the documentation cannot miss one. Pure data.
 */

/** Where a knob matters. */
export type KnobGroup = "configuration" | "store" | "daemon" | "remote";

/** One documented knob. */
export interface KnobDoc {
  readonly name: string;
  readonly group: KnobGroup;
  /** Its default, as an operator would write it ("unset" when it has none). */
  readonly default: string;
  readonly meaning: string;
}

/** The knobs, grouped, in the order the man page lists them. */
export const KNOB_REFERENCE: readonly KnobDoc[] = [
  {
    name: "LOCAL_CONFIG_FILE",
    group: "configuration",
    default: "unset",
    meaning: "More configuration files, read after the main one",
  },
  {
    name: "LOCAL_CONFIG_DIR",
    group: "configuration",
    default: "unset",
    meaning: "Directories whose files are read in name order after LOCAL_CONFIG_FILE",
  },
  {
    name: "LOCAL_CONFIG_DIR_EXCLUDE_REGEXP",
    group: "configuration",
    default: "HTCondor's (dot files, *.rpmsave, *~, ...)",
    meaning: "Files of LOCAL_CONFIG_DIR that are skipped",
  },
  {
    name: "REQUIRE_LOCAL_CONFIG_FILE",
    group: "configuration",
    default: "true",
    meaning: "Whether a missing LOCAL_CONFIG_FILE is an error",
  },
  {
    name: "NETWORK_HOSTNAME",
    group: "configuration",
    default: "unset",
    meaning: "This host's name, instead of the system's",
  },
  {
    name: "DEFAULT_DOMAIN_NAME",
    group: "configuration",
    default: "unset",
    meaning: "Appended to a host name without a domain to make FULL_HOSTNAME",
  },
  {
    name: "UID_DOMAIN",
    group: "store",
    default: "$(FULL_HOSTNAME)",
    meaning: "The domain of user@domain names; -u must name it",
  },
  {
    name: "SEC_CREDENTIAL_DIRECTORY_OAUTH",
    group: "store",
    default: "unset (no configuration: /var/lib/condor/oauth_credentials)",
    meaning: "The OAuth store; use feature:OAUTH sets it",
  },
  {
    name: "SEC_CREDENTIAL_DIRECTORY_KRB",
    group: "store",
    default: "unset (no configuration: /var/lib/condor/krb_credentials)",
    meaning: "The Kerberos store; use feature:KRB sets it",
  },
  {
    name: "SEC_CREDENTIAL_DIRECTORY_PWD",
    group: "store",
    default: "$(LOCAL_DIR)/lib/condor/pwd_credentials",
    meaning: "The sealed user passwords",
  },
  {
    name: "SEC_PASSWORD_DIRECTORY",
    group: "store",
    default: "$(ETC)/passwords.d",
    meaning: "The pool's signing keys (IDTOKENS)",
  },
  {
    name: "SEC_PASSWORD_FILE",
    group: "store",
    default: "$(SEC_PASSWORD_DIRECTORY)/POOL",
    meaning: "The pool password file",
  },
  {
    name: "SEC_PASSWORD_DOMAIN",
    group: "store",
    default: "$(UID_DOMAIN)",
    meaning: "The domain of the pool account condor_pool@domain",
  },
  {
    name: "CONDOR_IDS",
    group: "store",
    default: "the condor account",
    meaning: "uid.gid of the condor user, a trusted owner of the store",
  },
  {
    name: "CRED_SUPER_USERS",
    group: "store",
    default: "unset",
    meaning: "Users who may act on other users' credentials (root always may)",
  },
  {
    name: "CRED_AUDIT_LOG",
    group: "store",
    default: "unset",
    meaning: "A file that gets one JSON line per add or delete, never a secret",
  },
  {
    name: "CRED_LOCK_TIMEOUT",
    group: "store",
    default: "10",
    meaning: "Seconds to wait for another writer of the same user's credentials",
  },
  {
    name: "CREDD_POLLING_TIMEOUT",
    group: "store",
    default: "20",
    meaning: "Seconds add-krb waits for the credmon's .cc",
  },
  {
    name: "TRUSTED_VAULT_HOSTS",
    group: "store",
    default: "unset",
    meaning: "When set, add-oauth refuses a Vault token from any other host",
  },
  {
    name: "SEC_CREDENTIAL_SWEEP_DELAY",
    group: "store",
    default: "3600",
    meaning: "Seconds after a mark before a user's credentials are swept",
  },
  {
    name: "CREDD_SOCKET",
    group: "daemon",
    default: "$(RUN)/credd.sock (/run/condor/credd.sock, or /var/run/condor/credd.sock with " +
      "the packaged configuration: the same place)",
    meaning: "The daemon's Unix socket",
  },
  {
    name: "CREDD_CHALLENGE_DIRECTORY",
    group: "daemon",
    default: "/tmp",
    meaning: "Where local callers prove who they are (root-owned, sticky, 1777)",
  },
  {
    name: "CREDD_CHALLENGE_LIFETIME",
    group: "daemon",
    default: "10",
    meaning: "Seconds a caller has to answer an identity challenge",
  },
  {
    name: "CREDD_MAX_CONNECTIONS",
    group: "daemon",
    default: "4096",
    meaning: "Open connections at most; a new one closes the oldest idle one",
  },
  {
    name: "CREDD_WORKERS",
    group: "daemon",
    default: "4",
    meaning: "Threads that run requests",
  },
  {
    name: "SEC_CREDENTIAL_SWEEP_INTERVAL",
    group: "daemon",
    default: "300",
    meaning: "Seconds between the daemon's sweeps of marked credentials",
  },
  {
    name: "CREDD_TLS_ADDRESS",
    group: "remote",
    default: "unset (no TCP listener)",
    meaning: "host:port, :port or host (port 9620) the daemon serves remote callers on",
  },
  {
    name: "AUTH_SSL_SERVER_CERTFILE",
    group: "remote",
    default: "unset",
    meaning: "The daemon's TLS certificate chain (PEM)",
  },
  {
    name: "AUTH_SSL_SERVER_KEYFILE",
    group: "remote",
    default: "unset",
    meaning: "The daemon's TLS private key (PEM)",
  },
  {
    name: "AUTH_SSL_CLIENT_CAFILE",
    group: "remote",
    default: "unset (Deno's built-in roots only)",
    meaning: "PEM files (comma-separated) of CAs a client trusts for the daemon's certificate, " +
      "besides Deno's built-in roots",
  },
  {
    name: "CREDD_AUTH_FAILURE_LIMIT",
    group: "remote",
    default: "10",
    meaning: "Failed authentications a peer address may make per minute before its next " +
      "attempts are refused; 0 turns the limit off",
  },
  {
    name: "CREDD_HOST",
    group: "remote",
    default: "unset",
    meaning: "The daemon every command but the pool password's goes to, as -n would name it",
  },
  {
    name: "TRUST_DOMAIN",
    group: "remote",
    default: "$(UID_DOMAIN)",
    meaning: "The issuer of IDTOKENS this pool makes and accepts",
  },
  {
    name: "SEC_TOKEN_POOL_SIGNING_KEY_FILE",
    group: "remote",
    default: "$(SEC_PASSWORD_FILE)",
    meaning: "The key of IDTOKENS signed with the key name POOL",
  },
  {
    name: "SEC_TOKEN_POOL_SIGNING_KEY_IS_PASSWORD",
    group: "remote",
    default: "false",
    meaning: "Read that key as a password (up to its first NUL byte)",
  },
  {
    name: "SEC_TOKEN_MAX_AGE",
    group: "remote",
    default: "unset (no limit)",
    meaning: "Seconds after its iat that the daemon still accepts a token",
  },
  {
    name: "SEC_TOKEN_DIRECTORY",
    group: "remote",
    default: "~/.condor/tokens.d (root: SEC_TOKEN_SYSTEM_DIRECTORY)",
    meaning: "Where a client looks for its IDTOKEN",
  },
  {
    name: "SEC_TOKEN_SYSTEM_DIRECTORY",
    group: "remote",
    default: "$(ETC)/tokens.d",
    meaning: "Where root's client looks for its IDTOKEN",
  },
];

/** Knobs HTCondor has that this program deliberately ignores, with the reason. */
export const IGNORED_KNOBS: readonly (readonly [string, string])[] = [
  [
    "TRUST_CREDENTIAL_DIRECTORY",
    "ownership and mode checks are always made; every layout HTCondor creates passes them",
  ],
];
