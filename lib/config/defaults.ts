/**
 * Built-in knob defaults, the embedded defaults used when no configuration file exists, and the
 * two metaknobs this reader implements (docs/upstream.md "Configuration").
 */

/** The HTCondor version this reader claims in `if version …` conditions. */
export const CONFIG_VERSION: readonly number[] = Object.freeze([25, 0, 0]);

/** Upstream's default LOCAL_CONFIG_DIR_EXCLUDE_REGEXP (docs/upstream.md "Configuration"), used as a
 * JS RegExp. */
export const DEFAULT_EXCLUDE_REGEXP =
  "^((\\..*)|(.*\\.pl)|(.*\\.py)|(.*\\.sh)|(.*~)|(#.*)|(.*\\.rpmsave)|(.*\\.rpmnew)|" +
  "(.*\\.dpkg-old)|(.*\\.dpkg-dist)|(.*\\.cfsaved))$";

/**
 * Built-in defaults of the knobs this program reads, as raw (unexpanded) values keyed by
 * upper-case name. A knob missing here has no default (see {@link KNOBS_WITHOUT_DEFAULT}).
 */
export const KNOB_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  RELEASE_DIR: "/usr",
  LOCAL_DIR: "$(TILDE)",
  ETC: "$(LOCAL_DIR)",
  LOG: "$(LOCAL_DIR)/log",
  LOCK: "$(LOG)",
  RUN: "$(LOCK)",
  SPOOL: "$(LOCAL_DIR)/spool",
  LIBEXEC: "$(RELEASE_DIR)/libexec",
  UID_DOMAIN: "$(FULL_HOSTNAME)",
  TRUST_DOMAIN: "$(UID_DOMAIN)",
  SEC_PASSWORD_DIRECTORY: "$(ETC)/passwords.d",
  SEC_PASSWORD_FILE: "$(SEC_PASSWORD_DIRECTORY)/POOL",
  SEC_TOKEN_POOL_SIGNING_KEY_FILE: "$(SEC_PASSWORD_FILE)",
  SEC_TOKEN_SYSTEM_DIRECTORY: "$(ETC)/tokens.d",
  SEC_CREDENTIAL_DIRECTORY_PWD: "$(LOCAL_DIR)/lib/condor/pwd_credentials",
  SEC_CREDENTIAL_REFRESH_INTERVAL: "-1",
  CREDD_POLLING_TIMEOUT: "20",
  SEC_CREDENTIAL_SWEEP_INTERVAL: "300",
  SEC_CREDENTIAL_SWEEP_DELAY: "3600",
  CREDD_OAUTH_MODE: "true",
  TRUST_CREDENTIAL_DIRECTORY: "false",
  CREDMON_ALLOW_SPECIAL_CHAR_NAMES: "false",
  LOCAL_CONFIG_DIR_EXCLUDE_REGEXP: DEFAULT_EXCLUDE_REGEXP,
  REQUIRE_LOCAL_CONFIG_FILE: "true",
  CRED_LOCK_TIMEOUT: "10",
  CREDD_SOCKET: "$(RUN)/credd.sock",
  COLLECTOR_PORT: "9618",
});

/** Knobs this program reads that have no built-in default (undefined unless configured). */
export const KNOBS_WITHOUT_DEFAULT: readonly string[] = Object.freeze([
  "SEC_CREDENTIAL_DIRECTORY_KRB",
  "SEC_CREDENTIAL_DIRECTORY_OAUTH",
  "SEC_PASSWORD_DOMAIN",
  "CREDD_HOST",
  "CRED_SUPER_USERS",
  "TRUSTED_VAULT_HOSTS",
  "CRED_AUDIT_LOG",
  "LOCAL_CONFIG_FILE",
  "LOCAL_CONFIG_DIR",
  "NETWORK_HOSTNAME",
  "DEFAULT_DOMAIN_NAME",
]);

/**
 * The embedded default for root: the paths of the upstream Linux packages (docs/upstream.md
 * "Configuration"). LOG, LOCK and RUN follow the packages too, so the daemon socket lands in
 * `/run/condor` (README "The daemon").
 */
export const EMBEDDED_ROOT_DEFAULTS: readonly (readonly [string, string])[] = Object.freeze([
  ["ETC", "/etc/condor"],
  ["LOCAL_DIR", "/var"],
  ["LOG", "$(LOCAL_DIR)/log/condor"],
  ["LOCK", "$(LOCAL_DIR)/lock/condor"],
  ["RUN", "/run/condor"],
  ["SEC_CREDENTIAL_DIRECTORY_OAUTH", "/var/lib/condor/oauth_credentials"],
  ["SEC_CREDENTIAL_DIRECTORY_KRB", "/var/lib/condor/krb_credentials"],
]);

/**
 * The embedded default for a non-root user, relative to the personal spool root. ETC and
 * LOCAL_DIR point at the spool too, so that no derived path escapes it.
 */
export const EMBEDDED_USER_DEFAULTS: readonly (readonly [string, string])[] = Object.freeze([
  ["LOCAL_DIR", ""],
  ["ETC", ""],
  ["SEC_PASSWORD_DIRECTORY", "/passwords.d"],
  ["SEC_CREDENTIAL_DIRECTORY_OAUTH", "/oauth_credentials"],
  ["SEC_CREDENTIAL_DIRECTORY_KRB", "/krb_credentials"],
  ["SEC_CREDENTIAL_DIRECTORY_PWD", "/pwd_credentials"],
  ["CREDD_SOCKET", "/credd.sock"],
]);

/** The name of the personal spool directory under `${XDG_DATA_HOME:-~/.local/share}`. */
export const PERSONAL_SPOOL_NAME = "condor_store_cred";

/**
 * The metaknobs this reader implements, keyed `category:name` in lower case; each body is the
 * list of assignments it makes, in order (docs/upstream.md "Configuration").
 */
export const METAKNOBS: ReadonlyMap<string, readonly (readonly [string, string])[]> = new Map([
  ["feature:oauth", [
    ["SEC_CREDENTIAL_DIRECTORY_OAUTH", "/var/lib/condor/oauth_credentials"],
    ["CREDMON_OAUTH_LOG", "$(LOG)/CredMonOAuthLog"],
    ["DAEMON_LIST", "$(DAEMON_LIST) CREDMON_OAUTH"],
    ["AUTO_INCLUDE_CREDD_IN_DAEMON_LIST", "True"],
    ["TRUST_CREDENTIAL_DIRECTORY", "True"],
  ]],
  ["feature:krb", [
    ["SEC_CREDENTIAL_DIRECTORY_KRB", "/var/lib/condor/krb_credentials"],
    ["DAEMON_LIST", "$(DAEMON_LIST) CREDMON_KRB"],
    ["SEC_CREDENTIAL_PRODUCER", "$(LIBEXEC)/cred_producer_krb"],
    ["SEC_CREDENTIAL_MONITOR_KRB_LOG", "$(LOG)/CredMonKrbLog"],
    ["AUTO_INCLUDE_CREDD_IN_DAEMON_LIST", "True"],
    ["USE_KEYRING_SESSIONS", "True"],
  ]],
]);
