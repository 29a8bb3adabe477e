/**
 * `doctor` (README "doctor"): the configured store as HTCondor's daemons see it and as
 * docs/storage.md requires it, one finding per problem with its path, what is wrong and the
 * command that fixes it. It only reads: no directory is created, no mark removed, no signal sent
 * (a credmon is looked for with `kill -0`).
 *
 * Permissions: --allow-read on the store, --allow-run=/bin/kill.
 */

import { StoreError } from "../errors.ts";
import type { Directory } from "../fs/directories.ts";
import { checkFile, listNames, readFile, TEMP_NAME } from "../fs/files.ts";
import { LOCK_DIRECTORY } from "../fs/lock.ts";
import { join, octal } from "../fs/paths.ts";
import { seconds, type StoreContext, type StorePath } from "./context.ts";
import { parsePid, runKill } from "./credmon.ts";
import { oauthUserDirectory, storeRoot } from "./layout.ts";
import { isValidName } from "./names.ts";
import { useFacts } from "./list.ts";
import { checkAuditLog } from "./audit.ts";

/** One problem. */
export interface Finding {
  /** A stable code: insecure, stray-temp, interrupted-write, no-credmon, credmon-dead, ... */
  readonly kind: string;
  readonly path: string;
  readonly problem: string;
  readonly fix: string;
}

/** Seconds a `.top` or `.cred` may wait for its credmon before doctor says so. */
export const PENDING_THRESHOLD = 600;

const KNOBS: Readonly<Record<StorePath, string>> = {
  oauth: "SEC_CREDENTIAL_DIRECTORY_OAUTH",
  krb: "SEC_CREDENTIAL_DIRECTORY_KRB",
  pwd: "SEC_CREDENTIAL_DIRECTORY_PWD",
  pool: "SEC_PASSWORD_FILE",
};

function refusal(kind: string, error: StoreError): Finding {
  return {
    kind,
    path: error.path ?? "",
    problem: error.message,
    fix: error.remedy ?? "repair it by hand",
  };
}

function info(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}

/** Collects findings; a StoreError thrown by `check` becomes one. */
function collect(findings: Finding[], kind: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    findings.push(refusal(kind, error));
  }
}

/** Our temp files, and journals of interrupted writes, in a store directory. */
function debris(store: Directory, findings: Finding[], ctx: StoreContext): void {
  for (const name of listNames(store)) {
    if (TEMP_NAME.test(name)) {
      findings.push({
        kind: "stray-temp",
        path: join(store.path, name),
        problem: "a temporary file left by an interrupted write",
        fix: `rm ${join(store.path, name)}`,
      });
    }
  }
  const locks = join(store.path, LOCK_DIRECTORY);
  if (info(locks)?.isDirectory !== true) return;
  const lockDir: Directory = { path: locks, info: info(locks)! };
  for (const name of listNames(lockDir)) {
    collect(findings, "insecure", () => {
      const journal = readFile(lockDir, name, ctx.owners, { role: "shared", maxBytes: 1024 });
      if (journal !== null && journal.length > 0) {
        findings.push({
          kind: "interrupted-write",
          path: join(locks, name),
          problem: `a write was interrupted (its journal names ${
            new TextDecoder().decode(journal)
          })`,
          fix: "the next add for that user removes what it left; or delete the file it names",
        });
      }
    });
  }
}

/** The credmon of `store`: a pid file naming a live process, which has completed a scan. */
async function credmon(store: Directory, which: string, findings: Finding[], ctx: StoreContext) {
  const pidPath = join(store.path, "pid");
  const name = which === "oauth"
    ? "the OAuth credmon (condor_credmon_oauth, or the one your site runs)"
    : "the Kerberos credmon (condor_credmon_krb)";
  let pidText: Uint8Array | null = null;
  try {
    pidText = readFile(store, "pid", ctx.owners, { role: "shared", maxBytes: 255 });
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    findings.push(refusal("insecure", error));
    return;
  }
  if (pidText === null) {
    // No credmon has started here; that it never completed a scan follows and is not repeated.
    findings.push({
      kind: "no-credmon",
      path: pidPath,
      problem: "no credmon has started for this directory (it has no pid file)",
      fix: `start ${name}`,
    });
    return;
  }
  const pid = parsePid(new TextDecoder().decode(pidText));
  if (pid === null) {
    findings.push({
      kind: "credmon-dead",
      path: pidPath,
      problem: "the credmon pid file does not hold a valid process id",
      fix: `restart ${name}`,
    });
    return;
  }
  if (await runKill(["-0"], pid) !== 0) {
    findings.push({
      kind: "credmon-dead",
      path: pidPath,
      problem: `the credmon pid file names process ${pid}, which is not running`,
      fix: `restart ${name}`,
    });
    return;
  }
  if (info(join(store.path, "CREDMON_COMPLETE")) === null) {
    findings.push({
      kind: "credmon-incomplete",
      path: join(store.path, "CREDMON_COMPLETE"),
      problem: `the credmon (process ${pid}) has never completed a scan of this directory`,
      fix: `if this lasts more than a few minutes, read the log of ${name}`,
    });
  }
}

/** Marks older than SEC_CREDENTIAL_SWEEP_DELAY: nobody sweeps. */
function staleMarks(store: Directory, findings: Finding[], ctx: StoreContext, now: number) {
  const delay = ctx.config.integer("SEC_CREDENTIAL_SWEEP_DELAY");
  for (const name of listNames(store)) {
    if (!name.endsWith(".mark")) continue;
    const mark = info(join(store.path, name));
    if (mark === null) continue;
    const age = now - seconds(mark);
    if (age > delay) {
      findings.push({
        kind: "stale-mark",
        path: join(store.path, name),
        problem: `marked for removal ${age} seconds ago, more than SEC_CREDENTIAL_SWEEP_DELAY ` +
          `(${delay}): nothing sweeps this directory`,
        fix: "run the credd or condor_store_cred serve, which sweep marked users",
      });
    }
  }
}

function checkKerberos(store: Directory, findings: Finding[], ctx: StoreContext, now: number) {
  for (const name of listNames(store)) {
    const match = /^(.+)\.(cred|cc)$/.exec(name);
    if (!match) continue;
    const path = join(store.path, name);
    const file = info(path);
    if (file === null) continue;
    collect(findings, "insecure", () => checkFile(path, file, ctx.owners, "secret"));
    if (match[2] === "cred" && info(join(store.path, `${match[1]}.cc`)) === null) {
      const age = now - seconds(file);
      if (age > PENDING_THRESHOLD) {
        findings.push({
          kind: "credmon-stuck",
          path,
          problem: `stored ${age} seconds ago and still not processed (no ${match[1]}.cc)`,
          fix: "check that condor_credmon_krb runs and processes this directory",
        });
      }
    }
  }
}

function checkOAuth(store: Directory, findings: Finding[], ctx: StoreContext, now: number) {
  const condor = ctx.owners.condor;
  if (ctx.owners.self === 0 && condor !== null && store.info.gid !== condor.gid) {
    findings.push({
      kind: "layout",
      path: store.path,
      problem:
        `its group is gid ${store.info.gid}, not condor's (${condor.gid}): the credd, which ` +
        "runs as condor, cannot create users' directories here",
      fix: `chown root:${condor.gid} ${store.path} && chmod 2770 ${store.path}`,
    });
  }
  for (const user of listNames(store)) {
    if (!isValidName(user) || user.endsWith(".mark")) continue;
    const entry = info(join(store.path, user));
    if (entry === null || !(entry.isDirectory || entry.isSymlink)) continue;
    let dir: Directory | null = null;
    collect(findings, "insecure", () => {
      dir = oauthUserDirectory(ctx, store, user, false);
    });
    if (dir === null) continue;
    const userDir: Directory = dir;
    debris(userDir, findings, ctx);
    const names = listNames(userDir);
    for (const name of names) {
      const match = /^(.+)\.(top|use|meta)$/.exec(name);
      if (!match) continue;
      const path = join(userDir.path, name);
      const file = info(path);
      if (file === null) continue;
      try {
        checkFile(path, file, ctx.owners, "secret");
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        findings.push(refusal("insecure", error));
        continue;
      }
      if (match[2] === "top" && !names.includes(`${match[1]}.use`)) {
        const age = now - seconds(file);
        if (age > PENDING_THRESHOLD) {
          findings.push({
            kind: "credmon-stuck",
            path,
            problem: `stored ${age} seconds ago and still no ${match[1]}.use: the OAuth credmon ` +
              "is not processing it",
            fix: "check the OAuth credmon's log (is a credmon configured for this service?)",
          });
        }
      }
      if (match[2] === "use") {
        // The same bounded read as list's: a .use of any size or shape costs at most that.
        collect(findings, "insecure", () => {
          const exp = useFacts(ctx, userDir, name).facts?.exp ?? null;
          if (exp !== null && exp < now) {
            findings.push({
              kind: "expired-token",
              path,
              problem: `the access token expired ${now - exp} seconds ago`,
              fix: "refresh it (add-oauth -P), or check the credmon that renews it",
            });
          }
        });
      }
    }
  }
}

/** Examines the whole configured store. Returns the findings (empty: healthy). */
export async function examineStore(ctx: StoreContext, now: number): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const warning of ctx.config.warnings) {
    findings.push({
      kind: "config",
      path: /"([^"]+)"/.exec(warning)?.[1] ?? ctx.config.rootFile ?? "",
      problem: warning,
      fix: "edit the configuration at the file and line named",
    });
  }
  // An audit log that cannot be written is found now, not at the first add.
  collect(findings, "audit-log", () => checkAuditLog(ctx));
  for (const which of ["pool", "pwd", "krb", "oauth"] as const) {
    if (ctx.config.get(KNOBS[which]) === undefined) continue;
    if (which === "oauth" && ctx.owners.condor === null) {
      // The packaged layout shares this directory with condor's group: without a condor
      // account it cannot be right, and the program refuses it.
      const path = ctx.config.get(KNOBS.oauth)!;
      const shared = info(path);
      if (shared !== null && shared.isDirectory && (shared.mode! & 0o2020) === 0o2020) {
        findings.push({
          kind: "no-condor",
          path,
          problem: `it is shared with group ${shared.gid} (mode ${octal(shared.mode!)}) as ` +
            "HTCondor's packages make it, but there is no condor account (CONDOR_IDS unset, no " +
            "condor user) to share it with",
          fix: "create the condor account or set CONDOR_IDS=uid.gid, or run chmod 700 " + path,
        });
        continue;
      }
    }
    let store: Directory | null = null;
    collect(findings, "insecure", () => {
      store = storeRoot(ctx, which, false);
    });
    if (store === null) continue;
    const dir: Directory = store;
    debris(dir, findings, ctx);
    if (which === "pool") {
      const path = ctx.config.get("SEC_PASSWORD_FILE")!;
      const file = info(path);
      if (file !== null) {
        collect(findings, "insecure", () => checkFile(path, file, ctx.owners, "secret"));
      }
    }
    if (which === "pwd") {
      for (const name of listNames(dir)) {
        if (!name.endsWith(".pwd") && name !== "host.key") continue;
        const path = join(dir.path, name);
        const file = info(path);
        if (file !== null) {
          collect(findings, "insecure", () => checkFile(path, file, ctx.owners, "secret"));
        }
      }
    }
    if (which === "krb" || which === "oauth") {
      if (which === "krb") checkKerberos(dir, findings, ctx, now);
      else checkOAuth(dir, findings, ctx, now);
      staleMarks(dir, findings, ctx, now);
      await credmon(dir, which, findings, ctx);
    }
  }
  return findings;
}
