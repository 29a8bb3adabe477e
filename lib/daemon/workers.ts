/**
 * Where the daemon performs requests: a pool of worker threads, each running the store service
 * with its own copy of the configuration, so that several requests' file work (and their
 * fsyncs) proceed at once on every core. The main thread keeps the connections, the identity
 * checks and the log. Workers run the program's own main module (`Deno.mainModule`), which starts
 * `workerMain` when it finds itself in a worker; they inherit the daemon's permissions.
 *
 * One message shape carries every operation (`OPERATIONS`, by name) and its answer, already in
 * the wire format of docs/protocol.md, so the main thread forwards it as it is.
 *
 * A worker that fails is replaced at once (docs/daemon.md "When a store worker fails"): an
 * operation that throws gets an error answer and the worker is retired (it finishes what it holds,
 * takes nothing new, and a fresh one takes its place); an error that escapes every operation (a
 * stray rejection, a failed clone), or a worker that stops answering, ends the worker at once and
 * every request it held gets an error answer. Every request has a deadline; after it passes the
 * request is answered with an error and the worker must answer a ping or be replaced. Each failure
 * is one log line. When a replacement cannot be started three times in a row, the pool gives up
 * (`failed`) and the daemon exits non-zero, for its service manager to restart it.
 */

import { type Config, loadConfig, type LoadConfigOptions } from "../config/mod.ts";
import { StoreError } from "../errors.ts";
import type { Caller, CredRequest, ListRequest } from "../request.ts";
import { createStoreContext, perform, performList } from "../store/service.ts";
import type { StoreContext } from "../store/context.ts";
import { encodeListReply, encodeReply } from "./protocol.ts";
import { RefusalLimiter } from "../store/audit.ts";
import { FileFacts } from "../fs/facts.ts";
import { CheckedRoots } from "../fs/directories.ts";

/** One operation the workers perform: the store's work for one request, answered as JSON. */
type Operation = (
  ctx: StoreContext,
  caller: Caller,
  payload: never,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** The operations, by name. A new kind of store work is one line here. */
export const OPERATIONS = {
  perform: async (ctx: StoreContext, caller: Caller, request: CredRequest) =>
    encodeReply(await perform(ctx, caller, request)),
  list: (ctx: StoreContext, caller: Caller, request: ListRequest) =>
    encodeListReply(performList(ctx, caller, request)),
} satisfies Record<string, Operation>;

/** The name of an operation. */
export type OperationName = keyof typeof OPERATIONS;

/** The payload an operation takes. */
export type Payload<Op extends OperationName> = Parameters<typeof OPERATIONS[Op]>[2];

/** Why a request got no answer from the store. */
export class WorkerFailure extends Error {
  constructor(
    /** threw: the operation failed; crashed: the worker did; deadline: no answer in time;
     * unavailable: no worker is serving. */
    readonly kind: "threw" | "crashed" | "deadline" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

/** How the pool is doing, for `/v1/health`. */
export interface PoolHealth {
  /** Workers taking requests. */
  readonly serving: number;
  readonly size: number;
}

/** Performs requests for the daemon, off the thread that serves connections. */
export interface Executor {
  /**
   * Performs `op` for `caller`; resolves with its answer (wire format). `transfer` moves buffers
   * (a credential) to the worker. `inline` marks a short read (a query: a few bounded reads of
   * small files) that `withInlineReads` performs on the serving thread. Rejects with
   * WorkerFailure only.
   */
  run<Op extends OperationName>(
    op: Op,
    caller: Caller,
    payload: Payload<Op>,
    options: {
      readonly deadlineMs: number;
      readonly transfer?: Transferable[];
      readonly inline?: boolean;
    },
  ): Promise<Record<string, unknown>>;
  health(): PoolHealth;
  /** Resolves, with the reason, when the pool can no longer serve (never, for some). */
  readonly failed: Promise<string>;
  close(): void;
}

/** One line for an error: its name, message and where it was thrown, without the stack. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const at = /\(?((?:file|ext):\/\/\S+?:\d+:\d+)\)?$/m.exec(
    (error.stack ?? "").split("\n").slice(1).join("\n"),
  )?.[1];
  const where = at === undefined ? "" : ` (at ${at.replace(/^file:\/\/.*\/lib\//, "lib/")})`;
  return `${error.name}: ${error.message}${where}`;
}

/** Performs requests on the calling thread (CREDD_WORKERS = 0). */
export function inThreadExecutor(
  config: Config,
  euid: number,
  debug: (line: string) => void,
): Executor {
  const auditLimiter = new RefusalLimiter();
  const facts = new FileFacts();
  const roots = new CheckedRoots();
  return {
    async run(op, caller, payload) {
      const operation = OPERATIONS[op] as Operation;
      try {
        return await operation(
          createStoreContext(config, { euid, debug, auditLimiter, facts, roots }),
          caller,
          payload as never,
        );
      } catch (error) {
        throw new WorkerFailure("threw", `the ${op} operation failed: ${describeError(error)}`);
      }
    },
    health: () => ({ serving: 1, size: 1 }),
    failed: new Promise(() => {}),
    close() {},
  };
}

/**
 * `pool`, except that the requests marked `inline` are performed by `local` on the serving thread.
 * A query reads a few small files (bounded reads, no lock, no fsync): sending it to a worker costs
 * more than its work (two structured clones, two thread hops, and a worker taken from the adds
 * that wait on fsync). Everything else (adds and deletes, listings, whose work grows with the
 * store) stays in the pool. An inline request that throws is answered with an error like one that
 * threw in a worker, and logged once.
 */
export function withInlineReads(
  pool: Executor,
  local: Executor,
  log: (line: string) => void,
): Executor {
  return {
    async run(op, caller, payload, options) {
      if (options.inline !== true) return await pool.run(op, caller, payload, options);
      try {
        return await local.run(op, caller, payload, options);
      } catch (error) {
        if (error instanceof WorkerFailure) {
          log(`a ${op} request failed unexpectedly on the serving thread: ${error.message}`);
        }
        throw error;
      }
    },
    health: () => pool.health(),
    failed: pool.failed,
    close() {
      pool.close();
      local.close();
    },
  };
}

type ToWorker =
  | {
    readonly kind: "init";
    readonly options: LoadConfigOptions;
    readonly euid: number;
    /** Send the store's debug lines back (serve -d). */
    readonly debug: boolean;
  }
  | { readonly kind: "ping" }
  | {
    readonly kind: "call";
    readonly id: number;
    readonly op: OperationName;
    readonly caller: Caller;
    readonly payload: unknown;
  };

type FromWorker =
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly message: string }
  | { readonly kind: "debug"; readonly line: string }
  | { readonly kind: "pong" }
  | { readonly kind: "answer"; readonly id: number; readonly value: Record<string, unknown> }
  | { readonly kind: "threw"; readonly id: number; readonly message: string }
  | { readonly kind: "crashed"; readonly message: string };

/** The body of a worker thread: load the configuration, then perform requests as they come. */
export function workerMain(): void {
  const port = globalThis as unknown as {
    postMessage(message: FromWorker): void;
    onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  };
  // An error no operation caught is reported as one line, and handled by the daemon (which ends
  // this worker); letting it through would print a stack and reach the daemon's thread.
  const crashed = (error: unknown) => {
    port.postMessage({ kind: "crashed", message: describeError(error) });
  };
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    crashed((event as ErrorEvent).error ?? (event as ErrorEvent).message);
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    crashed((event as PromiseRejectionEvent).reason);
  });
  let config: Config | null = null;
  let euid = 0;
  let debug: (line: string) => void = () => {};
  // This worker's state shared by its requests (StoreContext auditLimiter, facts and roots).
  const auditLimiter = new RefusalLimiter();
  const facts = new FileFacts();
  const roots = new CheckedRoots();
  port.onmessage = async (event) => {
    const message = event.data;
    if (message.kind === "init") {
      try {
        config = loadConfig(message.options);
        euid = message.euid;
        if (message.debug) debug = (line) => port.postMessage({ kind: "debug", line });
        port.postMessage({ kind: "ready" });
      } catch (error) {
        port.postMessage({ kind: "failed", message: (error as Error).message });
      }
      return;
    }
    if (message.kind === "ping") {
      port.postMessage({ kind: "pong" });
      return;
    }
    try {
      const operation = OPERATIONS[message.op] as Operation;
      const ctx = createStoreContext(config!, { euid, debug, auditLimiter, facts, roots });
      const value = await operation(ctx, message.caller, message.payload as never);
      port.postMessage({ kind: "answer", id: message.id, value });
    } catch (error) {
      port.postMessage({ kind: "threw", id: message.id, message: describeError(error) });
    }
  };
}

/** Options of `workerPool` (the defaults are the daemon's; tests change them). */
export interface PoolOptions {
  readonly size: number;
  readonly config: LoadConfigOptions;
  readonly euid: number;
  /** Debug lines of the workers (serve -d), or null. */
  readonly debug: ((line: string) => void) | null;
  /** One line per failure. */
  readonly log: (line: string) => void;
  /** The module the workers run (default: the program's main module). */
  readonly module?: string | URL;
  /** How long a worker may take to start (default 60 s). */
  readonly startMs?: number;
  /** How long a worker whose request passed its deadline has to answer a ping (default 5 s). */
  readonly pingMs?: number;
  /** Pause before the second and third attempt to replace a worker (default 1 s, then 2 s). */
  readonly retryMs?: number;
  /** How often deadlines are checked (default 1 s). */
  readonly tickMs?: number;
}

interface Call {
  readonly op: OperationName;
  readonly deadline: number;
  readonly answer: (value: Record<string, unknown>) => void;
  readonly fail: (failure: WorkerFailure) => void;
}

interface Thread {
  readonly name: string;
  readonly worker: Worker;
  state: "starting" | "ready" | "retiring" | "ended";
  readonly calls: Map<number, Call>;
  /** When an unanswered ping was sent, or 0. */
  pinged: number;
  /** While it starts: gives its start up (its timer would keep the process alive). */
  abort: (() => void) | null;
}

/**
 * Starts `options.size` workers, each loading the configuration with `options.config`. Resolves
 * once all are ready; throws StoreError("config") when one cannot start.
 */
export async function workerPool(options: PoolOptions): Promise<Executor> {
  const module = options.module ?? Deno.mainModule;
  const startMs = options.startMs ?? 60_000;
  const pingMs = options.pingMs ?? 5_000;
  const retryMs = options.retryMs ?? 1_000;
  const slots: (Thread | null)[] = Array.from({ length: options.size }, () => null);
  const retiring = new Set<Thread>();
  /** Every worker not ended yet, whatever its state: `close` ends them all. */
  const alive = new Set<Thread>();
  let nextId = 1;
  let turn = 0;
  let closed = false;
  let giveUp = (_reason: string) => {};
  const failed = new Promise<string>((resolve) => giveUp = resolve);

  /** Ends a worker; fails what it still holds with `failure`. */
  const end = (thread: Thread, failure: WorkerFailure | null) => {
    if (thread.state === "ended") return;
    thread.state = "ended";
    thread.abort?.();
    thread.worker.terminate();
    retiring.delete(thread);
    alive.delete(thread);
    for (const call of thread.calls.values()) {
      call.fail(failure ?? new WorkerFailure("crashed", "the store worker was stopped"));
    }
    thread.calls.clear();
  };

  /** Starts a worker for slot `index`; resolves once it is ready, rejects when it cannot start. */
  const spawn = (index: number): Promise<Thread> => {
    const name = `store-${index}`;
    const worker = new Worker(module, { type: "module", name });
    const thread: Thread = {
      name,
      worker,
      state: "starting",
      calls: new Map(),
      pinged: 0,
      abort: null,
    };
    alive.add(thread);
    return new Promise<Thread>((resolve, reject) => {
      const timer = setTimeout(() => {
        thread.abort = null;
        end(thread, null);
        reject(new Error(`it did not start within ${startMs / 1000} seconds`));
      }, startMs);
      thread.abort = () => {
        clearTimeout(timer);
        reject(new Error("it was stopped while it started"));
      };
      const broke = (message: string) => {
        if (thread.state === "starting") {
          clearTimeout(timer);
          thread.abort = null;
          end(thread, null);
          reject(new Error(message));
        } else {
          lost(thread, index, `it failed: ${message}`);
        }
      };
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        switch (message.kind) {
          case "ready":
            clearTimeout(timer);
            thread.abort = null;
            if (closed) {
              // The pool was closed while this one started.
              end(thread, null);
              reject(new Error("the pool is closed"));
              return;
            }
            thread.state = "ready";
            resolve(thread);
            return;
          case "failed":
            broke(message.message);
            return;
          case "debug":
            options.debug?.(`${name}: ${message.line}`);
            return;
          case "pong":
            thread.pinged = 0;
            return;
          case "answer": {
            const call = thread.calls.get(message.id);
            thread.calls.delete(message.id);
            call?.answer(message.value);
            settle(thread);
            return;
          }
          case "threw": {
            const call = thread.calls.get(message.id);
            thread.calls.delete(message.id);
            call?.fail(new WorkerFailure("threw", `the ${call.op} operation failed`));
            options.log(
              `store worker ${name}: a ${call?.op ?? "store"} request failed unexpectedly: ` +
                `${message.message}; it was answered with an error, and the worker is replaced`,
            );
            retire(thread, index);
            return;
          }
          case "crashed":
            broke(message.message);
            return;
        }
      };
      // An error that escaped the worker (its module failed to load, say) must stop here: let
      // through, it would end the daemon.
      worker.onerror = (event) => {
        event.preventDefault();
        broke(event.message.replace(/^Uncaught (\(in promise\) )?/, ""));
      };
      worker.postMessage(
        {
          kind: "init",
          options: options.config,
          euid: options.euid,
          debug: options.debug !== null,
        } satisfies ToWorker,
      );
    });
  };

  /** Ends a retiring worker once it holds nothing. */
  const settle = (thread: Thread) => {
    if (thread.state === "retiring" && thread.calls.size === 0) end(thread, null);
  };

  /** Puts a fresh worker in slot `index`, trying three times; gives the pool up otherwise. */
  const replace = async (index: number) => {
    for (let attempt = 1;; attempt++) {
      if (closed) return;
      try {
        slots[index] = await spawn(index);
        return;
      } catch (error) {
        if (closed) return;
        const why = (error as Error).message;
        if (attempt === 3) {
          giveUp(`store worker store-${index} could not be restarted: ${why}`);
          return;
        }
        options.log(`store worker store-${index} could not be restarted (${why}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, retryMs * attempt));
      }
    }
  };

  /** A worker whose operation threw: it finishes what it holds, takes nothing new, is replaced. */
  const retire = (thread: Thread, index: number) => {
    if (thread.state !== "ready") return;
    thread.state = "retiring";
    retiring.add(thread);
    if (slots[index] === thread) slots[index] = null;
    settle(thread);
    replace(index);
  };

  /** A worker that failed or stopped answering: it ends now, and a fresh one takes its place. */
  const lost = (thread: Thread, index: number, why: string) => {
    if (thread.state === "ended") return;
    const held = thread.calls.size;
    end(thread, new WorkerFailure("crashed", "the store worker handling it failed"));
    options.log(
      `store worker ${thread.name} ${why.replace(/^it /, "")}; ${held} request(s) it held were ` +
        "answered with an error; starting a replacement",
    );
    if (slots[index] === thread) {
      slots[index] = null;
      replace(index);
    }
  };

  // Deadlines: a request past its deadline is answered with an error, and its worker is pinged;
  // a worker that does not answer the ping in time is lost.
  const ticker = setInterval(() => {
    const now = Date.now();
    const threads = [...slots.filter((t): t is Thread => t !== null), ...retiring];
    for (const thread of threads) {
      const index = Number(thread.name.slice("store-".length));
      if (thread.pinged !== 0 && now - thread.pinged > pingMs) {
        lost(thread, index, `did not answer within ${Math.round(pingMs / 1000)} seconds`);
        continue;
      }
      for (const [id, call] of thread.calls) {
        if (now <= call.deadline) continue;
        thread.calls.delete(id);
        call.fail(new WorkerFailure("deadline", `the ${call.op} operation passed its deadline`));
        options.log(
          `store worker ${thread.name}: a ${call.op} request passed its deadline; it was ` +
            "answered with an error",
        );
        if (thread.pinged === 0) {
          thread.pinged = now;
          thread.worker.postMessage({ kind: "ping" } satisfies ToWorker);
        }
      }
      settle(thread);
    }
  }, options.tickMs ?? 1_000);

  try {
    const started = await Promise.allSettled(slots.map((_, i) => spawn(i)));
    const refused = started.find((s) => s.status === "rejected");
    if (refused !== undefined) {
      for (const s of started) if (s.status === "fulfilled") end(s.value, null);
      throw new StoreError(
        "config",
        `a store worker could not start: ${
          ((refused as PromiseRejectedResult).reason as Error).message
        }`,
      );
    }
    started.forEach((s, i) => slots[i] = (s as PromiseFulfilledResult<Thread>).value);
  } catch (error) {
    clearInterval(ticker);
    throw error;
  }

  return {
    run(op, caller, payload, run) {
      let chosen: Thread | null = null;
      for (let i = 0; i < slots.length; i++) {
        const thread = slots[(turn + i) % slots.length];
        if (thread?.state !== "ready") continue;
        if (chosen === null || thread.calls.size < chosen.calls.size) chosen = thread;
      }
      turn++;
      if (chosen === null) {
        return Promise.reject(
          new WorkerFailure("unavailable", "no store worker is serving (they are restarting)"),
        );
      }
      const thread = chosen;
      const id = nextId++;
      return new Promise((answer, fail) => {
        thread.calls.set(id, { op, deadline: Date.now() + run.deadlineMs, answer, fail });
        try {
          thread.worker.postMessage(
            { kind: "call", id, op, caller, payload } satisfies ToWorker,
            run.transfer ?? [],
          );
        } catch (error) {
          thread.calls.delete(id);
          fail(
            new WorkerFailure("threw", `the request could not be sent: ${describeError(error)}`),
          );
        }
      });
    },
    health: () => ({
      serving: slots.filter((t) => t?.state === "ready").length,
      size: slots.length,
    }),
    failed,
    close() {
      closed = true;
      clearInterval(ticker);
      for (const thread of [...alive]) end(thread, null);
    },
  };
}
