// Which protocol a Consumer's group membership speaks. "auto" (the default): the consumer group
// protocol (KIP-848, group-848.ts) when the group's coordinator serves it — ConsumerGroupHeartbeat
// in its ApiVersions, and the group is not a classic one with members — else the classic protocol
// (group.ts), so Kafka before 3.7/4.0, Redpanda and any other broker keep working as before. The
// choice is made at the first join and kept for the consumer's life. A member that only keeps
// offsets (join: false, Kafka's "simple" consumer) never joins: it is a classic one.
import type { KafkaClient } from "./client.ts";
import { ConsumerGroupMember, ConsumerProtocolUnavailable } from "./group-848.ts";
import type { GroupMembership, PendingAssignment } from "./group-coordinator.ts";
import { GroupMember } from "./group.ts";

export type { GroupMembership } from "./group-coordinator.ts";

/** "classic": JoinGroup/SyncGroup; "consumer": KIP-848 only; "auto": consumer where served, else classic. */
export type GroupProtocol = "auto" | "classic" | "consumer";

export function createGroupMember(client: KafkaClient, groupId: string, topics: string[], opts: { join?: boolean; protocol?: GroupProtocol } = {}): GroupMembership {
  const protocol = opts.protocol ?? "auto";
  if (opts.join === false || protocol === "classic") return new GroupMember(client, groupId, topics, { join: opts.join });
  if (protocol === "consumer") return new ConsumerGroupMember(client, groupId, topics);
  return new AutoGroupMember(client, groupId, topics);
}

/** Tries the consumer group protocol at the first join; falls back to the classic one for good. */
class AutoGroupMember implements GroupMembership {
  private current: GroupMembership;
  private decided = false;

  constructor(
    private readonly client: KafkaClient,
    readonly groupId: string,
    private readonly topics: string[],
  ) {
    this.current = new ConsumerGroupMember(client, groupId, topics);
  }

  get protocol(): "classic" | "consumer" {
    return this.current.protocol;
  }

  get needsRejoin(): boolean {
    return this.current.needsRejoin;
  }

  get generationId(): number {
    return this.current.generationId;
  }

  async join(): Promise<Map<string, number[]>> {
    if (this.decided) return this.current.join();
    try {
      const assignment = await this.current.join();
      this.decided = true;
      return assignment;
    } catch (err) {
      if (!(err instanceof ConsumerProtocolUnavailable)) throw err;
      await this.current.leave(); // releases its coordinator connection; it never became a member
      this.current = new GroupMember(this.client, this.groupId, this.topics);
      this.decided = true;
      return this.current.join();
    }
  }

  committed(partitions: ReadonlyMap<string, readonly number[]>): Promise<Map<string, Map<number, number>>> {
    return this.current.committed(partitions);
  }

  commit(offsets: ReadonlyMap<string, ReadonlyMap<number, number>>): Promise<void> {
    return this.current.commit(offsets);
  }

  leave(): Promise<void> {
    return this.current.leave();
  }

  interrupt(): void {
    this.current.interrupt?.();
  }

  async pendingAssignment(): Promise<PendingAssignment | null> {
    return (await this.current.pendingAssignment?.()) ?? null;
  }

  async take(pending: PendingAssignment): Promise<void> {
    await this.current.take?.(pending);
  }
}
