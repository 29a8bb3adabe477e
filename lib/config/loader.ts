/**
 * Loading HTCondor configuration: locating the root file, the processing order, environment
 * overrides and the embedded default (docs/upstream.md "Configuration"; README "Configuration").
 */

import { LoadBudget } from "./budget.ts";
import { EMBEDDED_ROOT_DEFAULTS, EMBEDDED_USER_DEFAULTS, PERSONAL_SPOOL_NAME } from "./defaults.ts";
import { ConfigError } from "./errors.ts";
import { errorAt, Expander } from "./expand.ts";
import { isDigits, trimSpace, trimStartSpace } from "./lines.ts";
import { type BooleanKnob, type IntegerKnob, knob } from "./knobs.ts";
import { isValidName } from "./macros.ts";
import { fileErrorReason, type ParseContext, parseSource, readConfigFile } from "./parser.ts";
import { type Definition, describeOrigin, KnobTable } from "./table.ts";

/** A loaded configuration. Knob names are case-insensitive. */
export interface Config {
  /**
   * Fully expanded value of knob NAME, looked up as `SUBSYS.NAME`, then `NAME`, then the
   * built-in default. Undefined when the knob is undefined or expands to "" (HTCondor's
   * `param()`). Expansion is lazy and memoized.
   *
   * @throws {ConfigError} on a recursive macro, naming the knobs and where the first is defined;
   * or when this load's expansion budget (`MAX_EXPANSION_STEPS`) runs out, naming the knob
   * being expanded and where it is defined.
   */
  get(name: string): string | undefined;
  /**
   * Integer knob: undefined gives `fallback`.
   *
   * @throws {ConfigError} when the value is not an integer, naming knob, value and origin.
   */
  getInt(name: string, fallback: number): number;
  /**
   * Boolean knob (true/false/yes/no/t/f/1/0, case-insensitive): undefined gives `fallback`.
   *
   * @throws {ConfigError} when the value is not a boolean, naming knob, value and origin.
   */
  getBool(name: string, fallback: boolean): boolean;
  /**
   * A whole-number knob of the table (knobs.ts), its default when unset.
   *
   * @throws {ConfigError} when the value is not an integer, naming knob, value and origin.
   */
  integer(name: IntegerKnob): number;
  /**
   * A boolean knob of the table (knobs.ts), its default when unset.
   *
   * @throws {ConfigError} when the value is not a boolean, naming knob, value and origin.
   */
  flag(name: BooleanKnob): boolean;
  /**
   * Where a knob's effective value comes from: `"/etc/condor/condor_config", line 12`,
   * `environment _CONDOR_X`, `built-in default`, `embedded default` or `detected`; undefined
   * when the knob is not defined at all.
   */
  origin(name: string): string | undefined;
  /** The root config file read, or null (ONLY_ENV, /dev/null, or the embedded default). */
  readonly rootFile: string | null;
  /** True when no configuration file was read and the embedded default applies. */
  readonly embedded: boolean;
  /**
   * For the embedded default of a non-root user: the personal spool root; else null (also when
   * no home directory is known: the knobs that still have the personal spool's embedded value
   * then fail with a ConfigError saying so when they are read). The personal spool fills only the
   * knobs that no `_CONDOR_` variable sets (SPEC §4).
   */
  readonly personalSpool: string | null;
  /** Non-fatal problems (unsupported constructs), each naming file and line. */
  readonly warnings: readonly string[];
}

/** What {@link loadConfig} needs from the process. */
export interface LoadConfigOptions {
  /** The process environment (CONDOR_CONFIG, `_CONDOR_*`, `$ENV()`, HOME, XDG_DATA_HOME). */
  env: Record<string, string>;
  /** The effective uid (0 = root). */
  uid: number;
  /** The host name, as `Deno.hostname()` returns it. */
  hostname: string;
  /** The subsystem whose `SUBSYS.NAME` knobs win; default `TOOL` (the daemon uses `CREDD`). */
  subsystem?: string;
  /** The caller's home directory from the passwd database, used when env HOME is unset. */
  home?: string;
  /** For tests: the root file used when CONDOR_CONFIG is unset (default
   * `/etc/condor/condor_config`). */
  systemConfigFile?: string;
  /** For tests: the passwd file searched for user `condor` (default `/etc/passwd`). */
  passwdFile?: string;
}

const SYSTEM_CONFIG_FILE = "/etc/condor/condor_config";
const PASSWD_FILE = "/etc/passwd";

/** errno values for the `Cannot stat` message (Linux numbering). */
const ERRNO: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EACCES: 13,
  ENOTDIR: 20,
  ENAMETOOLONG: 36,
  ELOOP: 40,
};

function detected(name: string, raw: string, compute?: () => string): Definition {
  return compute === undefined
    ? { name, raw, origin: { kind: "detected" } }
    : { name, raw, origin: { kind: "detected" }, compute };
}

/** Splits a LOCAL_CONFIG_* list at commas and whitespace. */
function splitList(value: string): string[] {
  return value.split(/[\s,]+/).filter((item) => item !== "");
}

const ENCODER = new TextEncoder();

/** Compares two paths by their UTF-8 bytes, like C's strcmp. */
function compareBytes(a: string, b: string): number {
  const x = ENCODER.encode(a);
  const y = ENCODER.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** True for `[+-]?[0-9]+`. */
function isInteger(text: string): boolean {
  return isDigits(text[0] === "+" || text[0] === "-" ? text.slice(1) : text);
}

function parseBool(value: string): boolean | undefined {
  const v = trimSpace(value).toLowerCase();
  if (v === "true" || v === "yes" || v === "t" || v === "1") return true;
  if (v === "false" || v === "no" || v === "f" || v === "0") return false;
  return undefined;
}

/** The home directory of user `condor` in the passwd file, or undefined. */
function condorHome(passwdFile: string): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(passwdFile);
  } catch (e) {
    if (fileErrorReason(e) === null) throw e;
    return undefined;
  }
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[0] === "condor" && fields.length >= 6 && fields[5] !== "") return fields[5];
  }
  return undefined;
}

/**
 * The root file to read (docs/upstream.md "Configuration"), or null for none. CONDOR_CONFIG wins;
 * without it, the system file if it exists.
 */
function locateRoot(env: Record<string, string>, systemFile: string): string | null {
  if (Object.hasOwn(env, "CONDOR_CONFIG")) {
    const path = env.CONDOR_CONFIG;
    const intro = "File specified in CONDOR_CONFIG environment variable:\n";
    if (path.toUpperCase() === "ONLY_ENV" || path === "/dev/null") return null;
    if (trimSpace(path).endsWith("|")) {
      throw new ConfigError(
        `${intro}"${path}" is a command; piped configuration commands are not supported.`,
      );
    }
    if (path === "") throw new ConfigError(`${intro}"" does not exist.`, { file: path });
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new ConfigError(`${intro}"${path}" does not exist.`, { file: path });
      }
      if (fileErrorReason(e) === null) throw e;
      const code = (e as { code?: unknown }).code;
      const errno = typeof code === "string" ? ERRNO[code] ?? code : "unknown";
      throw new ConfigError(
        `Cannot stat file specified in CONDOR_CONFIG environment variable:\n"${path}", errno: ${errno}`,
        { file: path },
      );
    }
    if (info.isDirectory) {
      throw new ConfigError(`${intro}"${path}" is a directory.  Please specify a file.`, {
        file: path,
      });
    }
    return path;
  }
  try {
    if (Deno.statSync(systemFile).isFile) return systemFile;
  } catch (e) {
    if (fileErrorReason(e) === null) throw e;
  }
  return null;
}

/** The personal spool root of a non-root user: `${XDG_DATA_HOME:-$HOME/.local/share}/…`. */
function personalSpoolRoot(env: Record<string, string>, home: string | undefined): string {
  const join = (base: string, rest: string) => `${base.replace(/\/+$/, "")}/${rest}`;
  const xdg = env.XDG_DATA_HOME;
  if (xdg !== undefined && xdg.startsWith("/")) return join(xdg, PERSONAL_SPOOL_NAME);
  const candidates = [env.HOME, home];
  const dir = candidates.find((h) => h !== undefined && h.startsWith("/"));
  if (dir === undefined) {
    throw new ConfigError(
      "Cannot find a home directory for the personal credential spool: set HOME to your home " +
        "directory, or set CONDOR_CONFIG to an HTCondor configuration file.",
    );
  }
  return join(join(dir, ".local/share"), PERSONAL_SPOOL_NAME);
}

class Loader {
  readonly #options: LoadConfigOptions;
  readonly #table: KnobTable;
  readonly #expander: Expander;
  readonly #warnings: string[] = [];
  readonly #ctx: ParseContext;
  readonly #budget = new LoadBudget();

  constructor(options: LoadConfigOptions) {
    this.#options = options;
    let expander: Expander | undefined = undefined;
    this.#table = new KnobTable(options.subsystem ?? "TOOL", () => expander?.invalidate());
    expander = new Expander(this.#table, options.env, this.#budget);
    this.#expander = expander;
    this.#ctx = { table: this.#table, expander, warnings: this.#warnings, budget: this.#budget };
  }

  load(): Config {
    const options = this.#options;
    const table = this.#table;
    const subsystem = options.subsystem ?? "TOOL";
    const specials: Definition[] = [detected("SUBSYSTEM", subsystem)];
    // TILDE is read from the passwd file only if some knob actually expands it.
    specials.push(
      detected("TILDE", "", () => condorHome(options.passwdFile ?? PASSWD_FILE) ?? ""),
    );
    for (const special of specials) table.set(special);

    const rootFile = locateRoot(options.env, options.systemConfigFile ?? SYSTEM_CONFIG_FILE);
    let personalSpool: string | null = null;
    if (rootFile !== null) {
      const slash = rootFile.lastIndexOf("/");
      const dir = slash < 0 ? "." : slash === 0 ? "/" : rootFile.slice(0, slash);
      table.set(detected("CONFIG_ROOT", dir));
      this.#budget.countFile(); // the first file: always within the budget
      this.#parseFile(rootFile, 0, "global config source", true);
    } else if (options.uid === 0) {
      for (const [name, raw] of EMBEDDED_ROOT_DEFAULTS) {
        table.set({ name, raw, origin: { kind: "embedded" } });
      }
    } else {
      // The personal spool fills only the knobs no file and no _CONDOR_ variable sets (SPEC §4),
      // so a caller without a home directory fails only when a request actually uses one of them.
      let missing: ConfigError | null = null;
      try {
        personalSpool = personalSpoolRoot(options.env, options.home);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        missing = error;
      }
      for (const [name, suffix] of EMBEDDED_USER_DEFAULTS) {
        const origin = { kind: "embedded" } as const;
        table.set(
          missing === null ? { name, raw: personalSpool + suffix, origin } : {
            name,
            raw: "",
            origin,
            compute: () => {
              throw missing;
            },
          },
        );
      }
    }

    const fullHostname = detected("FULL_HOSTNAME", "", () => this.#fullHostname());
    const hostname = detected("HOSTNAME", "", () => {
      const full = this.#expander.param("FULL_HOSTNAME");
      return full.split(".")[0];
    });
    specials.push(fullHostname, hostname);
    table.set(hostname);
    table.set(fullHostname);

    const dirList = this.#param("LOCAL_CONFIG_DIR");
    if (dirList !== undefined) this.#processDirectories(dirList);
    this.#processLocalFiles();
    const newDirList = this.#param("LOCAL_CONFIG_DIR");
    if (newDirList !== undefined && newDirList !== dirList) this.#processDirectories(newDirList);

    this.#applyEnvironment();
    // Detected values cannot be overridden (docs/upstream.md "Configuration").
    for (const special of specials) table.set(special);

    return new LoadedConfig(this.#table, this.#expander, {
      rootFile,
      embedded: rootFile === null,
      personalSpool,
      warnings: Object.freeze([...this.#warnings]),
    });
  }

  #param(name: string): string | undefined {
    const value = this.#expander.param(name);
    return value === "" ? undefined : value;
  }

  #fullHostname(): string {
    let host = trimSpace(this.#expander.param("NETWORK_HOSTNAME"));
    if (host === "") host = this.#options.hostname;
    if (!host.includes(".")) {
      const domain = trimSpace(this.#expander.param("DEFAULT_DOMAIN_NAME")).replace(/^\.+/, "");
      if (domain !== "") host = `${host}.${domain}`;
    }
    return host;
  }

  #requireLocal(): boolean {
    const value = this.#param("REQUIRE_LOCAL_CONFIG_FILE");
    if (value === undefined) return true;
    const parsed = parseBool(value);
    if (parsed === undefined) {
      throw badValue(this.#table, "REQUIRE_LOCAL_CONFIG_FILE", value, "a boolean (true or false)");
    }
    return parsed;
  }

  #parseFile(path: string, depth: number, kind: string, required: boolean): void {
    let content: string;
    try {
      content = readConfigFile(path, this.#budget);
    } catch (e) {
      if (fileErrorReason(e) === null) throw e;
      if (!required) return;
      throw new ConfigError(`ERROR: Can't read ${kind} ${path}`, { file: path, cause: e });
    }
    parseSource(this.#ctx, path, content, depth);
  }

  #excludeRegExp(): RegExp | undefined {
    const value = this.#param("LOCAL_CONFIG_DIR_EXCLUDE_REGEXP");
    if (value === undefined) return undefined;
    try {
      return new RegExp(value);
    } catch (e) {
      const definition = this.#table.lookup("LOCAL_CONFIG_DIR_EXCLUDE_REGEXP");
      throw errorAt(
        definition?.origin ?? { kind: "default" },
        `LOCAL_CONFIG_DIR_EXCLUDE_REGEXP is not a valid regular expression: ${
          (e as Error).message
        }`,
      );
    }
  }

  #processDirectories(list: string): void {
    const required = this.#requireLocal();
    const exclude = this.#excludeRegExp();
    for (const dir of splitList(list)) {
      this.#countFile("LOCAL_CONFIG_DIR");
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dir)];
      } catch (e) {
        if (fileErrorReason(e) === null) throw e;
        continue; // a missing or unreadable directory is skipped
      }
      const files: string[] = [];
      for (const entry of entries) {
        const path = dir.endsWith("/") ? dir + entry.name : `${dir}/${entry.name}`;
        if (entry.isDirectory || (entry.isSymlink && isDirectory(path))) continue;
        if (exclude !== undefined && exclude.test(entry.name)) continue;
        files.push(path);
      }
      files.sort(compareBytes);
      for (const file of files) {
        this.#countFile("LOCAL_CONFIG_DIR");
        this.#parseFile(file, 1, "config source", required);
      }
    }
  }

  #processLocalFiles(): void {
    let value = this.#param("LOCAL_CONFIG_FILE");
    if (value === undefined) return;
    const required = this.#requireLocal();
    this.#refusePipe(value);
    let todo = splitList(value);
    const done: string[] = [];
    while (todo.length > 0) {
      const source = todo.shift()!;
      this.#countFile("LOCAL_CONFIG_FILE");
      this.#parseFile(source, 1, "config source", required);
      done.push(source);
      // A file that changes LOCAL_CONFIG_FILE changes the rest of the list (docs/upstream.md
      // "Configuration").
      const now = this.#param("LOCAL_CONFIG_FILE");
      if (now !== undefined && now !== value) {
        this.#refusePipe(now);
        todo = splitList(now).filter((s) => !done.includes(s));
        value = now;
      }
    }
  }

  /** Counts a directory or file that the list in knob `knob` names; the knob is blamed. */
  #countFile(knob: string): void {
    const problem = this.#budget.countFile();
    if (problem === null) return;
    throw errorAt(this.#table.lookup(knob)?.origin ?? { kind: "default" }, problem);
  }

  #refusePipe(value: string): void {
    if (!trimSpace(value).endsWith("|")) return;
    const definition = this.#table.lookup("LOCAL_CONFIG_FILE");
    throw errorAt(
      definition?.origin ?? { kind: "default" },
      "LOCAL_CONFIG_FILE: piped configuration commands are not supported",
    );
  }

  #applyEnvironment(): void {
    for (const [variable, value] of Object.entries(this.#options.env)) {
      if (variable.slice(0, 8).toLowerCase() !== "_condor_") continue;
      const name = trimSpace(variable.slice(8));
      if (name === "") continue;
      if (!isValidName(name)) {
        this.#warnings.push(
          `Ignoring environment variable ${variable}: "${name}" is not a valid knob name`,
        );
        continue;
      }
      const origin = { kind: "env", variable } as const;
      const raw = this.#expander.expandSelf(trimStartSpace(value), name, origin);
      this.#table.set({ name, raw, origin });
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (e) {
    if (fileErrorReason(e) === null) throw e;
    return false;
  }
}

function badValue(table: KnobTable, name: string, value: string, expected: string): ConfigError {
  const definition = table.lookup(name);
  const where = definition === undefined ? "" : ` (from ${describeOrigin(definition.origin)})`;
  return new ConfigError(
    `Configuration error: ${definition?.name ?? name} is set to "${value}", which is not ` +
      `${expected}${where}`,
  );
}

interface LoadedFacts {
  readonly rootFile: string | null;
  readonly embedded: boolean;
  readonly personalSpool: string | null;
  readonly warnings: readonly string[];
}

class LoadedConfig implements Config {
  readonly rootFile: string | null;
  readonly embedded: boolean;
  readonly personalSpool: string | null;
  readonly warnings: readonly string[];
  readonly #table: KnobTable;
  readonly #expander: Expander;
  readonly #values = new Map<string, string | undefined>();

  constructor(table: KnobTable, expander: Expander, facts: LoadedFacts) {
    this.#table = table;
    this.#expander = expander;
    this.rootFile = facts.rootFile;
    this.embedded = facts.embedded;
    this.personalSpool = facts.personalSpool;
    this.warnings = facts.warnings;
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    if (this.#values.has(key)) return this.#values.get(key);
    const value = this.#expander.param(name);
    const result = value === "" ? undefined : value;
    this.#values.set(key, result);
    return result;
  }

  getInt(name: string, fallback: number): number {
    const value = this.get(name);
    if (value === undefined) return fallback;
    const text = trimSpace(value);
    const n = Number(text);
    if (!isInteger(text) || !Number.isSafeInteger(n)) {
      throw badValue(this.#table, name, value, "an integer");
    }
    return n;
  }

  getBool(name: string, fallback: boolean): boolean {
    const value = this.get(name);
    if (value === undefined) return fallback;
    const parsed = parseBool(value);
    if (parsed === undefined) throw badValue(this.#table, name, value, "a boolean (true or false)");
    return parsed;
  }

  integer(name: IntegerKnob): number {
    return this.getInt(name, Number(knob(name).default));
  }

  flag(name: BooleanKnob): boolean {
    return this.getBool(name, parseBool(knob(name).default ?? "") ?? false);
  }

  origin(name: string): string | undefined {
    const definition = this.#table.lookup(name);
    if (name.toUpperCase() === "UID_DOMAIN") {
      let empty: boolean;
      try {
        empty = this.#expander.expandOwn(name) === "";
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        empty = false;
      }
      if (empty && this.get("FULL_HOSTNAME") !== undefined) return "detected";
    }
    return definition === undefined ? undefined : describeOrigin(definition.origin);
  }
}

/**
 * Reads HTCondor configuration: the root file (CONDOR_CONFIG, else /etc/condor/condor_config,
 * else the embedded default), LOCAL_CONFIG_DIR and LOCAL_CONFIG_FILE, then `_CONDOR_*`
 * environment overrides. Files are read synchronously; values are expanded when asked for.
 * Never prints, never exits. One load, its `Config.get` calls included, reads at most
 * `MAX_CONFIG_FILES` files and `MAX_CONFIG_BYTES` bytes and does at most
 * `MAX_EXPANSION_STEPS` expansion steps (lib/config/budget.ts).
 *
 * Needs `--allow-read`.
 *
 * @throws {ConfigError} for any fatal problem, a budget that ran out included; its message can
 * be printed as is.
 */
export function loadConfig(options: LoadConfigOptions): Config {
  return new Loader(options).load();
}
