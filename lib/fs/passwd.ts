/**
 * Minimal passwd-database lookups (Deno has no getpwuid): the caller's login name and home, and
 * the `condor` user's uid. Reads /etc/passwd once per process.
 *
 * Permissions: --allow-read=/etc/passwd.
 */

/** One passwd entry. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

let cache: PasswdEntry[] | null = null;

/** Parses passwd(5) text. Pure. */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    if (fields.length < 7) continue;
    const uid = Number(fields[2]);
    const gid = Number(fields[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    entries.push({ name: fields[0], uid, gid, home: fields[5] });
  }
  return entries;
}

function entries(): PasswdEntry[] {
  if (cache === null) {
    try {
      cache = parsePasswd(Deno.readTextFileSync("/etc/passwd"));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      cache = [];
    }
  }
  return cache;
}

/** The first entry with this uid, or undefined. */
export function lookupUid(uid: number): PasswdEntry | undefined {
  return entries().find((e) => e.uid === uid);
}

/** The entry with this login name, or undefined. */
export function lookupName(name: string): PasswdEntry | undefined {
  return entries().find((e) => e.name === name);
}
