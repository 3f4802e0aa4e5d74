// Programmer-error checks for core invariants (offsets only rise, no index entry past its file).
// Client input is validated at the edge and never reaches these.
export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(`assertion failed: ${message}`);
}
