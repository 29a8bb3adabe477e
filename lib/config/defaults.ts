/**
 * Built-in knob defaults, the embedded defaults used when no configuration file exists, and the
 * two metaknobs this reader implements (docs/upstream.md "Configuration").
 */

import { KNOBS } from "./knobs.ts";

/** The HTCondor version this reader claims in `if version …` conditions. */
export const CONFIG_VERSION: readonly number[] = Object.freeze([25, 0, 0]);

export { DEFAULT_EXCLUDE_REGEXP } from "./knobs.ts";

/**
 * Built-in defaults of the knobs this program reads (the table of knobs.ts), as raw (unexpanded)
 * values keyed by upper-case name. A knob missing here has no default (see
 * {@link KNOBS_WITHOUT_DEFAULT}).
 */
export const KNOB_DEFAULTS: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(KNOBS.flatMap((k) => k.default === null ? [] : [[k.name, k.default]])),
);

/** Knobs this program reads that have no built-in default (undefined unless configured). */
export const KNOBS_WITHOUT_DEFAULT: readonly string[] = Object.freeze(
  KNOBS.flatMap((k) => k.default === null ? [k.name] : []),
);

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

/**
 * The daemon's socket on a packaged node (CREDD_SOCKET, `$(RUN)/credd.sock`, with RUN from
 * {@link EMBEDDED_ROOT_DEFAULTS}): where a non-root caller looks for the daemon of a store that
 * is not its personal spool while CREDD_SOCKET still has the personal spool's embedded value.
 */
export const PACKAGED_SOCKET = "/run/condor/credd.sock";

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
