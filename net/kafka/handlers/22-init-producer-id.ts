// InitProducerId (key 22), v0-5: producer ids for idempotent producers (KIP-98), unique across
// broker restarts (core/broker/producer-ids.ts), epoch bumps for an existing id (v3+, KIP-360). Transactional ids are refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED: there is no transaction coordinator.
// librdkafka enables idempotence only when InitProducerId∋0; Java clients ≥ 3.0 use it by default.
import { ErrorCode } from "../../protocol/errors.ts";
import { InitProducerId, type InitProducerIdRequest, type InitProducerIdResponse, defaultInitProducerIdResponse } from "../../protocol/messages/index.ts";
import { defineHandler } from "../handler.ts";

const EPOCH_MAX = 32767;

export const initProducerIdHandler = defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  api: InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const base = { ...defaultInitProducerIdResponse(), throttleTimeMs: 0 };
    if (req.transactionalId !== null) {
      return { ...base, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
    }
    if (req.producerId >= 0n && req.producerEpoch >= 0 && req.producerEpoch < EPOCH_MAX - 1) {
      return { ...base, errorCode: 0, producerId: req.producerId, producerEpoch: req.producerEpoch + 1 };
    }
    return { ...base, errorCode: 0, producerId: BigInt(await ctx.broker.nextProducerId()), producerEpoch: 0 };
  },
});
