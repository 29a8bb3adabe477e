/**
 * `condor_store_cred serve`: the credd role (docs/daemon.md). It owns the store, listens on a Unix
 * socket (and, with CREDD_TLS_ADDRESS, on TLS), proves each caller's identity (lib/daemon/auth.ts),
 * and answers each request by its route (lib/daemon/routes.ts), the store's work done by worker
 * threads (lib/daemon/workers.ts), one line per request on stderr. It stops cleanly on SIGTERM or
 * SIGINT, runs the mark-and-sweep of idle users, and exits non-zero when its store workers cannot
 * be restored.
 *
 * Hostile clients cost bounded resources (docs/daemon.md "Limits and fairness"): every connection
 * is in one table (lib/daemon/connections.ts) with caps per caller and for connections not yet
 * proven, every read has a deadline, every body a size limit checked before it is read, large
 * bodies a budget reserved once the caller is proven, and a failed accept (no descriptor left)
 * backs off.
 *
 * Permissions: --allow-read, --allow-write (store, socket, challenge directory), --allow-env,
 * --allow-sys=hostname,uid,gid, --allow-run=/bin/kill; --allow-net for TLS.
 */

import type { Config, LoadConfigOptions } from "../config/mod.ts";
import { printable, quote, StoreError } from "../errors.ts";
import { storeDirectory } from "../fs/directories.ts";
import { dirname } from "../fs/paths.ts";
import { isObject } from "../jwt.ts";
import { type StorePath, trustedOwners } from "../store/context.ts";
import { storeRoot } from "../store/layout.ts";
import { createStoreContext } from "../store/service.ts";
import {
  type Authenticator,
  FailureLimiter,
  type Identity,
  type Session,
  socketAuthenticator,
  tokenAuthenticator,
} from "./auth.ts";
import { Challenges, checkChallengeDirectory } from "./challenge.ts";
import { type ConnectionLimits, ConnectionTable } from "./connections.ts";
import {
  ConnReader,
  HttpError,
  lingerClose,
  readRequestHead,
  type RequestHead,
  writeJsonResponse,
} from "./http.ts";
import { challengeDirectory, socketPath, tlsAddress } from "./places.ts";
import { MAX_BODY_BYTES, PROTOCOL_VERSION, ProtocolError } from "./protocol.ts";
import {
  CHALLENGES_PER_CONNECTION,
  findRoute,
  LoggedRefusal,
  type Route,
  SMALL_REQUEST_BYTES,
} from "./routes.ts";
import { type ByteConn, duplexOf } from "./stream.ts";
import { sweep } from "./sweep.ts";
import { listenTcp, startTls, type TlsContext, tlsContext } from "./tls.ts";
import { describeError, type Executor, inThreadExecutor, workerPool } from "./workers.ts";

/** Options of `serve`. */
export interface ServeOptions {
  readonly config: Config;
  /** This process's effective uid (0 in production). */
  readonly euid: number;
  /** One line per request and per event, on stderr. */
  readonly log: (line: string) => void;
  /** Debug lines (serve -d), from this thread and the workers; null: none. */
  readonly debug: ((line: string) => void) | null;
  /** Resolves when the daemon should stop (SIGTERM/SIGINT in production). */
  readonly stop: Promise<void>;
  /** How the configuration was loaded, so worker threads can load it the same way. */
  readonly configOptions: LoadConfigOptions;
}

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

/**
 * Prepares the Unix socket: its directory must pass the store's directory rules (it is created
 * 0755 when missing); a live daemon there refuses the start; a stale socket is removed only after
 * a connect is refused. Throws StoreError.
 */
export async function prepareSocket(config: Config, path: string, euid: number): Promise<void> {
  const ctx = createStoreContext(config, { euid });
  storeDirectory(dirname(path), ctx.owners, { create: { mode: 0o755 } });
  let info: Deno.FileInfo | null = null;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (info === null) return;
  if (!info.isSocket) {
    throw new StoreError("insecure", `${quote(path)} exists and is not a socket`, {
      remedy: "remove it, or set CREDD_SOCKET to another path",
    });
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    throw new StoreError(
      "unsupported",
      `another condor_store_cred serve is already listening on ${quote(path)}`,
      { remedy: "stop it first, or set CREDD_SOCKET to another path" },
    );
  } catch (error) {
    if (error instanceof StoreError) throw error;
    if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
  }
  Deno.removeSync(path);
}

/** Checks, before listening, every store directory that exists. Throws StoreError. */
function checkStore(config: Config, euid: number): void {
  const ctx = createStoreContext(config, { euid });
  for (const which of ["oauth", "krb", "pwd", "pool"] as StorePath[]) {
    const knob = {
      oauth: "SEC_CREDENTIAL_DIRECTORY_OAUTH",
      krb: "SEC_CREDENTIAL_DIRECTORY_KRB",
      pwd: "SEC_CREDENTIAL_DIRECTORY_PWD",
      pool: "SEC_PASSWORD_FILE",
    }[which];
    if (config.get(knob) === undefined) continue;
    storeRoot(ctx, which, false);
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
 * Failures of `accept` (no descriptor left: EMFILE, ENFILE), counted and logged at most once a
 * second with the count. `delay` is how long to wait before the next accept: it doubles while
 * accepts keep failing (up to a second) and is back to nothing after one succeeds.
 */
export class AcceptFailures {
  #count = 0;
  #lastLog = -Infinity;
  #delay = 0;
  /** Lines logged (for the tests). */
  logged = 0;

  constructor(readonly log: (line: string) => void, readonly name: string) {}

  /** Records a failed accept at `now`; returns the milliseconds to wait before the next. */
  failed(error: Error, now: number = Date.now()): number {
    this.#count++;
    this.#delay = Math.min(1000, Math.max(10, this.#delay * 2));
    if (now - this.#lastLog >= 1000) {
      const code = (error as { code?: string }).code;
      this.log(
        `accept on ${this.name} failed ${this.#count} time(s) since the last report: ` +
          `${code ?? error.name}: ${error.message.replace(/ \(os error \d+\)$/, "")}; backing off`,
      );
      this.logged++;
      this.#count = 0;
      this.#lastLog = now;
    }
    return this.#delay;
  }

  /** Records a successful accept. */
  succeeded(): void {
    this.#delay = 0;
  }
}

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

/** True for an accept failure that means no descriptor (or memory) was free. */
function outOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "EMFILE" || code === "ENFILE" || code === "ENOBUFS" || code === "ENOMEM" ||
    /too many open files/i.test((error as Error)?.message ?? "");
}

/** One connection being served. */
interface Client {
  readonly conn: ByteConn;
  readonly reader: ConnReader;
  /** Its id in the connection table. */
  readonly id: number;
  readonly listening: Listening;
  readonly session: Session;
  /** When it was accepted (milliseconds). */
  readonly opened: number;
}

/** A refusal after which the connection is closed, whatever its request asked. */
class ClosingRefusal extends ProtocolError {}

/** One listener and how its callers are proven. */
interface Listening {
  readonly listener: Deno.Listener;
  readonly auth: Authenticator;
  /** TLS, started on each connection before anything else; null on the socket. */
  readonly tls: TlsContext | null;
  readonly name: string;
}

/**
 * Runs the daemon until `options.stop` resolves (exit status 0), or its store workers cannot be
 * restored (exit status 1). Throws StoreError when it cannot start (insecure socket directory or
 * store, a live daemon on the socket, an unusable certificate).
 */
export async function serve(options: ServeOptions): Promise<number> {
  const { config, euid } = options;
  // Every log line is one line: whatever a caller sent (a name, a token's subject) is escaped, so
  // nobody can forge a line of the log.
  const log = (line: string) => options.log(printable(line));
  const debug = options.debug ?? (() => {});
  const limits = daemonLimits(config);
  const path = socketPath(config);
  const challengeDir = challengeDirectory(config);
  checkChallengeDirectory(challengeDir);
  checkStore(config, euid);
  const address = tlsAddress(config);
  // The TLS certificate first: a refusal then leaves no socket behind.
  const secure = address === null ? null : tlsContext(config);
  await prepareSocket(config, path, euid);
  const workers = config.integer("CREDD_WORKERS");
  const executor: Executor = workers > 0
    ? await workerPool({
      size: workers,
      config: options.configOptions,
      euid,
      debug: options.debug,
      log,
    })
    : inThreadExecutor(config, euid, debug);
  let tcp: Deno.Listener | null = null;
  let unix: Deno.Listener;
  try {
    tcp = address === null ? null : listenTcp(address);
    unix = Deno.listen({ transport: "unix", path });
  } catch (error) {
    tcp?.close();
    executor.close();
    throw error;
  }
  Deno.chmodSync(path, 0o666);
  // Every connection may hold its full share of unanswered challenges; a closed connection's
  // are discarded at once, so no caller can crowd others out of the table.
  const challenges = new Challenges(challengeDir, {
    ttlMs: Math.max(1, config.integer("CREDD_CHALLENGE_LIFETIME")) * 1000,
    max: Math.max(20_000, limits.table.maxConnections * CHALLENGES_PER_CONNECTION),
  });
  const limiter = new FailureLimiter({
    perToken: config.integer("CREDD_AUTH_FAILURE_LIMIT"),
    total: config.integer("CREDD_AUTH_FAILURES_PER_MINUTE"),
    windowMs: 60_000,
    maxKeys: 10_000,
  });
  const listeners: Listening[] = [
    {
      listener: unix,
      auth: socketAuthenticator(config, challenges),
      tls: null,
      name: "the socket",
    },
  ];
  if (tcp !== null && secure !== null) {
    listeners.push({
      listener: tcp,
      auth: tokenAuthenticator(config, {
        owners: () => trustedOwners(config, { euid }),
        limiter,
      }),
      tls: secure,
      name: "the TLS port",
    });
  }
  const tlsText = tcp === null
    ? ""
    : ` and TLS ${(tcp.addr as Deno.NetAddr).hostname}:${(tcp.addr as Deno.NetAddr).port}`;
  log(`serving on ${path}${tlsText} (pid ${Deno.pid})`);

  const table = new ConnectionTable(limits.table);
  /** Every open connection (as it is now: TLS replaces the accepted one), by table id. */
  const open = new Map<number, () => ByteConn>();
  let stopping = false;
  const inFlight = new Set<Promise<void>>();

  const refusals = new RepeatedLines(log);

  /**
   * Answers `error` on `client`'s connection, and logs it. Returns whether the connection is
   * kept (`keepAlive`, unless the daemon is stopping); else it has been closed.
   */
  const refuse = async (
    client: Client,
    { error, keepAlive }: { error: ProtocolError | HttpError; keepAlive: boolean },
  ): Promise<boolean> => {
    const { conn, listening, session: { peer } } = client;
    const code = error instanceof ProtocolError
      ? error.code
      : error.status === 503
      ? "unreachable"
      : "bad-args";
    const detail = error instanceof ProtocolError ? error.detail ?? error.message : error.message;
    if (!(error instanceof LoggedRefusal)) {
      refusals.write(`${listening.auth.transport} ${peer}: refused (${error.status}): ${detail}`);
    }
    const body = { version: PROTOCOL_VERSION, error: { code, message: error.message } };
    if (keepAlive && !stopping) {
      await writeJsonResponse(conn, error.status, body, true);
      return true;
    }
    await writeJsonResponse(conn, error.status, body, false).catch(() => {});
    await lingerClose(conn);
    return false;
  };

  /**
   * Serves the requests of one connection until it closes, is closed, or idles out. Returns
   * when it is done; the caller closes it.
   */
  const serveConnection = async (client: Client) => {
    const { conn, reader, id, listening, session, opened } = client;
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
    while (!stopping) {
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
      let status: number;
      let answer: Record<string, unknown>;
      try {
        let route: Route | null = null;
        try {
          route = findRoute(head.method, head.path, auth.transport);
        } catch (error) {
          if (head.length > SMALL_REQUEST_BYTES) throw error;
          (await reader.readBody(head.length, Date.now() + limits.messageMs)).fill(0);
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
        const bytes = await reader.readBody(head.length, Date.now() + limits.messageMs);
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
        if (failure instanceof ClosingRefusal) keepAlive = false;
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
      keepAlive &&= !stopping;
      await writeJsonResponse(conn, status, answer, keepAlive);
      if (!keepAlive) return;
    }
  };

  /**
   * Takes a connection just accepted: counts it, secures it (TLS), serves it, closes it, and
   * forgets it once its descriptor is gone (once no read is pending on it).
   */
  const take = (accepted: Deno.Conn, listening: Listening) => {
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
    open.set(id, () => conn);
    const peer = accepted.remoteAddr.transport === "tcp"
      ? (accepted.remoteAddr as Deno.NetAddr).hostname
      : "local";
    const session: Session = { peer, challenges: new Set(), token: null };
    const task = (async () => {
      try {
        if (raw !== null) {
          conn = await startTls(raw, {
            context: listening.tls!,
            deadlineMs: limits.firstRequestMs,
          });
        }
        reader = new ConnReader(conn);
        await serveConnection({ conn, reader, id, listening, session, opened });
      } catch {
        // The peer went away, or never finished its TLS handshake: nothing to answer.
      } finally {
        for (const challenge of session.challenges) listening.auth.challenges?.discard(challenge);
        close();
        await (raw?.settled() ?? (reader as ConnReader | null)?.settled());
        table.remove(id);
        open.delete(id);
      }
    })();
    inFlight.add(task);
    task.finally(() => inFlight.delete(task));
  };

  const acceptLoop = async (listening: Listening) => {
    const failures = new AcceptFailures(log, listening.name);
    while (!stopping) {
      // At the cap, connections wait in the listen queue (holding no descriptor of ours).
      await table.room();
      if (stopping) return;
      let conn: Deno.Conn;
      try {
        conn = await listening.listener.accept();
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        if (!outOfDescriptors(error)) {
          log(`accept on ${listening.name} failed: ${(error as Error).message}`);
          continue;
        }
        // No descriptor is free: close an idle connection (of whoever holds the most) so that
        // the next accept may succeed, and wait a little; the connections waiting to be
        // accepted stay in the listen queue meanwhile.
        table.evictOne();
        const wait = failures.failed(error as Error);
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      failures.succeeded();
      take(conn, listening);
    }
  };

  const sweepInterval = config.integer("SEC_CREDENTIAL_SWEEP_INTERVAL");
  let sweeping: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (sweeping !== null) return;
    sweeping = (async () => {
      try {
        const ctx = createStoreContext(config, { euid, debug });
        const swept = await sweep(ctx);
        for (const user of swept.kerberos) log(`swept the Kerberos credentials of ${quote(user)}`);
        for (const user of swept.oauth) log(`swept the OAuth credentials of ${quote(user)}`);
      } catch (error) {
        log(`sweep failed: ${describeError(error)}`);
      } finally {
        sweeping = null;
      }
    })();
  }, Math.max(1, sweepInterval) * 1000);

  const loops = listeners.map(acceptLoop);
  let fatal: string | null = null;
  await Promise.race([options.stop, executor.failed.then((reason) => fatal = reason)]);
  stopping = true;
  log(
    fatal === null
      ? "stopping: no new connections; finishing requests in progress"
      : `stopping: ${fatal}; exiting with status 1 so that the service manager restarts the daemon`,
  );
  clearInterval(timer);
  for (const { listener } of listeners) {
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  }
  // Idle connections go now; busy ones finish their request (bounded).
  for (const [id, conn] of open) {
    if (table.entry(id)?.busy !== true) {
      try {
        conn().close();
      } catch {
        // Already closed.
      }
    }
  }
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const drained = await Promise.race([
    Promise.all([...inFlight]).then(() => true),
    new Promise<boolean>((r) => {
      drainTimer = setTimeout(() => r(false), limits.shutdownMs);
    }),
  ]);
  clearTimeout(drainTimer);
  if (!drained) {
    log(`stopping: ${inFlight.size} requests still running after ${limits.shutdownMs} ms`);
  }
  for (const conn of open.values()) {
    try {
      conn().close();
    } catch {
      // Already closed.
    }
  }
  await Promise.allSettled(loops);
  if (sweeping !== null) await sweeping;
  executor.close();
  try {
    Deno.removeSync(path);
  } catch {
    // Gone already.
  }
  log("stopped");
  return fatal === null ? 0 : 1;
}
