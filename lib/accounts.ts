/**
 * The system's account database (Deno has no getpwuid): login names, uids, homes, and the condor
 * account of docs/storage.md "Trusted owners". An `AccountDb` looks at /etc/passwd at most once for
 * its own lifetime; make one per request so that a long-running daemon sees accounts added later
 * and no caller's lookups serve another's. The parsed file is kept between instances while the
 * file is unchanged (its version, lib/fs/facts.ts), so a daemon's requests do not each read and
 * parse it again, nor open it once it has been still for a second.
 *
 * Permissions: --allow-read=/etc/passwd.
 */

import { isDigits } from "./config/lines.ts";
import { quote } from "./errors.ts";
import { sameVersion, settled, type Version, versionOf } from "./fs/facts.ts";
import { readUpTo } from "./fs/files.ts";

/** One passwd entry. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** The condor account's ids. */
export interface CondorIds {
  readonly uid: number;
  readonly gid: number;
  /** Where the ids came from, for messages: `CONDOR_IDS` or `the condor account`. */
  readonly source: string;
}

/** Parses passwd(5) text. Pure. */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 7) continue;
    if (!isDigits(fields[2]) || !isDigits(fields[3])) continue;
    entries.push({
      name: fields[0],
      uid: Number(fields[2]),
      gid: Number(fields[3]),
      home: fields[5],
    });
  }
  return entries;
}

/** The last passwd file parsed, by path, with the version it was parsed from. */
const parsed = new Map<
  string,
  {
    readonly version: Version;
    readonly entries: readonly PasswdEntry[];
    /** Whether that version can be told from any later one (lib/fs/facts.ts `settled`). */
    readonly settled: boolean;
  }
>();

/**
 * The entries of the passwd file at `path`, parsed again only when the file's version differs from
 * the last parse's. When that version was settled (its mtime a second old when it was read),
 * a `stat` tells whether it still is; otherwise the file is opened and its handle's version
 * compared. A missing file has no entries. `now`: for tests.
 */
export function readPasswd(path: string, now: number = Date.now()): readonly PasswdEntry[] {
  const last = parsed.get(path);
  if (last?.settled) {
    try {
      if (sameVersion(last.version, Deno.statSync(path))) return last.entries;
    } catch {
      // Gone or unreadable: the open below says which.
    }
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    parsed.delete(path);
    return [];
  }
  try {
    const info = file.statSync();
    const entries = last !== undefined && sameVersion(last.version, info)
      ? last.entries
      // The whole file (a bound only against a file that never ends).
      : parsePasswd(new TextDecoder().decode(readUpTo(file, 1 << 30)));
    parsed.set(path, { version: versionOf(info), entries, settled: settled(info, now) });
    return entries;
  } finally {
    file.close();
  }
}

/** Lookups in the passwd file, looked at lazily once per instance (readPasswd). */
export class AccountDb {
  #entries: readonly PasswdEntry[] | null = null;

  constructor(readonly passwdFile = "/etc/passwd") {}

  #all(): readonly PasswdEntry[] {
    this.#entries ??= readPasswd(this.passwdFile);
    return this.#entries;
  }

  /** The first entry with this uid, or undefined. */
  byUid(uid: number): PasswdEntry | undefined {
    return this.#all().find((e) => e.uid === uid);
  }

  /** The entry with this login name, or undefined. */
  byName(name: string): PasswdEntry | undefined {
    return this.#all().find((e) => e.name === name);
  }

  /** A uid for messages: `csc_other (uid 1001)`, or `uid 1001` when it has no name. */
  describeUid(uid: number): string {
    const name = this.byUid(uid)?.name;
    return name === undefined ? `uid ${uid}` : `${name} (uid ${uid})`;
  }
}

/** A CONDOR_IDS value that is not `uid.gid`. */
export class CondorIdsError extends Error {}

/**
 * The condor account: the CONDOR_IDS knob (`uid.gid`) when set, else the `condor` user of the
 * passwd file, else null (a node without HTCondor's account). Throws CondorIdsError for a
 * malformed CONDOR_IDS.
 */
export function findCondorIds(
  condorIds: string | undefined,
  accounts: AccountDb,
): CondorIds | null {
  if (condorIds !== undefined) {
    // `uid.gid` between white space, each 1 to 10 digits.
    const ids = condorIds.trim();
    const dot = ids.indexOf(".");
    const uidText = dot < 0 ? "" : ids.slice(0, dot);
    const gidText = dot < 0 ? "" : ids.slice(dot + 1);
    const match = uidText.length <= 10 && gidText.length <= 10 && isDigits(uidText) &&
      isDigits(gidText);
    const uid = match ? Number(uidText) : NaN;
    const gid = match ? Number(gidText) : NaN;
    if (!match || uid > 0xfffffffe || gid > 0xfffffffe) {
      throw new CondorIdsError(
        `CONDOR_IDS is ${quote(condorIds)}; it must be the condor account's uid and gid as ` +
          `"uid.gid", for example "990.990"`,
      );
    }
    return { uid, gid, source: "CONDOR_IDS" };
  }
  const entry = accounts.byName("condor");
  return entry === undefined
    ? null
    : { uid: entry.uid, gid: entry.gid, source: "the condor account" };
}
