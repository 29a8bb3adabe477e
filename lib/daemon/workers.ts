/**
 * Where the daemon performs requests: a pool of worker threads, each running the store service
 * with its own copy of the configuration, so that several requests' file work (and their
 * fsyncs) proceed at once on every core. The main thread keeps the connections, the identity
 * checks and the log. Workers run the program's own main module (`Deno.mainModule`), which starts
 * `workerMain` when it finds itself in a worker; they inherit the daemon's permissions.
 */

import { type Config, loadConfig, type LoadConfigOptions } from "../config/mod.ts";
import { StoreError } from "../errors.ts";
import type { Caller, CredRequest, ListRequest } from "../request.ts";
import {
  createStoreContext,
  type ListReply,
  perform,
  performList,
  type Reply,
} from "../store/service.ts";
import { RefusalLimiter } from "../store/audit.ts";
import { decodeListReply, decodeReply, encodeListReply, encodeReply } from "./protocol.ts";

/**
 * Performs requests for the daemon, off the thread that serves connections (a listing reads
 * every credential of a user, so it runs there too: one user's listings never stall others).
 */
export interface Executor {
  perform(caller: Caller, request: CredRequest): Promise<Reply>;
  list(caller: Caller, request: ListRequest): Promise<ListReply>;
  close(): void;
}

/** Performs requests on the calling thread. */
export function inThreadExecutor(
  config: Config,
  euid: number,
  debug: (line: string) => void,
): Executor {
  const auditLimiter = new RefusalLimiter();
  return {
    perform: (caller, request) =>
      perform(createStoreContext(config, { euid, debug, auditLimiter }), caller, request),
    list: (caller, request) =>
      Promise.resolve(performList(createStoreContext(config, { euid, debug }), caller, request)),
    close() {},
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
  | {
    readonly kind: "perform";
    readonly id: number;
    readonly caller: Caller;
    readonly request: CredRequest;
  }
  | {
    readonly kind: "list";
    readonly id: number;
    readonly caller: Caller;
    readonly request: ListRequest;
  };

type FromWorker =
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly message: string }
  | { readonly kind: "debug"; readonly line: string }
  | { readonly kind: "reply"; readonly id: number; readonly reply: Record<string, unknown> }
  | { readonly kind: "listed"; readonly id: number; readonly reply: Record<string, unknown> };

/** True when this code runs inside a Web Worker. */
export function inWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope;
  return typeof scope === "function" && globalThis instanceof (scope as new () => unknown);
}

/** The body of a worker thread: load the configuration, then perform requests as they come. */
export function workerMain(): void {
  const port = globalThis as unknown as {
    postMessage(message: FromWorker): void;
    onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  };
  let config: Config | null = null;
  let euid = 0;
  let debug: (line: string) => void = () => {};
  // This worker's one piece of state shared by its requests (StoreContext.auditLimiter).
  const auditLimiter = new RefusalLimiter();
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
    const ctx = createStoreContext(config!, { euid, debug, auditLimiter });
    if (message.kind === "list") {
      const reply = performList(ctx, message.caller, message.request);
      port.postMessage({ kind: "listed", id: message.id, reply: encodeListReply(reply) });
      return;
    }
    const reply = await perform(ctx, message.caller, message.request);
    port.postMessage({ kind: "reply", id: message.id, reply: encodeReply(reply) });
  };
}

/**
 * Starts `size` workers, each loading the configuration with `options`. Resolves once all are
 * ready; throws StoreError("config") when one cannot load the configuration.
 */
export async function workerPool(
  size: number,
  options: LoadConfigOptions,
  euid: number,
  debug: ((line: string) => void) | null = null,
): Promise<Executor> {
  interface Slot {
    readonly worker: Worker;
    /** What each request waits for: its decoded answer, or a failure (the worker died). */
    readonly waiting: Map<
      number,
      { answer: (value: unknown) => void; fail: (e: StoreError) => void }
    >;
  }
  let next = 0;
  const slots: Slot[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < size; i++) {
    const worker = new Worker(Deno.mainModule, { type: "module", name: `store-${i}` });
    const slot: Slot = { worker, waiting: new Map() };
    slots.push(slot);
    ready.push(
      new Promise((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<FromWorker>) => {
          const message = event.data;
          if (message.kind === "ready") resolve();
          else if (message.kind === "failed") reject(new StoreError("config", message.message));
          else if (message.kind === "debug") debug?.(`store-${i}: ${message.line}`);
          else {
            const done = slot.waiting.get(message.id);
            slot.waiting.delete(message.id);
            done?.answer(message.reply);
          }
        };
        worker.onerror = (event) => {
          event.preventDefault();
          const failure = new StoreError("io", `a store worker failed: ${event.message}`);
          reject(failure);
          // Requests the worker held get an answer rather than hanging.
          for (const done of slot.waiting.values()) done.fail(failure);
          slot.waiting.clear();
        };
      }),
    );
    worker.postMessage({ kind: "init", options, euid, debug: debug !== null } satisfies ToWorker);
  }
  try {
    await Promise.all(ready);
  } catch (error) {
    for (const slot of slots) slot.worker.terminate();
    throw error;
  }
  /** Sends one message to the least busy worker (ties round-robin); resolves with its answer. */
  const send = <T>(
    message: (id: number) => ToWorker,
    transfer: Transferable[],
    decode: (reply: Record<string, unknown>) => T,
    failed: (error: StoreError) => T,
  ): Promise<T> => {
    let slot = slots[next++ % slots.length];
    for (const s of slots) if (s.waiting.size < slot.waiting.size) slot = s;
    const id = next;
    return new Promise((resolve) => {
      slot.waiting.set(id, {
        answer: (value) => resolve(decode(value as Record<string, unknown>)),
        fail: (error) => resolve(failed(error)),
      });
      slot.worker.postMessage(message(id), transfer);
    });
  };
  return {
    perform(caller, request) {
      // The credential's buffer moves to the worker: no copy stays on this thread.
      const transfer = request.action === "add" ? [request.credential.buffer as ArrayBuffer] : [];
      return send(
        (id) => ({ kind: "perform", id, caller, request }),
        transfer,
        decodeReply,
        (error) => ({ ok: false, error, warnings: [], target: null }),
      );
    },
    list(caller, request) {
      return send(
        (id) => ({ kind: "list", id, caller, request }),
        [],
        decodeListReply,
        (error) => ({ ok: false, error, warnings: [], user: null }),
      );
    },
    close() {
      for (const slot of slots) slot.worker.terminate();
    },
  };
}
