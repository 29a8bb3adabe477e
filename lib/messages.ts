/**
 * HTCondor-compatible strings, byte for byte (docs/upstream.md "Result codes" and "Output"), and
 * the numeric result codes they belong to. Every upstream string the program prints lives here,
 * as data, beside the few fixed lines of this product's deviations (README "Differences from HTCondor").
 */

/** Upstream result codes (docs/upstream.md "Result codes"). */
export const ResultCode = {
  FAILURE: 0,
  SUCCESS: 1,
  FAILURE_BAD_PASSWORD: 2,
  FAILURE_NO_IMPERSONATE: 3,
  FAILURE_NOT_SECURE: 4,
  FAILURE_NOT_FOUND: 5,
  SUCCESS_PENDING: 6,
  FAILURE_NOT_ALLOWED: 7,
  FAILURE_BAD_ARGS: 8,
  FAILURE_PROTOCOL_MISMATCH: 9,
  FAILURE_CREDMON_TIMEOUT: 10,
  FAILURE_CONFIG_ERROR: 11,
  FAILURE_JSON_PARSE: 12,
  FAILURE_CRED_MISMATCH: 13,
  FAILURE_UNTRUSTED_HOST: 14,
  FAILURE_ABORTED: -1,
} as const;

/** One of the numeric result codes. */
export type ResultCode = typeof ResultCode[keyof typeof ResultCode];

/**
 * The message printed on stderr for a code without a specific output line. Code 4 is spelled
 * correctly here: deviation 12 (README) replaces upstream's "communiction" message.
 */
export const RESULT_MESSAGES: Readonly<Record<number, string>> = {
  0: "Operation failed",
  1: "Operation succeeded",
  2: "A credential is stored, but it is invalid",
  3: "Operation failed because the target daemon is not running as SYSTEM",
  4: "Operation aborted because communication was not secure",
  5: "No credential is stored",
  6: "A credential is stored, but it has not yet been processed",
  7: "Operation failed because it is not allowed",
  8: "Operation aborted due to missing or bad arguments",
  9: "Arguments are missing, client and server my be mismatched",
  10: "The credmon did not process credentials within the timeout period",
  11: "Operation failed because of a configuration error",
  12: "Failure parsing credential as JSON",
  13: "Credential was found but it did not match requested scopes or audience",
  14: "Credential requires interacting with an untrusted host",
};

/** Result lines on stdout. `T` is a formatted local timestamp. */
export const RESULT_LINES = {
  queryValidAt: (t: string) => `A credential was stored on ${t} and is valid.`,
  queryValid: "A credential was stored and is valid.",
  queryPendingAt: (t: string) => `A credential was stored on ${t} and is waiting for processing.`,
  queryPending: "A credential was stored and is waiting for processing.",
  storedAt: (t: string) => `Operation succeeded. Credential was stored on ${t}`,
  succeeded: "Operation succeeded.",
  succeededPending: "Operation succeeded and is waiting for processing.",
  queryBadPassword: "A credential is stored, but it is invalid. Run 'condor_store_cred add' again.",
  badPassword: "Operation failed: bad password.",
  queryNotFound: "No credential is stored.",
  userNotFound: "Operation failed: username not found.",
  /** Deviation 16 (README): after an add whose bytes were already stored. */
  unchanged: "Credential unchanged.",
  /** After a query that met `--min-ttl`: how long the access token has left. */
  lifetime: (t: string, left: number, minTtl: number) =>
    `The access token expires on ${t}, in ${left} seconds (--min-ttl ${minTtl}).`,
} as const;

/** Other upstream strings. */
export const UPSTREAM = {
  poolQueryUnsupported: "Querying the pool password is not supported.",
  noPoolDomain: "ERROR: could not domain for pool password",
  writePoolFileFailed: (file: string) => `error writing password file: ${file}`,
  readCredentialFailed: (file: string) => `Could not read credential from ${file}`,
  stdinReadFailed: (reason: string) => `ERROR: could read from stdin: ${reason}`,
  invalidDaemonName: (name: string) => `ERROR: ${name} is not a valid daemon name`,
  enterPassword: "Enter password: ",
} as const;

/** Messages of this product's deviations (README "Differences from HTCondor"). */
export const DEVIATION = {
  confirmPassword: "Confirm password: ",
  passwordsDoNotMatch: "ERROR: passwords do not match",
  tooLarge: (limit: number) => `ERROR: credential is larger than ${limit} bytes`,
  empty: "ERROR: the credential is empty; nothing was stored",
  passwordOnCommandLine: "WARNING: a password given with -p is visible to other processes " +
    "on this machine (ps, /proc); use -p - to read it from stdin instead",
} as const;
