// Main-thread time spent in this turn of the event loop by work that gives the loop back when it
// has had its share (issue #18, "fair under abuse"): decompression ahead of a Produce
// (core/batch/decompress-ahead.ts) and the start of a Produce's partitions
// (net/kafka/handlers/00-produce.ts), and the decoding of the request before them. Each charges
// what it spent; each asks how much of the turn is left before doing more, and otherwise goes on
// in a later turn. One clock for all of them, so that their shares add up instead of each taking a
// turn's worth: a Produce of 1,000 refused bombs once held the loop ~25 ms in one turn.
import { DECOMPRESS_TURN_MS } from "./limits.ts";

/** What sliced work may spend per turn, together. */
export const TURN_SHARE_MS = DECOMPRESS_TURN_MS;

let spentMs = 0;
let resetArmed = false;

function reset(): void {
  spentMs = 0;
  resetArmed = false;
}

/** Counts `ms` of main-thread time against this turn. */
export function chargeTurn(ms: number): void {
  spentMs += ms;
  if (!resetArmed) {
    resetArmed = true;
    setImmediate(reset); // the check phase: the next turn starts with a clean slate
  }
}

/** ms this turn has spent so far, plus `sinceMs` ago if given (work not charged yet). */
export function turnSpentMs(since?: number): number {
  return since === undefined ? spentMs : spentMs + (performance.now() - since);
}

/** Whether sliced work may do more in this turn (charged time under TURN_SHARE_MS). */
export function turnLeft(since?: number): boolean {
  return turnSpentMs(since) < TURN_SHARE_MS;
}

/** Resolves in a later turn of the event loop. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
