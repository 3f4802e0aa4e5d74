// The client's knobs and bounds, each with its reason. Commands override the user-facing ones
// (linger, batch size, acks); the rest are fixed. The relations between them (and the broker's
// defaults they must fit) are asserted when a client is made (checkClientLimits).
import { BATCH_HEADER_BYTES } from "../../core/batch/header.ts";
import { checkLimits, type LimitRelation, MESSAGE_BYTES_MAX_DEFAULT, REQUEST_BYTES_MAX } from "../../core/limits.ts";

/** How long a connect may take, and how long a request may go unanswered beyond the wait it asks
 * the broker for (a fetch's long-poll, a produce's ack timeout). Kafka's request.timeout.ms is 30 s;
 * a CLI user waiting on a broker that does not answer wants to hear in seconds (issue #22), and a
 * healthy broker answers anything else in milliseconds. The CLI's `--timeout` sets both. */
export const CONNECT_TIMEOUT_MS_DEFAULT = 10_000;
export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;

/** First retry backoff; doubles per attempt up to RETRY_BACKOFF_MAX_MS (librdkafka: 100 ms → 1 s). */
export const RETRY_BACKOFF_MS = 100;
export const RETRY_BACKOFF_MAX_MS = 1000;
/** Attempts per batch or request before a retriable error becomes a failure. With the backoff above
 * that is roughly 20 s of a leader being away, longer than a Kafka leader election takes. */
export const RETRIES_MAX = 25;

/** Default linger: how long a partly filled batch waits for more records. librdkafka uses 5 ms;
 * a CLI reading a pipe gets whole chunks at once, so the linger mostly matters for slow writers. */
export const LINGER_MS_DEFAULT = 5;
/** Default batch size in uncompressed record bytes. Kafka's max.message.bytes (1 MiB + 12) bounds the
 * compressed batch; uncompressed ("none") batches must fit it too, so stay below 1 MiB with room for
 * the 61-byte header. librdkafka's batch.size default is 1,000,000 as well. */
export const BATCH_BYTES_DEFAULT = 1_000_000;
/** Bytes of records accepted but not yet acknowledged before `send` makes the caller wait: bounds
 * memory when the broker is slower than the input. */
export const BUFFER_BYTES_MAX = 64 * 1024 * 1024;
/** Batches of one partition in flight at once (Kafka's idempotent producer allows 5 too). The
 * ordering rule that makes more than one safe without idempotence is in producer.ts. */
export const MAX_IN_FLIGHT_PER_PARTITION = 5;
/** How long a record may wait for its acknowledgement, retries included (Kafka's delivery.timeout.ms
 * is 120 s; `streamctl produce --delivery-timeout` defaults to 30 s). */
export const DELIVERY_TIMEOUT_MS_DEFAULT = 120_000;
/** A transactional producer's transaction.timeout.ms (Kafka's default, 60 s): a transaction open
 * longer is aborted by its coordinator. */
export const TRANSACTION_TIMEOUT_MS_DEFAULT = 60_000;
/** How long the broker may wait for acks=all before answering (Kafka's request.timeout.ms is 30 s). */
export const PRODUCE_TIMEOUT_MS = 30_000;

/** Fetch long-poll: how long the broker may hold a fetch with no data, and the minimum it waits for. */
export const FETCH_MAX_WAIT_MS = 500;
export const FETCH_MIN_BYTES = 1;
/** Bytes per fetch response and per partition in it (Kafka defaults: 50 MiB and 1 MiB; more per
 * partition means fewer round trips for one busy partition, the CLI's common case). */
export const FETCH_MAX_BYTES = 52_428_800;
export const FETCH_PARTITION_MAX_BYTES = 8 * 1024 * 1024;

/** Group membership (Kafka consumer defaults: session 45 s, heartbeat 3 s, rebalance 5 min). A CLI
 * consumer leaves explicitly on exit, so a shorter session only matters after a crash. */
export const SESSION_TIMEOUT_MS = 30_000;
export const REBALANCE_TIMEOUT_MS = 60_000;
export const HEARTBEAT_INTERVAL_MS = 3_000;
export const AUTO_COMMIT_INTERVAL_MS = 5_000;

/** Metadata for a topic that was just auto-created may say LEADER_NOT_AVAILABLE for a moment. */
export const METADATA_RETRIES_MAX = 20;
/** Retries of a Metadata that asked to create a topic and heard UNKNOWN_TOPIC_OR_PARTITION (about
 * 2.5 s with the backoff above): a Kafka broker that creates topics says LEADER_NOT_AVAILABLE
 * meanwhile, so this is for brokers whose creation shows a little late, not for those that will never
 * create it (those took METADATA_RETRIES_MAX, 17.6 s, to be believed; the CLI asks the broker's
 * auto.create.topics.enable first and does not wait at all). */
export const UNKNOWN_TOPIC_RETRIES_MAX = 5;
/** Attempts to reach the bootstrap brokers before the first connection ever succeeded: a wrong
 * --broker should fail in about a second, not after a leader-election's worth of retries. */
export const BOOTSTRAP_RETRIES_MAX = 3;

/** Kafka's group.min.session.timeout.ms default: a session below it is refused by every broker. */
const BROKER_SESSION_TIMEOUT_MIN_MS = 6_000;

export const CLIENT_LIMITS = {
  CONNECT_TIMEOUT_MS_DEFAULT,
  REQUEST_TIMEOUT_MS_DEFAULT,
  RETRY_BACKOFF_MS,
  RETRY_BACKOFF_MAX_MS,
  BATCH_BYTES_DEFAULT,
  BUFFER_BYTES_MAX,
  MAX_IN_FLIGHT_PER_PARTITION,
  DELIVERY_TIMEOUT_MS_DEFAULT,
  PRODUCE_TIMEOUT_MS,
  TRANSACTION_TIMEOUT_MS_DEFAULT,
  FETCH_MAX_WAIT_MS,
  FETCH_MAX_BYTES,
  FETCH_PARTITION_MAX_BYTES,
  SESSION_TIMEOUT_MS,
  REBALANCE_TIMEOUT_MS,
  HEARTBEAT_INTERVAL_MS,
  AUTO_COMMIT_INTERVAL_MS,
  MESSAGE_BYTES_MAX_DEFAULT,
  REQUEST_BYTES_MAX,
};

export const CLIENT_LIMIT_RELATIONS: readonly LimitRelation<typeof CLIENT_LIMITS>[] = [
  ["a default batch with its header fits a default topic's max.message.bytes, which fits a request", (l) => l.BATCH_BYTES_DEFAULT + BATCH_HEADER_BYTES <= l.MESSAGE_BYTES_MAX_DEFAULT && l.MESSAGE_BYTES_MAX_DEFAULT <= l.REQUEST_BYTES_MAX],
  ["the producer's buffer holds every batch in flight for a partition", (l) => l.BUFFER_BYTES_MAX >= l.BATCH_BYTES_DEFAULT * l.MAX_IN_FLIGHT_PER_PARTITION],
  ["idempotence keeps at most five batches in flight per partition (the broker keeps five)", (l) => l.MAX_IN_FLIGHT_PER_PARTITION >= 1 && l.MAX_IN_FLIGHT_PER_PARTITION <= 5],
  ["retries back off from the first step up to the cap", (l) => 0 < l.RETRY_BACKOFF_MS && l.RETRY_BACKOFF_MS <= l.RETRY_BACKOFF_MAX_MS],
  ["a produce's ack wait ends before the record's delivery timeout", (l) => l.PRODUCE_TIMEOUT_MS <= l.DELIVERY_TIMEOUT_MS_DEFAULT],
  ["a transaction outlives a produce's ack wait (its commit comes after every ack)", (l) => l.TRANSACTION_TIMEOUT_MS_DEFAULT > l.PRODUCE_TIMEOUT_MS],
  ["a fetch's long poll is answered well inside the request timeout", (l) => l.FETCH_MAX_WAIT_MS * 2 <= l.REQUEST_TIMEOUT_MS_DEFAULT],
  ["one partition's fetch fits in the fetch's bytes", (l) => l.FETCH_PARTITION_MAX_BYTES <= l.FETCH_MAX_BYTES],
  ["three heartbeats fit in a session, which brokers accept", (l) => l.HEARTBEAT_INTERVAL_MS * 3 <= l.SESSION_TIMEOUT_MS && l.SESSION_TIMEOUT_MS >= BROKER_SESSION_TIMEOUT_MIN_MS],
  ["a rebalance may take at least a session", (l) => l.REBALANCE_TIMEOUT_MS >= l.SESSION_TIMEOUT_MS],
  ["offsets are committed more often than a session expires", (l) => l.AUTO_COMMIT_INTERVAL_MS < l.SESSION_TIMEOUT_MS],
];

let checked = false;

/** Asserts the relations once per process (a programmer error if one is broken). */
export function checkClientLimits(): void {
  if (checked) return;
  checkLimits("client", CLIENT_LIMIT_RELATIONS, CLIENT_LIMITS);
  checked = true;
}
