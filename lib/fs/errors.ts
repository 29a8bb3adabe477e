/**
 * Turning operating-system errors into StoreErrors with a plain message and a local remedy
 * (docs/storage.md; the output layer adds `ERROR: `).
 */

import { quote, StoreError } from "../errors.ts";

/**
 * Turns an operating-system error about `path` into a StoreError that says what failed. A
 * StoreError passes through; anything that is not an Error is rethrown.
 */
export function osError(error: unknown, verb: string, path: string): StoreError {
  if (error instanceof StoreError) return error;
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return new StoreError("permission", `permission denied to ${verb} ${quote(path)}`, {
      path,
      remedy: "run as root or as the owner of the credential store, or point CONDOR_CONFIG at " +
        "a configuration whose credential directories you may write",
    });
  }
  if (error instanceof Error) {
    // Deno appends ": os error N" and the path; keep the reason only.
    const reason = error.message.replace(/: \w+ '.*'$/, "");
    return new StoreError(
      "io",
      `could not ${verb} ${quote(path)}: ${reason}; nothing was changed`,
      {
        path,
      },
    );
  }
  throw error;
}

/** A refusal of a file or directory that fails the storage rules. */
export function insecure(
  what: string,
  path: string,
  why: string,
  remedy: string,
): StoreError {
  return new StoreError("insecure", `refusing to use ${what}${quote(path)}: ${why}`, {
    path,
    remedy,
  });
}
