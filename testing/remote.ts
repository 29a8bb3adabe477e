/**
 * A remote daemon for the tests: `serve` with CREDD_TLS_ADDRESS on loopback (port 0), throwaway
 * certificates made by openssl (testing/tls.ts), the pool password as the POOL signing key, and
 * helpers to mint tokens, write token files and run the client against it with `-n`.
 */

import assert from "node:assert/strict";
import { type Daemon, startDaemon } from "./daemon.ts";
import { REPO, runCli, type Spool, withSpool } from "./harness.ts";
import { type Certificates, makeCertificates } from "./tls.ts";
import type { TestUser } from "./users.ts";
import { tlsCall } from "./wire.ts";

/** A running remote daemon and its helpers. */
export interface Remote {
  readonly spool: Spool;
  readonly daemon: Daemon;
  readonly certs: Certificates;
  readonly port: number;
  /** Runs the program as `user` against the remote daemon. */
  run(
    args: string[],
    options?: { stdin?: string; env?: Record<string, string>; user?: TestUser },
  ): ReturnType<typeof runCli>;
  /** `token create` as root. */
  token(args: string[]): Promise<string>;
  /** Writes a token file owned by `user`, 0600; returns its path. */
  tokenFile(token: string, user: TestUser | null, name?: string): Promise<string>;
  /** Mints with the independent Python implementation. */
  python(args: string[]): Promise<string>;
  /** Sends one protocol request over TLS with `token` (none when empty) and returns the answer. */
  request(
    request: Record<string, unknown>,
    token: string,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** POSTs `body` to `path` over TLS, without a token, and returns the answer. */
  post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Runs `fn` with a fresh spool served by a TLS daemon (stopped afterwards). */
export async function withRemote(
  fn: (remote: Remote) => Promise<void>,
  options: { env?: Record<string, string>; cert?: "right" | "other-name" } = {},
): Promise<void> {
  await withSpool(async (spool) => {
    const certs = await makeCertificates(spool.root);
    // The pool password is the POOL signing key.
    const pool = await runCli(["add", "-c", "-p", "-"], {
      env: spool.env,
      stdin: "the-pool-signing-key",
    });
    assert.equal(pool.code, 0, pool.stderr);
    const daemon = await startDaemon(spool, {
      env: {
        _CONDOR_CREDD_TLS_ADDRESS: "127.0.0.1:0",
        _CONDOR_AUTH_SSL_SERVER_CERTFILE: options.cert === "other-name"
          ? certs.otherNameCert
          : certs.cert,
        _CONDOR_AUTH_SSL_SERVER_KEYFILE: options.cert === "other-name"
          ? certs.otherNameKey
          : certs.key,
        ...options.env,
      },
    });
    const tokens = `${spool.root}/tokens`;
    await Deno.mkdir(tokens, { mode: 0o755 });
    let n = 0;
    try {
      await fn({
        spool,
        daemon,
        certs,
        port: daemon.tlsPort!,
        run: (args, options = {}) =>
          runCli([...args, "-n", `127.0.0.1:${daemon.tlsPort}`], {
            env: { ...spool.env, _CONDOR_AUTH_SSL_CLIENT_CAFILE: certs.ca, ...options.env },
            stdin: options.stdin,
            user: options.user,
          }),
        async token(args) {
          const r = await runCli(["token", "create", ...args], { env: spool.env });
          assert.equal(r.code, 0, r.stderr);
          return r.stdout.trim();
        },
        async tokenFile(token, user, name) {
          const path = `${tokens}/${name ?? `t${n++}`}`;
          await Deno.writeTextFile(path, `# a token\n${token}\n`, { mode: 0o600 });
          if (user) await Deno.chown(path, user.uid, user.gid);
          return path;
        },
        async python(args) {
          const out = await new Deno.Command("/usr/bin/python3", {
            args: [`${REPO}/testing/standins/idtoken.py`, ...args],
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.ok(out.success, new TextDecoder().decode(out.stderr));
          return new TextDecoder().decode(out.stdout).trim();
        },
        request: (request, token) =>
          tlsCall(
            daemon.tlsPort!,
            certs.ca,
            "/v1/request",
            { version: 1, request },
            token || undefined,
          ),
        post: (path, body) => tlsCall(daemon.tlsPort!, certs.ca, path, body),
      });
    } finally {
      await daemon.stop();
    }
  });
}
