// The broker core's limits, each with its reason: one file so that a reviewer sees every bound
// core keeps (the doors and the client keep theirs in net/kafka/limits.ts, net/http/limits.ts and
// net/client/limits.ts). The relations between them are facts the code relies on; they are
// asserted when the broker opens (checkCoreLimits), so a change to one number that breaks
// another's reason fails at once instead of in production.
import { assert } from "./assert.ts";
import { BATCH_HEADER_BYTES } from "./batch/header.ts";

/** Largest request frame a client may send (Kafka's socket.request.max.bytes default). */
export const REQUEST_BYTES_MAX = 100 * 1024 * 1024;
/** Default max.message.bytes: the largest batch a topic accepts (Kafka's default, 1 MiB + 12). */
export const MESSAGE_BYTES_MAX_DEFAULT = 1048588;
/** A compressed batch may expand at most this much before we stop decompressing it: a zstd or
 * gzip bomb of a few KiB must not make the broker allocate gigabytes. */
export const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;
/** What all the batches of one Produce request may decompress to together (core/batch/
 * decompress-ahead.ts): 64 gzip bombs in one request once took the broker to 827 MiB. Clients send
 * requests of about 1 MB (librdkafka's message.max.bytes, Java's max.request.size), so even at 64:1
 * a real request stays far below; two batches at their cap reach it. */
export const REQUEST_DECOMPRESSED_BYTES_MAX = 128 * 1024 * 1024;
/** A batch is decompressed on the main thread only up to this (a batch of max.message.bytes of
 * records; ~1–4 ms here); a larger one goes off the main thread. */
export const DECOMPRESS_SYNC_BYTES = 1024 * 1024;
/** Main-thread decompression per turn of the event loop: once spent, the rest of the turn's batches
 * go off the thread, so no other client waits behind a request's inflating for longer than this
 * (1,000 zstd bombs once froze every client for 12.1 s). */
export const DECOMPRESS_TURN_MS = 4;
/** Our own codecs (snappy, lz4) are inflated on the main thread in steps of this much output (a
 * fraction of a ms each), a turn's DECOMPRESS_TURN_MS of steps at a time (core/batch/
 * decompress-ahead.ts): a 64 MiB snappy block no longer holds the thread for its whole inflating. */
export const DECOMPRESS_STEP_BYTES = 128 * 1024;
/** Decompressions running off the main thread at once, for the whole broker: each holds up to a
 * batch's cap of output (DECOMPRESSED_BYTES_MAX); the machine has a core or two to spare. */
export const DECOMPRESS_OFF_THREAD_MAX = 2;
/** A request whose bytes stop arriving (serve --request-body-timeout-ms): a Kafka frame begun (its
 * length read, its size counted against the request memory) with no byte of it for this long, or
 * an HTTP body not whole this long after its head, ends its connection and gives back what it held.
 * Without it a client that sends half of a 100 MiB frame and stops holds that memory until the
 * 10-minute idle timeout. 30 s is Kafka's request.timeout.ms default: a client has long given up
 * on a request by then. */
export const REQUEST_BODY_TIMEOUT_MS_DEFAULT = 30_000;
/** Sparse index interval: an .index/.timeindex entry per this many bytes appended (Kafka's index.interval.bytes). */
export const INDEX_INTERVAL_BYTES = 4096;
/** Topic names: Kafka's Topic.java limit. */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** Partitions per topic we accept on create: above this a typo, not a plan. */
export const PARTITIONS_PER_TOPIC_MAX = 10000;
/** Members (and MEMBER_ID_REQUIRED ids) per consumer group (Kafka's group.max.size, which is
 * unbounded by default): each member holds its protocol metadata in memory, so a bound keeps a
 * misbehaving client that joins in a loop from growing one group without end. */
export const GROUP_MEMBERS_MAX = 1000;
/** Committed-offset metadata string, in bytes (Kafka's offset.metadata.max.bytes). */
export const OFFSET_METADATA_BYTES_MAX = 4096;

/** The log's runway (fsync `always`, core/log/partition-log.ts): zeros written ahead of the
 * active segment's end, so an fdatasync overwrites allocated blocks instead of growing the file
 * (a journal commit: 5–15 ms instead of 0.3). RUNWAY_BYTES at a time, at most once per
 * RUNWAY_INTERVAL_MS: at most 5 MiB/s of extra writes. */
export const RUNWAY_BYTES = 1024 * 1024;
export const RUNWAY_INTERVAL_MS = 200;

/** Committed offsets (core/groups/offset-store.ts): compact no more often than every this many
 * records (a snapshot rewrites the whole table); small segments so compaction drops old ones
 * soon; replay reads this much at a time. */
export const OFFSETS_COMPACT_RECORDS_MIN = 20_000;
export const OFFSETS_SEGMENT_BYTES = 4 * 1024 * 1024;
export const OFFSETS_READ_BYTES = 1024 * 1024;

/** Idempotent producers (core/log/producer-state.ts): a producer idle this long is forgotten by
 * every partition (Kafka's producer.id.expiration.ms, 1 day): the bound on the producer table,
 * which a client that takes a new producer id per run would otherwise grow without end. A retry
 * after that long is not a retry. */
export const PRODUCER_EXPIRATION_MS = 24 * 3600 * 1000;
/** Producer-state snapshots kept per partition (core/log/producer-snapshots.ts): the newest, and
 * one older to fall back on when the newest is damaged. */
export const PRODUCER_SNAPSHOTS_KEPT = 2;
/** Producer ids reserved per write of DATA/producer-ids (core/broker/producer-ids.ts), as Kafka's
 * ProducerIdManager reserves blocks of 1000: one fsync'd write per thousand InitProducerIds. */
export const PRODUCER_ID_BLOCK = 1000;
/** Transactions (core/transactions): partitions of the transaction log, __transaction_state. Kafka
 * has 50; in a cluster each partition's leader coordinates its transactional ids, so a few more
 * than brokers spread them, and a new leader loads less on failover. */
export const TXN_LOG_PARTITIONS = 8;
/** The longest transaction.timeout.ms a producer may ask for (Kafka's transaction.max.timeout.ms). */
export const TXN_TIMEOUT_MAX_MS = 900_000;
/** How often open transactions are checked for their timeout, and unfinished markers retried
 * (Kafka checks every 10 s; a transaction aborts at most this long after its timeout). */
export const TXN_CHECK_MS = 1000;
/** A transactional id idle this long is forgotten (Kafka's transactional.id.expiration.ms, 7 days). */
export const TXN_ID_EXPIRATION_MS = 7 * 24 * 3600 * 1000;

/** Lent buffers (core/lent-buffers.ts): reads and frames at least this large borrow a recycled
 * buffer instead of allocating (smaller ones are cheap for the allocator); capacities go in
 * steps so that runs of similar sizes share buffers. */
export const RECYCLE_MIN_BYTES = 256 * 1024;
export const BUFFER_CAPACITY_STEP = 1024 * 1024;

/** The tail cache (core/log/tail-cache.ts): copies of each partition's latest small batches, so a
 * consumer at the tail is not served by reading back the file just written. Batches go into chunks
 * of TAIL_CACHE_CHUNK_BYTES (a larger batch is not cached: copying it would cost the throughput a
 * large batch is for, and such consumers read through lent buffers); a partition holds at most
 * TAIL_CACHE_PARTITION_BYTES (at 5,000 records/s of 100 B, about half a second); all partitions
 * together at most TAIL_CACHE_BYTES_MAX, part of the broker's memory (goal: ≤ 200 MiB). */
export const TAIL_CACHE_CHUNK_BYTES = 64 * 1024;
export const TAIL_CACHE_PARTITION_BYTES = 256 * 1024;
export const TAIL_CACHE_BYTES_MAX = 32 * 1024 * 1024;

/**
 * A sync covering at most this many unsynced bytes of a log, when it is the only log of its
 * round, runs on the event loop (FileLayer.fdatasyncSync) instead of Bun's thread pool: on this
 * project's VMs (Firecracker) a thread hop costs more than a small sync, and the pool's two hops
 * per sync (out and back) made a fifth of the broker's CPU at 5,000 acks/s and lengthened the ack
 * tail (issue #23, BENCHMARKS.md). Bigger syncs go to the pool, so the loop keeps reading the
 * next requests while the disk writes; several logs in one round too, so their syncs overlap.
 */
export const SYNC_ON_LOOP_MAX_BYTES = 64 * 1024;

/** How often retention.ms / retention.bytes are enforced: segments are large, a delete a little
 * late costs only disk, and each pass walks every partition's segment list. */
export const RETENTION_CHECK_MS = 30_000;
/** The log cleaner (core/log/cleaner.ts): how often it looks for a log to clean (Kafka's
 * log.cleaner.backoff.ms); its I/O bound unless serve --log-cleaner-io-max-bytes-per-second says otherwise (read
 * plus written, about a fifth of a disk that streams 250 MB/s, so produce keeps the rest); its read
 * and write buffer; how long it holds the broker's thread before yielding it; and the memory of its
 * offset map (a key's bytes plus ~80 bytes of Map entry each: 10,000 keys of 20 bytes are ~1 MiB).
 * A dirty section with more keys is cleaned in parts, as Kafka's does with a full dedupe buffer. */
export const CLEANER_CHECK_MS = 15_000;
export const CLEANER_IO_BYTES_PER_S_DEFAULT = 50 * 1024 * 1024;
export const CLEANER_READ_BYTES = 2 * 1024 * 1024;
export const CLEANER_SLICE_MS = 4;
/** The share of the broker's one thread the cleaner may take: it works a slice, then rests as long. */
export const CLEANER_THREAD_SHARE = 0.5;
export const CLEANER_MAP_BYTES_MAX = 64 * 1024 * 1024;
/** How long a create-on-first-use waits for another client's create of the same name: a create
 * of thousands of partitions takes seconds, and the retriable LEADER_NOT_AVAILABLE the Kafka door
 * answers after it is what Kafka answers for a topic still being created (issue #7). */
export const CREATE_IN_FLIGHT_WAIT_MS = 1000;

/** Every core limit, by name: the relations below read them from here, and tests vary them. */
export const CORE_LIMITS = {
  REQUEST_BYTES_MAX,
  MESSAGE_BYTES_MAX_DEFAULT,
  DECOMPRESSED_BYTES_MAX,
  REQUEST_DECOMPRESSED_BYTES_MAX,
  DECOMPRESS_SYNC_BYTES,
  DECOMPRESS_TURN_MS,
  DECOMPRESS_OFF_THREAD_MAX,
  DECOMPRESS_STEP_BYTES,
  REQUEST_BODY_TIMEOUT_MS_DEFAULT,
  INDEX_INTERVAL_BYTES,
  TOPIC_NAME_LENGTH_MAX,
  PARTITIONS_PER_TOPIC_MAX,
  GROUP_MEMBERS_MAX,
  OFFSET_METADATA_BYTES_MAX,
  RUNWAY_BYTES,
  RUNWAY_INTERVAL_MS,
  OFFSETS_COMPACT_RECORDS_MIN,
  OFFSETS_SEGMENT_BYTES,
  OFFSETS_READ_BYTES,
  RECYCLE_MIN_BYTES,
  BUFFER_CAPACITY_STEP,
  RETENTION_CHECK_MS,
  CLEANER_CHECK_MS,
  CLEANER_IO_BYTES_PER_S_DEFAULT,
  CLEANER_READ_BYTES,
  CLEANER_SLICE_MS,
  CLEANER_THREAD_SHARE,
  CLEANER_MAP_BYTES_MAX,
  CREATE_IN_FLIGHT_WAIT_MS,
  PRODUCER_EXPIRATION_MS,
  PRODUCER_SNAPSHOTS_KEPT,
  PRODUCER_ID_BLOCK,
  TXN_LOG_PARTITIONS,
  TXN_TIMEOUT_MAX_MS,
  TXN_CHECK_MS,
  TXN_ID_EXPIRATION_MS,
  TAIL_CACHE_CHUNK_BYTES,
  TAIL_CACHE_PARTITION_BYTES,
  TAIL_CACHE_BYTES_MAX,
};

export type LimitRelation<L> = readonly [why: string, holds: (l: L) => boolean];

/** Facts the code relies on, each with the reason it must hold. */
export const CORE_LIMIT_RELATIONS: readonly LimitRelation<typeof CORE_LIMITS>[] = [
  ["a batch of the default max.message.bytes fits in a request frame, with the request's own header", (l) => l.MESSAGE_BYTES_MAX_DEFAULT + 1024 <= l.REQUEST_BYTES_MAX],
  ["a batch is at least a header, so max.message.bytes can hold one", (l) => l.MESSAGE_BYTES_MAX_DEFAULT > BATCH_HEADER_BYTES],
  ["any batch a topic may accept by default can be decompressed for validation", (l) => l.DECOMPRESSED_BYTES_MAX >= l.MESSAGE_BYTES_MAX_DEFAULT],
  ["a request may decompress at least one batch at its cap, and the bound is far below the broker's memory", (l) => l.REQUEST_DECOMPRESSED_BYTES_MAX >= l.DECOMPRESSED_BYTES_MAX && l.REQUEST_DECOMPRESSED_BYTES_MAX <= 4 * l.DECOMPRESSED_BYTES_MAX],
  ["a default-sized batch of records is inflated without a thread hop; bigger ones leave the main thread", (l) => l.DECOMPRESS_SYNC_BYTES >= l.MESSAGE_BYTES_MAX_DEFAULT - 1024 && l.DECOMPRESS_SYNC_BYTES < l.DECOMPRESSED_BYTES_MAX],
  ["a turn's main-thread decompression is a few ms, and off-thread ones are few enough that their outputs stay bounded", (l) => l.DECOMPRESS_TURN_MS >= 1 && l.DECOMPRESS_TURN_MS <= 10 && l.DECOMPRESS_OFF_THREAD_MAX >= 1 && l.DECOMPRESS_OFF_THREAD_MAX * l.DECOMPRESSED_BYTES_MAX <= 256 * 1024 * 1024],
  ["a step of our own codecs' inflating is a small part of a turn's share (a sync batch holds several)", (l) => l.DECOMPRESS_STEP_BYTES >= 16 * 1024 && l.DECOMPRESS_STEP_BYTES * 4 <= l.DECOMPRESS_SYNC_BYTES],
  ["a stalled request is cut off after seconds, not milliseconds (a loaded client pauses) nor minutes (it holds request memory)", (l) => l.REQUEST_BODY_TIMEOUT_MS_DEFAULT >= 5_000 && l.REQUEST_BODY_TIMEOUT_MS_DEFAULT <= 120_000],
  ["index entries are sparse: one per interval, far below a segment of committed offsets", (l) => l.INDEX_INTERVAL_BYTES > 0 && l.INDEX_INTERVAL_BYTES * 64 <= l.OFFSETS_SEGMENT_BYTES],
  ["an offsets replay read holds at least one whole commit batch of a full group", (l) => l.OFFSETS_READ_BYTES >= l.GROUP_MEMBERS_MAX * (l.OFFSET_METADATA_BYTES_MAX / 16) && l.OFFSETS_READ_BYTES <= l.OFFSETS_SEGMENT_BYTES],
  ["the runway is topped up well inside the segments it pads, and not more often than a sync round", (l) => l.RUNWAY_BYTES <= l.OFFSETS_SEGMENT_BYTES && l.RUNWAY_INTERVAL_MS >= 10],
  ["a recycled buffer's capacity step covers the smallest recycled size, and a log read fits in a step or two", (l) => l.RECYCLE_MIN_BYTES <= l.BUFFER_CAPACITY_STEP && l.OFFSETS_READ_BYTES <= 2 * l.BUFFER_CAPACITY_STEP],
  ["topic names fit Kafka's 249 characters (a partition dir name adds the index)", (l) => l.TOPIC_NAME_LENGTH_MAX <= 249],
  ["compaction of committed offsets waits for a meaningful number of records", (l) => l.OFFSETS_COMPACT_RECORDS_MIN >= 1000],
  ["producers expire long after a client's retries give up (minutes), and are checked far more often than they expire", (l) => l.PRODUCER_EXPIRATION_MS >= 3600_000 && l.RETENTION_CHECK_MS * 100 <= l.PRODUCER_EXPIRATION_MS],
  ["a damaged newest producer snapshot has an older one to fall back on; id blocks are large enough to make their fsync rare", (l) => l.PRODUCER_SNAPSHOTS_KEPT >= 2 && l.PRODUCER_ID_BLOCK >= 100],
  ["transactions are checked for their timeout far more often than the longest one lasts, and ids outlive any transaction", (l) => l.TXN_CHECK_MS * 100 <= l.TXN_TIMEOUT_MAX_MS && l.TXN_ID_EXPIRATION_MS > l.TXN_TIMEOUT_MAX_MS && l.TXN_LOG_PARTITIONS >= 1],
  ["the tail cache: a partition keeps at least two chunks (one filling, one whole), all partitions fit the budget's share of the broker's memory, and a chunk is below the recycled-read size (tail reads stay small)", (l) => l.TAIL_CACHE_PARTITION_BYTES >= 2 * l.TAIL_CACHE_CHUNK_BYTES && l.TAIL_CACHE_PARTITION_BYTES <= l.TAIL_CACHE_BYTES_MAX && l.TAIL_CACHE_BYTES_MAX <= 64 * 1024 * 1024 && l.TAIL_CACHE_CHUNK_BYTES < l.RECYCLE_MIN_BYTES],
  ["the cleaner's buffer holds any batch a topic accepts by default; its slices are short beside an ack's latency; its map holds a segment's worth of keys", (l) => l.CLEANER_READ_BYTES >= l.MESSAGE_BYTES_MAX_DEFAULT && l.CLEANER_SLICE_MS <= 10 && l.CLEANER_MAP_BYTES_MAX >= 16 * l.CLEANER_READ_BYTES],
  ["the cleaner leaves the broker's thread at least half the time, and takes some of it", (l) => l.CLEANER_THREAD_SHARE > 0 && l.CLEANER_THREAD_SHARE <= 0.5],
  ["the cleaner looks for dirty logs no more often than retention runs, and its default bound leaves produce most of a disk", (l) => l.CLEANER_CHECK_MS >= 1000 && l.CLEANER_CHECK_MS <= l.RETENTION_CHECK_MS && l.CLEANER_IO_BYTES_PER_S_DEFAULT <= 100 * 1024 * 1024],
  ["a create-on-first-use wait is shorter than a client's request timeout (seconds)", (l) => l.CREATE_IN_FLIGHT_WAIT_MS < 5000 && l.RETENTION_CHECK_MS >= 1000],
];

/** The relations that do not hold for `limits` (empty when all do). */
export function brokenRelations<L>(relations: readonly LimitRelation<L>[], limits: L): string[] {
  return relations.filter(([, holds]) => !holds(limits)).map(([why]) => why);
}

/** Asserts every relation between the given limits (a programmer error if one is broken). */
export function checkLimits<L>(layer: string, relations: readonly LimitRelation<L>[], limits: L): void {
  const broken = brokenRelations(relations, limits);
  assert(broken.length === 0, `${layer} limits contradict each other: ${broken.join("; ")}`);
}

export function checkCoreLimits(): void {
  checkLimits("core", CORE_LIMIT_RELATIONS, CORE_LIMITS);
}
