// What a cluster keeps in etcd, under `/streamctl/<cluster-name>/` (JSON values):
//
// | key                         | value                                          | lifetime                  |
// |-----------------------------|------------------------------------------------|---------------------------|
// | brokers/<id>                | {"id","host","port"}: the Kafka address        | the broker's lease        |
// | controller                  | {"id"}                                         | the controller's lease    |
// | topics/<name>               | {"id" (UUID),"replicas":[[ids]…],"configs"}    | until deleted             |
// | partitions/<name>/<p>       | {"leader","leaderEpoch","isr":[ids]}           | until its topic's delete  |
//
// A partition's state changes only by a transaction that compares its mod_revision with the one
// the writer read (its `version` here), plus who the writer is: the controller compares its own
// key's create_revision (a deposed controller changes nothing), a leader compares its broker key's
// lease (a broker whose lease expired changes nothing). Creates compare that the topic key does
// not exist, so of two creates of one name exactly one wins.
import type { BrokerEndpoint } from "../../core/broker/cluster.ts";
import type { PartitionState } from "../../core/broker/replication.ts";

export interface TopicRecord {
  name: string;
  id: string;
  /** Replicas per partition, the preferred leader first. */
  replicas: number[][];
  configs: Record<string, string>;
  version: number;
}

export class ClusterKeys {
  readonly root: string;
  constructor(clusterName: string) {
    this.root = `/streamctl/${clusterName}/`;
  }
  get brokers(): string {
    return `${this.root}brokers/`;
  }
  broker(id: number): string {
    return `${this.brokers}${id}`;
  }
  get controller(): string {
    return `${this.root}controller`;
  }
  get topics(): string {
    return `${this.root}topics/`;
  }
  topic(name: string): string {
    return `${this.topics}${name}`;
  }
  get partitions(): string {
    return `${this.root}partitions/`;
  }
  partitionsOf(topic: string): string {
    return `${this.partitions}${topic}/`;
  }
  partition(topic: string, p: number): string {
    return `${this.partitionsOf(topic)}${p}`;
  }

  /** What a key under the root names, or null for anything else. */
  parse(key: string): { kind: "broker"; id: number } | { kind: "controller" } | { kind: "topic"; name: string } | { kind: "partition"; topic: string; partition: number } | null {
    if (!key.startsWith(this.root)) return null;
    const rest = key.slice(this.root.length);
    if (rest === "controller") return { kind: "controller" };
    let m = /^brokers\/(\d+)$/.exec(rest);
    if (m) return { kind: "broker", id: Number(m[1]) };
    m = /^topics\/([^/]+)$/.exec(rest);
    if (m) return { kind: "topic", name: m[1]! };
    m = /^partitions\/([^/]+)\/(\d+)$/.exec(rest);
    if (m) return { kind: "partition", topic: m[1]!, partition: Number(m[2]) };
    return null;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeJson(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

function parse(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(dec.decode(bytes));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.every(isId);

export function decodeBroker(bytes: Uint8Array): BrokerEndpoint | null {
  const v = parse(bytes);
  if (v === null || !isId(v.id) || typeof v.host !== "string" || !isId(v.port)) return null;
  return { id: v.id, host: v.host, port: v.port };
}

export function decodeTopic(name: string, bytes: Uint8Array, version: number): TopicRecord | null {
  const v = parse(bytes);
  if (v === null || typeof v.id !== "string" || !Array.isArray(v.replicas) || !v.replicas.every(isIds)) return null;
  const configs = v.configs;
  if (typeof configs !== "object" || configs === null || Object.values(configs).some((c) => typeof c !== "string")) return null;
  return { name, id: v.id, replicas: v.replicas as number[][], configs: configs as Record<string, string>, version };
}

export function encodeTopic(t: Omit<TopicRecord, "version" | "name">): Uint8Array {
  return encodeJson({ id: t.id, replicas: t.replicas, configs: t.configs });
}

export function decodePartition(topic: string, partition: number, replicas: readonly number[], bytes: Uint8Array, version: number): PartitionState | null {
  const v = parse(bytes);
  if (v === null || !Number.isSafeInteger(v.leader) || !isId(v.leaderEpoch) || !isIds(v.isr)) return null;
  return { topic, partition, replicas, leader: v.leader as number, leaderEpoch: v.leaderEpoch, isr: v.isr, version };
}

export function encodePartition(s: Pick<PartitionState, "leader" | "leaderEpoch" | "isr">): Uint8Array {
  return encodeJson({ leader: s.leader, leaderEpoch: s.leaderEpoch, isr: [...s.isr].sort((a, b) => a - b) });
}

/**
 * Replicas for `partitions` partitions over `brokers` (sorted ids), `factor` each: partition p
 * starts at a rotating broker and takes the next ones, so leaders and replicas spread evenly
 * (Kafka's round-robin assignment, without racks).
 */
export function assignReplicas(brokers: readonly number[], partitions: number, factor: number, start = 0): number[][] {
  const ids = [...brokers].sort((a, b) => a - b);
  const out: number[][] = [];
  for (let p = 0; p < partitions; p++) {
    const first = (start + p) % ids.length;
    const replicas: number[] = [];
    for (let i = 0; i < factor; i++) replicas.push(ids[(first + i) % ids.length]!);
    out.push(replicas);
  }
  return out;
}

/**
 * The controller's decision for one partition given the live brokers: a new leader when the
 * current one is gone (the first replica in preference order that is alive and in the ISR; with
 * unclean election, any live replica), the ISR without dead brokers, or null when nothing
 * changes. A new leader bumps the leader epoch; losing every ISR member leaves the partition
 * offline (leader -1) with its last ISR kept, as Kafka does.
 */
export function electFor(state: PartitionState, live: ReadonlySet<number>, unclean: boolean): Pick<PartitionState, "leader" | "leaderEpoch" | "isr"> | null {
  const liveIsr = state.isr.filter((id) => live.has(id));
  const leaderAlive = state.leader >= 0 && live.has(state.leader);
  if (leaderAlive) {
    if (liveIsr.length === state.isr.length) return null;
    return { leader: state.leader, leaderEpoch: state.leaderEpoch, isr: liveIsr };
  }
  const candidate = state.replicas.find((id) => liveIsr.includes(id)) ?? (unclean ? state.replicas.find((id) => live.has(id)) : undefined);
  if (candidate === undefined) {
    if (state.leader < 0) return null;
    return { leader: -1, leaderEpoch: state.leaderEpoch + 1, isr: state.isr };
  }
  return { leader: candidate, leaderEpoch: state.leaderEpoch + 1, isr: liveIsr.length > 0 ? liveIsr : [candidate] };
}
