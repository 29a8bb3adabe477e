/**
 * The stored-shape part of the reliability suite's fuzz section (issue 20 item 1): generated
 * `.top`, `.use` and `.meta` files of every shape (fields of the wrong type, deep nesting, huge
 * numbers, prototype keys, long strings, control and bidirectional characters, invalid UTF-8,
 * non-JSON, past the 64 KiB a listing reads) are written straight into a user's OAuth directory
 * as a credd or credmon would (root, 0600 or 0400), then read back by `list`, `query-oauth` (with
 * and without -s, -S, -A, --min-ttl) and `doctor`: in-process as root, and through a real daemon
 * as the real non-root user who owns them. Every run must exit 0 or 1, or 2 exactly when the
 * stored scopes and audience really differ from those asked for; never print "unexpected
 * failure"; finish within a generous deadline; and never print a secret byte of the files.
 */

import { runCli, type RunResult, type Spool, type TestUser } from "../testing/harness.ts";
import { base64UrlEncode } from "../lib/jwt.ts";
import { generator, type Random } from "./random.ts";

/** One generated case: the files of a credential, and a command that reads them back. */
export interface StoredCase {
  /** File names (without the worker's prefix) and contents, in the user's OAuth directory. */
  readonly files: Record<string, Uint8Array>;
  /** Mode of each file: 0600 (credd) or 0400 (credmon). */
  readonly mode: number;
  /** The command's arguments, where `SVC` stands for the worker's service name. */
  readonly args: string[];
  /** Through the daemon as the user (else in-process as root, with -u). */
  readonly daemon: boolean;
  /** The secret the files hold where nothing may show it. */
  readonly secret: string;
}

/** The result of a batch. */
export interface StoredFuzzFigures {
  cases: number;
  inProcess: number;
  throughDaemon: number;
  byExit: Record<string, number>;
  /** Exit codes other than 0/1, or 2 without a real mismatch (or a mismatch without 2). */
  badExit: number;
  unexpected: number;
  hung: number;
  leaks: number;
  examples: string[];
}

const encoder = new TextEncoder();

/** base64url of text. */
function b64url(text: string): string {
  return base64UrlEncode(encoder.encode(text));
}

/** Strings a field may hold: odd characters, escapes, a lone surrogate, long ones. */
function stringValue(g: Random): string {
  const pick = g.int(9);
  if (pick === 0) return `"${"x".repeat(g.pick([1000, 70_000]))}"`;
  if (pick === 1) return `"${"\\u202e".repeat(g.between(1, 50))}"`;
  return g.pick([
    '"read:/"',
    '"read:/a write:/b"',
    '""',
    '"\\u202eevil\\u0007\\u001b[2J"',
    '"\\ud800"',
    '"é\\n\\t"',
    '"https://issuer.example"',
  ]);
}

const NUMBERS = [
  "0",
  "-1",
  "1e308",
  "-1e400",
  "1e-400",
  "123456789012345678901234567890",
  "3.5",
  "9007199254740993",
  String(Math.floor(Date.now() / 1000) + 3600),
  String(Math.floor(Date.now() / 1000) - 3600),
];

/** Keys an object may have: the ones read back, prototype names, odd spellings. */
const KEYS = [
  "scopes",
  "audience",
  "SCOPES",
  "sc\\u006fpes",
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "access_token",
  "exp",
  "aud",
  "",
];

/** A JSON value as text, at most `depth` levels of structure (deep nesting is its own shape). */
function jsonValue(g: Random, depth: number): string {
  const kind = g.int(depth > 0 ? 8 : 5);
  if (kind === 0) return stringValue(g);
  if (kind === 1) return g.pick(NUMBERS);
  if (kind === 2) return g.pick(["true", "false", "null"]);
  if (kind === 3) {
    const d = g.pick([10, 5000, 30_000]);
    return g.next() < 0.5
      ? `${"[".repeat(d)}${"]".repeat(d)}`
      : `${'{"a":'.repeat(d)}1${"}".repeat(d)}`;
  }
  if (kind === 4) return stringValue(g);
  const n = g.int(5);
  if (kind === 5) {
    return `[${Array.from({ length: n }, () => jsonValue(g, depth - 1)).join(",")}]`;
  }
  return jsonObject(g, depth - 1, n, null);
}

/** An object of `n` random members, plus `extra` members (text) at a random place. */
function jsonObject(g: Random, depth: number, n: number, extra: string | null): string {
  const members = Array.from({ length: n }, () => `"${g.pick(KEYS)}":${jsonValue(g, depth)}`);
  if (extra !== null) members.splice(g.int(members.length + 1), 0, extra);
  return `{${members.join(g.pick([",", " , ", ",\n"]))}}`;
}

/** A `.top`: JSON objects with odd fields around the secret, or anything else. */
function topFile(g: Random, secret: string): Uint8Array {
  const secretMember = `"refresh_token":"${secret}"`;
  switch (g.int(7)) {
    case 0: // not JSON
      return encoder.encode(g.pick([secret, `{"refresh_token":"${secret}"`, `${secret}\n`]));
    case 1: // not UTF-8
      return Uint8Array.from([0x7b, 0x22, 0xff, ...encoder.encode(secret), 0x22, 0x7d]);
    case 2: // JSON, not an object
      return encoder.encode(g.pick([`["${secret}"]`, `"${secret}"`, "null", "1e400"]));
    case 3: // past what a listing reads
      return encoder.encode(
        `{"refresh_token":"${secret}${"p".repeat(g.pick([70_000, 600_000]))}",` +
          `"scopes":${jsonValue(g, 1)}}`,
      );
    default:
      return encoder.encode(jsonObject(g, 2, g.int(5), secretMember));
  }
}

/** A JWT: a header (sometimes broken), claims of random shapes, the secret as its signature. */
function jwtText(g: Random, secret: string): string {
  const header = g.next() < 0.85
    ? b64url('{"alg":"ES256","typ":"JWT"}')
    : g.pick([b64url("[1]"), b64url("{"), "!!", ""]);
  const claims = ["iss", "sub", "aud", "scope", "exp"].filter(() => g.next() < 0.7).map((k) =>
    `"${k}":${g.next() < 0.5 && k === "exp" ? g.pick(NUMBERS) : jsonValue(g, 2)}`
  );
  if (g.next() < 0.2) claims.push(`"pad":"${"q".repeat(70_000)}"`);
  const payload = g.next() < 0.9 ? `{${claims.join(",")}}` : g.pick(["[]", "{", '"x"']);
  return `${header}.${b64url(payload)}.${b64url(secret)}`;
}

/** A `.use`: a bare JWT, credmon JSON, or garbage. */
function useFile(g: Random, secret: string): Uint8Array {
  switch (g.int(6)) {
    case 0:
      return encoder.encode(g.pick([secret, "", `${secret}.${secret}.${secret}`]));
    case 1:
      return Uint8Array.from([0xc0, 0xaf, ...encoder.encode(secret)]);
    case 2:
    case 3: {
      const token = g.next() < 0.8 ? `"${jwtText(g, secret)}"` : g.pick(["1", "null", "[]"]);
      const pad = g.next() < 0.2 ? `"pad":"${"p".repeat(70_000)}",` : "";
      return encoder.encode(`{${pad}"access_token":${token},"expires_in":${g.pick(NUMBERS)}}`);
    }
    default:
      return encoder.encode(`${jwtText(g, secret)}${g.pick(["", "\n", "  \n"])}`);
  }
}

/** The commands that read a user's credentials back (`SVC`: the case's service). */
const COMMANDS: readonly string[][] = [
  ["list"],
  ["list-oauth", "--json"],
  ["list", "-d"],
  ["query-oauth"],
  ["query-oauth", "--json"],
  ["query-oauth", "-s", "SVC"],
  ["query-oauth", "-s", "SVC", "-S", "read:/"],
  ["query-oauth", "-s", "SVC", "-S", "read:/a write:/b", "-A", "https://issuer.example"],
  ["query-oauth", "-s", "SVC", "-A", ""],
  ["query-oauth", "-s", "SVC", "--min-ttl", "60"],
  ["query-oauth", "-s", "SVC", "--min-ttl", "60", "--json"],
  ["query-oauth", "-s", "SVC", "-S", "read:/", "--min-ttl", "1"],
  ["doctor"],
  ["doctor", "--json"],
];

/** Builds `count` cases from `seed`; `daemon` says whether a daemon is there to use. */
export function generateStoredCases(count: number, seed: number, daemon: boolean): StoredCase[] {
  const g = generator(seed);
  const cases: StoredCase[] = [];
  for (let i = 0; i < count; i++) {
    const secret = `ST-5ecr3t-${i.toString(36)}-${g.int(1e9).toString(36)}`;
    const files: Record<string, Uint8Array> = {};
    if (g.next() < 0.8) files["SVC.top"] = topFile(g, secret);
    if (g.next() < 0.6) files["SVC.use"] = useFile(g, secret);
    if (g.next() < 0.3) {
      files["SVC.meta"] = Uint8Array.from([...g.bytes(8), ...encoder.encode(secret)]);
    }
    const args = g.pick(COMMANDS);
    cases.push({
      files,
      mode: g.pick([0o600, 0o400]),
      args: [...args],
      // doctor is in-process only (root's view of the whole store).
      daemon: daemon && args[0] !== "doctor" && g.next() < 0.5,
      secret,
    });
  }
  return cases;
}

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * The oracle of exit 2: true when `query-oauth -s` must find a mismatch, as docs/upstream.md and
 * deviation 10 define it (JSON.parse as the reference reader): the `.top` is read (at most
 * 1 MiB), a non-object counts as no scopes or audience, absent or null fields are "", and both
 * stored fields are text that differs from what was asked. A field of another type is the JSON
 * error (exit 1), not a mismatch.
 */
export function expectsMismatch(top: Uint8Array | undefined, args: readonly string[]): boolean {
  if (top === undefined || top.length > 1024 * 1024 || !args.includes("-s")) return false;
  const asked = (option: string) => {
    const i = args.indexOf(option);
    return i < 0 ? "" : args[i + 1];
  };
  let stored: Record<string, unknown> = {};
  try {
    const value = JSON.parse(strict.decode(top));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) stored = value;
  } catch {
    // Not JSON: no scopes or audience (deviation 10).
  }
  const field = (key: string) => {
    const value = Object.hasOwn(stored, key) ? stored[key] : undefined;
    if (value === undefined || value === null) return "";
    return typeof value === "string" ? value : undefined;
  };
  const scopes = field("scopes");
  const audience = field("audience");
  if (scopes === undefined || audience === undefined) return false;
  return scopes !== asked("-S") || audience !== asked("-A");
}

/** Where the cases run. */
export interface StoredFuzzTarget {
  readonly spool: Spool;
  /** The user whose OAuth directory holds the files (it exists: made by a first add). */
  readonly user: TestUser;
  /** Environment of the daemon's clients; null when no daemon runs (then all is in-process). */
  readonly daemonEnv: Record<string, string> | null;
}

/**
 * Runs `cases` with `workers` at a time; each worker uses its own service name, so its files
 * and queries never meet another's. Returns the figures; `fail` is called for every broken
 * property.
 */
export async function runStoredFuzz(
  cases: StoredCase[],
  target: StoredFuzzTarget,
  options: { workers: number; timeoutMs: number; fail: (m: string) => void },
): Promise<StoredFuzzFigures> {
  const figures: StoredFuzzFigures = {
    cases: 0,
    inProcess: 0,
    throughDaemon: 0,
    byExit: {},
    badExit: 0,
    unexpected: 0,
    hung: 0,
    leaks: 0,
    examples: [],
  };
  const dir = `${target.spool.oauth}/${target.user.name}`;
  const account = `${target.user.name}@test.example`;
  let next = 0;
  const worker = async (w: number) => {
    const service = `fz${w}`;
    while (next < cases.length) {
      const c = cases[next++];
      for (const ext of ["top", "use", "meta"]) {
        await Deno.remove(`${dir}/${service}.${ext}`).catch(() => {});
      }
      for (const [name, content] of Object.entries(c.files)) {
        const path = `${dir}/${name.replace("SVC", service)}`;
        await Deno.writeFile(path, content, { mode: c.mode });
        await Deno.chmod(path, c.mode);
      }
      const args = c.args.map((a) => (a === "SVC" ? service : a));
      let result: RunResult;
      try {
        result = c.daemon && target.daemonEnv !== null
          ? await runCli(args, {
            env: target.daemonEnv,
            user: target.user,
            timeoutMs: options.timeoutMs,
          })
          : await runCli(args[0] === "doctor" ? args : [...args, "-u", account], {
            env: target.spool.env,
            timeoutMs: options.timeoutMs,
          });
      } catch (error) {
        // runCli checks every --json output against the published schema.
        result = { code: -1, stdout: "", stderr: `--json output off the schema: ${error}` };
      }
      figures.cases++;
      if (c.daemon && target.daemonEnv !== null) figures.throughDaemon++;
      else figures.inProcess++;
      figures.byExit[result.code] = (figures.byExit[result.code] ?? 0) + 1;
      const shown = `${c.daemon ? "daemon" : "in-process"} ${JSON.stringify(args)} with ${
        Object.entries(c.files).map(([n, b]) => `${n} (${b.length} bytes)`).join(", ") || "no files"
      }`;
      const mismatch = expectsMismatch(c.files["SVC.top"], args);
      if (result.timedOut) {
        figures.hung++;
        options.fail(`stored fuzz: hung past ${options.timeoutMs} ms: ${shown}`);
      } else if (
        !(result.code === 0 || result.code === 1 || result.code === 2) ||
        (result.code === 2) !== mismatch
      ) {
        figures.badExit++;
        options.fail(
          `stored fuzz: exit ${result.code} (a mismatch ${mismatch ? "was" : "was not"} due): ` +
            `${shown}: ${result.stderr.slice(0, 300)}`,
        );
      }
      if (/unexpected failure|internal error/.test(result.stdout + result.stderr)) {
        figures.unexpected++;
        options.fail(`stored fuzz: unexpected failure: ${shown}: ${result.stderr.slice(0, 300)}`);
      }
      if ((result.stdout + result.stderr).includes(c.secret)) {
        figures.leaks++;
        options.fail(`stored fuzz: a stored secret was printed: ${shown}`);
      }
      if (figures.examples.length < 8 && result.code !== 0 && !result.timedOut) {
        figures.examples.push(
          `${shown} → ${result.code}: ${result.stderr.split("\n")[0].slice(0, 100)}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  return figures;
}
