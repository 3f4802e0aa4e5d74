// ElectLeaders (key 43), v0-2 (KIP-183, KIP-460: v1 election_type and a top-level error_code; v2
// flexible). In single-node mode this broker is every partition's preferred replica and leads it,
// so no election is ever needed (core/broker/leadership.ts). As Kafka's controller answers:
// - named partitions → ELECTION_NOT_NEEDED (84) each, or UNKNOWN_TOPIC_OR_PARTITION (3);
// - topic_partitions null (every partition) → no results: only partitions whose election did
//   something are reported;
// - an election_type other than 0 (preferred) and 1 (unclean) → INVALID_REQUEST (42) for the whole
//   request and each partition named (Kafka's ElectLeadersRequest.getErrorResponse).
import { ErrorCode, errorByCode } from "../../protocol/errors.ts";
import {
  ElectLeaders,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
  defaultElectLeadersResponse,
} from "../../protocol/messages/index.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";
import { defineHandler } from "../handler.ts";

const ELECTION_TYPES = ["preferred", "unclean"] as const;

export const electLeadersHandler = defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  api: ElectLeaders,
  minVersion: 0,
  maxVersion: 2,
  handle(req, ctx) {
    const type = ctx.apiVersion >= 1 ? ELECTION_TYPES[req.electionType] : "preferred";
    if (type === undefined) {
      const message = `unknown election type ${req.electionType}`;
      return {
        ...defaultElectLeadersResponse(),
        throttleTimeMs: 0,
        errorCode: ErrorCode.INVALID_REQUEST,
        replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
          topic: t.topic,
          partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: message })),
        })),
      };
    }
    const outcomes = ctx.broker.electLeaders(req.topicPartitions?.map((t) => ({ topic: t.topic, partitions: t.partitions })) ?? null, type);
    const byTopic = new Map<string, ElectLeadersResponse["replicaElectionResults"][number]>();
    for (const o of outcomes) {
      let entry = byTopic.get(o.topic);
      if (!entry) byTopic.set(o.topic, (entry = { topic: o.topic, partitionResult: [] }));
      const errorCode = o.outcome === "not-needed" ? ErrorCode.ELECTION_NOT_NEEDED : kafkaErrorCode(o.outcome);
      const message = o.outcome === "not-needed" ? errorByCode(ErrorCode.ELECTION_NOT_NEEDED)!.message : errorMessage(o.outcome);
      entry.partitionResult.push({ partitionId: o.partition, errorCode, errorMessage: message });
    }
    return { ...defaultElectLeadersResponse(), throttleTimeMs: 0, errorCode: 0, replicaElectionResults: [...byTopic.values()] };
  },
});
