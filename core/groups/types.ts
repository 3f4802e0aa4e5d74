// The group coordinator's vocabulary: states, the errors it answers with (Kafka's own names, so
// net/ maps them to wire codes with one lookup), and the shapes of requests and results. No
// sockets and no Kafka codec here: the broker's handlers translate to and from these.

/** One committed offset of a group for a partition (core/groups/offset-store.ts). */
export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

export const GROUP_STATES: readonly GroupState[] = ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"];

/** Errors a group operation may answer with, named as in Kafka's Errors.java. */
export type GroupErrorName =
  | "INVALID_GROUP_ID"
  | "INVALID_SESSION_TIMEOUT"
  | "UNKNOWN_MEMBER_ID"
  | "ILLEGAL_GENERATION"
  | "REBALANCE_IN_PROGRESS"
  | "MEMBER_ID_REQUIRED"
  | "GROUP_MAX_SIZE_REACHED"
  | "INCONSISTENT_GROUP_PROTOCOL"
  | "FENCED_INSTANCE_ID"
  | "COORDINATOR_NOT_AVAILABLE"
  | "NOT_COORDINATOR"
  | "COORDINATOR_LOAD_IN_PROGRESS"
  | "NON_EMPTY_GROUP"
  | "GROUP_ID_NOT_FOUND"
  | "UNKNOWN_TOPIC_OR_PARTITION"
  | "OFFSET_METADATA_TOO_LARGE"
  | "INVALID_COMMIT_OFFSET_SIZE"
  | "GROUP_SUBSCRIBED_TO_TOPIC"
  | "UNSTABLE_OFFSET_COMMIT" // a transaction has offsets pending for the partition (KIP-447)
  | "KAFKA_STORAGE_ERROR"
  // the consumer group protocol (KIP-848)
  | "INVALID_REQUEST"
  | "UNSUPPORTED_ASSIGNOR"
  | "FENCED_MEMBER_EPOCH"
  | "UNRELEASED_INSTANCE_ID"
  | "STALE_MEMBER_EPOCH"
  | "UNSUPPORTED_VERSION";

export interface ProtocolMetadata {
  name: string;
  metadata: Uint8Array;
}

export interface JoinRequest {
  groupId: string;
  /** "" for a member that has none yet. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolMetadata[];
  /** JoinGroup v4+ (KIP-394): a new dynamic member first gets MEMBER_ID_REQUIRED with its id. */
  requireKnownMemberId: boolean;
  reason?: string | null;
}

export interface JoinMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Uint8Array;
}

export interface JoinResult {
  error: GroupErrorName | null;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  memberId: string;
  /** Only the leader gets the members and their metadata for the chosen protocol. */
  members: JoinMember[];
}

export interface SyncRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5+: must match the group's when given. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Uint8Array }>;
}

export interface SyncResult {
  error: GroupErrorName | null;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
}

export interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveResult {
  error: GroupErrorName | null;
  members: Array<{ memberId: string; groupInstanceId: string | null; error: GroupErrorName | null }>;
}

export interface CommitRequest {
  groupId: string;
  /** OffsetCommit's version: a consumer-protocol member must use v9+ (KIP-848). Absent: the newest. */
  apiVersion?: number;
  /** -1 for a commit from outside group management (admin tools, kcat without -G). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  offsets: Array<{ topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null }>;
}

export interface PartitionError {
  topic: string;
  partition: number;
  error: GroupErrorName | null;
}

export interface FetchedOffset {
  partition: number;
  /** -1 when nothing is committed. */
  offset: number;
  leaderEpoch: number;
  metadata: string;
  error: GroupErrorName | null;
}

export interface FetchOffsetsResult {
  error: GroupErrorName | null;
  topics: Array<{ topic: string; partitions: FetchedOffset[] }>;
}

/** OffsetDelete: a group-level error (then no partitions), or one result per partition named. */
export interface DeleteOffsetsResult {
  error: GroupErrorName | null;
  partitions: Array<{ topic: string; partition: number; error: GroupErrorName | null }>;
}

export interface GroupMemberSummary {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Uint8Array;
  assignment: Uint8Array;
}

/** DescribeGroups' view of one group (Kafka's GroupSummary). */
export interface GroupSummary {
  groupId: string;
  error: GroupErrorName | null;
  state: GroupState;
  protocolType: string;
  /** The chosen protocol when Stable, else "". */
  protocolData: string;
  members: GroupMemberSummary[];
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  /** A classic group's state, or a consumer group's (Empty, Assigning, Reconciling, Stable). */
  state: string;
  /** KIP-848: "classic" (JoinGroup/SyncGroup) or "consumer" (ConsumerGroupHeartbeat). */
  groupType: "classic" | "consumer";
}

/** The control plane's view (`GET /v1/groups/{id}`): members with decoded assignments, and lag. */
export interface GroupDescription {
  group: string;
  /** A classic group's state, or a consumer group's (Empty, Assigning, Reconciling, Stable). */
  state: string;
  protocolType: string;
  protocol: string;
  generationId: number;
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    assignment: Array<{ topic: string; partitions: number[] }>;
  }>;
  /**
   * Every partition with a committed offset, and every assigned one without: committed and lag
   * are null there. end is the partition's high watermark; lag = max(0, end - committed).
   */
  offsets: Array<{ topic: string; partitions: Array<{ partition: number; committed: number | null; end: number; lag: number | null }> }>;
}

/** What the coordinator needs to know of topics: partition counts and high watermarks. */
export interface TopicView {
  /** null when the topic does not exist; 0 when it exists unusable (a damaged topic.json): its committed offsets stay. */
  partitionCount(topic: string): number | null;
  /** null when the partition does not exist. */
  highWatermark(topic: string, partition: number): number | null;
  /** The topic's id as a uuid string (the consumer group protocol names topics by id). */
  topicId?(topic: string): string | null;
  /** Every topic's name (regex subscriptions). */
  topicNames?(): string[];
}
