/**
 * The fuzz section of the reliability suite: generated argument vectors, inputs and configuration
 * files (mutations of valid ones, control characters, long and reserved names, odd JSON and JWTs),
 * each run as a real process against a temp store. Every run must exit 0, 1 or 2; never print
 * "unexpected failure"; never crash or hang past a bound; never print a secret it was given; and
 * create nothing outside its temp store.
 */

import { baseEnv, programCommand } from "../testing/harness.ts";
import { generator } from "./random.ts";

/** One generated case. */
export interface FuzzCase {
  readonly args: string[];
  readonly stdin: Uint8Array | null;
  /** Extra configuration lines (appended to the store's). */
  readonly config: string[];
  /** Files to create in the worker's directory first (relative name → content). */
  readonly files: Record<string, Uint8Array>;
  /** The secret this case carries (in -p, stdin or a file), which must never be printed. */
  readonly secret: string;
}

/** The result of running a batch. */
export interface FuzzFigures {
  cases: number;
  badExit: number;
  unexpected: number;
  hung: number;
  crashed: number;
  leaks: number;
  outside: number;
  byExit: Record<string, number>;
  examples: string[];
}

const encoder = new TextEncoder();

function b64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function jwt(claims: string): string {
  return `${b64url('{"alg":"ES256","typ":"JWT"}')}.${b64url(claims)}.c2ln`;
}

/** Values a mutation may put where a name goes. */
const HOSTILE_NAMES = [
  ".locks",
  "pid",
  "CREDMON_COMPLETE",
  "x.mark",
  "x.cred",
  "..",
  ".",
  "../../etc",
  "a/b",
  "a b",
  "a*",
  "\u001b[2J",
  "a\nb",
  "\u0455citokens",
  "x".repeat(240),
  "y".repeat(300),
  "",
  "wsgi_session_key",
];

/** Tokens a mutation may insert anywhere. */
const TOKENS = [
  "add",
  "delete",
  "query",
  "add-krb",
  "query-oauth",
  "-krb",
  "-oauth",
  "-pwd",
  "-u",
  "-c",
  "-p",
  "-i",
  "-s",
  "-H",
  "-S",
  "-A",
  "-P",
  "-n",
  "-f",
  "-d",
  "-h",
  "--json",
  "--min-ttl",
  "--user=a@b",
  "--pool",
  "-",
  "--",
  "=",
  "-x",
  "--bogus=1",
  // (NUL cannot reach a program through argv: execve takes C strings.)
  "\u0007",
  "é",
  "a@b@c",
  "@",
  "a@",
  "-1",
  "99999999999",
  // Names with a slash stay after -s/-H/-u: after -f or -i they would name a path outside the
  // store on purpose, which is what -f and -i are for.
  ...HOSTILE_NAMES.filter((n) => !n.includes("/")),
];

/** Odd credentials: JSON, JWTs, bytes. `S` is the secret. */
function credentials(s: string): Uint8Array[] {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  return [
    s,
    `${s}\n`,
    `{"refresh_token":"${s}","scopes":"a"}`,
    `{"vault_token":"${s}","vault_url":"https://vault.evil.example/"}`,
    `{"vault_token":"${s}","vault_url":"not a url"}`,
    `{"access_token":"${jwt(`{"exp":-1e300,"sub":"${s}"}`)}"}`,
    jwt(`{"exp":1e300,"x":"${s}"}`),
    jwt(`{"exp":"soon","x":"${s}"}`),
    jwt(`{"exp":${Math.floor(Date.now() / 1000) + 5},"x":"${s}"}`),
    `${jwt(`{"x":"${s}"}`)}.extra`,
    `{"scopes":[1,2],"audience":{"a":"${s}"}}`,
    `{"a":${deep},"s":"${s}"}`,
    `${deep}${s}`,
    "LOCAL:scitokens",
    `LOCAL:../${s}`,
    `LOCAL:.${s}`,
    "",
    "\u0000\u0001\u0002",
    `${s}${"z".repeat(300)}`,
  ].map((t) => encoder.encode(t)).concat([
    Uint8Array.from([0xff, 0xfe, 0x00, 0x41, 0x42]),
    new Uint8Array(1024 * 1024 + 1).fill(0x41),
  ]);
}

/** Configuration lines a mutation may add. */
const CONFIG_LINES = [
  "CRED_LOCK_TIMEOUT = soon",
  "CREDD_POLLING_TIMEOUT = -5",
  "CREDD_POLLING_TIMEOUT = 99999999999999999999",
  "include : /nonexistent/file",
  "include ifexist : /nonexistent/file",
  "use feature:NOPE",
  "use feature:OAUTH",
  "A = $(A)",
  "B = $(C)\nC = $(B)",
  "UID_DOMAIN = a b",
  "UID_DOMAIN =",
  "CONDOR_IDS = condor",
  "CONDOR_IDS = 0.0",
  "SEC_CREDENTIAL_DIRECTORY_KRB = relative/krb",
  "SEC_CREDENTIAL_DIRECTORY_OAUTH =",
  "SEC_PASSWORD_FILE = /",
  "TRUSTED_VAULT_HOSTS = vault.example",
  "CRED_SUPER_USERS = *",
  "if version > 8.0\nX = 1\nendif",
  "if\n",
  "error : stop here",
  "LONG = " + "v".repeat(70_000),
  "\u001b[31m = 1",
  "X = $ENV(HOME)$(DOLLAR)$$(Y)",
  "@=end\nmulti\n@end",
  "NAME : value",
];

/** Builds `count` cases from `seed`. */
export function generateCases(count: number, seed: number): FuzzCase[] {
  const g = generator(seed);
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const secret = `FZ-5ecr3t-${i.toString(36)}-${g.int(1e9).toString(36)}`;
    const creds = credentials(secret);
    const cred = () => g.pick(creds);
    const templates: (() => Pick<FuzzCase, "args" | "stdin" | "files">)[] = [
      () => ({ args: ["add", "-p", secret], stdin: null, files: {} }),
      () => ({ args: ["add", "-p", "-"], stdin: cred(), files: {} }),
      () => ({ args: ["add", "-c", "-p", "-"], stdin: cred(), files: {} }),
      () => ({ args: ["add"], stdin: encoder.encode(`${secret}\n`), files: {} }),
      () => ({ args: ["add-krb", "-i", "-"], stdin: cred(), files: {} }),
      () => ({ args: ["add-krb", "-i", "in.txt"], stdin: null, files: { "in.txt": cred() } }),
      () => ({ args: ["add-oauth", "-s", "svc", "-i", "-"], stdin: cred(), files: {} }),
      () => ({
        args: ["add-oauth", "-s", "svc", "-H", "h", "-S", "a,b", "-A", "aud", "-i", "-"],
        stdin: cred(),
        files: {},
      }),
      () => ({ args: ["add-oauth", "-s", "svc", "-P", "-i", "-"], stdin: cred(), files: {} }),
      () => ({ args: ["query-oauth", "-s", "svc", "--min-ttl", "60"], stdin: null, files: {} }),
      () => ({ args: ["query-oauth", "-s", "svc", "-S", "a,b"], stdin: null, files: {} }),
      () => ({ args: ["query-oauth"], stdin: null, files: {} }),
      () => ({ args: ["delete-oauth", "-s", "svc"], stdin: null, files: {} }),
      () => ({ args: ["delete-oauth"], stdin: null, files: {} }),
      () => ({ args: ["query-krb", "-u", "alice@test.example"], stdin: null, files: {} }),
      () => ({ args: ["delete-krb"], stdin: null, files: {} }),
      () => ({ args: ["query", "-u", "bob@test.example"], stdin: null, files: {} }),
      () => ({ args: ["delete", "-c"], stdin: null, files: {} }),
      () => ({ args: ["-f", "pool.out", "-p", "-"], stdin: cred(), files: {} }),
    ];
    const base = g.pick(templates)();
    let args = [...base.args];
    const extras: string[] = [];
    if (g.next() < 0.3) extras.push("--json");
    if (g.next() < 0.3) extras.push("-d");
    args.push(...extras);
    const config: string[] = [];
    const mutations = g.int(4);
    for (let m = 0; m < mutations; m++) {
      const at = g.int(args.length + 1);
      switch (g.int(9)) {
        case 0: // drop
          if (args.length > 1) args.splice(Math.min(at, args.length - 1), 1);
          break;
        case 1: // duplicate
          if (args.length > 0) args.splice(at, 0, args[Math.min(at, args.length - 1)]);
          break;
        case 2: // swap neighbours
          if (at + 1 < args.length) [args[at], args[at + 1]] = [args[at + 1], args[at]];
          break;
        case 3: // insert a token
          args.splice(at, 0, g.pick(TOKENS));
          break;
        case 4: // glue two neighbours
          if (at + 1 < args.length) args.splice(at, 2, args[at] + args[at + 1]);
          break;
        case 5: // a hostile name after a name option
          args.push(g.pick(["-s", "-H", "-u"]), g.pick(HOSTILE_NAMES));
          break;
        case 6: // value with =
          if (args[at]?.startsWith("-")) args[at] = `${args[at]}=${g.pick(TOKENS)}`;
          break;
        case 7: // a configuration line
          config.push(g.pick(CONFIG_LINES));
          break;
        default: // change the action's case or suffix
          args = args.map((a) =>
            /^(add|delete|query)/i.test(a) ? g.pick([a.toUpperCase(), `${a}-x`, `${a}--krb`]) : a
          );
      }
    }
    cases.push({ args, stdin: base.stdin, files: base.files, config, secret });
  }
  return cases;
}

/** Options of the non-secret options: a secret given as their value may be echoed. */
const ECHOED_VALUES = new Set([
  "-u",
  "--user",
  "-s",
  "--service",
  "-H",
  "--handle",
  "-S",
  "--scopes",
  "-A",
  "--audience",
  "-n",
  "--name",
  "-i",
  "--input",
  "-f",
  "--file",
  "--min-ttl",
]);

/** True when the case hands its secret to an option whose value is not a secret. */
function secretMisplaced(c: FuzzCase): boolean {
  return c.args.some((a, i) =>
    a.includes(c.secret) &&
    ((i > 0 && ECHOED_VALUES.has(c.args[i - 1])) ||
      [...ECHOED_VALUES].some((o) => o.startsWith("--") && a.startsWith(`${o}=`)))
  );
}

/** Lists a directory's names (empty when missing). */
function names(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/**
 * Runs `cases` with `workers` processes at a time, each worker in its own temp store under
 * `root`. Returns the figures; `fail` is called for every broken property.
 */
export async function runFuzz(
  cases: FuzzCase[],
  options: { root: string; workers: number; timeoutMs: number; fail: (m: string) => void },
): Promise<FuzzFigures> {
  const figures: FuzzFigures = {
    cases: 0,
    badExit: 0,
    unexpected: 0,
    hung: 0,
    crashed: 0,
    leaks: 0,
    outside: 0,
    byExit: {},
    examples: [],
  };
  const command = await programCommand();
  const env = await baseEnv();
  const tmpBefore = names("/tmp");
  let next = 0;
  const worker = async (w: number) => {
    const dir = `${options.root}/w${w}`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    const baseConfig = [
      `SEC_PASSWORD_FILE = ${dir}/spool/passwords.d/POOL`,
      `SEC_CREDENTIAL_DIRECTORY_KRB = ${dir}/spool/krb`,
      `SEC_CREDENTIAL_DIRECTORY_OAUTH = ${dir}/spool/oauth`,
      `SEC_CREDENTIAL_DIRECTORY_PWD = ${dir}/spool/pwd`,
      `CRED_AUDIT_LOG = ${dir}/audit.log`,
      "UID_DOMAIN = test.example",
      "CREDD_POLLING_TIMEOUT = 1",
      "CRED_LOCK_TIMEOUT = 2",
    ];
    while (next < cases.length) {
      const c = cases[next++];
      await Deno.writeTextFile(`${dir}/condor_config`, [...baseConfig, ...c.config, ""].join("\n"));
      for (const [name, content] of Object.entries(c.files)) {
        await Deno.writeFile(`${dir}/${name}`, content, { mode: 0o600 });
      }
      const child = new Deno.Command(command[0], {
        args: [...command.slice(1), ...c.args],
        clearEnv: true,
        env: { ...env, CONDOR_CONFIG: `${dir}/condor_config`, HOME: dir },
        cwd: dir,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      writer.write(c.stdin ?? new Uint8Array()).then(() => writer.close()).catch(() => {});
      let hung = false;
      const timer = setTimeout(() => {
        hung = true;
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, options.timeoutMs);
      const out = await child.output();
      clearTimeout(timer);
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      figures.cases++;
      figures.byExit[out.code] = (figures.byExit[out.code] ?? 0) + 1;
      const shown = JSON.stringify(c.args).slice(0, 200);
      if (hung) {
        figures.hung++;
        options.fail(`fuzz: hung past ${options.timeoutMs} ms: ${shown}`);
      } else if (out.signal !== null) {
        figures.crashed++;
        options.fail(`fuzz: killed by ${out.signal}: ${shown}`);
      } else if (![0, 1, 2].includes(out.code)) {
        figures.badExit++;
        options.fail(`fuzz: exit ${out.code}: ${shown}: ${stderr.slice(0, 200)}`);
      }
      if (/unexpected failure/.test(stderr)) {
        figures.unexpected++;
        options.fail(`fuzz: unexpected failure: ${shown}: ${stderr.slice(0, 300)}`);
      }
      if ((stdout + stderr).includes(c.secret) && !secretMisplaced(c)) {
        figures.leaks++;
        options.fail(`fuzz: the secret was printed: ${shown}`);
      }
      if (figures.examples.length < 8 && out.code !== 0 && !hung) {
        figures.examples.push(`${shown} → ${out.code}: ${stderr.split("\n")[0].slice(0, 100)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  // Nothing outside the stores: /tmp has no new entries, the fuzz root only the workers'. The
  // entries of this project's own tests, scripts and tools (named "csc-...") are not counted:
  // other test runs on the same machine make them meanwhile, and neither the program nor a fuzz
  // case ever names such a path.
  const tmpAfter = names("/tmp").filter((n) => !tmpBefore.includes(n) && !n.startsWith("csc-"));
  const strays = tmpAfter.filter((n) => !options.root.startsWith(`/tmp/${n}`));
  const rootStrays = names(options.root).filter((n) => !/^w\d+$/.test(n));
  figures.outside = strays.length + rootStrays.length;
  if (figures.outside > 0) {
    options.fail(`fuzz: created outside the temp stores: ${[...strays, ...rootStrays].join(", ")}`);
  }
  return figures;
}
