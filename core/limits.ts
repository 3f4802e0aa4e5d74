// Limits, each with its reason. One file so that a reviewer sees every bound the broker keeps.

/** Largest request frame a client may send (Kafka's socket.request.max.bytes default). */
export const REQUEST_BYTES_MAX = 100 * 1024 * 1024;
/** Default max.message.bytes: the largest batch a topic accepts (Kafka's default, 1 MiB + 12). */
export const MESSAGE_BYTES_MAX_DEFAULT = 1048588;
/** A compressed batch may expand at most this much before we stop decompressing it: a zstd or
 * gzip bomb of a few KiB must not make the broker allocate gigabytes. */
export const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;
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
