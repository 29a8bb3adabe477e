/**
 * One connection's exchange with the daemon (docs/protocol.md): requests read one at a time, each
 * head first; its route (lib/daemon/routes.ts) found; its caller proven, from the head when it
 * can be, within the caller's caps (lib/daemon/connections.ts); its body read only if it fits its
 * budget; its handler run in the caller's turn; and one answer written, or a refusal logged and
 * answered. Everything a connection costs is bounded: deadlines on every read, limits on every
 * size.
 */

import type { Config } from "../config/mod.ts";
import { isObject } from "../jwt.ts";
import type { Authenticator, Identity, Session } from "./auth.ts";
import type { ConnectionLimits, ConnectionTable } from "./connections.ts";
import {
  ConnReader,
  HttpError,
  lingerClose,
  readRequestHead,
  type RequestHead,
  writeJsonResponse,
} from "./http.ts";
import { MAX_BODY_BYTES, PROTOCOL_VERSION, ProtocolError } from "./protocol.ts";
import { findRoute, LoggedRefusal, type Route, SMALL_REQUEST_BYTES } from "./routes.ts";
import { type ByteConn, duplexOf } from "./stream.ts";
import { startTls, type TlsContext } from "./tls.ts";
import { describeError, type Executor } from "./workers.ts";

/** The daemon's limits (docs/daemon.md "Limits and fairness"; docs/protocol.md). */
export interface DaemonLimits {
  readonly table: ConnectionLimits;
  /** The first request's first byte, after the connection opened (TLS: its handshake too). */
  readonly firstRequestMs: number;
  /** A connection not yet proven is closed this long after it opened. */
  readonly unprovenMs: number;
  /** Between keep-alive requests. */
  readonly idleMs: number;
  /** A request's head once its first byte came; its body once its head did. */
  readonly messageMs: number;
  /** Requests in progress at a stop. */
  readonly shutdownMs: number;
}

/** The limits the configuration sets. Throws ConfigError for a knob that is not a number. */
export function daemonLimits(config: Config): DaemonLimits {
  const maxConnections = Math.max(1, config.integer("CREDD_MAX_CONNECTIONS"));
  return {
    table: {
      maxConnections,
      maxUnproven: Math.max(
        1,
        Math.min(maxConnections, config.integer("CREDD_MAX_UNPROVEN_CONNECTIONS")),
      ),
      maxCallerConnections: Math.max(1, config.integer("CREDD_MAX_CALLER_CONNECTIONS")),
      maxCallerRequests: Math.max(1, config.integer("CREDD_MAX_CALLER_REQUESTS")),
      smallBody: 64 * 1024,
      bodyBudget: 256 * 1024 * 1024,
      callerBodyBudget: 32 * 1024 * 1024,
      unprovenBodyBudget: 16 * 1024 * 1024,
    },
    firstRequestMs: 10_000,
    unprovenMs: Math.max(10, config.integer("CREDD_CHALLENGE_LIFETIME")) * 1000,
    idleMs: 60_000,
    messageMs: 10_000,
    shutdownMs: 15_000,
  };
}

/** What every connection shares: the daemon's state. */
export interface DaemonState {
  readonly config: Config;
  /** One escaped line of the daemon's log. */
  readonly log: (line: string) => void;
  /** Refusals, logged at most once a second each. */
  readonly refusals: RepeatedLines;
  readonly executor: Executor;
  readonly table: ConnectionTable;
  readonly limits: DaemonLimits;
  /** Whether the daemon is stopping (no new request is read then). */
  readonly stopping: () => boolean;
}

/** One listener and how its callers are proven. */
export interface Listening {
  readonly listener: Deno.Listener;
  readonly auth: Authenticator;
  /** TLS, started on each connection before anything else; null on the socket. */
  readonly tls: TlsContext | null;
  readonly name: string;
}

/** One connection being served. */
export interface Client {
  readonly conn: ByteConn;
  readonly reader: ConnReader;
  /** Its id in the connection table. */
  readonly id: number;
  readonly listening: Listening;
  readonly session: Session;
  /** When it was accepted (milliseconds). */
  readonly opened: number;
  readonly daemon: DaemonState;
}

/** A refusal after which the connection is closed, whatever its request asked. */
class ClosingRefusal extends ProtocolError {}

/**
 * Log lines that repeat (the same refusal, over and over): each is written at most once a second,
 * and the next one written says how many were left out meanwhile, so a peer who is refused in a
 * loop cannot flood the log. At most 1,000 distinct lines are remembered.
 */
export class RepeatedLines {
  readonly #seen = new Map<string, { at: number; skipped: number }>();

  constructor(readonly log: (line: string) => void) {}

  /** Writes `line` unless it was written less than a second ago. */
  write(line: string, now: number = Date.now()): void {
    const seen = this.#seen.get(line);
    if (seen !== undefined && now - seen.at < 1000) {
      seen.skipped++;
      return;
    }
    this.#seen.delete(line);
    if (this.#seen.size >= 1000) this.#seen.delete(this.#seen.keys().next().value!);
    this.#seen.set(line, { at: now, skipped: 0 });
    const skipped = seen?.skipped ?? 0;
    this.log(skipped === 0 ? line : `${line} (and ${skipped} more since the last such line)`);
  }
}

/** A JSON body: UTF-8, an object, this protocol's version. Zeroes the raw bytes. */
function jsonBody(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ProtocolError(400, "bad-args", "the request body is not JSON");
  } finally {
    bytes.fill(0);
  }
  if (!isObject(value)) {
    throw new ProtocolError(400, "bad-args", "the request body is not an object");
  }
  if (value.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      400,
      "unsupported",
      `protocol version ${JSON.stringify(value.version)} is not spoken here (this daemon speaks ` +
        `${PROTOCOL_VERSION}); use a client of the same release`,
    );
  }
  return value;
}

/**
 * Answers `error` on `client`'s connection, and logs it. Returns whether the connection is
 * kept (`keepAlive`, unless the daemon is stopping); else it has been closed.
 */
async function refuse(
  client: Client,
  { error, keepAlive }: { error: ProtocolError | HttpError; keepAlive: boolean },
): Promise<boolean> {
  const { conn, listening, session: { peer }, daemon } = client;
  const code = error instanceof ProtocolError
    ? error.code
    : error.status === 503
    ? "unreachable"
    : "bad-args";
  const detail = error instanceof ProtocolError ? error.detail ?? error.message : error.message;
  if (!(error instanceof LoggedRefusal)) {
    daemon.refusals.write(
      `${listening.auth.transport} ${peer}: refused (${error.status}): ${detail}`,
    );
  }
  const body = { version: PROTOCOL_VERSION, error: { code, message: error.message } };
  if (keepAlive && !daemon.stopping()) {
    await writeJsonResponse(conn, error.status, body, true);
    return true;
  }
  await writeJsonResponse(conn, error.status, body, false).catch(() => {});
  await lingerClose(conn);
  return false;
}

/**
 * Serves the requests of one connection until it closes, is closed, or idles out. Returns when it
 * is done; the caller closes it.
 */
export async function serveConnection(client: Client): Promise<void> {
  const { conn, reader, id, listening, session, opened, daemon } = client;
  const { table, limits, config, log, executor } = daemon;
  const { auth } = listening;
  // Who this connection proved to be (a proof holds for its next requests too).
  const proof: { identity: Identity | null } = { identity: null };
  let served = 0;
  /** Proves `proven` the caller of this connection, within its caps. */
  const claim = (proven: Identity) => {
    if (table.claim(id, proven) === "refused") {
      proof.identity = null;
      table.disown(id);
      throw new ClosingRefusal(
        429,
        "unreachable",
        `${proven.account} already holds ${limits.table.maxCallerConnections} connections to ` +
          "the daemon, all busy (CREDD_MAX_CALLER_CONNECTIONS); retry when one is done",
      );
    }
    proof.identity = proven;
  };
  /** A failed proof also ends whatever identity the connection had. */
  const prove = async <T>(attempt: () => T | Promise<T>): Promise<T> => {
    try {
      return await attempt();
    } catch (error) {
      proof.identity = null;
      table.disown(id);
      throw error;
    }
  };
  while (!daemon.stopping()) {
    table.setBusy(id, false);
    table.releaseBody(id);
    const unprovenLeft = proof.identity === null
      ? opened + limits.unprovenMs - Date.now()
      : Infinity;
    if (unprovenLeft <= 0) return;
    let head: RequestHead | null;
    try {
      head = await readRequestHead(reader, {
        idleMs: Math.min(served === 0 ? limits.firstRequestMs : limits.idleMs, unprovenLeft),
        messageMs: limits.messageMs,
        maxBody: MAX_BODY_BYTES,
      });
    } catch (error) {
      // A read that times out gets no answer; the others are told why, then the connection goes.
      if (error instanceof HttpError && error.status !== 408) {
        await refuse(client, { error, keepAlive: false });
      }
      return;
    }
    if (head === null) return;
    served++;
    let keepAlive = head.headers.get("connection")?.toLowerCase() !== "close";
    // A refusal before the body was read drops a small body, to keep the connection; a large
    // one is not read, and the connection is closed (its body would be taken for the next
    // request).
    let bodyRead = false;
    // A body that could not be read (the peer closed mid-body, or it timed out) ends the
    // connection after the answer: there is nothing left to drop.
    let bodyFailed = false;
    const bodyLength = head.length;
    const readBody = () =>
      reader.readBody(bodyLength, Date.now() + limits.messageMs).catch((error) => {
        bodyFailed = true;
        throw error;
      });
    let status: number;
    let answer: Record<string, unknown>;
    try {
      let route: Route | null = null;
      try {
        route = findRoute(head.method, head.path, auth.transport);
      } catch (error) {
        if (head.length > SMALL_REQUEST_BYTES) throw error;
        (await readBody()).fill(0);
        bodyRead = true;
        throw error;
      }
      if (head.length > route.maxBody) {
        throw new HttpError(
          413,
          `a ${route.path} request has no body larger than ${route.maxBody} bytes`,
        );
      }
      // The caller, when the head proves it: known before a byte of the body is read.
      if (route.proven) {
        const proven = await prove(() => auth.fromHead(head!.headers, session));
        if (proven !== null) claim(proven);
      }
      const fits = table.reserveBody(id, head.length);
      if (fits !== "ok") {
        throw new HttpError(
          503,
          fits === "share" && proof.identity !== null
            ? `${proof.identity.account} is already sending other large requests; ` +
              "retry when they are done"
            : "the daemon is busy reading other large requests; retry",
        );
      }
      const bytes = await readBody();
      bodyRead = true;
      const body = route.body === "none" || (route.body === "optional" && bytes.length === 0)
        ? (bytes.fill(0), null)
        : jsonBody(bytes);
      if (route.proven) {
        const proven = body === null ? null : await prove(() => auth.fromBody(body, session));
        if (proven !== null) claim(proven);
        if (proof.identity === null) throw auth.missing();
      }
      table.setBusy(id, true);
      const current = proof.identity;
      const end = route.work && current !== null ? await table.turn(current) : null;
      try {
        [status, answer] = await route.handle({
          config,
          log,
          executor,
          transport: auth.transport,
          identity: current,
          body,
          session,
          challenges: auth.challenges,
        });
      } finally {
        end?.();
      }
    } catch (error) {
      let failure: ProtocolError | HttpError;
      if (error instanceof ProtocolError || error instanceof HttpError) {
        failure = error;
      } else {
        log(`internal error: ${describeError(error)}`);
        failure = new ProtocolError(500, "io", "the daemon failed unexpectedly; see its log");
      }
      table.releaseBody(id);
      if (failure instanceof ClosingRefusal || bodyFailed) keepAlive = false;
      if (
        keepAlive && !bodyRead && head.length <= limits.table.smallBody &&
        !(failure instanceof HttpError && failure.status === 413)
      ) {
        try {
          (await reader.readBody(head.length, Date.now() + limits.messageMs)).fill(0);
          bodyRead = true;
        } catch {
          return;
        }
      }
      if (!(await refuse(client, { error: failure, keepAlive: keepAlive && bodyRead }))) return;
      continue;
    }
    table.releaseBody(id);
    keepAlive &&= !daemon.stopping();
    await writeJsonResponse(conn, status, answer, keepAlive);
    if (!keepAlive) return;
  }
}

/**
 * Takes a connection just accepted: counts it, secures it (TLS), serves it, closes it, and
 * forgets it once its descriptor is gone (once no read is pending on it). Resolves when all that
 * is done.
 */
export async function takeConnection(
  accepted: Deno.Conn,
  { listening, daemon }: { readonly listening: Listening; readonly daemon: DaemonState },
): Promise<void> {
  const { table, limits } = daemon;
  const opened = Date.now();
  // TLS runs on the accepted connection as a stream (lib/daemon/tls.ts).
  const raw = listening.tls === null ? null : duplexOf(accepted);
  let conn: ByteConn = accepted;
  let reader: ConnReader | null = null;
  const close = () => {
    for (const c of [conn, accepted]) {
      try {
        c.close();
      } catch {
        // Already closed.
      }
    }
    raw?.destroy();
  };
  const id = table.open(close, opened);
  if (id === null) {
    // Nothing was read from it yet: its descriptor goes at once.
    close();
    return;
  }
  const peer = accepted.remoteAddr.transport === "tcp"
    ? (accepted.remoteAddr as Deno.NetAddr).hostname
    : "local";
  const session: Session = { peer, challenges: new Set(), token: null };
  try {
    if (raw !== null) {
      conn = await startTls(raw, { context: listening.tls!, deadlineMs: limits.firstRequestMs });
    }
    reader = new ConnReader(conn);
    await serveConnection({ conn, reader, id, listening, session, opened, daemon });
  } catch {
    // The peer went away, or never finished its TLS handshake: nothing to answer.
  } finally {
    for (const challenge of session.challenges) listening.auth.challenges?.discard(challenge);
    close();
    await (raw?.settled() ?? (reader as ConnReader | null)?.settled());
    table.remove(id);
  }
}
