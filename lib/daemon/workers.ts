/**
 * Where the daemon performs requests: a pool of worker threads, each running the store service
 * with its own copy of the configuration, so that several requests' file work (and their
 * fsyncs) proceed at once on every core. The main thread keeps the connections, the identity
 * checks and the log. Workers run the program's own main module (`Deno.mainModule`), which starts
 * `workerMain` when it finds itself in a worker; they inherit the daemon's permissions.
 */

import { type Config, loadConfig, type LoadConfigOptions } from "../config/mod.ts";
import { StoreError } from "../errors.ts";
import type { Caller, CredRequest } from "../request.ts";
import { createStoreContext, perform, type Reply } from "../store/service.ts";
import { decodeReply, encodeReply } from "./protocol.ts";

/** Performs requests for the daemon. */
export interface Executor {
  perform(caller: Caller, request: CredRequest): Promise<Reply>;
  close(): void;
}

/** Performs requests on the calling thread. */
export function inThreadExecutor(
  config: Config,
  euid: number,
  debug: (line: string) => void,
): Executor {
  return {
    perform: (caller, request) =>
      perform(createStoreContext(config, { euid, debug }), caller, request),
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
  };

type FromWorker =
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly message: string }
  | { readonly kind: "debug"; readonly line: string }
  | { readonly kind: "reply"; readonly id: number; readonly reply: Record<string, unknown> };

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
    const reply = await perform(
      createStoreContext(config!, { euid, debug }),
      message.caller,
      message.request,
    );
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
    readonly waiting: Map<number, (reply: Reply) => void>;
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
            done?.(decodeReply(message.reply));
          }
        };
        worker.onerror = (event) => {
          event.preventDefault();
          const failure = new StoreError("io", `a store worker failed: ${event.message}`);
          reject(failure);
          // Requests the worker held get an answer rather than hanging.
          for (const done of slot.waiting.values()) {
            done({ ok: false, error: failure, warnings: [], target: null });
          }
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
  return {
    perform(caller, request) {
      // The least busy worker; ties go round-robin.
      let slot = slots[next++ % slots.length];
      for (const s of slots) if (s.waiting.size < slot.waiting.size) slot = s;
      const id = next;
      return new Promise((resolve) => {
        slot.waiting.set(id, resolve);
        // The credential's buffer moves to the worker: no copy stays on this thread.
        const transfer = request.action === "add" ? [request.credential.buffer as ArrayBuffer] : [];
        slot.worker.postMessage(
          { kind: "perform", id, caller, request } satisfies ToWorker,
          transfer,
        );
      });
    },
    close() {
      for (const slot of slots) slot.worker.terminate();
    },
  };
}
