/**
 * A deterministic pseudo-random generator (xorshift32) for the suite's generated cases
 * (scripts/fuzz.ts, scripts/forge.ts): the same seed gives the same cases on every machine.
 */

/** A generator seeded with `seed` (0 counts as 1). */
export function generator(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
  return {
    /** A number in [0, 1). */
    next,
    /** An integer in [0, n). */
    int: (n: number) => Math.floor(next() * n),
    /** An integer in [lo, hi]. */
    between: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    bytes: (n: number) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

/** What `generator` returns. */
export type Random = ReturnType<typeof generator>;
