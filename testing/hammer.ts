/**
 * One local user hammering the daemon (tests/daemon_resilience_test.ts,
 * scripts/reliability/daemon_resilience.ts): run as that user, it proves itself on the daemon's
 * socket as that user (challenge files of its own) and, for a while, keeps `idle` proven
 * connections open (opening a new one whenever the daemon closes one), and runs `addKrb`
 * connections sending add-krb requests back to back (each waits for the credmon) and `lists`
 * connections sending listings back to back. Prints one JSON line: the answers it got, by HTTP
 * status, and the connections the daemon closed.
 *
 * Usage: deno run <flags> testing/hammer.ts '{"socket":…,"challengeDir":…,"idle":N,
 *   "addKrb":N,"lists":N,"seconds":S}'
 */

import { answerChallenge } from "../lib/daemon/challenge.ts";
import { ConnReader, readResponse, writeJsonRequest } from "../lib/daemon/http.ts";
import { decodeChallenge, PROTOCOL_VERSION } from "../lib/daemon/protocol.ts";

interface HammerOptions {
  readonly socket: string;
  readonly challengeDir: string;
  readonly idle: number;
  readonly addKrb: number;
  readonly lists: number;
  readonly seconds: number;
}

const options = JSON.parse(Deno.args[0]) as HammerOptions;
const end = Date.now() + options.seconds * 1000;
const statuses: Record<string, number> = {};
let closed = 0;

const count = (key: string) => statuses[key] = (statuses[key] ?? 0) + 1;
/** Every connection open now: at the end they are all closed, answered or not. */
const open = new Set<Deno.Conn>();
const stop = setTimeout(() => {
  for (const conn of open) conn.close();
  open.clear();
}, options.seconds * 1000);

/** A proven connection: sends requests with its challenge's proof on the first one. */
async function connect(): Promise<
  { call: (path: string, body: unknown) => Promise<number>; close: () => void }
> {
  const conn = await Deno.connect({ transport: "unix", path: options.socket });
  open.add(conn);
  const reader = new ConnReader(conn);
  const limits = { idleMs: 120_000, messageMs: 30_000, maxBody: 4 * 1024 * 1024 };
  const send = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    await writeJsonRequest(conn, "POST", path, body, headers);
    const response = await readResponse(reader, limits);
    return { status: response.status, body: response.body };
  };
  const first = await send("/v1/challenge", { version: PROTOCOL_VERSION });
  const challenge = decodeChallenge(JSON.parse(new TextDecoder().decode(first.body)));
  const cleanup = answerChallenge(challenge, options.challengeDir);
  let proof: Record<string, string> | null = {
    authorization: `Challenge ${challenge.id} ${challenge.nonce}`,
  };
  return {
    async call(path, body) {
      try {
        const { status } = await send(path, body, proof ?? {});
        return status;
      } finally {
        if (proof !== null) {
          proof = null;
          cleanup();
        }
      }
    },
    close() {
      if (!open.delete(conn)) return;
      try {
        conn.close();
      } catch {
        // Closed by the daemon.
      }
    },
  };
}

/** Sends `body` to `path` over and over, on one connection, a new one when it is closed. */
async function loop(path: string, body: unknown, pause: number): Promise<void> {
  while (Date.now() < end) {
    let connection;
    try {
      connection = await connect();
    } catch {
      count("connect-failed");
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    try {
      while (Date.now() < end) {
        const status = await connection.call(path, body);
        count(String(status));
        // Refused: try again soon (a pause, so that this process does not take the machine's
        // CPU from the daemon: that would be another attack, on the machine).
        if (status !== 200) break;
        const wait = Math.min(pause, end - Date.now());
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } catch {
      closed++;
    } finally {
      connection.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const addKrb = {
  version: PROTOCOL_VERSION,
  request: { action: "add", type: "kerberos", user: null, credential: btoa("hammer") },
};
const list = { version: PROTOCOL_VERSION, list: { type: null, user: null } };
const whoami = { version: PROTOCOL_VERSION };

await Promise.all([
  ...Array.from({ length: options.idle }, () => loop("/v1/whoami", whoami, 1000)),
  ...Array.from({ length: options.addKrb }, () => loop("/v1/request", addKrb, 0)),
  ...Array.from({ length: options.lists }, () => loop("/v1/list", list, 0)),
]);
clearTimeout(stop);
console.log(JSON.stringify({ statuses, closed }));
