// Retries said on stderr as they happen (issue #22: a broker killed mid-produce was retried in
// silence for 304 s). Writers (produce, replay --to-topic, copy) hear of each batch the producer
// sends again; readers (consume, tail, replay, copy) of each time the client goes back to a broker
// that failed it. At most one line per RETRY_REPORT_INTERVAL_MS: the lines in between are counted
// in the next one.
import { Option } from "commander";
import type { ClientRetry } from "../net/client/client.ts";
import type { ProduceRetry } from "../net/client/producer.ts";
import { plural } from "./data-common.ts";
import type { Io } from "./io.ts";

/** `--delivery-timeout` default: Kafka's delivery.timeout.ms is 120 s; a CLI user wants to know sooner. */
export const DELIVERY_TIMEOUT_MS_CLI = 30_000;
const RETRY_REPORT_INTERVAL_MS = 1_000;

export function deliveryTimeoutOption(): Option {
  return new Option("--delivery-timeout <ms>", `how long a record may wait for its acknowledgement, retries included, before it counts as failed (default ${DELIVERY_TIMEOUT_MS_CLI})`);
}

/** One line per interval at most; `line` builds it, told how many were held back since the last. */
function throttled<T>(io: Io, line: (event: T, heldBack: number) => string, before?: () => void): (event: T) => void {
  let last = -Infinity;
  let held = 0;
  return (event) => {
    const now = performance.now();
    if (now - last < RETRY_REPORT_INTERVAL_MS) {
      held++;
      return;
    }
    last = now;
    const text = line(event, held);
    held = 0;
    before?.();
    io.stderr.write(`streamctl: ${text}\n`);
  };
}

const more = (held: number) => (held > 0 ? ` (and ${plural(held, "other retry", "other retries")} since the last line)` : "");

/** The producer's onRetry for the CLI. */
export function produceRetryReporter(io: Io, before?: () => void): (r: ProduceRetry) => void {
  return throttled<ProduceRetry>(
    io,
    (r, held) =>
      `produce to ${r.topic}/${r.partition}: ${r.error}; retrying ${plural(r.records, "record")} (attempt ${r.attempt + 1}, ${(r.msLeft / 1000).toFixed(0)} s left of --delivery-timeout)${more(held)}`,
    before,
  );
}

/** The client's onRetry for the CLI (what a reader goes back for after a connection failed). */
export function clientRetryReporter(io: Io, before?: () => void): (r: ClientRetry) => void {
  return throttled<ClientRetry>(io, (r, held) => `${r.what}: ${r.error.message}; retrying (attempt ${r.attempt + 1})${more(held)}`, before);
}
