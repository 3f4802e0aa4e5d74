// /v1/groups: consumer groups with their lag.
//
//   GET    /v1/groups               → {"groups":[{group, state, protocolType, members, lag}]}
//   GET    /v1/groups/{id}          → {"group","state","members":[…],"offsets":[{"topic","partitions":[{"partition","committed","end","lag"}]}],"lag",…}
//   DELETE /v1/groups/{id}          → {"deleted": id}            (409 NON_EMPTY_GROUP while it has members)
//   POST   /v1/groups/{id}/offsets  reset committed offsets; body, exactly one of:
//     {"topics":[{"topic","partitions"?:[…]}] | "topic": name, "to": "earliest"|"latest"|{"offset":N}|{"timestamp":MS}, "execute"?: bool}
//     {"offsets":[{"topic","partition","offset"}], "execute"?: bool}     (what --undo sends back)
//   → {"group","execute","offsets":[{"topic","partition","previous","offset"}]}; without
//     "execute": true nothing is written (a dry run). Like Kafka, only a group without members
//     can be reset (409 NON_EMPTY_GROUP).
//
// Lag of a partition = end (high watermark) − committed, computed by the coordinator
// (core/groups/describe.ts); a partition assigned but never committed has committed/lag null.
import type { Broker } from "../../core/broker/broker.ts";
import { readJsonObject } from "./body.ts";
import { badRequest, HttpError, notFound } from "./errors.ts";
import { JSON_BODY_BYTES_MAX } from "./limits.ts";
import type { Route, RouteContext } from "./router.ts";
import type { Resource } from "../../core/broker/auth.ts";

const groupResource = (id: string): Resource => ({ type: "GROUP", name: id });
const onPathGroup = (operation: "DESCRIBE" | "DELETE" | "READ") => (ctx: RouteContext) => [[operation, groupResource(ctx.params.id!)]] as const;
const topicResource = (name: string): Resource => ({ type: "TOPIC", name });

type GroupErrorName = string;
type Outcome = { error: GroupErrorName | null; message: string };

/** What the control plane uses of core/groups' GroupCoordinator (broker.groups), structurally. */
export interface GroupSource {
  listGroups(): Array<{ groupId: string; protocolType: string; state: string }>;
  describeGroup(id: string): GroupDescription | null;
  deleteGroup(id: string): Promise<Outcome>;
  resetOffsets(id: string, topic: string, offsets: Array<{ partition: number; offset: number }>): Promise<Outcome>;
}

export interface PartitionLag {
  partition: number;
  /** null: assigned to a member, nothing committed yet. */
  committed: number | null;
  end: number;
  lag: number | null;
}

export interface GroupDescription {
  group: string;
  state: string;
  protocolType: string;
  protocol: string;
  generationId: number;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; assignment: Array<{ topic: string; partitions: number[] }> }>;
  offsets: Array<{ topic: string; partitions: PartitionLag[] }>;
}

/** A group as the control plane answers it: the coordinator's description and the total lag. */
export interface GroupView extends GroupDescription {
  lag: number;
}

/** The broker's group coordinator (broker.groups), seen through GroupSource. */
export function coordinatorOf(broker: Broker): GroupSource | undefined {
  const groups: GroupSource | undefined = broker.groups;
  return groups;
}

export function groupView(d: GroupDescription): GroupView {
  const lag = d.offsets.reduce((n, t) => n + t.partitions.reduce((m, p) => m + (p.lag ?? 0), 0), 0);
  return { ...d, lag };
}

const STATUS_BY_GROUP_ERROR: Record<string, number> = {
  GROUP_ID_NOT_FOUND: 404,
  NON_EMPTY_GROUP: 409,
  INVALID_GROUP_ID: 400,
  INVALID_COMMIT_OFFSET_SIZE: 400,
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  NOT_COORDINATOR: 503,
  COORDINATOR_NOT_AVAILABLE: 503,
  KAFKA_STORAGE_ERROR: 507,
};

function check(outcome: Outcome): void {
  if (outcome.error === null) return;
  throw new HttpError(STATUS_BY_GROUP_ERROR[outcome.error] ?? 400, outcome.error, outcome.message || outcome.error);
}

function source(ctx: RouteContext): GroupSource {
  const s = coordinatorOf(ctx.broker);
  if (!s) throw new HttpError(503, "COORDINATOR_NOT_AVAILABLE", "this broker has no group coordinator");
  return s;
}

function describeOr404(ctx: RouteContext): GroupDescription {
  const id = ctx.params.id!;
  const d = coordinatorOf(ctx.broker)?.describeGroup(id);
  if (!d) throw notFound(`group '${id}' does not exist`, "GROUP_ID_NOT_FOUND");
  return d;
}

function listGroups(ctx: RouteContext): Response {
  const s = coordinatorOf(ctx.broker);
  const groups = (s?.listGroups() ?? [])
    .filter((g) => ctx.authorize("DESCRIBE", groupResource(g.groupId)))
    .sort((a, b) => a.groupId.localeCompare(b.groupId))
    .map((g) => {
      const d = s!.describeGroup(g.groupId);
      return { group: g.groupId, state: g.state, protocolType: g.protocolType, members: d?.members.length ?? 0, lag: d ? groupView(d).lag : 0 };
    });
  return Response.json({ groups });
}

function describeGroup(ctx: RouteContext): Response {
  // Offsets only of the topics the caller may describe, as Kafka's OffsetFetch.
  const d = describeOr404(ctx);
  return Response.json(groupView({ ...d, offsets: d.offsets.filter((t) => ctx.authorize("DESCRIBE", topicResource(t.topic))) }));
}

async function deleteGroup(ctx: RouteContext): Promise<Response> {
  const id = ctx.params.id!;
  check(await source(ctx).deleteGroup(id));
  ctx.broker.log.info(`deleted group ${id} (http)`);
  return Response.json({ deleted: id });
}

type Target = { kind: "earliest" } | { kind: "latest" } | { kind: "offset"; offset: number } | { kind: "timestamp"; timestamp: number };

function parseTarget(to: unknown): Target {
  if (to === "earliest" || to === "latest") return { kind: to };
  if (typeof to === "object" && to !== null && !Array.isArray(to)) {
    const o = to as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o.offset === "number" && Number.isSafeInteger(o.offset) && o.offset >= 0) return { kind: "offset", offset: o.offset };
    if (keys.length === 1 && typeof o.timestamp === "number" && Number.isSafeInteger(o.timestamp)) return { kind: "timestamp", timestamp: o.timestamp };
  }
  throw badRequest(`to must be "earliest", "latest", {"offset": N} or {"timestamp": MS}, got ${JSON.stringify(to)}`);
}

interface Selection {
  topic: string;
  partitions: number[];
}

function parseSelection(ctx: RouteContext, body: Record<string, unknown>, d: GroupDescription | null): Selection[] {
  let wanted: Array<{ topic: string; partitions?: number[] }>;
  if (typeof body.topic === "string") wanted = [{ topic: body.topic }];
  else if (Array.isArray(body.topics)) {
    wanted = body.topics.map((t, i) => {
      if (typeof t === "string") return { topic: t };
      if (typeof t !== "object" || t === null || typeof (t as { topic?: unknown }).topic !== "string") throw badRequest(`topics[${i}] must be a name or {"topic","partitions"}`);
      const parts = (t as { partitions?: unknown }).partitions;
      if (parts !== undefined && (!Array.isArray(parts) || parts.some((p) => !Number.isSafeInteger(p) || p < 0))) throw badRequest(`topics[${i}].partitions must be a list of partition numbers`);
      return { topic: (t as { topic: string }).topic, partitions: parts as number[] | undefined };
    });
  } else if (body.topic === undefined && body.topics === undefined && d && d.offsets.length > 0) {
    wanted = d.offsets.map((t) => ({ topic: t.topic }));
  } else throw badRequest("name the topic(s) to reset: topic or topics");
  return wanted.map((w) => {
    const topic = ctx.broker.requireTopic(w.topic); // 404 UNKNOWN_TOPIC, or 507 STORAGE when damaged
    const partitions = w.partitions ?? topic.partitions.map((_, i) => i);
    for (const p of partitions) if (!topic.partitions[p]) throw new HttpError(404, "UNKNOWN_PARTITION", `topic '${w.topic}' has no partition ${p}`);
    return { topic: w.topic, partitions };
  });
}

function resolveTarget(broker: Broker, topic: string, partition: number, target: Target): number {
  const log = broker.topic(topic)!.partitions[partition]!;
  switch (target.kind) {
    case "earliest":
      return log.startOffset;
    case "latest":
      return log.highWatermark;
    case "offset":
      return Math.min(Math.max(target.offset, log.startOffset), log.highWatermark);
    case "timestamp":
      return log.offsetForTimestamp(target.timestamp)?.offset ?? log.highWatermark;
  }
}

async function resetOffsets(ctx: RouteContext): Promise<Response> {
  const id = ctx.params.id!;
  const s = source(ctx);
  const body = await readJsonObject(ctx.req, JSON_BODY_BYTES_MAX, ["topic", "topics", "to", "offsets", "execute"]);
  if (body.execute !== undefined && typeof body.execute !== "boolean") throw badRequest("execute must be true or false");
  if (id === "") throw badRequest("group id is empty", "INVALID_GROUP_ID");
  const d = s.describeGroup(id);
  if (d && d.members.length > 0) throw new HttpError(409, "NON_EMPTY_GROUP", `group '${id}' is ${d.state} with ${d.members.length} member(s): offsets can only be reset while it has none; stop its consumers first`);
  const previous = new Map<string, number | null>();
  for (const t of d?.offsets ?? []) for (const p of t.partitions) previous.set(`${t.topic}\u0000${p.partition}`, p.committed);
  let planned: Array<{ topic: string; partition: number; offset: number }>;
  if (body.offsets !== undefined) {
    if (body.to !== undefined || body.topic !== undefined || body.topics !== undefined) throw badRequest("give either offsets, or topic(s) with to");
    planned = explicitOffsets(ctx, body.offsets);
  } else {
    if (body.to === undefined) throw badRequest("to is required: earliest, latest, {offset} or {timestamp}");
    const target = parseTarget(body.to);
    planned = parseSelection(ctx, body, d).flatMap((sel) => sel.partitions.map((partition) => ({ topic: sel.topic, partition, offset: resolveTarget(ctx.broker, sel.topic, partition, target) })));
  }
  // READ on every topic whose offsets change, as Kafka's OffsetCommit (READ on the group: the route's).
  for (const topic of new Set(planned.map((p) => p.topic))) ctx.require("READ", topicResource(topic));
  const execute = body.execute === true;
  if (execute) {
    const byTopic = new Map<string, Array<{ partition: number; offset: number }>>();
    for (const p of planned) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push({ partition: p.partition, offset: p.offset });
    }
    for (const [topic, offsets] of byTopic) check(await s.resetOffsets(id, topic, offsets));
    ctx.broker.log.info(`reset offsets of group ${id} on ${planned.length} partition(s) (http)`);
  }
  const offsets = planned.map((p) => ({ topic: p.topic, partition: p.partition, previous: previous.get(`${p.topic}\u0000${p.partition}`) ?? null, offset: p.offset }));
  return Response.json({ group: id, execute, offsets });
}

function explicitOffsets(ctx: RouteContext, value: unknown): Array<{ topic: string; partition: number; offset: number }> {
  if (!Array.isArray(value) || value.length === 0) throw badRequest("offsets must be a non-empty list of {topic, partition, offset}");
  return value.map((o, i) => {
    const { topic, partition, offset } = (o ?? {}) as Record<string, unknown>;
    if (typeof topic !== "string" || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset) || (offset as number) < 0) {
      throw badRequest(`offsets[${i}] must be {"topic": name, "partition": N, "offset": N ≥ 0}`);
    }
    const log = ctx.broker.topic(topic)?.partitions[partition as number];
    if (!log) throw notFound(`offsets[${i}]: topic '${topic}' partition ${partition} does not exist`, "UNKNOWN_TOPIC");
    return { topic, partition: partition as number, offset: offset as number };
  });
}

export const groupRoutes: Route[] = [
  { method: "GET", path: "/v1/groups", access: "handler", handle: listGroups },
  { method: "GET", path: "/v1/groups/:id", access: onPathGroup("DESCRIBE"), handle: describeGroup },
  { method: "DELETE", path: "/v1/groups/:id", access: onPathGroup("DELETE"), handle: deleteGroup },
  { method: "POST", path: "/v1/groups/:id/offsets", access: onPathGroup("READ"), handle: resetOffsets },
];
