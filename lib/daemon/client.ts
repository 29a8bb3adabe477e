/**
 * The client side of the daemon protocol: sends one request to `condor_store_cred serve` over the
 * local Unix socket (proving the caller with a challenge file) or over TLS (with an IDTOKEN), and
 * returns the daemon's reply. The credential travels only inside the connection.
 *
 * Permissions: --allow-read and --allow-write on the socket and the challenge directory;
 * --allow-net for TLS.
 */

import { quote, StoreError } from "../errors.ts";
import { type CredRequest, type ListRequest, wipeRequest } from "../request.ts";
import type { ListReply, Reply } from "../store/service.ts";
import { answerChallenge } from "./challenge.ts";
import { ConnReader, HttpError, readResponse, writeJsonRequest } from "./http.ts";
import {
  decodeChallenge,
  decodeListReply,
  decodeReply,
  decodeWhoami,
  encodeRequest,
  MAX_BODY_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  type Whoami,
} from "./protocol.ts";

/** How long a reply may take: the lock wait and the credmon wait are bounded by the daemon. */
const REPLY_MS = 120_000;

/** One request/response exchange on an open connection. */
async function exchange(
  conn: Deno.Conn,
  reader: ConnReader,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  await writeJsonRequest(conn, "POST", path, body, headers);
  const response = await readResponse(reader, {
    idleMs: REPLY_MS,
    messageMs: 30_000,
    maxBody: MAX_BODY_BYTES,
  });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(response.body));
  } catch {
    throw new ProtocolError(502, "unreachable", "the daemon's answer is not JSON");
  }
  if (typeof value !== "object" || value === null) {
    throw new ProtocolError(502, "unreachable", "the daemon's answer is not an object");
  }
  const answer = value as Record<string, unknown>;
  if (response.status !== 200) {
    const error = answer.error as { code?: string; message?: string } | undefined;
    throw new ProtocolError(
      response.status,
      response.status === 401 ? "not-secure" : "unreachable",
      typeof error?.message === "string" ? error.message : `the daemon answered ${response.status}`,
    );
  }
  return answer;
}

/** Turns a transport failure into the client's StoreError. */
function failure(error: unknown, where: string): StoreError {
  if (error instanceof StoreError) return error;
  if (error instanceof ProtocolError) {
    // 5xx: the daemon took the request and could not finish it (its message says what to do).
    const what = error.status >= 500 ? "could not handle the request" : "refused the request";
    return new StoreError(error.code, `${where} ${what}: ${error.message}`);
  }
  if (error instanceof HttpError) {
    return new StoreError("unreachable", `${where} did not answer properly: ${error.message}`);
  }
  return new StoreError(
    "unreachable",
    `could not talk to ${where}: ${(error as Error).message?.replace(/: \w+ '.*'$/, "")}`,
  );
}

/** One call to the daemon: where it goes, what it sends, how its answer is read. */
export interface DaemonCall<T> {
  readonly path: string;
  /** The body's payload (beside `version` and the proof). */
  payload(): Record<string, unknown>;
  decode(answer: Record<string, unknown>): T;
  /** Zeroes whatever secret the call carried. */
  wipe(): void;
}

/** A store request (add, delete, query). */
export function storeCall(request: CredRequest): DaemonCall<Reply> {
  return {
    path: "/v1/request",
    payload: () => ({ request: encodeRequest(request) }),
    decode: (answer) => decodeReply(answer.reply),
    wipe: () => wipeRequest(request),
  };
}

/** A listing request. */
export function listCall(request: ListRequest): DaemonCall<ListReply> {
  return {
    path: "/v1/list",
    payload: () => ({ list: { type: request.type, user: request.user } }),
    decode: (answer) => decodeListReply(answer.reply),
    wipe: () => {},
  };
}

/** Who the daemon takes the caller to be, and until when its token is valid. */
export function whoamiCall(): DaemonCall<Whoami> {
  return {
    path: "/v1/whoami",
    payload: () => ({}),
    decode: (answer) => decodeWhoami(answer.whoami),
    wipe: () => {},
  };
}

/**
 * Asks for an identity challenge; while the daemon answers 503 (too many pending, as under a
 * flood), waits and asks again, for up to about 5 seconds.
 */
async function askChallenge(
  conn: Deno.Conn,
  reader: ConnReader,
): Promise<Record<string, unknown>> {
  for (let wait = 50;; wait *= 2) {
    try {
      return await exchange(conn, reader, "/v1/challenge", { version: PROTOCOL_VERSION });
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.status !== 503 || wait > 2000) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait + Math.random() * wait));
    }
  }
}

/**
 * Sends `call` to the daemon on the Unix socket `socket`, answering its identity challenge in
 * `challengeDir`. Wipes the call's secret. Throws StoreError ("unreachable", "not-secure").
 */
export async function sendLocal<T>(
  socket: string,
  challengeDir: string,
  call: DaemonCall<T>,
): Promise<T> {
  const where = `the condor_store_cred daemon on ${quote(socket)}`;
  let proof: Proof;
  try {
    proof = await prove(socket, challengeDir, where);
  } catch (error) {
    call.wipe();
    throw error;
  }
  const { conn, reader, challenge } = proof;
  try {
    const body = { version: PROTOCOL_VERSION, ...call.payload() };
    call.wipe();
    // The proof goes in the head, so the daemon knows the caller before it reads the body.
    const answer = await exchange(conn, reader, call.path, body, {
      authorization: `Challenge ${challenge.id} ${challenge.nonce}`,
      connection: "close",
    });
    return call.decode(answer);
  } catch (error) {
    throw failure(error, where);
  } finally {
    call.wipe();
    proof.cleanup();
    close(conn);
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** A connection with an answered challenge, ready for its request. */
interface Proof {
  readonly conn: Deno.Conn;
  readonly reader: ConnReader;
  readonly challenge: { readonly id: string; readonly nonce: string };
  /** Removes the challenge file. */
  readonly cleanup: () => void;
}

/** True for a failure that a busy daemon causes and a second try may not meet. */
function transient(error: unknown): boolean {
  return error instanceof Deno.errors.WouldBlock || error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe || error instanceof HttpError ||
    /temporarily unavailable|os error 11\b/i.test((error as Error)?.message ?? "");
}

/**
 * Connects and answers an identity challenge. Nothing is sent before that, so when a busy daemon
 * drops the connection or its listen queue is full (a flood of connections), it tries again, for
 * up to about 5 seconds. A socket nobody listens on fails at once.
 */
async function prove(socket: string, challengeDir: string, where: string): Promise<Proof> {
  for (let wait = 50;; wait *= 2) {
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ transport: "unix", path: socket });
    } catch (error) {
      if (transient(error) && wait <= 2000) {
        await new Promise((resolve) => setTimeout(resolve, wait + Math.random() * wait));
        continue;
      }
      throw new StoreError(
        "unreachable",
        `no condor_store_cred daemon answers on ${quote(socket)}: ` +
          `${(error as Error).message.replace(/: \w+ '.*'$/, "")}`,
        { remedy: "ask an administrator to start it (systemctl start condor_store_cred)" },
      );
    }
    try {
      const reader = new ConnReader(conn);
      const challenge = decodeChallenge(await askChallenge(conn, reader));
      const cleanup = answerChallenge(challenge, challengeDir);
      return { conn, reader, challenge, cleanup };
    } catch (error) {
      close(conn);
      if (transient(error) && wait <= 2000) {
        await new Promise((resolve) => setTimeout(resolve, wait + Math.random() * wait));
        continue;
      }
      throw failure(error, where);
    }
  }
}

/** Options of `sendRemote`. */
export interface RemoteOptions {
  readonly host: string;
  readonly port: number;
  /**
   * PEM CA certificates to trust (AUTH_SSL_CLIENT_CAFILE), in addition to Deno's built-in roots
   * (Mozilla's; the system's with DENO_TLS_CA_STORE=system): Deno offers no way to trust these
   * alone.
   */
  readonly caCerts?: string[];
  /**
   * Chooses the IDTOKEN proving the caller, once the daemon's trust domain is known. Throws
   * StoreError("not-secure") when the caller holds none it would accept.
   */
  readonly token: (trustDomain: string) => string;
}

/**
 * Sends `call` to the daemon at `host:port` over TLS, verifying the server's certificate and
 * host name, with the caller's IDTOKEN. Wipes the call's secret. Throws StoreError.
 */
export async function sendRemote<T>(options: RemoteOptions, call: DaemonCall<T>): Promise<T> {
  const where = `the condor_store_cred daemon at ${options.host}:${options.port}`;
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.connectTls({
      hostname: options.host,
      port: options.port,
      ...(options.caCerts ? { caCerts: options.caCerts } : {}),
    });
    await conn.handshake();
  } catch (error) {
    call.wipe();
    const message = (error as Error).message;
    if (/certificate|UnknownIssuer|NotValidForName|invalid peer/i.test(message)) {
      const wrongName = /NotValidForName|not valid for/i.test(message);
      throw new StoreError(
        "not-secure",
        `${where} could not be trusted: ${message.replace(/: \w+ '.*'$/, "")}`,
        {
          remedy: wrongName
            ? `name the daemon as its certificate does (-n or CREDD_HOST), or give it a ` +
              `certificate whose names include ${options.host}`
            : "set AUTH_SSL_CLIENT_CAFILE to the CA that signed the daemon's certificate",
        },
      );
    }
    throw new StoreError("unreachable", `could not connect to ${where}: ${message}`);
  }
  try {
    const reader = new ConnReader(conn);
    await writeJsonRequest(conn, "GET", "/v1/health", undefined);
    const health = await readResponse(reader, { idleMs: 30_000, messageMs: 30_000, maxBody: 4096 });
    let trustDomain = "";
    try {
      const value = JSON.parse(new TextDecoder().decode(health.body));
      trustDomain = typeof value.trustDomain === "string" ? value.trustDomain : "";
    } catch {
      throw new ProtocolError(502, "unreachable", "the daemon's health answer is not JSON");
    }
    const token = options.token(trustDomain);
    const body = { version: PROTOCOL_VERSION, ...call.payload() };
    call.wipe();
    const answer = await exchange(conn, reader, call.path, body, {
      authorization: `Bearer ${token}`,
      connection: "close",
    });
    return call.decode(answer);
  } catch (error) {
    throw failure(error, where);
  } finally {
    call.wipe();
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}
