/**
 * The daemon's endpoints as data (docs/protocol.md "Endpoints"): each route is its method, path,
 * largest body, whether its caller must be proven, which listeners offer it, and its handler. The
 * connection loop (lib/daemon/server.ts) reads the head, finds the route, proves the caller and
 * reads the body as the route says, then calls the handler. A new endpoint is one entry here, one
 * codec in lib/daemon/protocol.ts and one `DaemonCall` in lib/daemon/client.ts.
 */

import type { Config } from "../config/mod.ts";
import { quote } from "../errors.ts";
import type { CredRequest } from "../request.ts";
import { credentialLimit } from "../store/service.ts";
import { credentialType } from "../store/types/mod.ts";
import type { Identity, Session, Transport } from "./auth.ts";
import type { Challenges } from "./challenge.ts";
import {
  decodeListRequest,
  decodeRequest,
  encodeWhoami,
  hidePaths,
  MAX_BODY_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
} from "./protocol.ts";
import { type Executor, type OperationName, type Payload, WorkerFailure } from "./workers.ts";

/** Everything a handler may use. */
export interface RouteContext {
  readonly config: Config;
  /** One line in the daemon's log (escaped by the log itself). */
  readonly log: (line: string) => void;
  readonly executor: Executor;
  readonly transport: Transport;
  /** The proven caller; null only for routes that need none. */
  readonly identity: Identity | null;
  /** The request's JSON body (its version checked), or null when the route reads none. */
  readonly body: Record<string, unknown> | null;
  readonly session: Session;
  readonly challenges: Challenges | null;
}

/** A handler's answer: an HTTP status and the JSON body. */
export type Answer = readonly [number, Record<string, unknown>];

/** One endpoint. */
export interface Route {
  readonly method: "GET" | "POST";
  readonly path: string;
  /** The largest body accepted; a larger Content-Length is answered 413 before it is read. */
  readonly maxBody: number;
  /** Whether the body is JSON the handler needs ("optional": JSON when there is one). */
  readonly body: "none" | "optional" | "json";
  /** Whether the caller must be proven (a challenge on the socket, a token over TLS). */
  readonly proven: boolean;
  /** The listeners that offer it; elsewhere it is answered 404 with `elsewhere`. */
  readonly transports: readonly Transport[];
  readonly elsewhere?: string;
  /** Whether it performs store work: it then waits for its caller's turn. */
  readonly work: boolean;
  handle(ctx: RouteContext): Answer | Promise<Answer>;
}

/** The body a challenge, health or whoami request may have (or an unknown path's). */
export const SMALL_REQUEST_BYTES = 1024;
/** The body a listing may have (its user name is at most 4096 characters). */
const LIST_BODY_BYTES = 64 * 1024;
/** Challenges a connection may hold unanswered. */
export const CHALLENGES_PER_CONNECTION = 8;
/** Time a store request may take beyond the lock and credmon waits it is allowed. */
const DEADLINE_MARGIN_MS = 30_000;

/**
 * How long the store may take for a request: its lock wait (CRED_LOCK_TIMEOUT), an add-krb's
 * credmon wait (CREDD_POLLING_TIMEOUT), and a margin.
 */
export function requestDeadlineMs(config: Config, request: CredRequest | null): number {
  const lock = config.integer("CRED_LOCK_TIMEOUT");
  const credmon = request?.action === "add" && credentialType(request.type).addWaitsForCredmon
    ? config.integer("CREDD_POLLING_TIMEOUT")
    : 0;
  return (Math.max(0, lock) + Math.max(0, credmon)) * 1000 + DEADLINE_MARGIN_MS;
}

/** A refusal whose request line the handler has logged already (the daemon logs no other). */
export class LoggedRefusal extends ProtocolError {}

/** What a request that got no answer from the store is told. */
function failureAnswer(failure: WorkerFailure): LoggedRefusal {
  const unknown = "for an add or delete, check whether it was done before you retry";
  switch (failure.kind) {
    case "unavailable":
      return new LoggedRefusal(
        503,
        "unreachable",
        "the daemon's store workers are restarting; retry",
      );
    case "deadline":
      return new LoggedRefusal(
        503,
        "unreachable",
        `the daemon's store did not answer in time (see the daemon's log); ${unknown}`,
      );
    default:
      return new LoggedRefusal(
        500,
        "io",
        `the daemon's store worker failed while handling the request (see the daemon's log); ` +
          unknown,
      );
  }
}

/** The result word of a request's log line, when the store gave no answer. */
function failureWord(failure: WorkerFailure): string {
  return {
    threw: "failed in the store worker",
    crashed: "lost with its store worker",
    deadline: "no answer in time",
    unavailable: "no store worker serving",
  }[failure.kind];
}

/** Runs a store operation; a worker failure becomes the protocol refusal, after `logged`. */
async function work<Op extends OperationName>(
  ctx: RouteContext,
  op: Op,
  payload: Payload<Op>,
  options: { deadlineMs: number; transfer?: Transferable[]; inline?: boolean },
  logged: (result: string) => void,
): Promise<Record<string, unknown>> {
  try {
    return await ctx.executor.run(op, ctx.identity!.caller, payload, options);
  } catch (error) {
    if (!(error instanceof WorkerFailure)) throw error;
    logged(failureWord(error));
    throw failureAnswer(error);
  }
}

/**
 * The reply as a remote caller may see it: over TLS no path of the daemon's host is sent (in an
 * error's message or a warning). Returns the reply and, when something was hidden, the message as
 * it was, for the daemon's log.
 */
function forTransport(
  reply: Record<string, unknown>,
  transport: Transport,
): { reply: Record<string, unknown>; hidden: string | null } {
  if (transport !== "tls") return { reply, hidden: null };
  const error = reply.error as { code: string; message: string } | undefined;
  const warnings = Array.isArray(reply.warnings) ? reply.warnings as string[] : [];
  const message = error === undefined ? null : hidePaths(error.message);
  const shown = warnings.map(hidePaths);
  // A listed row's problem (a refused account's reason and fix) names the daemon's files too.
  const rows = Array.isArray(reply.rows)
    ? (reply.rows as { problem?: unknown }[]).map((row) =>
      typeof row.problem === "string" ? { ...row, problem: hidePaths(row.problem) } : row
    )
    : undefined;
  const rowsHidden = rows !== undefined &&
    rows.some((row, i) => row.problem !== (reply.rows as { problem?: unknown }[])[i].problem);
  if (message === error?.message && shown.every((w, i) => w === warnings[i]) && !rowsHidden) {
    return { reply, hidden: null };
  }
  return {
    reply: {
      ...reply,
      ...(rows === undefined ? {} : { rows }),
      warnings: shown,
      ...(error === undefined ? {} : { error: { ...error, message } }),
    },
    hidden: error?.message ?? null,
  };
}

/** The result of a reply for the log: success, pending, or its error code. */
function resultOf(reply: Record<string, unknown>, hidden: string | null): string {
  const outcome = reply.outcome as { status?: string } | undefined;
  const error = reply.error as { code?: string } | undefined;
  const result = reply.ok === true ? outcome?.status ?? "success" : error?.code ?? "failed";
  return hidden === null ? result : `${result} (${hidden})`;
}

/** The log line's start: the transport and the caller. */
function who(ctx: RouteContext): string {
  return `${ctx.transport} ${quote(ctx.identity!.account)}`;
}

/** What a request is about, for its log line: the account the store acted on, or was asked for. */
function describeRequest(
  ctx: RouteContext,
  request: CredRequest,
  reply: Record<string, unknown> | null,
): string {
  const type = credentialType(request.type).word;
  const target = (reply?.target as { account?: string } | null | undefined)?.account ??
    request.user ?? (reply === null ? ctx.identity!.account : "-");
  const service = request.type === "oauth" && request.service
    ? ` service=${quote(request.service)}`
    : "";
  return `${request.action}-${type} for ${quote(target)}${service}`;
}

const health: Route = {
  method: "GET",
  path: "/v1/health",
  maxBody: SMALL_REQUEST_BYTES,
  body: "none",
  proven: false,
  transports: ["unix", "tls"],
  work: false,
  handle(ctx) {
    const { serving, size } = ctx.executor.health();
    // The trust domain lets a remote client choose a token this daemon accepts.
    const base = { version: PROTOCOL_VERSION, trustDomain: ctx.config.get("TRUST_DOMAIN") ?? "" };
    if (serving === size) return [200, { ...base, ok: true }];
    return [503, {
      ...base,
      ok: false,
      problem: `${size - serving} of ${size} store workers are not serving`,
    }];
  },
};

const challenge: Route = {
  method: "POST",
  path: "/v1/challenge",
  maxBody: SMALL_REQUEST_BYTES,
  body: "optional",
  proven: false,
  transports: ["unix"],
  elsewhere: "challenges are issued on the Unix socket only",
  work: false,
  handle(ctx) {
    if (ctx.session.challenges.size >= CHALLENGES_PER_CONNECTION) {
      throw new ProtocolError(
        429,
        "unreachable",
        "too many unanswered challenges on one connection",
      );
    }
    const issued = ctx.challenges!.issue();
    ctx.session.challenges.add(issued.id);
    return [200, { version: PROTOCOL_VERSION, ...issued }];
  },
};

/** What a store route is: its path and body limit, and how its operation is asked for and logged. */
interface StoreRouteSpec<Op extends OperationName> {
  readonly path: string;
  readonly maxBody: number;
  readonly op: Op;
  /** The operation's payload, from the request's body. Throws ProtocolError. */
  readonly decode: (body: Record<string, unknown>) => Payload<Op>;
  /** What the request is about, for its log line (`reply` null: the store gave none). */
  readonly describe: (
    ctx: RouteContext,
    payload: Payload<Op>,
    reply: Record<string, unknown> | null,
  ) => string;
  readonly deadlineMs: (config: Config, payload: Payload<Op>) => number;
  /** Buffers that move to the worker with the payload. */
  readonly transfer?: (payload: Payload<Op>) => Transferable[];
  /** Whether the request is a short read the serving thread performs itself (Executor.run). */
  readonly inline?: (payload: Payload<Op>) => boolean;
  /** The result of a reply for the log line (default: its status, or its error code). */
  readonly result?: (reply: Record<string, unknown>, hidden: string | null) => string;
}

/**
 * A route that performs one store operation for its proven caller, in a worker, in the caller's
 * turn: decode, perform, one log line, the reply (without the daemon's paths over TLS).
 */
function storeRoute<Op extends OperationName>(spec: StoreRouteSpec<Op>): Route {
  return {
    method: "POST",
    path: spec.path,
    maxBody: spec.maxBody,
    body: "json",
    proven: true,
    transports: ["unix", "tls"],
    work: true,
    async handle(ctx) {
      const payload = spec.decode(ctx.body!);
      const line = (result: string, reply: Record<string, unknown> | null) =>
        ctx.log(`${who(ctx)}: ${spec.describe(ctx, payload, reply)}: ${result}`);
      const answer = await work(ctx, spec.op, payload, {
        deadlineMs: spec.deadlineMs(ctx.config, payload),
        transfer: spec.transfer?.(payload) ?? [],
        inline: spec.inline?.(payload) ?? false,
      }, (result) => line(result, null));
      const { reply, hidden } = forTransport(answer, ctx.transport);
      line((spec.result ?? resultOf)(answer, hidden), answer);
      return [200, { version: PROTOCOL_VERSION, reply }];
    },
  };
}

const request = storeRoute({
  path: "/v1/request",
  maxBody: MAX_BODY_BYTES,
  op: "perform",
  decode: (body) => decodeRequest(body.request, { limit: credentialLimit }),
  describe: describeRequest,
  deadlineMs: requestDeadlineMs,
  // The credential's buffer moves to the worker: no copy stays on this thread.
  transfer: (request) => request.action === "add" ? [request.credential.buffer as ArrayBuffer] : [],
  inline: (request) => request.action === "query",
});

const list = storeRoute({
  path: "/v1/list",
  maxBody: LIST_BODY_BYTES,
  op: "list",
  decode: (body) => decodeListRequest(body.list),
  describe(ctx, request, reply) {
    // The subject is the account asked for; without one, the caller's own (or everyone's, for
    // root and CRED_SUPER_USERS: the reply says which).
    const user = request.user ?? (reply?.user as string | null | undefined) ??
      (reply === null ? `own (${ctx.identity!.account})` : "everyone");
    return `list ${request.type ?? "all"} for ${quote(user)}`;
  },
  deadlineMs: (config) => requestDeadlineMs(config, null),
  result: (reply, hidden) =>
    reply.ok === true
      ? `${Array.isArray(reply.rows) ? reply.rows.length : 0} credentials`
      : resultOf(reply, hidden),
});

const whoami: Route = {
  method: "POST",
  path: "/v1/whoami",
  maxBody: SMALL_REQUEST_BYTES,
  body: "json",
  proven: true,
  transports: ["unix", "tls"],
  work: false,
  handle(ctx) {
    return [200, {
      version: PROTOCOL_VERSION,
      whoami: encodeWhoami({ ...ctx.identity!, transport: ctx.transport }),
    }];
  },
};

/** Every endpoint. */
export const ROUTES: readonly Route[] = [health, challenge, request, list, whoami];

/**
 * The route of `method path` on `transport`. Throws ProtocolError(404) for an unknown one, with
 * the body a 404 may have (`SMALL_REQUEST_BYTES`).
 */
export function findRoute(method: string, path: string, transport: Transport): Route {
  const route = ROUTES.find((r) => r.method === method && r.path === path);
  if (route === undefined) {
    throw new ProtocolError(404, "unsupported", `no ${method} ${path} here`);
  }
  if (!route.transports.includes(transport)) {
    throw new ProtocolError(404, "unsupported", route.elsewhere ?? `no ${method} ${path} here`);
  }
  return route;
}
