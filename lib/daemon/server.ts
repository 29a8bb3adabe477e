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
import { osError } from "../fs/errors.ts";
import { storeDirectory } from "../fs/directories.ts";
import { dirname } from "../fs/paths.ts";
import { pathKnob, type StorePath, trustedOwners } from "../store/context.ts";
import { checkAuditLog } from "../store/audit.ts";
import { storeRoot } from "../store/layout.ts";
import { createStoreContext } from "../store/service.ts";
import { FailureLimiter, socketAuthenticator, tokenAuthenticator } from "./auth.ts";
import { Challenges, checkChallengeDirectory } from "./challenge.ts";
import { acceptConnections, ConnectionTable } from "./connections.ts";
import {
  daemonLimits,
  type DaemonState,
  type Listening,
  RepeatedLines,
  takeConnection,
} from "./exchange.ts";
import { challengeDirectory, socketPath, tlsAddress } from "./places.ts";
import { CHALLENGES_PER_CONNECTION } from "./routes.ts";
import { sweep } from "./sweep.ts";
import { listenTcp, tlsContext } from "./tls.ts";
import {
  describeError,
  type Executor,
  inThreadExecutor,
  withInlineReads,
  workerPool,
} from "./workers.ts";

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

/**
 * Prepares the Unix socket: its directory must pass the store's directory rules (it is created
 * 0755 when missing); a live daemon there refuses the start; a stale socket is removed only after
 * a connect is refused. Throws StoreError.
 */
export async function prepareSocket(config: Config, path: string, euid: number): Promise<void> {
  checkSocketPath(path);
  const ctx = createStoreContext(config, { euid });
  storeDirectory(dirname(path), ctx.owners, { create: { mode: 0o755 } });
  let info: Deno.FileInfo | null = null;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw osError(error, "inspect", path);
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

/** The longest path a Unix socket can have on Linux (sun_path is 108 bytes, with its NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Refuses a socket path the kernel cannot bind. Throws StoreError. */
export function checkSocketPath(path: string): void {
  const bytes = new TextEncoder().encode(path).length;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new StoreError(
      "config",
      `the socket path ${quote(path)} is ${bytes} bytes long; a Unix socket's path may have at ` +
        `most ${MAX_SOCKET_PATH_BYTES}`,
      { remedy: "set CREDD_SOCKET to a shorter path" },
    );
  }
}

/** Checks, before listening, every store directory that exists. Throws StoreError. */
function checkStore(config: Config, euid: number): void {
  const ctx = createStoreContext(config, { euid });
  for (const which of ["oauth", "krb", "pwd", "pool"] as StorePath[]) {
    if (config.get(pathKnob(which)) === undefined) continue;
    storeRoot(ctx, which, false);
  }
}

/**
 * The start-up line for an audit log that cannot be written (CRED_AUDIT_LOG): the daemon serves
 * anyway, adds and deletes are performed and not audited until it is fixed (docs/daemon.md
 * "Per-user limits and the audit log"). Null when it can be written or is not set.
 */
function auditProblem(config: Config, euid: number): string | null {
  try {
    checkAuditLog(createStoreContext(config, { euid }));
    return null;
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return `WARNING: the audit log cannot be written: ${error.message}` +
      `${error.remedy ? `; ${error.remedy}` : ""}; adds and deletes are served and not audited ` +
      "until it is fixed";
  }
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
  const audit = auditProblem(config, euid);
  const address = tlsAddress(config);
  // The TLS certificate first: a refusal then leaves no socket behind.
  const secure = address === null ? null : tlsContext(config);
  await prepareSocket(config, path, euid);
  const workers = config.integer("CREDD_WORKERS");
  // Queries on this thread, the rest in the pool (withInlineReads).
  const executor: Executor = workers > 0
    ? withInlineReads(
      await workerPool({
        size: workers,
        config: options.configOptions,
        euid,
        debug: options.debug,
        log,
      }),
      inThreadExecutor(config, euid, debug),
      log,
    )
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
  // Once, at the start, before the line that says the daemon serves (so whoever waits for that
  // line has seen this one): each add and delete then warns its caller without the path.
  if (audit !== null) log(audit);
  log(`serving on ${path}${tlsText} (pid ${Deno.pid})`);

  const table = new ConnectionTable(limits.table);
  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  const daemon: DaemonState = {
    config,
    log,
    refusals: new RepeatedLines(log),
    executor,
    table,
    limits,
    stopping: () => stopping,
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

  const loops = listeners.map((listening) =>
    acceptConnections(listening.listener, {
      table,
      log,
      name: listening.name,
      stopping: () => stopping,
      take(conn) {
        const task = takeConnection(conn, { listening, daemon });
        inFlight.add(task);
        task.finally(() => inFlight.delete(task));
      },
    })
  );
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
  table.closeEvery({ idleOnly: true });
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
  table.closeEvery({ idleOnly: false });
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
