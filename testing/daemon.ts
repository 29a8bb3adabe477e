/**
 * A real daemon for the tests: `condor_store_cred serve` started as root on a temp store, a temp
 * socket (in a root 0755 directory) and a temp sticky challenge directory, stopped with SIGTERM.
 */

import { baseEnv, programCommand, type Spool } from "./harness.ts";

/** A running daemon. */
export interface Daemon {
  readonly pid: number;
  readonly socket: string;
  readonly challengeDir: string;
  /** Environment for clients (and in-process runs) of this daemon. */
  readonly env: Record<string, string>;
  /** The port of its TLS listener, when CREDD_TLS_ADDRESS was set. */
  readonly tlsPort: number | null;
  /** Its log so far. */
  log(): string;
  /** Sends SIGTERM and waits; returns the exit code and the whole log. */
  stop(signal?: Deno.Signal): Promise<{ code: number; log: string }>;
}

const decoder = new TextDecoder();

/**
 * Starts `serve` for `spool` (its config, plus `env`), resolves once it listens. The socket is
 * `<spool>/run/credd.sock`, challenges go to `<spool>/challenges` (root 1777).
 */
export async function startDaemon(
  spool: Spool,
  options: {
    env?: Record<string, string>;
    args?: string[];
    /** The daemon's umask (as systemd's UMask= sets it); default: the test process's. */
    umask?: number;
  } = {},
): Promise<Daemon> {
  const run = `${spool.root}/run`;
  const challengeDir = `${spool.root}/challenges`;
  if (!(await Deno.lstat(challengeDir).then(() => true, () => false))) {
    await Deno.mkdir(challengeDir, { recursive: true });
    await Deno.chmod(challengeDir, 0o1777);
  }
  const socket = `${run}/credd.sock`;
  const env = {
    ...spool.env,
    _CONDOR_CREDD_SOCKET: socket,
    _CONDOR_CREDD_CHALLENGE_DIRECTORY: challengeDir,
    ...options.env,
  };
  const program = [...(await programCommand()), "serve", ...(options.args ?? [])];
  const command = options.umask === undefined
    ? program
    : ["/bin/sh", "-c", `umask ${options.umask.toString(8)} && exec "$@"`, "sh", ...program];
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    clearEnv: true,
    env: { ...(await baseEnv()), ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reader = child.stderr.getReader();
  const pump = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      log += decoder.decode(value);
    }
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  // Until it listens, or a generous bound (a loaded machine starts it slowly).
  for (let i = 0; i < 4800 && !log.includes("serving on") && !exited; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!log.includes("serving on")) {
    if (!exited) child.kill("SIGKILL");
    await status;
    await pump;
    throw new Error(`the daemon did not start: ${log}`);
  }
  const port = /and TLS [^ ]+:(\d+) /.exec(log)?.[1];
  return {
    pid: child.pid,
    tlsPort: port === undefined ? null : Number(port),
    socket,
    challengeDir,
    env,
    log: () => log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) child.kill(signal);
      const { code } = await status;
      await pump;
      return { code, log };
    },
  };
}
