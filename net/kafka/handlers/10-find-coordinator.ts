// FindCoordinator (key 10), v0-5. key_type 0: a consumer group's coordinator (one broker: itself;
// a cluster: the leader of the group's __consumer_offsets partition). key_type 1: a transactional
// id's coordinator (one broker: itself; a cluster: the leader of the id's __transaction_state
// partition, net/cluster/transactions.ts). While there is none yet (the internal topic is being
// created on first use, or its partition elects a leader) → COORDINATOR_NOT_AVAILABLE (15), which
// clients retry. Another key_type → INVALID_REQUEST (42). v4+ batch several keys.
// librdkafka turns on group support and lz4 only when FindCoordinator∋0, so v0 must stay in.
import { ErrorCode } from "../../protocol/errors.ts";
import {
  FindCoordinator,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  defaultFindCoordinatorResponse,
} from "../../protocol/messages/index.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { advertisedHost } from "./03-metadata.ts";

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

export const findCoordinatorHandler = defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  api: FindCoordinator,
  minVersion: 0,
  maxVersion: 5,
  handle(req, ctx) {
    const keys = ctx.apiVersion >= 4 ? req.coordinatorKeys : [req.key];
    const coordinators = keys.map((key) => coordinatorFor(key, req.keyType, ctx));
    // v4+ carry their answers in `coordinators` only; a request with no keys gets none.
    const first = coordinators[0] ?? { nodeId: -1, host: "", port: -1, errorCode: 0, errorMessage: null };
    return {
      ...defaultFindCoordinatorResponse(),
      throttleTimeMs: 0,
      errorCode: first.errorCode,
      errorMessage: first.errorMessage,
      nodeId: first.nodeId,
      host: first.host,
      port: first.port,
      coordinators,
    };
  },
});

function coordinatorFor(key: string, keyType: number, ctx: RequestContext) {
  if (keyType !== KEY_TYPE_GROUP && keyType !== KEY_TYPE_TRANSACTION) {
    return { key, nodeId: -1, host: "", port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown key_type ${keyType}` };
  }
  const self = { host: advertisedHost(ctx), port: ctx.door.advertised.port };
  const at = keyType === KEY_TYPE_GROUP ? ctx.broker.groupCoordinator(key, self) : ctx.broker.transactionCoordinator(key, self);
  if (at === null) {
    const what = keyType === KEY_TYPE_GROUP ? "the group's" : "the transactional id's";
    return { key, nodeId: -1, host: "", port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: `${what} coordinator is being elected` };
  }
  const here = at.id === ctx.broker.nodeId;
  return { key, nodeId: at.id, host: here ? self.host : at.host, port: here ? self.port : at.port, errorCode: 0, errorMessage: null };
}
