// The idempotent producer's identity (KIP-98): a producer id from InitProducerId and its epoch.
// Every batch the producer sends carries them, with a sequence number per partition, so the
// broker stores a retried batch once and refuses one that would land out of order (producer.ts,
// "Idempotence"). Kafka clients since 3.0 do this by default; a broker whose ApiVersions lacks
// InitProducerId gets a plain producer instead (`initProducerIdentity` resolves null).
//
// Epochs: when the broker has lost the producer's sequence (OUT_OF_ORDER_SEQUENCE_NUMBER on the
// first unanswered batch of a partition, UNKNOWN_PRODUCER_ID) or a batch failed for good, the
// producer starts a new epoch with sequence 0 everywhere (KIP-360): it sends InitProducerId with
// its current id and epoch (v3+), as librdkafka does, and takes what comes back — the same id with
// the next epoch from a broker that bumps it (ours), a new id with epoch 0 from one that does not
// (Apache Kafka for a producer without a transactional id, and every broker below v3). If the
// broker cannot be asked, the epoch goes up locally, as the Java client's idempotent producer does.
import { ErrorCode } from "../protocol/errors.ts";
import { InitProducerId } from "../protocol/messages/index.ts";
import { backoffMs, type KafkaClient, sleep } from "./client.ts";
import { METADATA_RETRIES_MAX } from "./constants.ts";
import { isRetriableError, kafkaError } from "./errors.ts";

/** Kafka's largest producer epoch (a short, Short.MAX_VALUE). */
export const EPOCH_MAX = 0x7fff;
const SEQUENCE_MAX = 0x7fffffff;

export class ProducerIdentity {
  constructor(
    public producerId: number,
    public epoch: number,
  ) {}

  /** A new epoch, or a new id (see the file comment). Throws only when neither can be had. */
  async bump(client: KafkaClient): Promise<void> {
    let fresh: ProducerIdentity | null = null;
    let failure: unknown = null;
    try {
      fresh = await initProducerIdentity(client, this);
    } catch (err) {
      failure = err;
    }
    if (fresh !== null && (fresh.producerId !== this.producerId || fresh.epoch > this.epoch)) {
      this.producerId = fresh.producerId;
      this.epoch = fresh.epoch;
      return;
    }
    if (this.epoch >= EPOCH_MAX) throw failure instanceof Error ? failure : new Error("no new producer id past the largest epoch");
    this.epoch++;
  }
}

/** `seq + n` in sequence space (0 … 2^31 − 1, wrapping), as the broker counts. */
export function addSequence(seq: number, n: number): number {
  const s = seq + n;
  return s > SEQUENCE_MAX ? s - SEQUENCE_MAX - 1 : s;
}

/**
 * A producer id and epoch (for `current`: its next epoch, or a new id), retrying retriable
 * failures like a metadata request; null when the broker does not support InitProducerId (the
 * producer then works without idempotence).
 */
export async function initProducerIdentity(client: KafkaClient, current?: ProducerIdentity): Promise<ProducerIdentity | null> {
  for (let attempt = 0; ; attempt++) {
    let code: number;
    try {
      const conn = await client.anyConnection();
      if (!conn.supports(InitProducerId)) return null;
      // No transactional id: any broker answers; the timeout is not used (the Java client sends the largest int).
      const res = await conn.request(InitProducerId, {
        transactionalId: null,
        transactionTimeoutMs: 0x7fffffff,
        producerId: BigInt(current?.producerId ?? -1),
        producerEpoch: current?.epoch ?? -1,
      });
      code = res.errorCode;
      if (code === 0) return new ProducerIdentity(Number(res.producerId), res.producerEpoch);
    } catch (err) {
      if (!isRetriableError(err) || attempt >= METADATA_RETRIES_MAX) throw err;
      await sleep(backoffMs(attempt));
      continue;
    }
    const retriable = code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE || code === ErrorCode.REQUEST_TIMED_OUT;
    if (!retriable || attempt >= METADATA_RETRIES_MAX) throw kafkaError(code, "InitProducerId (idempotent producer; --no-idempotence does without)");
    await sleep(backoffMs(attempt));
  }
}
