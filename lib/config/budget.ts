/**
 * The work one configuration load may do. Include depth (20) and the per-value expansion limits
 * do not bound it: 20 files that each include the next twice make 2^21 reads, and many knobs
 * that each expand into a large value add up. A {@link LoadBudget} counts files, bytes and
 * expansion steps across the whole load, including expansions done later through `Config.get`.
 */

/** Files read in one load: the root file, LOCAL_CONFIG_DIR directories and files, includes. */
export const MAX_CONFIG_FILES = 1000;

/** Bytes of configuration read in one load, over all files (16 MiB). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/**
 * Macro expansion steps in one load, including later `Config.get` calls. A step is one
 * substitution (`$(DOLLAR)` included); a substitution that leaves a value of `n` characters
 * counts `1 + floor(n / 256)` steps, because expansion rescans and copies the whole value after
 * each substitution. So values shorter than 256 characters cost one step per substitution, and
 * the load cannot build more than about 256 Mi characters of expanded text.
 */
export const MAX_EXPANSION_STEPS = 1_000_000;

/** Characters of expanded text that cost one extra step (see {@link MAX_EXPANSION_STEPS}). */
const STEP_LENGTH = 256;

/**
 * Counts the work of one configuration load. Each method returns the problem text for a
 * `ConfigError` once its budget has run out (and on every later call), else null.
 */
export class LoadBudget {
  #files = 0;
  #bytes = 0;
  #steps = 0;

  /** Counts one file or directory about to be read (whether or not it exists). */
  countFile(): string | null {
    if (++this.#files <= MAX_CONFIG_FILES) return null;
    return `configuration too large: more than ${MAX_CONFIG_FILES} files read (includes fan ` +
      "out); check the include statements";
  }

  /** How many more bytes may be read. */
  get bytesLeft(): number {
    return Math.max(0, MAX_CONFIG_BYTES - this.#bytes);
  }

  /** Counts `n` bytes read. */
  countBytes(n: number): string | null {
    this.#bytes += n;
    if (this.#bytes <= MAX_CONFIG_BYTES) return null;
    return `configuration too large: more than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB read; ` +
      "check the include statements and the size of the files they name";
  }

  /** Counts one substitution in `what` (a knob name) that left a value of `length` characters. */
  countStep(length: number, what: string): string | null {
    this.#steps += 1 + Math.floor(length / STEP_LENGTH);
    if (this.#steps <= MAX_EXPANSION_STEPS) return null;
    return `configuration too large: more than ${MAX_EXPANSION_STEPS} macro expansion steps ` +
      `(long values count more) while expanding ${what}; check for macros that expand into ` +
      "many copies of others";
  }
}
