// /v1/groups: consumer groups with their lag.
//
//   GET    /v1/groups               → {"groups":[{group, state, members, lag}]}
//   GET    /v1/groups/{id}          → {"group","state","members":[…],"offsets":[{"topic","partitions":[{"partition","committed","end","lag"}]}],"lag"}
//   DELETE /v1/groups/{id}          → {"deleted": id}            (409 GROUP_NOT_EMPTY while it has members)
//   POST   /v1/groups/{id}/offsets  reset committed offsets; body, exactly one of:
//     {"topics":[{"topic","partitions"?:[…]}] | "topic": name, "to": "earliest"|"latest"|{"offset":N}|{"timestamp":MS}, "execute"?: bool}
//     {"offsets":[{"topic","partition","offset"}], "execute"?: bool}     (what --undo sends back)
//   → {"group","execute","offsets":[{"topic","partition","previous","offset"}]}; without
//     "execute": true nothing is written (a dry run). Like Kafka, only a group without members
//     can be reset (409 GROUP_NOT_EMPTY).
//
// Lag of a partition = end (high watermark) − committed; a partition with no committed offset
// has lag end − start (a consumer with auto.offset.reset=earliest starts there).
import type { BrokerState } from "../broker/state.ts";
import { readJsonObject } from "./body.ts";
import { badRequest, HttpError, notFound } from "./errors.ts";
import { JSON_BODY_BYTES_MAX } from "./limits.ts";
import type { Route, RouteContext } from "./router.ts";

/** What the control plane needs from the group coordinator (adapted in coordinatorOf()). */
export interface GroupSource {
  list(): Array<{ group: string; state: string; members: number }>;
  describe(group: string): GroupDescription | undefined;
  delete(group: string): Promise<void>;
  commit(group: string, offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void>;
}

export interface GroupDescription {
  group: string;
  state: string;
  members: Array<{ memberId: string; clientId: string; host: string; assignments: Array<{ topic: string; partitions: number[] }> }>;
  committed: Array<{ topic: string; partition: number; offset: number }>;
}

export interface PartitionLag {
  partition: number;
  committed: number | null;
  end: number;
  lag: number;
}

export interface GroupView {
  group: string;
  state: string;
  members: GroupDescription["members"];
  offsets: Array<{ topic: string; partitions: PartitionLag[] }>;
  lag: number;
}

/** The group coordinator, once the broker has one (state.groups). */
export function coordinatorOf(state: BrokerState): GroupSource | undefined {
  return (state as { groups?: GroupSource }).groups;
}

export function groupView(state: BrokerState, d: GroupDescription): GroupView {
  const byTopic = new Map<string, PartitionLag[]>();
  let total = 0;
  for (const c of d.committed) {
    const log = state.store.topic(c.topic)?.partitions[c.partition];
    const end = log?.highWatermark ?? c.offset;
    const lag = Math.max(0, end - c.offset);
    total += lag;
    let parts = byTopic.get(c.topic);
    if (!parts) byTopic.set(c.topic, (parts = []));
    parts.push({ partition: c.partition, committed: c.offset, end, lag });
  }
  const offsets = [...byTopic].sort(([a], [b]) => a.localeCompare(b)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a.partition - b.partition) }));
  return { group: d.group, state: d.state, members: d.members, offsets, lag: total };
}

function source(ctx: RouteContext): GroupSource {
  const s = coordinatorOf(ctx.state);
  if (!s) throw new HttpError(503, "COORDINATOR_NOT_AVAILABLE", "this broker has no group coordinator yet");
  return s;
}

function describeOr404(ctx: RouteContext): GroupDescription {
  const id = ctx.params.id!;
  const d = coordinatorOf(ctx.state)?.describe(id);
  if (!d) throw notFound(`group '${id}' does not exist`, "GROUP_NOT_FOUND");
  return d;
}

function listGroups(ctx: RouteContext): Response {
  const s = coordinatorOf(ctx.state);
  const groups = (s?.list() ?? [])
    .sort((a, b) => a.group.localeCompare(b.group))
    .map((g) => {
      const d = s!.describe(g.group);
      return { ...g, lag: d ? groupView(ctx.state, d).lag : 0 };
    });
  return Response.json({ groups });
}

function describeGroup(ctx: RouteContext): Response {
  return Response.json(groupView(ctx.state, describeOr404(ctx)));
}

async function deleteGroup(ctx: RouteContext): Promise<Response> {
  const d = describeOr404(ctx);
  if (d.members.length > 0) throw new HttpError(409, "GROUP_NOT_EMPTY", `group '${d.group}' has ${d.members.length} member(s); stop its consumers first`);
  await source(ctx).delete(d.group);
  return Response.json({ deleted: d.group });
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

function parseSelection(ctx: RouteContext, body: Record<string, unknown>, d: GroupDescription | undefined): Selection[] {
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
  } else if (body.topic === undefined && body.topics === undefined && d) {
    wanted = [...new Set(d.committed.map((c) => c.topic))].map((topic) => ({ topic }));
  } else throw badRequest("name the topic(s) to reset: topic or topics");
  return wanted.map((w) => {
    const topic = ctx.state.store.topic(w.topic);
    if (!topic) throw notFound(`topic '${w.topic}' does not exist`, "UNKNOWN_TOPIC");
    const partitions = w.partitions ?? topic.partitions.map((_, i) => i);
    for (const p of partitions) if (!topic.partitions[p]) throw new HttpError(404, "UNKNOWN_PARTITION", `topic '${w.topic}' has no partition ${p}`);
    return { topic: w.topic, partitions };
  });
}

function resolveTarget(state: BrokerState, topic: string, partition: number, target: Target): number {
  const log = state.store.topic(topic)!.partitions[partition]!;
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
  const d = s.describe(id);
  if (d && d.members.length > 0) throw new HttpError(409, "GROUP_NOT_EMPTY", `group '${id}' has ${d.members.length} active member(s); offsets can only be reset while it is empty`);
  const previous = new Map((d?.committed ?? []).map((c) => [`${c.topic}\u0000${c.partition}`, c.offset]));
  let planned: Array<{ topic: string; partition: number; offset: number }>;
  if (body.offsets !== undefined) {
    if (body.to !== undefined || body.topic !== undefined || body.topics !== undefined) throw badRequest("give either offsets, or topic(s) with to");
    planned = explicitOffsets(ctx, body.offsets);
  } else {
    if (body.to === undefined) throw badRequest("to is required: earliest, latest, {offset} or {timestamp}");
    const target = parseTarget(body.to);
    planned = parseSelection(ctx, body, d).flatMap((sel) => sel.partitions.map((partition) => ({ topic: sel.topic, partition, offset: resolveTarget(ctx.state, sel.topic, partition, target) })));
  }
  const execute = body.execute === true;
  if (execute) {
    await s.commit(id, planned);
    ctx.state.log.info(`reset offsets of group ${id} on ${planned.length} partition(s) (http)`);
  }
  const offsets = planned.map((p) => ({ ...p, previous: previous.get(`${p.topic}\u0000${p.partition}`) ?? null }));
  return Response.json({ group: id, execute, offsets });
}

function explicitOffsets(ctx: RouteContext, value: unknown): Array<{ topic: string; partition: number; offset: number }> {
  if (!Array.isArray(value) || value.length === 0) throw badRequest("offsets must be a non-empty list of {topic, partition, offset}");
  return value.map((o, i) => {
    const { topic, partition, offset } = (o ?? {}) as Record<string, unknown>;
    if (typeof topic !== "string" || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset) || (offset as number) < 0) {
      throw badRequest(`offsets[${i}] must be {"topic": name, "partition": N, "offset": N ≥ 0}`);
    }
    const log = ctx.state.store.topic(topic)?.partitions[partition as number];
    if (!log) throw notFound(`offsets[${i}]: topic '${topic}' partition ${partition} does not exist`, "UNKNOWN_TOPIC");
    return { topic, partition: partition as number, offset: offset as number };
  });
}

export const groupRoutes: Route[] = [
  { method: "GET", path: "/v1/groups", handle: listGroups },
  { method: "GET", path: "/v1/groups/:id", handle: describeGroup },
  { method: "DELETE", path: "/v1/groups/:id", handle: deleteGroup },
  { method: "POST", path: "/v1/groups/:id/offsets", handle: resetOffsets },
];
