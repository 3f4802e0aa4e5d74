// Authorization rules of the cluster, config and security APIs (net/kafka/acl-gate.ts runs them),
// as Kafka 3.8's KafkaApis asks them, and the table of every rule:
//
// | API (key)                          | needs                                              | refused part answers          |
// |------------------------------------|----------------------------------------------------|-------------------------------|
// | DescribeConfigs (32)               | DESCRIBE_CONFIGS on each topic; on the cluster for | TOPIC_/CLUSTER_AUTHORIZATION_ |
// |                                    | a broker or broker logger                          | FAILED per resource           |
// | AlterConfigs (33), Incremental-    | ALTER_CONFIGS, the same way                        | the same                      |
// | AlterConfigs (44)                  |                                                    |                               |
// | DescribeLogDirs (35)               | DESCRIBE on the cluster                            | CLUSTER_AUTHORIZATION_FAILED  |
// | ElectLeaders (43)                  | ALTER on the cluster                               | CLUSTER_AUTHORIZATION_FAILED  |
// | WriteTxnMarkers (27)               | CLUSTER_ACTION on the cluster (broker to broker)   | CLUSTER_AUTHORIZATION_FAILED  |
// |                                    |                                                    | per partition                 |
// | DescribeCluster (60)               | DESCRIBE on the cluster                            | CLUSTER_AUTHORIZATION_FAILED  |
// | DescribeAcls (29)                  | DESCRIBE on the cluster                            | CLUSTER_AUTHORIZATION_FAILED  |
// | CreateAcls (30), DeleteAcls (31)   | ALTER on the cluster                               | CLUSTER_AUTHORIZATION_FAILED  |
// | Describe/AlterUserScramCredentials | DESCRIBE / ALTER on the cluster, checked by their  | CLUSTER_AUTHORIZATION_FAILED  |
// | (50, 51)                           | handlers                                           |                               |
// | ApiVersions, SaslHandshake,        | nothing (the session admits them)                  | —                             |
// | SaslAuthenticate, GetTelemetry-    |                                                    |                               |
// | Subscriptions (18, 17, 36, 71)     |                                                    |                               |
//
// The topic APIs' rules are in acl-rules-data.ts, the groups' and transactions' in
// acl-rules-groups.ts.
import { CLUSTER_NAME } from "../../core/broker/auth.ts";
import { ErrorCode } from "../protocol/errors.ts";
import {
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  type CreateAclsRequest,
  type CreateAclsResponse,
  type DeleteAclsRequest,
  type DeleteAclsResponse,
  type DescribeAclsResponse,
  type DescribeClusterResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
  type DescribeLogDirsResponse,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
  type WriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
  defaultDescribeClusterResponse,
} from "../protocol/messages/index.ts";
import { type Asker, OPEN, partly, type Rule } from "./acl-rule.ts";
import { GROUP_RULES } from "./acl-rules-groups.ts";

const CLUSTER_DENIED: number = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const CLUSTER_MESSAGE = "Cluster authorization failed.";

/** ConfigResource types (Kafka's ConfigResource.Type). */
const CONFIG_TOPIC = 2;
const CONFIG_BROKER = 4;
const CONFIG_BROKER_LOGGER = 8;

type ConfigResource = { resourceType: number; resourceName: string };

/** Whether the requester may `op` the config resource; other resource types are the handler's to answer. */
function configAllowed(a: Asker, op: "DESCRIBE_CONFIGS" | "ALTER_CONFIGS", r: ConfigResource): boolean {
  if (r.resourceType === CONFIG_TOPIC) return a.can(op, "TOPIC", r.resourceName);
  if (r.resourceType === CONFIG_BROKER || r.resourceType === CONFIG_BROKER_LOGGER) return a.can(op, "CLUSTER", CLUSTER_NAME);
  return true;
}

function configRefusal(r: ConfigResource) {
  const topic = r.resourceType === CONFIG_TOPIC;
  return { errorCode: topic ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : CLUSTER_DENIED, errorMessage: topic ? "Topic authorization failed." : CLUSTER_MESSAGE, resourceType: r.resourceType, resourceName: r.resourceName };
}

const describeConfigs: Rule<DescribeConfigsRequest, DescribeConfigsResponse> = (req, a) => {
  const refused = (r: ConfigResource) => ({ ...configRefusal(r), configs: [] });
  return partly<DescribeConfigsRequest, DescribeConfigsResponse, DescribeConfigsRequest["resources"][number]>(
    req.resources,
    (r) => configAllowed(a, "DESCRIBE_CONFIGS", r),
    (resources) => ({ ...req, resources }),
    (rs) => ({ throttleTimeMs: 0, results: rs.map(refused) }),
    (res, rs) => ({ ...res, results: [...res.results, ...rs.map(refused)] }),
  );
};

const alterConfigs: Rule<AlterConfigsRequest, AlterConfigsResponse> = (req, a) =>
  partly<AlterConfigsRequest, AlterConfigsResponse, AlterConfigsRequest["resources"][number]>(
    req.resources,
    (r) => configAllowed(a, "ALTER_CONFIGS", r),
    (resources) => ({ ...req, resources }),
    (rs) => ({ throttleTimeMs: 0, responses: rs.map(configRefusal) }),
    (res, rs) => ({ ...res, responses: [...res.responses, ...rs.map(configRefusal)] }),
  );

const incrementalAlterConfigs: Rule<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = (req, a) =>
  partly<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, IncrementalAlterConfigsRequest["resources"][number]>(
    req.resources,
    (r) => configAllowed(a, "ALTER_CONFIGS", r),
    (resources) => ({ ...req, resources }),
    (rs) => ({ throttleTimeMs: 0, responses: rs.map(configRefusal) }),
    (res, rs) => ({ ...res, responses: [...res.responses, ...rs.map(configRefusal)] }),
  );

/** An API that needs `op` on the cluster, else `refused` answers it whole. */
function onCluster<Req, Res>(op: "DESCRIBE" | "ALTER" | "CLUSTER_ACTION", refused: (req: Req) => Res): Rule<Req, Res> {
  return (req, a) => (a.can(op, "CLUSTER", CLUSTER_NAME) ? null : { answer: refused(req) });
}

const writeTxnMarkers = onCluster<WriteTxnMarkersRequest, WriteTxnMarkersResponse>("CLUSTER_ACTION", (req) => ({
  markers: req.markers.map((m) => ({
    producerId: m.producerId,
    topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: CLUSTER_DENIED })) })),
  })),
}));
const describeLogDirs = onCluster<unknown, DescribeLogDirsResponse>("DESCRIBE", () => ({ throttleTimeMs: 0, errorCode: CLUSTER_DENIED, results: [] }));
const electLeaders = onCluster<ElectLeadersRequest, ElectLeadersResponse>("ALTER", (req) => ({
  throttleTimeMs: 0,
  errorCode: CLUSTER_DENIED,
  replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
    topic: t.topic,
    partitionResult: t.partitions.map((p) => ({ partitionId: p, errorCode: CLUSTER_DENIED, errorMessage: CLUSTER_MESSAGE })),
  })),
}));
const describeCluster = onCluster<unknown, DescribeClusterResponse>("DESCRIBE", () => ({ ...defaultDescribeClusterResponse(), errorCode: CLUSTER_DENIED, errorMessage: CLUSTER_MESSAGE }));
const describeAcls = onCluster<unknown, DescribeAclsResponse>("DESCRIBE", () => ({ throttleTimeMs: 0, errorCode: CLUSTER_DENIED, errorMessage: CLUSTER_MESSAGE, resources: [] }));
const createAcls = onCluster<CreateAclsRequest, CreateAclsResponse>("ALTER", (req) => ({ throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: CLUSTER_MESSAGE })) }));
const deleteAcls = onCluster<DeleteAclsRequest, DeleteAclsResponse>("ALTER", (req) => ({
  throttleTimeMs: 0,
  filterResults: req.filters.map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: CLUSTER_MESSAGE, matchingAcls: [] })),
}));

export const ADMIN_RULES: ReadonlyArray<[number, Rule]> = [
  ...GROUP_RULES,
  [17, OPEN],
  [18, OPEN],
  [36, OPEN],
  [71, OPEN],
  // Their handlers ask DESCRIBE / ALTER on the cluster themselves (net/kafka/handlers/50-*, 51-*).
  [50, OPEN],
  [51, OPEN],
  [29, describeAcls],
  [30, createAcls],
  [31, deleteAcls],
  [32, describeConfigs],
  [33, alterConfigs],
  [27, writeTxnMarkers],
  [35, describeLogDirs],
  [43, electLeaders],
  [44, incrementalAlterConfigs],
  [60, describeCluster],
];
