/**
 * The configuration error class and the upstream-style message formats (docs/upstream.md
 * §2.4, §2.9): `Config source Error "<file>", Line <n>: <problem>`.
 */

/** Where a configuration problem was found. */
export interface ConfigErrorOptions {
  /** The configuration file, as named by CONDOR_CONFIG, an include or a LOCAL_CONFIG_* list. */
  file?: string;
  /** The 1-based line in `file`. */
  line?: number;
  cause?: unknown;
}

/**
 * A fatal configuration problem. The message is complete and can be printed as is; `file` and
 * `line` say where the problem is, when it is in a file.
 */
export class ConfigError extends Error {
  /** The configuration file the problem is in, if any. */
  readonly file?: string;
  /** The 1-based line of `file` the problem is on, if known. */
  readonly line?: number;

  /** Creates a configuration error with a complete, printable message. */
  constructor(message: string, options: ConfigErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ConfigError";
    if (options.file !== undefined) this.file = options.file;
    if (options.line !== undefined) this.line = options.line;
  }
}

/** Formats upstream's error text for a problem on a line of a configuration file. */
export function sourceErrorMessage(file: string, line: number, problem: string): string {
  return `Config source Error "${file}", Line ${line}: ${problem}`;
}

/** Formats upstream's warning text for a problem on a line of a configuration file. */
export function sourceWarningMessage(file: string, line: number, problem: string): string {
  return `Config source Warning "${file}", Line ${line}: ${problem}`;
}

/** Returns a ConfigError for a problem on a line of a configuration file. */
export function sourceError(file: string, line: number, problem: string): ConfigError {
  return new ConfigError(sourceErrorMessage(file, line, problem), { file, line });
}
