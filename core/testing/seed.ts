// Seeds for randomised tests: one seed per test run, from SEED when set (to
// replay a failure), else random; every failure message carries it. Also a small deterministic
// PRNG for tests that draw their own positions (bit flips), so they replay from the same seed.
// A test double, not a test: imported by tests only (core/testing/, never by production code).

export const SEED: number = process.env.SEED !== undefined ? Number(process.env.SEED) : (Math.random() * 2 ** 31) | 0;

/** Runs `fn` and, if it throws, rethrows with the seed in front so the run can be replayed. */
export function withSeed<T>(label: string, fn: (seed: number) => T): T {
  try {
    return fn(SEED);
  } catch (e) {
    const message = `${label} failed; replay with SEED=${SEED}\n${(e as Error)?.message ?? String(e)}`;
    const wrapped = new Error(message, { cause: e });
    throw wrapped;
  }
}

/** Async version of withSeed. */
export async function withSeedAsync<T>(label: string, fn: (seed: number) => Promise<T>): Promise<T> {
  try {
    return await fn(SEED);
  } catch (e) {
    throw new Error(`${label} failed; replay with SEED=${SEED}\n${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/** mulberry32: a tiny deterministic PRNG; returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The prng stream as integers in [0, n): crash decisions, damage positions. */
export function seededRandom(seed: number): (n: number) => number {
  const next = prng(seed);
  return (n: number) => Math.floor(next() * n);
}
