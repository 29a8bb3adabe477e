/**
 * The attacks on a daemon that tests/daemon_resilience_test.ts runs and
 * scripts/reliability/daemon_resilience.ts measures (docs/daemon.md "Limits and fairness"): a
 * daemon whose store workers can be made to fail, one user hammering the socket, silent and
 * half-begun TLS connections, and connections that announce large bodies without proving anyone.
 */

import { type Daemon, FAULTY_MAIN, startDaemon } from "./daemon.ts";
import { startCredmon } from "./credmon.ts";
import { type RunResult, runScriptAs, type Spool, withSpool } from "./harness.ts";
import type { Remote } from "./remote.ts";
import { type TestUser, withCondorLock } from "./users.ts";

const encoder = new TextEncoder();

/**
 * A daemon of two store workers run by testing/faulty_main.ts: requests with the OAuth service
 * `fault-crash`, `fault-throw`, `fault-clone`, `fault-hang` or `fault-exit` set a fault off, and
 * the file `<faults>/no-start` stops new workers from loading.
 */
export async function startFaultyDaemon(
  spool: Spool,
  env: Record<string, string> = {},
): Promise<{ daemon: Daemon; faults: string }> {
  const faults = `${spool.root}/faults`;
  await Deno.mkdir(faults, { recursive: true });
  const daemon = await startDaemon(spool, {
    entry: FAULTY_MAIN,
    env: { CSC_FAULT_DIR: faults, _CONDOR_CREDD_WORKERS: "2", ...env },
  });
  return { daemon, faults };
}

/**
 * The daemon configuration of the hammering attack: caps small enough for one user to reach,
 * and add-krbs that each wait 20 s for a credmon that never answers (start one with
 * `startCredmon(…, { ignore: true })`).
 */
export const HAMMERED_DAEMON_ENV: Readonly<Record<string, string>> = {
  _CONDOR_CREDD_POLLING_TIMEOUT: "20",
  _CONDOR_CREDD_MAX_CONNECTIONS: "64",
  _CONDOR_CREDD_MAX_CALLER_CONNECTIONS: "16",
  _CONDOR_CREDD_MAX_CALLER_REQUESTS: "2",
};

/**
 * Runs `fn` with a daemon configured for the hammering attack (HAMMERED_DAEMON_ENV) on a fresh
 * spool, with a Kerberos credmon that never answers; both are stopped afterwards. The condor
 * account, which other tests create and remove, stays as it is meanwhile (the store's directories
 * depend on it).
 */
export function withHammeredDaemon(
  fn: (daemon: Daemon, spool: Spool) => Promise<void>,
): Promise<void> {
  return withCondorLock(() =>
    withSpool(async (spool) => {
      const credmon = await startCredmon(spool.krb, {
        mode: "krb",
        log: `${spool.root}/credmon.log`,
        ignore: true,
      });
      try {
        const daemon = await startDaemon(spool, { env: HAMMERED_DAEMON_ENV });
        try {
          await fn(daemon, spool);
        } finally {
          await daemon.stop();
        }
      } finally {
        await credmon.stop();
      }
    })
  );
}

/** What the hammering user got: answers by HTTP status, and connections the daemon closed. */
export interface HammerResult {
  readonly run: RunResult;
  readonly statuses: Record<string, number>;
  readonly closed: number;
}

/**
 * `user` hammers `daemon`'s socket for `seconds` (testing/hammer.ts): 70 connections sending
 * add-krbs back to back, 8 sending listings, 20 idle ones.
 */
export async function hammer(
  daemon: Daemon,
  { user, seconds }: { readonly user: TestUser; readonly seconds: number },
): Promise<HammerResult> {
  const run = await runScriptAs(user, "testing/hammer.ts", [JSON.stringify({
    socket: daemon.socket,
    challengeDir: daemon.challengeDir,
    idle: 20,
    addKrb: 70,
    lists: 8,
    seconds,
  })]);
  const parsed = JSON.parse(run.stdout || "{}") as {
    statuses?: Record<string, number>;
    closed?: number;
  };
  return { run, statuses: parsed.statuses ?? {}, closed: parsed.closed ?? 0 };
}

/** The first bytes of a TLS ClientHello that promises more and never sends it. */
const PARTIAL_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);

/**
 * Opens `count` TCP connections to the TLS port of `remote` and sends nothing on them, but the
 * start of a ClientHello on every fourth; calls `each` after each one. Returns them, open.
 */
export async function silentConnections(
  remote: Remote,
  { count, each = () => Promise.resolve() }: {
    readonly count: number;
    readonly each?: (i: number) => Promise<void>;
  },
): Promise<Deno.Conn[]> {
  const held: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: remote.port });
    if (i % 4 === 0) await conn.write(PARTIAL_HELLO);
    held.push(conn);
    await each(i);
  }
  return held;
}

/**
 * Opens `perListener` connections on each of `remote`'s listeners (the socket, TLS), each
 * announcing a 2 MiB body and sending nothing more, proving nobody. Returns them, open.
 */
export async function announceLargeBodies(
  remote: Remote,
  perListener: number,
): Promise<Deno.Conn[]> {
  const head = encoder.encode(
    `POST /v1/request HTTP/1.1\r\nhost: x\r\ncontent-length: ${2 * 1024 * 1024}\r\n\r\n`,
  );
  const ca = [await Deno.readTextFile(remote.certs.ca)];
  const held: Deno.Conn[] = [];
  for (let i = 0; i < perListener; i++) {
    const local = await Deno.connect({ transport: "unix", path: remote.daemon.socket });
    await local.write(head);
    held.push(local);
    const tls = await Deno.connectTls({ hostname: "127.0.0.1", port: remote.port, caCerts: ca });
    await tls.write(head);
    held.push(tls);
  }
  return held;
}

/** Closes connections the daemon may have closed already. */
export function closeAll(conns: Deno.Conn[]): void {
  for (const conn of conns.splice(0)) {
    try {
      conn.close();
    } catch {
      // Closed by the daemon.
    }
  }
}
