// /v1/topics: list, create, describe, delete, alter configs.
//
//   GET    /v1/topics                 → {"topics":[{name, partitions, records, bytes, segments}],
//                                           "damaged":[{name, file, reason}]}
//   POST   /v1/topics                 {name, partitions?, configs?} → 201 topic
//   GET    /v1/topics/{name}          → topic
//   DELETE /v1/topics/{name}          → {"deleted": name}
//   PATCH  /v1/topics/{name}/configs  {key: value | null (back to default)} → topic
//   POST   /v1/topics/{name}/compact  → a cleaning pass on every partition now (issue #20):
//                                        {"topic","recordsRemoved","bytesRemoved","segmentsRemoved",
//                                         "bytesRead","bytesWritten","ms","partitions":[{"partition",
//                                         "cleaned","reason","recordsBefore","recordsAfter",
//                                         "bytesBefore","bytesAfter","segmentsBefore","segmentsAfter",
//                                         "tombstonesRemoved","abortedRemoved","markersRemoved",
//                                         "firstDirtyOffset"}]}; 400 INVALID_CONFIG when the
//                                        topic's cleanup.policy has no compact
//
// Access (the same ACLs as the Kafka door): listing shows the topics the caller may DESCRIBE; GET
// needs DESCRIBE and shows configs/overrides/noEffect only with DESCRIBE_CONFIGS (empty otherwise);
// POST needs CREATE on the cluster or the topic; DELETE needs DELETE; PATCH needs ALTER_CONFIGS.
//
// A topic reads {"name","topicId","partitions":[{"partition","start","end","bytes","segments"}],
// "configs":{…effective},"overrides":{…set on the topic},"noEffect":[…],"durability":"…"}. `end` is
// the high watermark: what a consumer can read. `configs` holds the effective value of every config
// this broker acts on and of every config set on the topic (Kafka's DescribeConfigs lists all of
// the 34 Kafka 3.8 documents); `noEffect` names the ones the topic sets that are valid in Kafka but
// that this broker does not act on (core/topics/configs.ts says which). Concurrent creates of one name: the store lets exactly one
// win; the others get 409 TOPIC_EXISTS.
//
// A topic kept unopened because its topic.json is damaged (core/topics/topic-store.ts) is listed
// under "damaged", not "topics"; every route naming it answers 507 STORAGE except DELETE, which
// removes it (the operator's way out), and POST of its name, 409 TOPIC_EXISTS.
import { formatFsyncPolicy, type FsyncPolicy } from "../../core/log/durability.ts";
import { configStrings, isAppliedConfig } from "../../core/topics/configs.ts";
import { topicNameProblem } from "../../core/topics/names.ts";
import type { Topic } from "../../core/topics/topic-store.ts";
import type { Broker } from "../../core/broker/broker.ts";
import { configMap, readJsonObject } from "./body.ts";
import { badRequest } from "./errors.ts";
import { JSON_BODY_BYTES_MAX } from "./limits.ts";
import type { Route, RouteContext } from "./router.ts";
import { CLUSTER, type Resource } from "../../core/broker/auth.ts";

export const topicResource = (name: string): Resource => ({ type: "TOPIC", name });
/** What a route on the topic named in its path needs: `operation` on that topic. */
export const onPathTopic =
  (operation: "DESCRIBE" | "READ" | "WRITE" | "DELETE" | "ALTER" | "ALTER_CONFIGS") =>
  (ctx: RouteContext) =>
    [[operation, topicResource(ctx.params.name!)]] as const;

export interface PartitionView {
  partition: number;
  start: number;
  end: number;
  bytes: number;
  segments: number;
}

export function partitionViews(topic: Topic): PartitionView[] {
  return topic.partitions.map((log, partition) => ({
    partition,
    start: log.startOffset,
    end: log.highWatermark,
    bytes: log.sizeBytes,
    segments: log.segmentCount,
  }));
}

/** What an acknowledged write means under the broker's fsync policy, in words. */
export function durabilityText(policy: FsyncPolicy): string {
  switch (policy.mode) {
    case "always":
      return "fsync=always: a write is acknowledged only after the fdatasync that covers it (group commit); acknowledged records survive a crash or power loss";
    case "interval":
      return `fsync=interval=${policy.ms}: a write is acknowledged once it is in the OS page cache and synced every ${policy.ms} ms; it survives a broker crash, but a power loss or OS crash can lose up to the last ${policy.ms} ms of acknowledged records`;
    case "never":
      return "fsync=never: a write is acknowledged once it is in the OS page cache and the OS decides when it reaches disk; it survives a broker crash, but a power loss or OS crash can lose acknowledged records";
  }
}

export function topicView(topic: Topic, broker: Broker) {
  // Cluster mode: each partition's leader, replicas and ISR, and what acks=all means there.
  const assignment = broker.cluster === null ? undefined : broker.topicAssignment(topic.name);
  const partitions = partitionViews(topic).map((p) => {
    const s = assignment?.partitions[p.partition];
    return s === undefined ? p : { ...p, leader: s.leader, leaderEpoch: s.leaderEpoch, replicas: s.replicas, isr: s.isr };
  });
  const replicated =
    assignment === undefined
      ? ""
      : `; acks=all is answered once every in-sync replica has the batch on disk (each replica fsyncs before it reports its end), and needs min.insync.replicas=${topic.configs["min.insync.replicas"]} of them; acks=1 once the leader has`;
  return {
    name: topic.name,
    topicId: topic.topicIdString,
    partitions,
    configs: shownConfigs(topic),
    overrides: topic.overrides,
    noEffect: Object.keys(topic.overrides).filter((key) => !isAppliedConfig(key)).sort(),
    durability: durabilityText(broker.fsyncPolicy) + replicated,
    fsync: formatFsyncPolicy(broker.fsyncPolicy),
  };
}

/** Effective values of the configs the broker acts on and of those the topic sets (CONFIG_KEYS order). */
function shownConfigs(topic: Topic): Record<string, string> {
  const all = configStrings(topic.configs);
  const shown: Record<string, string> = {};
  for (const key of Object.keys(all)) if (isAppliedConfig(key) || Object.hasOwn(topic.overrides, key)) shown[key] = all[key]!;
  return shown;
}

/** The topic named in the path: 400 for an illegal name, 404 for an unknown one, 507 for a damaged one. */
export function pathTopic(ctx: RouteContext): Topic {
  return ctx.broker.requireTopic(pathTopicName(ctx));
}

function pathTopicName(ctx: RouteContext): string {
  const name = ctx.params.name!;
  const problem = topicNameProblem(name);
  if (problem !== null) throw badRequest(problem, "INVALID_TOPIC");
  return name;
}

function listTopics(ctx: RouteContext): Response {
  // Only the topics the caller may describe, as Kafka's Metadata answers.
  const topics = ctx.broker
    .topics()
    .filter((t) => ctx.authorize("DESCRIBE", topicResource(t.name)))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => {
      const parts = partitionViews(t);
      return {
        name: t.name,
        partitions: parts.length,
        records: parts.reduce((n, p) => n + (p.end - p.start), 0),
        bytes: parts.reduce((n, p) => n + p.bytes, 0),
        segments: parts.reduce((n, p) => n + p.segments, 0),
      };
    });
  const damaged = ctx.broker
    .damagedTopics()
    .filter((d) => ctx.authorize("DESCRIBE", topicResource(d.topic)))
    .sort((a, b) => a.topic.localeCompare(b.topic))
    .map((d) => ({ name: d.topic, file: d.file, reason: d.reason }));
  return Response.json({ topics, damaged });
}

async function createTopic(ctx: RouteContext): Promise<Response> {
  const body = await readJsonObject(ctx.req, JSON_BODY_BYTES_MAX, ["name", "partitions", "configs"]);
  if (typeof body.name !== "string") throw badRequest("name must be a string", "INVALID_TOPIC");
  // CREATE on the cluster or on the topic, as Kafka's CreateTopics.
  if (!ctx.authorize("CREATE", CLUSTER)) ctx.require("CREATE", topicResource(body.name));
  let partitions: number | null = null;
  if (body.partitions !== undefined) {
    if (typeof body.partitions !== "number" || !Number.isSafeInteger(body.partitions)) {
      throw badRequest(`partitions must be an integer, got ${JSON.stringify(body.partitions)}`, "INVALID_PARTITIONS");
    }
    partitions = body.partitions;
  }
  const configs = body.configs === undefined ? {} : (configMap(body.configs, "configs", false) as Record<string, string>);
  const topic = (await ctx.broker.createTopic(body.name, partitions, configs, { via: "http" }))!;
  return Response.json(viewFor(ctx, topic), { status: 201 });
}

/** The topic as this caller may see it: its configs only with DESCRIBE_CONFIGS, as Kafka's DescribeConfigs and CreateTopics answer. */
function viewFor(ctx: RouteContext, topic: Topic) {
  const view = topicView(topic, ctx.broker);
  if (ctx.authorize("DESCRIBE_CONFIGS", topicResource(topic.name))) return view;
  return { ...view, configs: {}, overrides: {}, noEffect: [] };
}

function describeTopic(ctx: RouteContext): Response {
  return Response.json(viewFor(ctx, pathTopic(ctx)));
}

async function deleteTopic(ctx: RouteContext): Promise<Response> {
  // By name, not through pathTopic: a damaged topic can be deleted too.
  const name = pathTopicName(ctx);
  await ctx.broker.deleteTopic(name, "http");
  return Response.json({ deleted: name });
}

async function alterConfigs(ctx: RouteContext): Promise<Response> {
  const topic = pathTopic(ctx);
  // Every key is a config name: unknown ones are INVALID_CONFIG from the store, before any applies.
  const body = await readJsonObject(ctx.req, JSON_BODY_BYTES_MAX, null);
  const changes = configMap(body, "configs", true);
  const altered = await ctx.broker.alterConfigs(topic.name, changes);
  return Response.json(viewFor(ctx, altered));
}

async function compactTopic(ctx: RouteContext): Promise<Response> {
  const topic = pathTopic(ctx);
  const r = await ctx.broker.compactTopic(topic.name);
  return Response.json({
    topic: r.topic,
    recordsRemoved: r.recordsRemoved,
    bytesRemoved: r.bytesRemoved,
    segmentsRemoved: r.segmentsRemoved,
    bytesRead: r.bytesRead,
    bytesWritten: r.bytesWritten,
    ms: r.ms,
    partitions: r.partitions.map((p) => ({
      partition: p.partition,
      cleaned: p.cleaned,
      reason: p.reason,
      recordsBefore: p.recordsBefore,
      recordsAfter: p.recordsAfter,
      bytesBefore: p.bytesBefore,
      bytesAfter: p.bytesAfter,
      segmentsBefore: p.segmentsBefore,
      segmentsAfter: p.segmentsAfter,
      tombstonesRemoved: p.tombstonesRemoved,
      abortedRemoved: p.abortedRemoved,
      markersRemoved: p.markersRemoved,
      firstDirtyOffset: p.firstDirtyOffset,
    })),
  });
}

export const topicRoutes: Route[] = [
  { method: "GET", path: "/v1/topics", access: "handler", handle: listTopics },
  { method: "POST", path: "/v1/topics", access: "handler", handle: createTopic },
  { method: "GET", path: "/v1/topics/:name", access: onPathTopic("DESCRIBE"), handle: describeTopic },
  { method: "DELETE", path: "/v1/topics/:name", access: onPathTopic("DELETE"), handle: deleteTopic },
  { method: "PATCH", path: "/v1/topics/:name/configs", access: onPathTopic("ALTER_CONFIGS"), handle: alterConfigs },
  { method: "POST", path: "/v1/topics/:name/compact", access: onPathTopic("ALTER"), handle: compactTopic },
];
