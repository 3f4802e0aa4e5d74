// The client's knobs and bounds, each with its reason. Commands override the user-facing ones
// (linger, batch size, acks); the rest are fixed.

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
