// A cluster for tests (issue #19): one real etcd (test/etcd-harness.ts) and N compiled brokers on
// fixed free ports (a restarted broker keeps its address), each `serve --node-id i --cluster URL`
// under a cluster name of its own. Metadata is read with raw Kafka requests (test/raw-kafka.ts),
// never with our client, so the brokers are checked independently of it.
import { startEtcd, type EtcdServer, freePort } from "./etcd-harness.ts";
import { type BrokerProcess, removeDir, startBroker, tempDir } from "./harness.ts";
import { RawConnection } from "./raw-kafka.ts";
import { Metadata, defaultMetadataRequest } from "../net/protocol/messages/index.ts";

export interface ClusterOptions {
  brokers?: number;
  /** replica.lag.time.max.ms of every broker. */
  replicaLagMs?: number;
  extraArgs?: string[];
}

export interface PartitionMeta {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  errorCode: number;
}

export class TestCluster {
  readonly brokers = new Map<number, BrokerProcess | null>();
  private readonly ports = new Map<number, { kafka: number; http: number }>();
  private readonly dirs = new Map<number, string>();

  private constructor(
    readonly etcd: EtcdServer,
    readonly name: string,
    private readonly opts: ClusterOptions,
  ) {}

  static async start(opts: ClusterOptions = {}): Promise<TestCluster> {
    const etcd = await startEtcd();
    const c = new TestCluster(etcd, `t${process.pid}-${Math.floor(Math.random() * 1e9)}`, opts);
    const n = opts.brokers ?? 3;
    for (let id = 1; id <= n; id++) {
      c.ports.set(id, { kafka: freePort(), http: freePort() });
      c.dirs.set(id, tempDir(`streamctl-cluster-${id}-`));
    }
    await Promise.all([...c.ports.keys()].map((id) => c.startBroker(id)));
    return c;
  }

  address(id: number): string {
    return `127.0.0.1:${this.ports.get(id)!.kafka}`;
  }

  /** Every broker's address, for a client's bootstrap list. */
  get bootstrap(): string {
    return [...this.ports.keys()].map((id) => this.address(id)).join(",");
  }

  live(): number[] {
    return [...this.brokers].filter(([, b]) => b !== null).map(([id]) => id);
  }

  dataDir(id: number): string {
    return this.dirs.get(id)!;
  }

  async startBroker(id: number): Promise<BrokerProcess> {
    const ports = this.ports.get(id)!;
    const args = [
      "--node-id", String(id), "--cluster", this.etcd.url, "--cluster-name", this.name,
      "--kafka-listen", `127.0.0.1:${ports.kafka}`, "--http-listen", `127.0.0.1:${ports.http}`,
      ...(this.opts.replicaLagMs !== undefined ? ["--replica-lag-time-max-ms", String(this.opts.replicaLagMs)] : []),
      ...(this.opts.extraArgs ?? []),
    ];
    const b = await startBroker({ dataDir: this.dirs.get(id)!, args, readyTimeoutMs: 30_000 });
    this.brokers.set(id, b);
    return b;
  }

  async kill9(id: number): Promise<void> {
    await this.brokers.get(id)?.kill9();
    this.brokers.set(id, null);
  }

  pause(id: number): void {
    this.brokers.get(id)!.proc.kill("SIGSTOP");
  }

  resume(id: number): void {
    this.brokers.get(id)!.proc.kill("SIGCONT");
  }

  /** Metadata of `topic` as broker `via` (default: any live one) answers it. */
  async metadata(topic: string, via?: number): Promise<PartitionMeta[]> {
    const id = via ?? this.live()[0]!;
    const c = await RawConnection.open(this.address(id));
    try {
      const res = await c.request(Metadata, 9, { ...defaultMetadataRequest(), topics: [{ topicId: new Uint8Array(16), name: topic }], allowAutoTopicCreation: false });
      const t = res.topics[0]!;
      return t.partitions
        .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: [...p.isrNodes].sort(), errorCode: p.errorCode }))
        .sort((a, b) => a.partition - b.partition);
    } finally {
      c.close();
    }
  }

  /** The controller's id as a live broker's Metadata says. */
  async metadataController(): Promise<number | null> {
    const c = await RawConnection.open(this.address(this.live()[0]!));
    try {
      const res = await c.request(Metadata, 9, { ...defaultMetadataRequest(), topics: [], allowAutoTopicCreation: false });
      return res.controllerId >= 0 ? res.controllerId : null;
    } finally {
      c.close();
    }
  }

  /**
   * Re-reads metadata until `ok` holds (a bounded wait for the cluster to act: an election, an ISR
   * change), failing with the last answer after `timeoutMs`.
   */
  async waitFor(topic: string, ok: (m: PartitionMeta[]) => boolean, what: string, timeoutMs = 20_000): Promise<PartitionMeta[]> {
    const deadline = Date.now() + timeoutMs;
    let last: PartitionMeta[] | string = "no answer";
    for (;;) {
      for (const id of this.live()) {
        try {
          const m = await this.metadata(topic, id);
          last = m;
          if (ok(m)) return m;
          break;
        } catch (e) {
          last = String(e);
        }
      }
      if (Date.now() > deadline) throw new Error(`cluster: timed out waiting for ${what}; last metadata: ${JSON.stringify(last)}`);
      await Bun.sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.brokers.values()].map((b) => b?.stop()));
    await this.etcd.cleanup();
    for (const dir of this.dirs.values()) removeDir(dir);
  }
}
