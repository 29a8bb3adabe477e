/**
 * The "forged tokens" section of scripts/reliability.ts: thousands of
 * forged and malformed IDTOKENS and requests (scripts/forge.ts) against a real daemon's TLS port,
 * with the failure limiter set high so every one meets the verification itself; then the limiter
 * at its default on a second daemon. Needs root (the daemon owns a root store) and openssl.
 */

import { ConnReader, readResponse, writeJsonRequest } from "../../lib/daemon/http.ts";
import { startDaemon } from "../../testing/daemon.ts";
import { IS_ROOT, nonRootUsers, runCli, snapshot, withSpool } from "../../testing/harness.ts";
import { have } from "../../testing/users.ts";
import { makeCertificates } from "../../testing/tls.ts";
import { forgeCases, type ForgedCase, type PoolKey, validToken } from "../forge.ts";
import { markdownTable as table } from "../report.ts";
import { DOMAIN, rawAnswer, type ReliabilitySection, type SectionIo, usage } from "./harness.ts";

/** Figures of the forged-token section. */
export interface TokenFigures {
  tried: number;
  accepted: number;
  refusedAsExpected: number;
  crashes: number;
  internalErrors: number;
  validServedAtEnd: boolean;
  perSecond: number;
  limiterFailuresBefore429: number;
  limiter429Ms: number;
  limiter401Ms: number;
}

const decoder = new TextDecoder();

/** A keep-alive TLS client that reconnects whenever the daemon closed the connection. */
class TlsClient {
  #conn: Deno.TlsConn | null = null;
  #reader: ConnReader | null = null;

  constructor(readonly port: number, readonly ca: string) {}

  async #connect(): Promise<void> {
    this.#conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: this.port,
      caCerts: [this.ca],
    });
    this.#reader = new ConnReader(this.#conn);
  }

  reset(): void {
    try {
      this.#conn?.close();
    } catch {
      // Already closed by the daemon.
    }
    this.#conn = null;
  }

  /** Sends one request; returns the status (0: no answer) and the error message. */
  async send(
    body: unknown,
    authorization: string | null,
  ): Promise<{ status: number; message: string; ms: number }> {
    const t0 = performance.now();
    try {
      if (this.#conn === null) await this.#connect();
      await writeJsonRequest(
        this.#conn!,
        "POST",
        "/v1/request",
        body,
        authorization === null ? {} : { authorization },
      );
      const response = await readResponse(this.#reader!, {
        idleMs: 30_000,
        messageMs: 30_000,
        maxBody: 1024 * 1024,
      });
      let message = "";
      try {
        const value = JSON.parse(decoder.decode(response.body));
        message = value?.error?.message ?? "";
      } catch {
        message = "<not JSON>";
      }
      if (response.headers.get("connection") !== "keep-alive") this.reset();
      return { status: response.status, message, ms: performance.now() - t0 };
    } catch (error) {
      this.reset();
      return { status: 0, message: (error as Error).message, ms: performance.now() - t0 };
    }
  }
}

/**
 * Runs the forged-token section. Returns the figures, or null when it cannot run here (not root,
 * no openssl).
 */
async function forgedTokenSection(io: SectionIo): Promise<TokenFigures | null> {
  if (!IS_ROOT) {
    io.skip("forged tokens: needs root (a daemon owning a root store)");
    return null;
  }
  if (!(await have("openssl"))) {
    io.fail("forged tokens: openssl is needed to make the TLS certificates");
    return null;
  }
  const [tester] = (await nonRootUsers())!;
  const count = io.quick ? 400 : 12_000;
  const f: TokenFigures = {
    tried: 0,
    accepted: 0,
    refusedAsExpected: 0,
    crashes: 0,
    internalErrors: 0,
    validServedAtEnd: false,
    perSecond: 0,
    limiterFailuresBefore429: 0,
    limiter429Ms: 0,
    limiter401Ms: 0,
  };
  const byFamily = new Map<
    string,
    { tried: number; expected: number; statuses: Map<number, number> }
  >();
  const unexpected: string[] = [];
  let seconds = 0;
  let storeChanged = false;
  let controlStatus = 0;
  await withSpool(async (spool) => {
    const certs = await makeCertificates(spool.root);
    const ca = await Deno.readTextFile(certs.ca);
    const pool = await runCli(["add", "-c", "-p", "-"], {
      env: spool.env,
      stdin: `pool-signing-key-${crypto.randomUUID()}`,
    });
    if (pool.code !== 0) throw new Error(`storing the pool password failed: ${pool.stderr}`);
    const key: PoolKey = { fileBytes: await Deno.readFile(spool.pool), trustDomain: DOMAIN };
    const tlsEnv = {
      _CONDOR_CREDD_TLS_ADDRESS: "127.0.0.1:0",
      _CONDOR_AUTH_SSL_SERVER_CERTFILE: certs.cert,
      _CONDOR_AUTH_SSL_SERVER_KEYFILE: certs.key,
      // Keys other than POOL live beside the pool password (none does: an unknown kid).
      _CONDOR_SEC_PASSWORD_DIRECTORY: `${spool.root}/spool/passwords.d`,
    };
    const daemon = await startDaemon(spool, {
      env: {
        ...tlsEnv,
        _CONDOR_CREDD_AUTH_FAILURE_LIMIT: "100000000",
        _CONDOR_CREDD_AUTH_FAILURES_PER_MINUTE: "0",
      },
    });
    const port = daemon.tlsPort!;
    try {
      const now = Math.floor(Date.now() / 1000);
      // The control: a token signed here must be accepted, or the forgeries prove nothing.
      const controlClient = new TlsClient(port, ca);
      const control = await controlClient.send(
        { version: 1, request: { action: "query", type: "kerberos", user: null } },
        `Bearer ${await validToken(key, `control@${DOMAIN}`, now)}`,
      );
      controlClient.reset();
      controlStatus = control.status;
      if (control.status !== 200) {
        io.fail(
          `forged tokens: the control token signed by scripts/forge.ts got ${control.status}: ${control.message}`,
        );
      }
      const cases = await forgeCases(count, 20261202, key, now);
      const before = await snapshot(`${spool.root}/spool`);
      const started = performance.now();
      let next = 0;
      const record = (c: ForgedCase, status: number, message: string) => {
        f.tried++;
        const family = byFamily.get(c.family) ?? { tried: 0, expected: 0, statuses: new Map() };
        byFamily.set(c.family, family);
        family.tried++;
        family.statuses.set(status, (family.statuses.get(status) ?? 0) + 1);
        if (status === 200) {
          f.accepted++;
          io.fail(`forged tokens: ACCEPTED (${c.family}): ${c.authorization?.slice(0, 200)}`);
        }
        if (status === 500) f.internalErrors++;
        const expected = c.statuses.includes(status) && (status !== 401 || c.reason.test(message));
        if (expected) {
          f.refusedAsExpected++;
          family.expected++;
        } else if (unexpected.length < 20) {
          unexpected.push(
            `${c.family}${c.detail ? ` (${c.detail})` : ""}: ${status} ${message.slice(0, 160)}`,
          );
        }
      };
      await Promise.all(Array.from({ length: 8 }, async () => {
        const client = new TlsClient(port, ca);
        try {
          while (next < cases.length) {
            const c = cases[next++];
            if (c.raw !== undefined) {
              try {
                const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [ca] });
                const { status } = await rawAnswer(conn, c.raw, 15_000);
                record(c, status, "");
              } catch (error) {
                record(c, 0, (error as Error).message);
              }
            } else if (c.plain !== undefined) {
              try {
                const conn = await Deno.connect({ hostname: "127.0.0.1", port });
                const { status } = await rawAnswer(conn, c.plain, 15_000);
                record(c, status, "");
              } catch (error) {
                record(c, 0, (error as Error).message);
              }
            } else {
              const r = await client.send(c.body, c.authorization);
              record(c, r.status, r.message);
            }
          }
        } finally {
          client.reset();
        }
      }));
      seconds = (performance.now() - started) / 1000;
      f.perSecond = Math.round(f.tried / seconds);
      if (f.refusedAsExpected !== f.tried) {
        io.fail(
          `forged tokens: ${f.tried - f.refusedAsExpected} of ${f.tried} were not refused as ` +
            `expected: ${unexpected.slice(0, 5).join(" | ")}`,
        );
      }
      storeChanged = (await snapshot(`${spool.root}/spool`)) !== before;
      if (storeChanged) {
        io.fail("forged tokens: the store changed during the forgeries");
      }
      // Still serving: a token from `token create` works through the real client as csc_tester.
      const created = await runCli(["token", "create", "-identity", `${tester.name}@${DOMAIN}`], {
        env: spool.env,
      });
      const tokenFile = `${spool.root}/tester.token`;
      await Deno.writeTextFile(tokenFile, created.stdout, { mode: 0o600 });
      await Deno.chown(tokenFile, tester.uid, tester.gid);
      const value = `after-${crypto.randomUUID()}`;
      const add = await runCli(
        [
          "add-oauth",
          "-s",
          "svc",
          "-P",
          "-i",
          "-",
          "-n",
          `127.0.0.1:${port}`,
          "--token-file",
          tokenFile,
        ],
        {
          env: { ...spool.env, _CONDOR_AUTH_SSL_CLIENT_CAFILE: certs.ca },
          stdin: value,
          user: tester,
        },
      );
      const stored = await Deno.readTextFile(`${spool.oauth}/${tester.name}/svc.use`).catch(() =>
        ""
      );
      const alive = usage(daemon.pid) !== null;
      f.validServedAtEnd = created.code === 0 && add.code === 0 && stored === value;
      if (!f.validServedAtEnd) {
        io.fail(
          `forged tokens: afterwards a valid token's add failed: exit ${add.code}: ${add.stderr.trim()}`,
        );
      }
      if (!alive) {
        f.crashes++;
        io.fail("forged tokens: the daemon is no longer running");
      }
    } finally {
      const { code, log } = await daemon.stop();
      if (code !== 0) io.fail(`forged tokens: the daemon exited ${code}: ${log.slice(-400)}`);
      const internal = log.split("\n").filter((l) => /internal error/.test(l)).length;
      f.internalErrors += internal;
      if (f.internalErrors > 0) io.fail(`forged tokens: ${f.internalErrors} internal errors`);
    }

    // The limiter at its default (CREDD_AUTH_FAILURE_LIMIT: 10 failures of one token a minute).
    const limited = await startDaemon(spool, { env: tlsEnv });
    try {
      const client = new TlsClient(limited.tlsPort!, ca);
      const bad = "Bearer x.y.z";
      const body = { version: 1, request: { action: "query", type: "kerberos", user: null } };
      const answers: { status: number; ms: number }[] = [];
      for (let i = 0; i < 30; i++) answers.push(await client.send(body, bad));
      const good = await client.send(
        body,
        `Bearer ${await validToken(
          key,
          `${tester.name}@${DOMAIN}`,
          Math.floor(Date.now() / 1000),
        )}`,
      );
      client.reset();
      const first429 = answers.findIndex((a) => a.status === 429);
      f.limiterFailuresBefore429 = first429 < 0 ? answers.length : first429;
      const ms = (status: number) =>
        answers.filter((a) => a.status === status).map((a) => a.ms).sort((a, b) => a - b);
      const median = (values: number[]) => values[Math.floor(values.length / 2)] ?? 0;
      f.limiter401Ms = median(ms(401));
      f.limiter429Ms = median(ms(429));
      const shape = answers.every((a, i) => a.status === (i < 10 ? 401 : 429));
      if (!shape) {
        io.fail(`forged tokens: the limiter answered ${answers.map((a) => a.status).join(" ")}`);
      }
      if (Math.max(...ms(429)) > 1000) io.fail("forged tokens: a 429 took over a second");
      if (good.status !== 200) {
        io.fail(`forged tokens: a valid token from the same address got ${good.status}`);
      }
      io.report(
        "## 11. Forged tokens against the TLS port",
        "",
        `${f.tried} forged or malformed tokens and requests (scripts/forge.ts, seed 20261202), ` +
          "sent by 8 clients at once over keep-alive TLS connections (malformed HTTP and plain " +
          "bytes on fresh ones) to a real daemon whose CREDD_AUTH_FAILURE_LIMIT is 100,000,000 " +
          "(and CREDD_AUTH_FAILURES_PER_MINUTE 0, no limit), so that each meets the token " +
          "verification rather than the rate limiter. Tokens are " +
          "signed by the suite itself (WebCrypto HKDF and HMAC, independently of lib/auth); a " +
          `control token it signed with the real POOL key was ${
            controlStatus === 200 ? "accepted" : `NOT accepted (${controlStatus})`
          }, so the forgeries signed with that key reach the checks after the signature. Each ` +
          "must be refused with its expected status and, for 401, the expected reason.",
        "",
        table(
          ["family", "tried", "refused as expected", "answers"],
          [...byFamily].map(([family, v]) => [
            family,
            v.tried,
            v.expected,
            [...v.statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${n} × ${s || "closed"}`)
              .join(", "),
          ]),
        ),
        "",
        table(["figure", "value"], [
          ["tried", f.tried],
          ["accepted", f.accepted],
          ["refused with the expected status and reason", f.refusedAsExpected],
          ["daemon exits (crashes) / internal errors (500)", `${f.crashes} / ${f.internalErrors}`],
          ["requests per second handled", `${f.perSecond} (${seconds.toFixed(1)} s)`],
          ["the store changed", storeChanged ? "YES" : "no"],
          [
            "afterwards: a `token create` token stores through the real client as csc_tester",
            f.validServedAtEnd ? "yes" : "NO",
          ],
        ]),
        "",
        "The limiter at its default, on a second daemon: 30 requests with one bad token on one " +
          "connection, then one with a valid token, all from 127.0.0.1. The limit is per token " +
          "(its signed part), so the valid token is served.",
        "",
        table(["figure", "value"], [
          ["failed authentications answered 401 before the first 429", f.limiterFailuresBefore429],
          ["answers", answers.map((a) => a.status).join(" ")],
          [
            "median time of a 401 / of a 429",
            `${f.limiter401Ms.toFixed(1)} ms / ${f.limiter429Ms.toFixed(1)} ms`,
          ],
          ["a valid token from the same address meanwhile", good.status],
        ]),
        "",
      );
    } finally {
      await limited.stop();
    }
  });
  return f;
}

export const section: ReliabilitySection = {
  name: "forged tokens",
  run: async (ctx) => void (ctx.figures.tokens = await forgedTokenSection(ctx)),
};
