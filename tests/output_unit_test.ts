/**
 * Unit tests of the output mapping (docs/upstream.md "Output", "Result codes"): every result line,
 * including the rows an in-process run cannot reach (they come from a daemon's answer), and the
 * golden upstream strings.
 */

import assert from "node:assert/strict";
import { localTime } from "../testing/harness.ts";
import { StoreError, type StoreErrorCode } from "../lib/errors.ts";
import { RESULT_LINES, RESULT_MESSAGES, UPSTREAM } from "../lib/messages.ts";
import {
  formatAd,
  formatHeader,
  formatLocalTime,
  reportError,
  reportOutcome,
  type Subject,
} from "../lib/output/text.ts";

const subject = (action: Subject["action"], pool = false): Subject => ({
  action,
  type: "oauth",
  account: "a@b",
  pool,
});

// 2026-11-28 18:10:41 UTC, rendered in this process's zone independently of the library (Intl),
// so the tests pass under any TZ (.ci/run runs them under UTC and Asia/Tokyo).
const T = 1795889441;
const TEXT = localTime(T);

Deno.test("formatLocalTime() renders YYYY-MM-DD HH:MM:SS in local time", () => {
  assert.equal(formatLocalTime(T), TEXT);
  assert.match(TEXT, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  // A second, fixed check that does not depend on Intl either: UTC needs no zone data.
  if (Intl.DateTimeFormat().resolvedOptions().timeZone === "UTC") {
    assert.equal(formatLocalTime(T), "2026-11-28 18:10:41");
  }
});

Deno.test("reportOutcome() prints every success row of upstream's output table", () => {
  const rows: [Subject["action"], "success" | "pending", number | undefined, string][] = [
    ["query", "success", T, `A credential was stored on ${TEXT} and is valid.\n`],
    ["query", "success", undefined, "A credential was stored and is valid.\n"],
    ["query", "pending", undefined, "A credential was stored and is waiting for processing.\n"],
    ["query", "pending", T, `A credential was stored on ${TEXT} and is waiting for processing.\n`],
    ["add", "success", T, `Operation succeeded. Credential was stored on ${TEXT}\n`],
    ["add", "success", undefined, "Operation succeeded.\n"],
    ["delete", "success", T, "Operation succeeded.\n"],
    ["add", "pending", undefined, "Operation succeeded and is waiting for processing.\n"],
    ["delete", "pending", undefined, "Operation succeeded and is waiting for processing.\n"],
  ];
  for (const [action, status, time, line] of rows) {
    assert.deepEqual(reportOutcome(subject(action), { status, time }), {
      stdout: line,
      stderr: "",
      exitCode: 0,
    });
  }
});

Deno.test("reportOutcome() appends the Credential info block, sorted by byte order", () => {
  const report = reportOutcome(subject("query"), {
    status: "success",
    ad: { scitokens: 5, fully_qualified_user: 'a"b\\c@d', TopscitokensTime: 4, CredTime: 3 },
  });
  assert.equal(
    report.stdout,
    "A credential was stored and is valid.\n\nCredential info:\n" +
      'CredTime = 3\nTopscitokensTime = 4\nfully_qualified_user = "a\\"b\\\\c@d"\nscitokens = 5\n\n',
  );
  assert.equal(formatAd({}), "");
});

Deno.test("reportError() maps every failure code to upstream's line and exit status", () => {
  const cases: [StoreErrorCode, Subject["action"], Partial<ReturnType<typeof reportError>>][] = [
    ["not-found", "query", { stdout: "No credential is stored.\n", exitCode: 1 }],
    ["not-found", "delete", { stdout: "Operation failed: username not found.\n", exitCode: 1 }],
    ["not-found", "add", { stdout: "Operation failed: username not found.\n", exitCode: 1 }],
    ["bad-password", "query", {
      stdout: "A credential is stored, but it is invalid. Run 'condor_store_cred add' again.\n",
      exitCode: 1,
    }],
    ["bad-password", "add", { stdout: "Operation failed: bad password.\n", exitCode: 1 }],
    ["mismatch", "query", { stderr: `${RESULT_MESSAGES[13]}\n`, exitCode: 2 }],
    ["json-parse", "add", { stderr: "Failure parsing credential as JSON\n", exitCode: 1 }],
    ["untrusted-host", "add", {
      stderr: "Credential requires interacting with an untrusted host\n",
      exitCode: 1,
    }],
    ["bad-args", "add", {
      stderr: "Operation aborted due to missing or bad arguments\n",
      exitCode: 1,
    }],
    ["config", "query", {
      stderr: "Operation failed because of a configuration error\n",
      exitCode: 1,
    }],
    ["not-allowed", "delete", {
      stderr: "Operation failed because it is not allowed\n",
      exitCode: 1,
    }],
    ["credmon-timeout", "add", {
      stderr: "The credmon did not process credentials within the timeout period\n",
      exitCode: 1,
    }],
  ];
  for (const [code, action, expected] of cases) {
    const report = reportError(subject(action), new StoreError(code, ""));
    assert.deepEqual(report, { stdout: "", stderr: "", ...expected }, `${code} ${action}`);
  }
  // A detail line follows upstream's, indented four spaces.
  assert.equal(
    reportError(subject("add"), new StoreError("bad-args", 'the service name "" is bad')).stderr,
    'Operation aborted due to missing or bad arguments\n    the service name "" is bad\n',
  );
  // Our own failures print ERROR:, the message and the local remedy; a remote caller gets no
  // remedy. Input failures are complete lines already.
  for (const code of ["insecure", "permission", "locked", "io", "unsupported"] as const) {
    const error = new StoreError(code, "x \x1b[2J", { remedy: "do y" });
    assert.deepEqual(reportError(subject("add"), error), {
      stdout: "",
      stderr: "ERROR: x \\x1b[2J; do y\n",
      exitCode: 1,
    });
    assert.equal(reportError(subject("add"), error, "remote").stderr, "ERROR: x \\x1b[2J\n");
  }
  for (const code of ["too-large", "empty", "input"] as const) {
    assert.deepEqual(reportError(subject("add"), new StoreError(code, "ERROR: whole line")), {
      stdout: "",
      stderr: "ERROR: whole line\n",
      exitCode: 1,
    });
  }
});

Deno.test("the upstream strings are byte-exact (golden)", () => {
  assert.equal(
    formatHeader("<current> (alice)", "kerberos"),
    "Account: <current> (alice)\nCredType: kerberos\n\n",
  );
  assert.deepEqual(RESULT_MESSAGES, {
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
  });
  assert.equal(RESULT_LINES.unchanged, "Credential unchanged.");
  assert.equal(UPSTREAM.poolQueryUnsupported, "Querying the pool password is not supported.");
  assert.equal(UPSTREAM.noPoolDomain, "ERROR: could not domain for pool password");
  assert.equal(UPSTREAM.writePoolFileFailed("F"), "error writing password file: F");
  assert.equal(UPSTREAM.readCredentialFailed("F"), "Could not read credential from F");
  assert.equal(UPSTREAM.stdinReadFailed("x"), "ERROR: could read from stdin: x");
  assert.equal(UPSTREAM.invalidDaemonName("h"), "ERROR: h is not a valid daemon name");
  assert.equal(UPSTREAM.enterPassword, "Enter password: ");
});
