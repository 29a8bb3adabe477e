/**
 * Rendering `whoami` (README "Remote daemons"): one sentence for people, the JSON result with the
 * daemon's answer as `whoami` for scripts. Pure.
 */

import { printable, quote, type StoreError } from "../errors.ts";
import { ResultCode as Code } from "../messages.ts";
import type { Whoami } from "../daemon/protocol.ts";
import { emptyInfo, ERROR_STATUS, JSON_SCHEMA_VERSION, type JsonResult } from "./json.ts";
import { relative } from "./list.ts";
import { errorText, formatLocalTime } from "./text.ts";

/** The daemon's answer, and the daemon it came from (its socket, or host:port). */
export interface WhoamiAnswer {
  readonly daemon: string;
  readonly whoami: Whoami;
}

/** The sentence: who the daemon takes the caller to be, and until when its IDTOKEN is valid. */
export function whoamiLine(answer: WhoamiAnswer, now: number): string {
  const { daemon, whoami } = answer;
  const where = whoami.transport === "unix" ? `on ${quote(daemon)}` : `at ${daemon}`;
  const start = `The daemon ${where} takes you to be ${quote(whoami.account)}`;
  if (whoami.transport === "unix") {
    return printable(`${start}${whoami.uid === null ? "" : ` (uid ${whoami.uid})`}.`);
  }
  const valid = whoami.expires === null
    ? "your IDTOKEN never expires"
    : `your IDTOKEN is valid until ${formatLocalTime(whoami.expires)} (${
      relative(whoami.expires - now)
    })`;
  return printable(`${start}; ${valid}.`);
}

/** The JSON result of `whoami`: `info.caller` and `info.expires*`, and the answer as `whoami`. */
export function jsonWhoami(
  answer: WhoamiAnswer | null,
  error: StoreError | null,
  now: number,
): JsonResult & { readonly whoami: (Whoami & { readonly daemon: string }) | null } {
  const expires = answer?.whoami.expires ?? null;
  const status = answer === null ? ERROR_STATUS[error!.code] : "identified";
  return {
    schema: JSON_SCHEMA_VERSION,
    ok: answer !== null,
    action: "whoami",
    type: null,
    user: null,
    status,
    reason: answer === null ? error!.code : status,
    code: answer === null ? Code.FAILURE : Code.SUCCESS,
    message: answer === null ? `ERROR: ${errorText(error!)}` : whoamiLine(answer, now),
    changed: null,
    warnings: [],
    info: {
      ...emptyInfo(),
      caller: answer?.whoami.account ?? null,
      expires: expires === null ? null : formatLocalTime(expires),
      expires_unix: expires,
      expires_in: expires === null ? null : expires - now,
    },
    whoami: answer === null ? null : { ...answer.whoami, daemon: answer.daemon },
  };
}
