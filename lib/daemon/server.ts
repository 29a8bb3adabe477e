/**
 * `condor_store_cred serve`: the credd role (README "The daemon"). It owns the store, listens on
 * a Unix socket (and, with CREDD_TLS_ADDRESS, on TLS), proves each caller's identity, and hands
 * each request to the store service, one line per request on stderr. It stops cleanly on
 * SIGTERM or SIGINT, and runs the mark-and-sweep of idle users.
 *
 * Hostile clients cost bounded resources: a cap on connections (the oldest idle one makes room
 * for a new one), deadlines on every read, a body size limit, a cap on pending challenges.
 *
 * Permissions: --allow-read, --allow-write (store, socket, challenge directory), --allow-env,
 * --allow-sys=hostname,uid,gid, --allow-run=/bin/kill; --allow-net for TLS.
 */

import type { Config, LoadConfigOptions } from "../config/mod.ts";
import { printable, quote, StoreError } from "../errors.ts";
import { storeDirectory } from "../fs/directories.ts";
import { dirname } from "../fs/paths.ts";
import { isObject } from "../jwt.ts";
import { type Caller, callerAccount, type CredRequest } from "../request.ts";
import { type StorePath } from "../store/context.ts";
import { storeRoot } from "../store/layout.ts";
import { createStoreContext, type Reply } from "../store/service.ts";
import { AccountDb } from "../accounts.ts";
import { Challenges, checkChallengeDirectory } from "./challenge.ts";
import {
  ConnReader,
  HttpError,
  type HttpMessage,
  lingerClose,
  readRequest,
  writeJsonResponse,
} from "./http.ts";
import {
  decodeListRequest,
  decodeRequest,
  encodeListReply,
  encodeReply,
  MAX_BODY_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
} from "./protocol.ts";
import { sweep } from "./sweep.ts";
import { type Executor, inThreadExecutor, workerPool } from "./workers.ts";
import { listenTls, tlsAddress, tokenAuthenticator } from "./tls.ts";

/** How the daemon authenticates a request on one listener. */
export interface Authenticator {
  /** The transport, for logs: `unix` or `tls`. */
  readonly transport: "unix" | "tls";
  /** Proves the caller of a request, or throws ProtocolError(401). */
  authenticate(request: HttpMessage, body: Record<string, unknown>, peer: string): Promise<Caller>;
  /** Whether this listener issues challenges (the Unix socket). */
  readonly challenges: Challenges | null;
}

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

/** Limits of the daemon's connections. */
interface Limits {
  readonly maxConnections: number;
  readonly firstRequestMs: number;
  readonly idleMs: number;
  readonly messageMs: number;
  readonly shutdownMs: number;
  readonly challengesPerConnection: number;
}

function limits(config: Config): Limits {
  return {
    maxConnections: config.getInt("CREDD_MAX_CONNECTIONS", 4096),
    firstRequestMs: 10_000,
    idleMs: 60_000,
    messageMs: 10_000,
    shutdownMs: 15_000,
    challengesPerConnection: 8,
  };
}

/** The socket path the configuration names. Throws StoreError("config"). */
export function socketPath(config: Config): string {
  const path = config.get("CREDD_SOCKET");
  if (path === undefined || !path.startsWith("/")) {
    throw new StoreError(
      "config",
      `CREDD_SOCKET is ${
        path === undefined ? "not set" : quote(path)
      }; it must be an absolute path`,
    );
  }
  return path;
}

/** The challenge directory the configuration names (default /tmp). */
export function challengeDirectory(config: Config): string {
  return config.get("CREDD_CHALLENGE_DIRECTORY") ?? "/tmp";
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

interface Connection {
  readonly conn: Deno.Conn;
  /** Who this connection proved to be (a Unix socket connection cannot change hands). */
  caller: Caller | null;
  busy: boolean;
  readonly opened: number;
  /** Challenges issued on this connection and not yet answered. */
  readonly challenges: Set<string>;
}

function jsonBody(request: HttpMessage): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(request.body));
  } catch {
    throw new ProtocolError(400, "bad-args", "the request body is not JSON");
  } finally {
    request.body.fill(0);
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

/** The caller behind a uid, from the passwd file, with this node's UID_DOMAIN. */
export function localCaller(config: Config, uid: number): Caller {
  const name = new AccountDb().byUid(uid)?.name;
  if (name === undefined) {
    throw new ProtocolError(401, "not-secure", `uid ${uid} has no name in the passwd file`);
  }
  return { uid, name, domain: config.get("UID_DOMAIN") ?? "", inProcess: false };
}

/** The Unix socket's authenticator: the file-ownership challenge. */
export function socketAuthenticator(config: Config, challenges: Challenges): Authenticator {
  return {
    transport: "unix",
    challenges,
    authenticate(_request, body) {
      const answer = isObject(body.challenge) ? body.challenge : {};
      const uid = challenges.verify(answer.id, answer.nonce);
      return Promise.resolve(localCaller(config, uid));
    },
  };
}

function describeRequest(request: CredRequest, reply: Reply): string {
  const type = { password: "pwd", kerberos: "krb", oauth: "oauth" }[request.type];
  const target = reply.target?.account ?? request.user ?? "-";
  const service = request.type === "oauth" && request.service
    ? ` service=${quote(request.service)}`
    : "";
  const result = reply.ok ? reply.outcome.status : reply.error.code;
  return `${request.action}-${type} for ${quote(target)}${service}: ${result}`;
}

/** The body a challenge or health request may have. */
const CHALLENGE_BODY_BYTES = 1024;
/** Bodies up to this size are not counted against the budget (the connection limit bounds them). */
const SMALL_BODY_BYTES = 64 * 1024;
/** Larger bodies (credentials) being read or handled at once, in all. */
const LARGE_BODY_BUDGET = 256 * 1024 * 1024;

/**
 * Runs the daemon until `options.stop` resolves. Returns the exit status. Throws StoreError when
 * it cannot start (insecure socket directory or store, a live daemon on the socket).
 */
export async function serve(options: ServeOptions): Promise<number> {
  const { config, euid } = options;
  // Every log line is one line: whatever a caller sent (a name, a token's subject) is escaped, so
  // nobody can forge a line of the log.
  const log = (line: string) => options.log(printable(line));
  const debug = options.debug ?? (() => {});
  const limit = limits(config);
  const path = socketPath(config);
  const challengeDir = challengeDirectory(config);
  checkChallengeDirectory(challengeDir);
  checkStore(config, euid);
  await prepareSocket(config, path, euid);
  const address = tlsAddress(config);
  // The TLS listener (and its certificate) first: a refusal then leaves no socket behind.
  const tls = address === null ? null : listenTls(config, address);
  const listener = Deno.listen({ transport: "unix", path });
  Deno.chmodSync(path, 0o666);
  const workers = config.getInt("CREDD_WORKERS", 4);
  const executor: Executor = workers > 0
    ? await workerPool(workers, options.configOptions, euid, options.debug)
    : inThreadExecutor(config, euid, debug);
  // Every connection may hold its full share of unanswered challenges; a closed connection's
  // are discarded at once, so no caller can crowd others out of the table.
  const challenges = new Challenges(challengeDir, {
    ttlMs: Math.max(1, config.getInt("CREDD_CHALLENGE_LIFETIME", 10)) * 1000,
    max: Math.max(20_000, limit.maxConnections * limit.challengesPerConnection),
  });
  const listeners: { listener: Deno.Listener; auth: Authenticator }[] = [
    { listener, auth: socketAuthenticator(config, challenges) },
  ];
  if (tls !== null) listeners.push({ listener: tls, auth: tokenAuthenticator(config, euid) });
  const tlsText = tls === null
    ? ""
    : ` and TLS ${(tls.addr as Deno.NetAddr).hostname}:${(tls.addr as Deno.NetAddr).port}`;
  log(`serving on ${path}${tlsText} (pid ${Deno.pid})`);

  const connections = new Set<Connection>();
  let stopping = false;
  // Memory for request bodies is bounded: a challenge or health request has at most a small one,
  // and large bodies (stored credentials) share a budget, beyond which a request is answered 503
  // before its body is read. Small bodies are bounded by the connection limit.
  let largeBodies = 0;
  const admit = (_method: string, path: string, length: number) => {
    if ((path === "/v1/challenge" || path === "/v1/health") && length > CHALLENGE_BODY_BYTES) {
      throw new HttpError(
        413,
        `a ${path} request has no body larger than ${CHALLENGE_BODY_BYTES} bytes`,
      );
    }
    if (length <= SMALL_BODY_BYTES) return;
    if (largeBodies + length > LARGE_BODY_BUDGET) {
      throw new HttpError(503, "the daemon is busy reading other large requests; retry");
    }
    largeBodies += length;
  };
  const release = (length: number) => {
    if (length > SMALL_BODY_BYTES) largeBodies -= length;
  };
  const inFlight = new Set<Promise<void>>();

  const handle = async (
    request: HttpMessage,
    auth: Authenticator,
    connection: Connection,
    peer: string,
  ): Promise<[number, unknown]> => {
    // The first request of a connection proves who the caller is; later ones on the same
    // connection (keep-alive) are that caller, unless they prove again. A challenge the body
    // names is no longer this connection's to answer, whatever the proof's outcome.
    const prove = async (request: HttpMessage, body: Record<string, unknown>) => {
      if (isObject(body.challenge) && typeof body.challenge.id === "string") {
        connection.challenges.delete(body.challenge.id);
      }
      const proves = body.challenge !== undefined || request.headers.has("authorization");
      if (!proves && connection.caller !== null) return connection.caller;
      // A failed proof also ends whatever identity the connection had.
      connection.caller = null;
      connection.caller = await auth.authenticate(request, body, peer);
      return connection.caller;
    };
    if (request.method === "GET" && request.path === "/v1/health") {
      // The trust domain lets a remote client choose a token this daemon accepts.
      return [200, {
        version: PROTOCOL_VERSION,
        ok: true,
        trustDomain: config.get("TRUST_DOMAIN") ?? "",
      }];
    }
    if (request.method === "POST" && request.path === "/v1/challenge") {
      // The body is optional; when there is one, its version must be this daemon's.
      if (request.body.length > 0) jsonBody(request);
      if (auth.challenges === null) {
        throw new ProtocolError(
          404,
          "unsupported",
          "challenges are issued on the Unix socket only",
        );
      }
      if (connection.challenges.size >= limit.challengesPerConnection) {
        throw new ProtocolError(
          429,
          "unreachable",
          "too many unanswered challenges on one connection",
        );
      }
      const challenge = auth.challenges.issue();
      connection.challenges.add(challenge.id);
      return [200, { version: PROTOCOL_VERSION, ...challenge }];
    }
    if (request.method === "POST" && request.path === "/v1/request") {
      const body = jsonBody(request);
      const caller = await prove(request, body);
      const credRequest = decodeRequest(body.request);
      const reply = await executor.perform(caller, credRequest);
      log(
        `${auth.transport} ${quote(callerAccount(caller))}: ${describeRequest(credRequest, reply)}`,
      );
      return [200, { version: PROTOCOL_VERSION, reply: encodeReply(reply) }];
    }
    if (request.method === "POST" && request.path === "/v1/list") {
      const body = jsonBody(request);
      const caller = await prove(request, body);
      const listRequest = decodeListRequest(body.list);
      const reply = await executor.list(caller, listRequest);
      log(
        `${auth.transport} ${quote(callerAccount(caller))}: list ${listRequest.type ?? "all"} for ${
          quote(reply.user ?? "everyone")
        }: ${reply.ok ? `${reply.rows.length} credentials` : reply.error.code}`,
      );
      return [200, { version: PROTOCOL_VERSION, reply: encodeListReply(reply) }];
    }
    throw new ProtocolError(404, "unsupported", `no ${request.method} ${request.path} here`);
  };

  const serveConnection = async (conn: Deno.Conn, auth: Authenticator) => {
    const connection: Connection = {
      conn,
      caller: null,
      busy: false,
      opened: Date.now(),
      challenges: new Set(),
    };
    connections.add(connection);
    const reader = new ConnReader(conn);
    const peer = conn.remoteAddr.transport === "tcp" ? conn.remoteAddr.hostname : "local";
    let served = 0;
    // The large-body budget this connection holds for its current request.
    let reserved = 0;
    const admitHere = (method: string, path: string, length: number) => {
      admit(method, path, length);
      reserved = length;
    };
    try {
      while (!stopping) {
        release(reserved);
        reserved = 0;
        let request: HttpMessage | null;
        try {
          request = await readRequest(reader, {
            idleMs: served === 0 ? limit.firstRequestMs : limit.idleMs,
            messageMs: limit.messageMs,
            maxBody: MAX_BODY_BYTES,
            admit: admitHere,
          });
        } catch (error) {
          if (error instanceof HttpError && error.status !== 408) {
            log(`${auth.transport} ${peer}: refused (${error.status}): ${error.message}`);
            await writeJsonResponse(conn, error.status, {
              version: PROTOCOL_VERSION,
              error: {
                code: error.status === 503 ? "unreachable" : "bad-args",
                message: error.message,
              },
            }, false).catch(() => {});
            connections.delete(connection);
            await lingerClose(conn);
          }
          return;
        }
        if (request === null) return;
        connection.busy = true;
        let status: number;
        let body: unknown;
        try {
          [status, body] = await handle(request, auth, connection, peer);
        } catch (error) {
          let failure: ProtocolError;
          if (error instanceof ProtocolError) {
            failure = error;
          } else {
            log(`internal error: ${(error as Error).stack ?? error}`);
            failure = new ProtocolError(500, "io", "the daemon failed unexpectedly; see its log");
          }
          log(`${auth.transport} ${peer}: refused (${failure.status}): ${failure.message}`);
          status = failure.status;
          body = {
            version: PROTOCOL_VERSION,
            error: { code: failure.code, message: failure.message },
          };
        }
        served++;
        const keepAlive = !stopping &&
          request.headers.get("connection")?.toLowerCase() !== "close";
        await writeJsonResponse(conn, status, body, keepAlive);
        connection.busy = false;
        if (!keepAlive) return;
      }
    } catch {
      // The peer went away; nothing to answer.
    } finally {
      release(reserved);
      connections.delete(connection);
      for (const id of connection.challenges) auth.challenges?.discard(id);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };

  /** Makes room for a new connection by closing the oldest idle one. */
  const makeRoom = (): boolean => {
    if (connections.size < limit.maxConnections) return true;
    let oldest: Connection | null = null;
    for (const c of connections) {
      if (!c.busy && (oldest === null || c.opened < oldest.opened)) oldest = c;
    }
    if (oldest === null) return false;
    connections.delete(oldest);
    try {
      oldest.conn.close();
    } catch {
      // Already closed.
    }
    return true;
  };

  const acceptLoop = async (l: Deno.Listener, auth: Authenticator) => {
    while (!stopping) {
      let conn: Deno.Conn;
      try {
        conn = await l.accept();
      } catch (error) {
        if (stopping) return;
        if (error instanceof Deno.errors.BadResource) return;
        log(`accept failed: ${(error as Error).message}`);
        continue;
      }
      if (!makeRoom()) {
        conn.close();
        continue;
      }
      const task = serveConnection(conn, auth);
      inFlight.add(task);
      task.finally(() => inFlight.delete(task));
    }
  };

  const sweepInterval = config.getInt("SEC_CREDENTIAL_SWEEP_INTERVAL", 300);
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
        log(`sweep failed: ${(error as Error).message}`);
      } finally {
        sweeping = null;
      }
    })();
  }, Math.max(1, sweepInterval) * 1000);

  const loops = listeners.map(({ listener, auth }) => acceptLoop(listener, auth));
  await options.stop;
  stopping = true;
  log("stopping: no new connections; finishing requests in progress");
  clearInterval(timer);
  for (const { listener } of listeners) {
    try {
      listener.close();
    } catch {
      // Already closed.
    }
  }
  // Idle connections go now; busy ones finish their request (bounded).
  for (const c of connections) {
    if (!c.busy) {
      try {
        c.conn.close();
      } catch {
        // Already closed.
      }
    }
  }
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const drained = await Promise.race([
    Promise.all([...inFlight]).then(() => true),
    new Promise<boolean>((r) => {
      drainTimer = setTimeout(() => r(false), limit.shutdownMs);
    }),
  ]);
  clearTimeout(drainTimer);
  if (!drained) {
    log(`stopping: ${inFlight.size} requests still running after ${limit.shutdownMs} ms`);
  }
  for (const c of connections) {
    try {
      c.conn.close();
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
  return 0;
}
