// The transactional producer's conversation with its transaction coordinator (KIP-98), for
// producer.ts: FindCoordinator (key_type 1), InitProducerId with the transactional id,
// AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit (to the group's coordinator) and EndTxn,
// each retried while the answer says "later" (coordinator moving or loading, a transaction still
// being ended: CONCURRENT_TRANSACTIONS) or the connection failed, up to RETRIES_MAX.
//
// Errors a transaction cannot survive are ProducerFencedError: another producer with the same
// transactional id (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH, INVALID_PRODUCER_ID_MAPPING after a
// fencing abort) — the producer is done, its caller starts over with a new one, which aborts what
// this one left open. Anything else throws a KafkaClientError; the producer then aborts.
import { ErrorCode } from "../protocol/errors.ts";
import {
  AddOffsetsToTxn,
  AddPartitionsToTxn,
  EndTxn,
  FindCoordinator,
  InitProducerId,
  TxnOffsetCommit,
  defaultAddPartitionsToTxnRequest,
} from "../protocol/messages/index.ts";
import { backoffMs, type KafkaClient, sleep } from "./client.ts";
import type { Connection } from "./connection.ts";
import { RETRIES_MAX } from "./constants.ts";
import { isRetriableError, KafkaClientError, kafkaError } from "./errors.ts";

/** Another producer took over the transactional id (or the coordinator aborted this one's transaction and fenced it). */
export class ProducerFencedError extends KafkaClientError {
  override name = "ProducerFencedError";
}

const FENCED = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
const COORDINATOR_MOVED = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
/** Answers that mean "ask again shortly". */
const LATER = new Set<number>([...COORDINATOR_MOVED, ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);

export interface TxnOffsets {
  groupId: string;
  /** topic → partition → the next offset to read (what a consumer commits). */
  offsets: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** The group member's generation and id (KIP-447 fencing of zombie consumers); -1/"" without. */
  generationId?: number;
  memberId?: string;
}

export class TxnCoordinatorLink {
  private coordinator: Connection | null = null;
  private readonly groupCoordinators = new Map<string, Connection>();

  constructor(
    private readonly client: KafkaClient,
    readonly transactionalId: string,
    readonly timeoutMs: number,
  ) {}

  /** InitProducerId: the id's producer id and a new epoch (`current`: a bump by the current producer). */
  async initProducerId(current: { producerId: number; epoch: number } | null): Promise<{ producerId: number; epoch: number }> {
    return this.withCoordinator("init the transactional producer", async (conn) => {
      const res = await conn.request(InitProducerId, {
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.timeoutMs,
        producerId: BigInt(current?.producerId ?? -1),
        producerEpoch: current?.epoch ?? -1,
      });
      return { code: res.errorCode, value: { producerId: Number(res.producerId), epoch: res.producerEpoch } };
    });
  }

  async addPartitions(producerId: number, epoch: number, partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<void> {
    const topics = new Map<string, number[]>();
    for (const p of partitions) topics.set(p.topic, [...(topics.get(p.topic) ?? []), p.partition]);
    await this.withCoordinator(`add ${partitions.length} partition(s) to the transaction`, async (conn) => {
      const res = await conn.request(AddPartitionsToTxn, {
        ...defaultAddPartitionsToTxnRequest(),
        v3AndBelowTransactionalId: this.transactionalId,
        v3AndBelowProducerId: BigInt(producerId),
        v3AndBelowProducerEpoch: epoch,
        v3AndBelowTopics: [...topics].map(([name, ps]) => ({ name, partitions: ps })),
      });
      // The first real error (OPERATION_NOT_ATTEMPTED only says another partition failed).
      let code = 0;
      let where = "";
      for (const t of res.resultsByTopicV3AndBelow) {
        for (const r of t.resultsByPartition) {
          if (r.partitionErrorCode !== 0 && r.partitionErrorCode !== ErrorCode.OPERATION_NOT_ATTEMPTED && code === 0) {
            code = r.partitionErrorCode;
            where = `${t.name}/${r.partitionIndex}`;
          }
        }
      }
      return { code, value: undefined, message: where === "" ? null : where };
    });
  }

  /** AddOffsetsToTxn, then TxnOffsetCommit to the group's coordinator. */
  async sendOffsets(producerId: number, epoch: number, o: TxnOffsets): Promise<void> {
    await this.withCoordinator(`add the offsets of group ${o.groupId} to the transaction`, async (conn) => {
      const res = await conn.request(AddOffsetsToTxn, { transactionalId: this.transactionalId, producerId: BigInt(producerId), producerEpoch: epoch, groupId: o.groupId });
      return { code: res.errorCode, value: undefined };
    });
    const topics = [...o.offsets].map(([name, ps]) => ({
      name,
      partitions: [...ps].map(([partitionIndex, offset]) => ({ partitionIndex, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null })),
    }));
    await this.retrying(
      `commit offsets of group ${o.groupId} in the transaction`,
      () => this.groupCoordinator(o.groupId),
      () => this.dropGroupCoordinator(o.groupId),
      async (conn) => {
        const res = await conn.request(TxnOffsetCommit, {
          transactionalId: this.transactionalId,
          groupId: o.groupId,
          producerId: BigInt(producerId),
          producerEpoch: epoch,
          generationId: o.generationId ?? -1,
          memberId: o.memberId ?? "",
          groupInstanceId: null,
          topics,
        });
        let code = 0;
        for (const t of res.topics) for (const p of t.partitions) if (p.errorCode !== 0 && code === 0) code = p.errorCode;
        return { code, value: undefined };
      },
    );
  }

  async endTxn(producerId: number, epoch: number, commit: boolean): Promise<void> {
    await this.withCoordinator(commit ? "commit the transaction" : "abort the transaction", async (conn) => {
      const res = await conn.request(EndTxn, { transactionalId: this.transactionalId, producerId: BigInt(producerId), producerEpoch: epoch, committed: commit });
      return { code: res.errorCode, value: undefined };
    });
  }

  close(): void {
    if (this.coordinator !== null) this.client.releaseConnection(this.coordinator);
    this.coordinator = null;
    for (const g of [...this.groupCoordinators.keys()]) this.dropGroupCoordinator(g);
  }

  private withCoordinator<T>(what: string, fn: (conn: Connection) => Promise<{ code: number; value: T; message?: string | null }>): Promise<T> {
    return this.retrying(
      `${what} (transactional id ${this.transactionalId})`,
      async () => (this.coordinator?.isOpen ? this.coordinator : (this.coordinator = await this.find(1, this.transactionalId))),
      () => {
        if (this.coordinator !== null) this.client.releaseConnection(this.coordinator);
        this.coordinator = null;
      },
      fn,
    );
  }

  private async groupCoordinator(groupId: string): Promise<Connection> {
    const have = this.groupCoordinators.get(groupId);
    if (have?.isOpen) return have;
    const conn = await this.find(0, groupId);
    this.groupCoordinators.set(groupId, conn);
    return conn;
  }

  private dropGroupCoordinator(groupId: string): void {
    const conn = this.groupCoordinators.get(groupId);
    if (conn !== undefined) this.client.releaseConnection(conn);
    this.groupCoordinators.delete(groupId);
  }

  /** FindCoordinator for a transactional id (1) or a group (0): a connection of our own to it. */
  private async find(keyType: number, key: string): Promise<Connection> {
    const conn = await this.client.anyConnection();
    const v = conn.version(FindCoordinator);
    const res = await conn.request(FindCoordinator, { key, keyType, coordinatorKeys: [key] }, v);
    const c = v >= 4 ? res.coordinators[0] : { errorCode: res.errorCode, host: res.host, port: res.port, errorMessage: res.errorMessage };
    const code = c?.errorCode ?? ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (code !== 0 || c === undefined) throw kafkaError(code, `find the coordinator of ${keyType === 1 ? "transactional id" : "group"} ${key}`, c?.errorMessage);
    return this.client.ownConnection({ host: c.host, port: c.port });
  }

  private async retrying<T>(
    what: string,
    connect: () => Promise<Connection>,
    drop: () => void,
    fn: (conn: Connection) => Promise<{ code: number; value: T; message?: string | null }>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let code: number;
      let message: string | null | undefined;
      try {
        const r = await fn(await connect());
        if (r.code === 0) return r.value;
        code = r.code;
        message = r.message;
      } catch (err) {
        const retriable = isRetriableError(err) || (err instanceof KafkaClientError && LATER.has(err.code));
        if (!retriable || attempt >= RETRIES_MAX) throw err;
        this.client.reportRetry(what, err, attempt);
        drop();
        await sleep(backoffMs(attempt));
        continue;
      }
      if (FENCED.has(code)) throw new ProducerFencedError(code, kafkaError(code, what, message ?? "another producer with this transactional id took over").message);
      if (!LATER.has(code) || attempt >= RETRIES_MAX) throw kafkaError(code, what, message);
      if (COORDINATOR_MOVED.has(code)) drop();
      await sleep(backoffMs(attempt));
    }
  }
}
