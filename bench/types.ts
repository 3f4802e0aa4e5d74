// A benchmark module exports `run(): Promise<BenchRow[]>`; bench/run.ts runs them all and writes
// BENCHMARKS.md. Benchmarks measure; they never assert (timed assertions belong nowhere).
export interface BenchRow {
  /** Which issue's table the row belongs to, e.g. "core", "broker", "cli". */
  section: string;
  /** What was measured, e.g. "CRC-32C, 64 MiB buffer". */
  name: string;
  /** The median when `runs` is given. */
  value: number;
  /** Every run's figure, when the module repeated the measurement; BENCHMARKS.md shows the range. */
  runs?: number[];
  unit: string;
  /** Command or setup that produced it, durability, and anything a reader needs to reproduce it. */
  note?: string;
}
