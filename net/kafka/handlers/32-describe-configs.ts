// DescribeConfigs (key 32), v0-4.
// - Resource type 2 (TOPIC): the topic's effective configs; configuration_keys null = all.
//   Unknown topic → UNKNOWN_TOPIC_OR_PARTITION.
// - Resource type 4 (BROKER): our broker-level settings that clients ask about, read-only.
//   The resource name must be our node id or empty (the default broker config).
// - Any other resource type → INVALID_REQUEST for that resource.
// v0 reports is_default; v1+ config_source (and synonyms when asked); v3+ config_type.
import { effectiveConfigs } from "../../../core/topics/configs.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DescribeConfigs,
  type DescribeConfigsRequest,
  type DescribeConfigsRequestDescribeConfigsResource,
  type DescribeConfigsResponse,
  type DescribeConfigsResponseDescribeConfigsResult,
  defaultDescribeConfigsResponse,
  defaultDescribeConfigsResponseDescribeConfigsResourceResult,
} from "../../protocol/messages/index.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { CONFIG_SOURCE_DEFAULT, describeTopicConfigs, type DescribedConfig } from "../topic-configs.ts";
import { errorMessage, kafkaErrorCode } from "../errors.ts";

const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const CONFIG_SOURCE_STATIC_BROKER = 4;

type Result = DescribeConfigsResponseDescribeConfigsResult;

export const describeConfigsHandler = defineHandler<DescribeConfigsRequest, DescribeConfigsResponse>({
  api: DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  handle(req, ctx) {
    const results = req.resources.map((r) => describeResource(r, req.includeSynonyms, ctx));
    return { ...defaultDescribeConfigsResponse(), throttleTimeMs: 0, results };
  },
});

function describeResource(r: DescribeConfigsRequestDescribeConfigsResource, synonyms: boolean, ctx: RequestContext): Result {
  const base = { errorCode: 0, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] };
  if (r.resourceType === RESOURCE_TOPIC) {
    // Cluster mode: a topic with no replica on this broker is described from the cluster's record.
    const assigned = ctx.broker.cluster === null ? undefined : ctx.broker.topicAssignment(r.resourceName);
    const topic = ctx.broker.topic(r.resourceName) ?? (assigned && { configs: effectiveConfigs({}, { ...assigned.configs }), overrides: { ...assigned.configs } });
    if (!topic) {
      const missing = ctx.broker.missingTopic(r.resourceName);
      return { ...base, errorCode: kafkaErrorCode(missing), errorMessage: errorMessage(missing) };
    }
    return { ...base, configs: describeTopicConfigs(topic, r.configurationKeys).map((c) => entry(c, false, synonyms)) };
  }
  if (r.resourceType === RESOURCE_BROKER) {
    if (r.resourceName !== "" && r.resourceName !== String(ctx.broker.nodeId)) {
      return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown broker ${r.resourceName}` };
    }
    const all = brokerConfigs(ctx);
    const picked = r.configurationKeys === null ? all : all.filter((c) => r.configurationKeys!.includes(c.name));
    return { ...base, configs: picked.map((c) => entry(c, true, synonyms)) };
  }
  return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `resource type ${r.resourceType} is not supported` };
}

function entry(c: DescribedConfig, readOnly: boolean, synonyms: boolean) {
  return {
    ...defaultDescribeConfigsResponseDescribeConfigsResourceResult(),
    name: c.name,
    value: c.value,
    readOnly,
    isDefault: c.source === CONFIG_SOURCE_DEFAULT,
    configSource: c.source,
    isSensitive: false,
    synonyms: synonyms ? [{ name: c.name, value: c.value, source: c.source }] : [],
  };
}

function brokerConfigs(ctx: RequestContext): DescribedConfig[] {
  const o = ctx.broker.config;
  const s = CONFIG_SOURCE_STATIC_BROKER;
  return [
    { name: "broker.id", value: String(ctx.broker.nodeId), source: s },
    { name: "auto.create.topics.enable", value: String(o.autoCreateTopics), source: s },
    { name: "num.partitions", value: String(o.defaultPartitions), source: s },
    { name: "socket.request.max.bytes", value: String(ctx.door.options.requestBytesMax), source: s },
    { name: "log.flush.policy", value: ctx.broker.fsyncPolicy.mode, source: s },
  ];
}
