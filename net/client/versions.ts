// Which version of each API the client speaks: the intersection of what this client implements
// (CLIENT_VERSIONS) and what the broker advertised in ApiVersions, highest first — the rule
// librdkafka and the Java client follow. A broker that does not list an API at all, or whose range
// does not meet ours, gets an UnsupportedApiError naming the API, so a command can say "this broker
// has no group coordinator" instead of failing somewhere deeper.
//
// Our ranges and why they stop where they do:
//
// | API              | ours | floor because                         | ceiling because                       |
// |------------------|------|---------------------------------------|---------------------------------------|
// | Produce (0)      | 3-9  | v3 is the first to carry magic-2      | v10+ only add leader hints (KIP-951)  |
// | Fetch (1)        | 4-12 | v4 is the first to return magic-2     | v13+ name topics by id (KIP-516)      |
// | ListOffsets (2)  | 1-7  | v0 returns offset arrays              | v8 adds tiered-storage timestamps     |
// | Metadata (3)     | 1-12 | v1 has null = all topics              | newest                                |
// | OffsetCommit (8) | 2-9  | v2 is the first with generation       | newest (v9: a KIP-848 member's epoch, |
// |                  |      |                                       |   which the consumer protocol needs)  |
// | OffsetFetch (9)  | 1-7  | v1 reads Kafka-stored offsets         | v8+ batch groups                      |
// | FindCoordinator  | 0-4  | any                                   | v4 batches keys; v5 is transactions   |
// | JoinGroup (11)   | 0-7  | any                                   | v8+ add a reason only                 |
// | Heartbeat (12)   | 0-4  |                                       |                                       |
// | LeaveGroup (13)  | 0-4  |                                       |                                       |
// | SyncGroup (14)   | 0-5  |                                       |                                       |
// | ApiVersions (18) | 0-3  |                                       |                                       |
// | CreateTopics (19)| 2-7  | v2 has error messages                 | newest (`streamctl bench --partitions`)|
// | SaslHandshake(17)| 1-1  | v1: tokens in SaslAuthenticate        | newest                                |
// | SaslAuthenticate | 0-2  | any                                   | newest (v1+ tells session lifetime)   |
// | OffsetForLeaderEpoch (23) | 3-4 | v3 names the replica asking (a follower) | newest               |
// | DeleteTopics (20)| 1-6  | v1 has throttle time                  | newest (v6 names topics or ids)       |
// | DescribeGroups 15| 0-5  | any                                   | newest                                |
// | ListGroups (16)  | 0-5  | any (state from v4, else DescribeGroups) | newest                             |
// | DeleteGroups (42)| 0-2  | any                                   | newest                                |
// | DescribeConfigs  | 1-4  | v1 has config_source (where a value   | newest (also auto.create.topics.enable|
// |                  |      |   comes from)                         |   for produce --no-auto-create)       |
// | AlterConfigs (33)| 0-2  | any (fallback without key 44)         | newest                                |
// | IncrementalAlter…| 0-1  | any (KIP-339)                         | newest                                |
// | CreatePartitions | 0-3  | any                                   | newest (also produce --json grows a copy)|
// | ConsumerGroupHeartbeat (68) | 0-0 | the consumer group protocol (KIP-848, group-848.ts)         |
// | ConsumerGroupDescribe (69)  | 0-0 | `groups describe` of a KIP-848 group                        |
// | InitProducerId   | 0-4  | any (idempotence needs no transaction | v5 is for transactions (KIP-890)      |
// |   (22)           |      |   fields)                             |                                       |
// | AddPartitionsToTxn (24) | 0-3 | any                              | v4+ are broker to broker (KIP-890)    |
// | AddOffsetsToTxn (25)    | 0-3 | any                              | v4 adds TRANSACTION_ABORTABLE         |
// | EndTxn (26)             | 0-3 | any                              | v4 adds TRANSACTION_ABORTABLE         |
// | TxnOffsetCommit (28)    | 0-3 | any                              | v4 adds TRANSACTION_ABORTABLE         |
// | WriteTxnMarkers (27)    | 0-1 | any (broker to broker: a cluster's transaction coordinator, net/cluster/markers.ts) | newest |
// | Describe/Create/ | 1-3  | v1 has pattern types (PREFIXED,       | newest                                |
// |  DeleteAcls 29-31|      |   KIP-290)                            |                                       |
import {
  AddOffsetsToTxn,
  AddPartitionsToTxn,
  EndTxn,
  TxnOffsetCommit,
  WriteTxnMarkers,
  AlterConfigs,
  ApiVersions,
  CreatePartitions,
  ConsumerGroupDescribe,
  ConsumerGroupHeartbeat,
  CreateTopics,
  SaslAuthenticate,
  SaslHandshake,
  DeleteGroups,
  DeleteTopics,
  DescribeConfigs,
  DescribeGroups,
  IncrementalAlterConfigs,
  ListGroups,
  Fetch,
  FindCoordinator,
  Heartbeat,
  InitProducerId,
  JoinGroup,
  LeaveGroup,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  OffsetForLeaderEpoch,
  Produce,
  SyncGroup,
  CreateAcls,
  DeleteAcls,
  DescribeAcls,
} from "../protocol/messages/index.ts";

export interface VersionRange {
  min: number;
  max: number;
}

export const CLIENT_VERSIONS: ReadonlyMap<number, VersionRange> = new Map([
  [Produce.key, { min: 3, max: 9 }],
  [Fetch.key, { min: 4, max: 12 }],
  [ListOffsets.key, { min: 1, max: 7 }],
  [Metadata.key, { min: 1, max: 12 }],
  [OffsetCommit.key, { min: 2, max: 9 }],
  [OffsetFetch.key, { min: 1, max: 7 }],
  [FindCoordinator.key, { min: 0, max: 4 }],
  [JoinGroup.key, { min: 0, max: 7 }],
  [Heartbeat.key, { min: 0, max: 4 }],
  [LeaveGroup.key, { min: 0, max: 4 }],
  [SyncGroup.key, { min: 0, max: 5 }],
  [ApiVersions.key, { min: 0, max: 3 }],
  [CreateTopics.key, { min: 2, max: 7 }],
  [SaslHandshake.key, { min: 1, max: 1 }],
  [SaslAuthenticate.key, { min: 0, max: 2 }],
  [OffsetForLeaderEpoch.key, { min: 3, max: 4 }],
  [DeleteTopics.key, { min: 1, max: 6 }],
  [DescribeGroups.key, { min: 0, max: 5 }],
  [ListGroups.key, { min: 0, max: 5 }],
  [DeleteGroups.key, { min: 0, max: 2 }],
  [DescribeConfigs.key, { min: 1, max: 4 }],
  [AlterConfigs.key, { min: 0, max: 2 }],
  [IncrementalAlterConfigs.key, { min: 0, max: 1 }],
  [CreatePartitions.key, { min: 0, max: 3 }],
  [InitProducerId.key, { min: 0, max: 4 }],
  [AddPartitionsToTxn.key, { min: 0, max: 3 }],
  [AddOffsetsToTxn.key, { min: 0, max: 3 }],
  [EndTxn.key, { min: 0, max: 3 }],
  [WriteTxnMarkers.key, { min: 0, max: 1 }],
  [TxnOffsetCommit.key, { min: 0, max: 3 }],
  [DescribeAcls.key, { min: 1, max: 3 }],
  [CreateAcls.key, { min: 1, max: 3 }],
  [DeleteAcls.key, { min: 1, max: 3 }],
  [ConsumerGroupHeartbeat.key, { min: 0, max: 0 }],
  [ConsumerGroupDescribe.key, { min: 0, max: 0 }],
]);

export class UnsupportedApiError extends Error {
  override name = "UnsupportedApiError";
}

/** The highest version both sides support, or an UnsupportedApiError. */
export function pickVersion(apiKey: number, apiName: string, broker: ReadonlyMap<number, VersionRange>): number {
  const ours = CLIENT_VERSIONS.get(apiKey);
  if (ours === undefined) throw new UnsupportedApiError(`the client does not implement ${apiName}`);
  const theirs = broker.get(apiKey);
  if (theirs === undefined) throw new UnsupportedApiError(`the broker does not support ${apiName} (API key ${apiKey})`);
  const v = Math.min(ours.max, theirs.max);
  if (v < ours.min || v < theirs.min) {
    throw new UnsupportedApiError(
      `no common version of ${apiName}: broker ${theirs.min}-${theirs.max}, client ${ours.min}-${ours.max}`,
    );
  }
  return v;
}
