/**
 * The "concurrency" section of scripts/reliability.ts: many processes adding, deleting and querying
 * the same credentials at once; no acknowledged write is lost, no file or read is torn; a held lock
 * times out clearly.
 */

import { markdownTable as table } from "../report.ts";
import { runCli, withSpool } from "../../testing/harness.ts";
import { readOrNull, type Reliability, type ReliabilitySection, tempFiles } from "./harness.ts";

const decoder = new TextDecoder();

interface Op {
  readonly key: string;
  readonly kind: "add" | "delete" | "query";
  readonly start: number;
  end: number;
  code: number;
  readonly content?: string;
  stderr: string;
}

async function concurrencySection(ctx: Reliability): Promise<void> {
  const { options, figures, fail, report } = ctx;
  await withSpool(async (spool) => {
    const keys = {
      krb: (user: string) => `${spool.krb}/${user}.cred`,
      oauth: (user: string) => `${spool.oauth}/${user}/svc.use`,
    };
    const written = new Set<string>();
    const ops: Op[] = [];
    let stop = false;

    const one = async (worker: number, seq: number) => {
      const type = Math.random() < 0.5 ? "krb" : "oauth";
      const user = Math.random() < 0.5 ? "shared" : `w${worker}`;
      const roll = Math.random();
      const kind = roll < 0.5 ? "add" : roll < 0.7 ? "delete" : "query";
      const content = kind === "add"
        ? `${type}:${user}:${worker}:${seq}:${"z".repeat(Math.floor(Math.random() * 4096))}`
        : undefined;
      if (content) written.add(content);
      const u = ["-u", `${user}@test.example`];
      const args = type === "krb"
        ? {
          add: ["add-krb", ...u, "-i", "-"],
          delete: ["delete-krb", ...u],
          query: ["query-krb", ...u],
        }[kind]
        : {
          add: ["add-oauth", ...u, "-s", "svc", "-P", "-i", "-"],
          delete: ["delete-oauth", ...u, "-s", "svc"],
          query: ["query-oauth", ...u, "-s", "svc"],
        }[kind];
      const op: Op = {
        key: keys[type](user),
        kind,
        start: performance.now(),
        end: 0,
        code: -1,
        content,
        stderr: "",
      };
      const r = await runCli(args, { env: spool.env, stdin: content });
      op.end = performance.now();
      op.code = r.code;
      op.stderr = r.stderr;
      ops.push(op);
    };

    // A reader that checks every file it sees is complete: one of the contents ever written.
    const reader = (async () => {
      while (!stop) {
        for (const path of [keys.krb("shared"), keys.oauth("shared")]) {
          const bytes = readOrNull(path);
          if (bytes === null) continue;
          figures.readsChecked++;
          if (!written.has(decoder.decode(bytes))) {
            figures.tornReads++;
            fail(`concurrency: a torn or unknown content was read from ${path}`);
          }
        }
        await new Promise((r) => setTimeout(r, 3));
      }
    })();

    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.workers }, async (_, w) => {
        for (let s = 0; s < options.opsPerWorker; s++) await one(w, s);
      }),
    );
    const elapsed = performance.now() - started;
    stop = true;
    await reader;

    figures.concurrentPlanned += options.workers * options.opsPerWorker;
    // Counted: operations that ran to an answer (0 or 1), not the ones merely started.
    figures.concurrentOps += ops.filter((op) => op.code === 0 || op.code === 1).length;
    for (const op of ops) {
      const timedOut = /timed out after \d+ seconds waiting for the lock/.test(op.stderr);
      if (timedOut) figures.lockTimeouts++;
      if (op.kind !== "query" && op.code === 0) figures.concurrentAcknowledged++;
      if (op.kind !== "query" && op.code !== 0 && !timedOut) {
        fail(`concurrency: ${op.kind} of ${op.key} failed: ${op.stderr.trim()}`);
      }
      if (op.kind === "query" && ![0, 1].includes(op.code)) {
        figures.badQueryAnswers++;
        fail(`concurrency: a query answered ${op.code}: ${op.stderr.trim()}`);
      }
    }
    // Per key: the final state must come from a write that no other acknowledged write started
    // after (real-time order); a missing file needs such an acknowledged delete.
    const byKey = new Map<string, Op[]>();
    for (const op of ops) {
      if (op.kind !== "query" && op.code === 0) {
        byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
      }
    }
    for (const [key, writes] of byKey) {
      const bytes = readOrNull(key);
      const final = bytes === null ? null : decoder.decode(bytes);
      const producers = writes.filter((w) =>
        final === null ? w.kind === "delete" : w.content === final
      );
      if (final !== null && !written.has(final)) {
        figures.tornFiles++;
        fail(`concurrency: ${key} holds a content nobody wrote`);
        continue;
      }
      const legal = producers.some((p) => !writes.some((w) => w !== p && w.start > p.end));
      if (!legal) {
        figures.lostWrites++;
        fail(
          `concurrency: ${key} ends as ${
            final === null ? "missing" : "an overwritten value"
          }, losing an acknowledged write`,
        );
      }
    }
    const left = [...(await tempFiles(spool.krb)), ...(await tempFiles(spool.oauth))];
    if (left.length > 0) fail(`concurrency: temp files left: ${left.join(", ")}`);
    console.log(
      `concurrency: ${ops.length} operations by ${options.workers} processes in ${
        (elapsed / 1000).toFixed(1)
      } s`,
    );
    report(
      "## 2. Concurrency",
      "",
      `${options.workers} concurrent workers, each running ${options.opsPerWorker} operations ` +
        "one after another (add, delete or query; Kerberos or OAuth; a shared user or the " +
        "worker's own), so up to " + `${options.workers} processes run at once. A reader ` +
        "checked the shared files every few milliseconds. Every acknowledged write is checked " +
        "against the final state in real-time order.",
      "",
      table(["figure", "value"], [
        ["operations planned", options.workers * options.opsPerWorker],
        ["operations that ran to an answer (exit 0 or 1)", figures.concurrentOps],
        ["acknowledged adds and deletes", figures.concurrentAcknowledged],
        ["wall time", `${(elapsed / 1000).toFixed(1)} s`],
        ["files read while writers ran", figures.readsChecked],
        ["torn reads", figures.tornReads],
        ["torn files at the end", figures.tornFiles],
        ["lost acknowledged writes", figures.lostWrites],
        ["queries with an answer other than found/not found", figures.badQueryAnswers],
        ["lock timeouts (reported clearly, counted, not failures)", figures.lockTimeouts],
        ["temp files left", left.length],
      ]),
      "",
    );
  });

  // A held lock: the add must give up after CRED_LOCK_TIMEOUT with a clear message, not hang.
  await withSpool(async (spool) => {
    await runCli(["add-krb", "-i", "-"], { env: spool.env, stdin: "t" });
    const lock = await Deno.open(`${spool.krb}/.locks/root.lock`, { read: true, write: true });
    try {
      lock.lockSync(true);
      const t0 = performance.now();
      const r = await runCli(["add-krb", "-i", "-"], {
        env: { ...spool.env, _CONDOR_CRED_LOCK_TIMEOUT: "1" },
        stdin: "u",
      });
      const seconds = (performance.now() - t0) / 1000;
      figures.lockTimeoutClear = r.code === 1 &&
        /^ERROR: timed out after 1 seconds waiting for the lock ".*root\.lock"; another condor_store_cred is still writing/
          .test(r.stderr) &&
        seconds < 5;
      if (!figures.lockTimeoutClear) {
        fail(`lock timeout: exit ${r.code} after ${seconds.toFixed(1)} s: ${r.stderr}`);
      }
      report(
        `A lock held by another process: \`add-krb\` with CRED_LOCK_TIMEOUT=1 exited ${r.code} after ` +
          `${seconds.toFixed(1)} s with: \`${r.stderr.trim().slice(0, 120)}…\``,
        "",
      );
    } finally {
      lock.close();
    }
  });
}

export const section: ReliabilitySection = { name: "concurrency", run: concurrencySection };
