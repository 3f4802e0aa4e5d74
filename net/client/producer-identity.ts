// The idempotent producer's identity (KIP-98): a producer id from InitProducerId and its epoch.
// Every batch the producer sends carries them, with a sequence number per partition, so the
// broker stores a retried batch once and refuses one that would land out of order (producer.ts,
// "Idempotence"). Kafka clients since 3.0 do this by default; a broker whose ApiVersions lacks
// InitProducerId gets a plain producer instead (`initProducerIdentity` resolves null).
//
// Epochs: when the broker has lost the producer's sequence (OUT_OF_ORDER_SEQUENCE_NUMBER on the
// first unanswered batch of a partition, UNKNOWN_PRODUCER_ID) or a batch failed for good, the
// producer starts a new epoch with sequence 0 everywhere, as the Java client's idempotent producer
// does (KIP-360): locally, without a round trip; past the largest epoch it asks for a new id.
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

  /** The next epoch (KIP-360); past EPOCH_MAX a new producer id from the broker. */
  async bump(client: KafkaClient): Promise<void> {
    if (this.epoch < EPOCH_MAX) {
      this.epoch++;
      return;
    }
    const fresh = await initProducerIdentity(client);
    if (fresh === null) throw new Error("the broker no longer supports InitProducerId");
    this.producerId = fresh.producerId;
    this.epoch = fresh.epoch;
  }
}

/** `seq + n` in sequence space (0 … 2^31 − 1, wrapping), as the broker counts. */
export function addSequence(seq: number, n: number): number {
  const s = seq + n;
  return s > SEQUENCE_MAX ? s - SEQUENCE_MAX - 1 : s;
}

/**
 * A new producer id and epoch, retrying retriable failures like a metadata request; null when the
 * broker does not support InitProducerId (the producer then works without idempotence).
 */
export async function initProducerIdentity(client: KafkaClient): Promise<ProducerIdentity | null> {
  for (let attempt = 0; ; attempt++) {
    let code: number;
    try {
      const conn = await client.anyConnection();
      if (!conn.supports(InitProducerId)) return null;
      // No transactional id: any broker answers; the timeout is not used (the Java client sends the largest int).
      const res = await conn.request(InitProducerId, { transactionalId: null, transactionTimeoutMs: 0x7fffffff, producerId: -1n, producerEpoch: -1 });
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
