// The broker's durable state, opened as one: the topic store, then the group coordinator on the
// store's file layer, clock and sync scheduler (so commits share the topics' group commit), with
// topic deletes dropping their committed offsets, and the producer ids (producer-ids.ts). net/broker/broker.ts serves this;
// core/power-loss.test.ts boots exactly this after every simulated power loss.
import { type GroupCoordinatorOptions, GroupCoordinator } from "../groups/coordinator.ts";
import type { Logger } from "../log/types.ts";
import { type TopicStoreOptions, TopicStore } from "../topics/topic-store.ts";
import { ProducerIds } from "./producer-ids.ts";

export interface StorageOptions extends TopicStoreOptions {
  logger: Logger;
  /** Coordinator settings; timers and the offsets compaction threshold are for tests. */
  groups?: Pick<GroupCoordinatorOptions, "config" | "timers" | "compactRecordsMin">;
  /** The range of producer ids (a cluster's broker: producer-ids.ts); default the whole. */
  producerIdRange?: { idsPerSecond: number; maxId: number };
}

export interface Storage {
  store: TopicStore;
  groups: GroupCoordinator;
  producerIds: ProducerIds;
}

export async function openStorage(opts: StorageOptions): Promise<Storage> {
  const { logger } = opts;
  const store = await TopicStore.open(opts);
  const groups = await GroupCoordinator.open({
    ...opts.groups,
    dataDir: opts.dataDir,
    fs: store.fs,
    clock: store.clock,
    scheduler: store.scheduler,
    logger,
    topics: {
      // A damaged topic (topic.json unreadable) exists with no usable partitions: its committed
      // offsets are kept (null would drop them at open), commits to it are refused.
      partitionCount: (t) => store.topic(t)?.partitions.length ?? (store.damagedTopic(t) !== undefined ? 0 : null),
      highWatermark: (t, p) => store.topic(t)?.partitions[p]?.highWatermark ?? null,
      topicId: (t) => store.topic(t)?.topicIdString ?? null,
      topicNames: () => store.topics().map((t) => t.name),
    },
  });
  store.onTopicDeleted((topic) => {
    groups.topicDeleted(topic).catch((e) => logger.error(`cannot drop committed offsets of deleted topic ${topic}: ${String(e)}`));
  });
  const producerIds = ProducerIds.open(store.fs, opts.dataDir, store.clock, logger, opts.producerIdRange);
  return { store, groups, producerIds };
}
