// Bounds the control plane keeps, each with its reason (the broker-wide ones are core/limits.ts).
// The relations between them and core's are asserted when the door starts (checkHttpLimits).
import { checkLimits, type LimitRelation, MESSAGE_BYTES_MAX_DEFAULT } from "../../core/limits.ts";

/** Admin bodies (create a topic, alter configs, reset offsets) are a few hundred bytes; 64 KiB
 * leaves room for long config lists and refuses anything that is plainly not a request. */
export const JSON_BODY_BYTES_MAX = 64 * 1024;
/** A records POST: many batches of up to max.message.bytes each. 32 MiB keeps one request's
 * buffer bounded while letting a script send a large file in a few calls. */
export const RECORDS_BODY_BYTES_MAX = 32 * 1024 * 1024;
/** Bun's own cap on request bodies, far above ours: Bun answers a body over its cap without JSON,
 * so ours (checked on Content-Length, then while reading) must always be the one that trips. */
export const SERVER_BODY_BYTES_MAX = 1024 * 1024 * 1024;
/** GET records: default and largest `limit`, so that one answer stays a bounded NDJSON page. */
export const RECORDS_LIMIT_DEFAULT = 100;
export const RECORDS_LIMIT_MAX = 10_000;
/** Bytes read from a log per step when serving records or a stream. */
export const READ_BYTES_STEP = 1024 * 1024;
/** SSE comment line this often, so proxies and idle timers see a live connection. */
export const SSE_HEARTBEAT_MS = 15_000;
/** Records per HTTP-built batch; the batch is also cut below the topic's max.message.bytes. */
export const RECORDS_PER_BATCH_MAX = 10_000;
/** How often /v1/stats samples counters, and how many samples (seconds) rates are taken over. */
export const STATS_SAMPLE_MS = 1000;
export const STATS_WINDOW_SAMPLES = 3;

export const HTTP_LIMITS = {
  MESSAGE_BYTES_MAX_DEFAULT,
  JSON_BODY_BYTES_MAX,
  RECORDS_BODY_BYTES_MAX,
  SERVER_BODY_BYTES_MAX,
  RECORDS_LIMIT_DEFAULT,
  RECORDS_LIMIT_MAX,
  READ_BYTES_STEP,
  SSE_HEARTBEAT_MS,
  RECORDS_PER_BATCH_MAX,
  STATS_SAMPLE_MS,
  STATS_WINDOW_SAMPLES,
};

export const HTTP_LIMIT_RELATIONS: readonly LimitRelation<typeof HTTP_LIMITS>[] = [
  ["our body caps trip before Bun's own (which answers without JSON)", (l) => l.JSON_BODY_BYTES_MAX < l.SERVER_BODY_BYTES_MAX && l.RECORDS_BODY_BYTES_MAX < l.SERVER_BODY_BYTES_MAX],
  ["a records POST can carry at least one batch of the default max.message.bytes", (l) => l.RECORDS_BODY_BYTES_MAX >= l.MESSAGE_BYTES_MAX_DEFAULT],
  ["the default page is a page, not more than the largest", (l) => 1 <= l.RECORDS_LIMIT_DEFAULT && l.RECORDS_LIMIT_DEFAULT <= l.RECORDS_LIMIT_MAX],
  ["one read step holds a whole batch of the default max.message.bytes", (l) => l.READ_BYTES_STEP >= l.MESSAGE_BYTES_MAX_DEFAULT - 12],
  ["an SSE heartbeat comes well inside common proxy idle timeouts (60 s)", (l) => l.SSE_HEARTBEAT_MS > 0 && l.SSE_HEARTBEAT_MS <= 30_000],
  ["rates are taken over at least one full sample", (l) => l.STATS_WINDOW_SAMPLES >= 1 && l.STATS_SAMPLE_MS >= 100],
  ["an HTTP-built batch of minimal records fits max.message.bytes", (l) => l.RECORDS_PER_BATCH_MAX * 7 + 61 <= l.MESSAGE_BYTES_MAX_DEFAULT],
];

export function checkHttpLimits(): void {
  checkLimits("http door", HTTP_LIMIT_RELATIONS, HTTP_LIMITS);
}
