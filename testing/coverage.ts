/**
 * Coverage of the programs a test runs, test by test, for the generated mutation run
 * (scripts/mutation/, TESTING.md): when `CSC_COVERAGE_DIR` is set, every program the harness
 * starts during a test writes its V8 coverage to `<CSC_COVERAGE_DIR>/<n>/`, where `<n>` counts the
 * tests of the file in the order they run and `<n>/name` holds the test's name. The mutation run
 * then runs, for a mutant, only the tests whose programs executed the mutated line.
 *
 * Unset (every ordinary run), this module does nothing.
 */

/** The directory of this run's per-test coverage, or null when coverage is not collected. */
const ROOT = Deno.env.get("CSC_COVERAGE_DIR") || null;

/** The directory of the test running now (null outside any test, or when not collecting). */
let current: string | null = null;
let count = 0;

/** Writes `dir/name` and makes `dir` writable by the non-root users the tests run as. */
function prepare(dir: string, name: string): void {
  Deno.mkdirSync(dir, { recursive: true });
  Deno.chmodSync(dir, 0o777);
  Deno.writeTextFileSync(`${dir}/name`, name);
}

if (ROOT !== null) {
  type TestFn = (t: Deno.TestContext) => void | Promise<void>;
  const original = Deno.test;
  const wrap = (name: string, fn: TestFn): TestFn => {
    const dir = `${ROOT}/${++count}`;
    return async (t) => {
      prepare(dir, name);
      current = dir;
      try {
        await fn(t);
      } finally {
        current = null;
      }
    };
  };
  // Every form of Deno.test: (definition), (name, fn), (name, options, fn), (fn), (options, fn).
  const wrapped = (...args: unknown[]) => {
    const last = args.at(-1);
    if (typeof last === "function") {
      const first = args[0];
      const name = typeof first === "string"
        ? first
        : typeof first === "object" && first !== null && "name" in first
        ? String(first.name)
        : last.name;
      args[args.length - 1] = wrap(name, last as TestFn);
    } else if (typeof last === "object" && last !== null && "fn" in last) {
      const definition = last as Deno.TestDefinition;
      args[args.length - 1] = { ...definition, fn: wrap(definition.name, definition.fn) };
    }
    return (original as (...a: unknown[]) => void)(...args);
  };
  Object.assign(wrapped, { ignore: original.ignore, only: original.only });
  (Deno as { test: unknown }).test = wrapped;
}

/**
 * The `deno run` flags of the program, `flags`, as a coverage run needs them: with
 * `--no-code-cache` (V8 gives no block coverage of functions it loads from Deno's code cache) and
 * without V8 flags (`--no-lazy` would compile every function of every module, in every run, now
 * that no cache keeps them). Outside a coverage run, `flags` unchanged.
 */
export function programFlags(flags: readonly string[]): string[] {
  if (ROOT === null) return [...flags];
  return [...flags.filter((f) => !f.startsWith("--v8-flags=")), "--no-code-cache"];
}

/**
 * The environment that makes a program started now write its coverage where the mutation run
 * reads it: `{ DENO_COVERAGE_DIR }` during a test of a coverage run, else nothing.
 */
export function coverageEnv(): Record<string, string> {
  if (ROOT === null) return {};
  const dir = current ?? `${ROOT}/outside`;
  if (current === null) prepare(dir, "");
  return { DENO_COVERAGE_DIR: dir };
}
