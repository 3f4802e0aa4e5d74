// DescribeCluster (key 60), v0-1 (KIP-700; flexible from v0). This broker, as the cluster's only
// broker and its controller, as Kafka's AuthHelper.computeDescribeClusterResponse answers:
// - include_cluster_authorized_operations → the principal's allowed cluster operations as a bit
//   field (of CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER,
//   DESCRIBE: every one without authorization or for a super user); not asked → INT32_MIN.
// - v1: endpoint_type (KIP-919). This is a broker endpoint (1): asking for controllers (2) gets
//   MISMATCHED_ENDPOINT_TYPE (114), an unknown type UNSUPPORTED_ENDPOINT_TYPE (115); in v0, where
//   the field cannot be sent, either would be INVALID_REQUEST.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeCluster, type DescribeClusterRequest, type DescribeClusterResponse, defaultDescribeClusterResponse } from "../../protocol/messages/index.ts";
import { allowedBits, OPERATIONS_NOT_REQUESTED } from "../acl-operations.ts";
import { CLUSTER } from "../../../core/broker/auth.ts";
import { defineHandler } from "../handler.ts";
import { advertisedHost } from "./03-metadata.ts";

const ENDPOINT_BROKER = 1;
const ENDPOINT_CONTROLLER = 2;

export const describeClusterHandler = defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  api: DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    const base = { ...defaultDescribeClusterResponse(), throttleTimeMs: 0 };
    if (req.endpointType !== ENDPOINT_BROKER) {
      const known = req.endpointType === ENDPOINT_CONTROLLER;
      const errorCode = ctx.apiVersion === 0 ? ErrorCode.INVALID_REQUEST : known ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE;
      const errorMessage = known ? "this is a broker endpoint; controllers are not served here" : `unsupported endpoint type ${req.endpointType}`;
      return { ...base, errorCode, errorMessage };
    }
    const { broker } = ctx;
    return {
      ...base,
      errorCode: 0,
      errorMessage: null,
      endpointType: ENDPOINT_BROKER,
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      brokers: [{ brokerId: broker.nodeId, host: advertisedHost(ctx), port: ctx.door.advertised.port, rack: null }],
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? allowedBits(ctx, CLUSTER) : OPERATIONS_NOT_REQUESTED,
    };
  },
});
