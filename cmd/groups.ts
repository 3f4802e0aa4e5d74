// `streamctl groups list|describe|reset-offsets|delete` — consumer groups over Kafka's group APIs
// (ListGroups, DescribeGroups, OffsetFetch, OffsetCommit, DeleteGroups; net/client/admin-groups.ts)
// and ListOffsets for end offsets, so it manages groups on Kafka and Redpanda too. A missing group
// exits 1 with one line.
//
// reset-offsets is a dry run unless --execute. The plan is worked out here: the group must have no
// members (Kafka accepts commits from outside a group only then); the target becomes an offset per
// partition through ListOffsets (earliest, latest, a time; an OFFSET is kept within the log's start
// and end). With --execute it (1) writes the current offsets to the undo file, (2) commits exactly
// the planned offsets. `--undo FILE` sends the saved offsets back (again a dry run unless
// --execute). Partitions that had no committed offset before are listed in the file with offset
// null and skipped on undo: a commit cannot "uncommit".
import { Command } from "commander";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { EARLIEST, LATEST } from "../net/client/client.ts";
import type { GroupView } from "../net/client/admin-groups.ts";
import { KafkaClientError } from "../net/client/errors.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import { type AdminFlags, type AdminSession, collect, kafkaCode, printJson, sameOutputBelow, withAdmin, withAdminOptions } from "./admin-common.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";
import { formatCount, formatTable } from "./table.ts";

interface GroupListing {
  group: string;
  state: string;
  protocolType: string;
  members: number;
  lag: number;
}

interface ResetDoc {
  group: string;
  execute: boolean;
  offsets: Array<{ topic: string; partition: number; previous: number | null; offset: number }>;
}

interface UndoFile {
  group: string;
  savedAt: string;
  offsets: Array<{ topic: string; partition: number; offset: number | null }>;
}

function listCommand(io: Io): Command {
  return withAdminOptions(new Command("list").description("list consumer groups with their state, members and total lag")).action((flags: AdminFlags) =>
    withAdmin(flags, io, "groups list", async (s) => {
      const listed = await s.groups.list();
      const views = await Promise.all(
        listed.map((g) =>
          s.groups.describe(g.group).catch((err: unknown) => {
            if (kafkaCode(err) === ErrorCode.GROUP_ID_NOT_FOUND) return null; // deleted meanwhile
            throw err;
          }),
        ),
      );
      const groups: GroupListing[] = [];
      listed.forEach((g, i) => {
        const view = views[i];
        if (view) groups.push({ group: g.group, state: view.state, protocolType: view.protocolType || g.protocolType, members: view.members.length, lag: view.lag });
      });
      const doc = { groups };
      if (flags.json) return printJson(io, doc);
      if (doc.groups.length === 0) {
        io.stderr.write("no consumer groups yet\n");
        return;
      }
      io.stdout.write(formatTable(["GROUP", "STATE", "MEMBERS", "LAG"], doc.groups.map((g) => [g.group, g.state, g.members, formatCount(g.lag)])));
    }),
  );
}

export function renderGroup(g: GroupView): string {
  const head = `group     ${g.group}\nstate     ${g.state}${g.protocol ? ` (${g.protocol})` : ""}\nmembers   ${g.members.length}\nlag       ${formatCount(g.lag)}\n`;
  const rows = g.offsets.flatMap((t) => t.partitions.map((p) => [t.topic, p.partition, p.committed, p.end, p.lag === null ? null : formatCount(p.lag)]));
  const offsets = rows.length ? `\n${formatTable(["TOPIC", "PARTITION", "COMMITTED", "END", "LAG"], rows)}` : "";
  const members = g.members.length
    ? `\n${formatTable(
        ["MEMBER", "CLIENT", "HOST", "ASSIGNMENT"],
        g.members.map((m) => [m.memberId, m.clientId, m.clientHost, m.assignment.map((a) => `${a.topic}:${a.partitions.join(",")}`).join(" ") || "-"]),
      )}`
    : "";
  return head + offsets + members;
}

function describeCommand(io: Io): Command {
  return withAdminOptions(new Command("describe").description("a group's members, committed offsets, end offsets and lag per partition").argument("<group>")).action((group: string, flags: AdminFlags) =>
    withAdmin(flags, io, "groups describe", async (s) => {
      const doc = await s.groups.describe(group);
      if (flags.json) return printJson(io, doc);
      io.stdout.write(renderGroup(doc));
    }),
  );
}

function deleteCommand(io: Io): Command {
  return withAdminOptions(new Command("delete").description("delete a group without members, with its committed offsets").argument("<group>")).action((group: string, flags: AdminFlags) =>
    withAdmin(flags, io, "groups delete", async (s) => {
      await s.groups.delete(group);
      if (flags.json) return printJson(io, { deleted: group });
      io.stderr.write(`deleted group ${group}\n`);
    }),
  );
}

/** Relative times: -30s, -15m, -2h, -7d. */
const RELATIVE = /^-(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--to earliest|latest|OFFSET|@TIME` (TIME: epoch ms, ISO-8601, or relative like -2h). */
export function parseResetTarget(spec: string, now = Date.now()): "earliest" | "latest" | { offset: number } | { timestamp: number } {
  if (spec === "earliest" || spec === "latest") return spec;
  if (/^\d+$/.test(spec) && Number.isSafeInteger(Number(spec))) return { offset: Number(spec) };
  if (spec.startsWith("@")) {
    const t = spec.slice(1);
    if (/^\d+$/.test(t)) return { timestamp: Number(t) };
    const rel = RELATIVE.exec(t);
    if (rel) return { timestamp: now - Number(rel[1]) * UNIT_MS[rel[2]!]! };
    const parsed = Date.parse(t);
    if (!Number.isNaN(parsed)) return { timestamp: parsed };
  }
  throw new UsageError(`--to: expected earliest, latest, an offset, or @TIME (epoch ms, ISO-8601, or relative like -2h), got "${spec}"`);
}

/** `--topic T` or `--topic T:0,2` */
function parseTopicSpec(spec: string): { topic: string; partitions?: number[] } {
  const i = spec.indexOf(":");
  if (i < 0) return { topic: spec };
  const parts = spec.slice(i + 1).split(",");
  if (parts.some((p) => !/^\d+$/.test(p))) throw new UsageError(`--topic: expected TOPIC or TOPIC:P,P…, got "${spec}"`);
  return { topic: spec.slice(0, i), partitions: parts.map(Number) };
}

interface ResetFlags extends AdminFlags {
  topic: string[];
  to?: string;
  execute?: boolean;
  undo?: string;
  save?: string;
}

type Planned = ResetDoc["offsets"][number];

function undoFileName(group: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "").replace(/Z$/, "Z");
  return `reset-offsets-${group.replace(/[^A-Za-z0-9._-]/g, "_")}-${stamp}.json`;
}

function readUndoFile(path: string, group: string): UndoFile {
  let doc: UndoFile;
  try {
    doc = JSON.parse(readFileSync(path, "utf8")) as UndoFile;
  } catch (err) {
    throw new UsageError(`--undo ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof doc !== "object" || doc === null || typeof doc.group !== "string" || !Array.isArray(doc.offsets)) {
    throw new UsageError(`--undo ${path}: not a file written by reset-offsets`);
  }
  if (doc.group !== group) throw new UsageError(`--undo ${path}: it holds offsets of group '${doc.group}', not '${group}'`);
  return doc;
}

/** The partitions of `topic` named by `wanted` (all when undefined), checked against the cluster. */
async function partitionsOf(s: AdminSession, topic: string, wanted?: number[]): Promise<number[]> {
  const md = await s.admin.topic(topic);
  const all = md.partitions.map((p) => p.partition);
  for (const p of wanted ?? []) if (!all.includes(p)) throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topic}' has no partition ${p}`);
  return wanted ?? all;
}

/** partition → new offset for one topic and target, as the broker's offsets say. */
async function targetOffsets(s: AdminSession, topic: string, partitions: number[], to: ReturnType<typeof parseResetTarget>): Promise<Map<number, number>> {
  if (to === "earliest") return s.admin.offsetsAt(topic, partitions, EARLIEST);
  if (to === "latest") return s.admin.offsetsAt(topic, partitions, LATEST);
  const [start, end] = await Promise.all([s.admin.offsetsAt(topic, partitions, EARLIEST), s.admin.offsetsAt(topic, partitions, LATEST)]);
  if ("offset" in to) return new Map(partitions.map((p) => [p, Math.min(Math.max(to.offset, start.get(p)!), end.get(p)!)]));
  const found = await s.admin.offsetsAt(topic, partitions, to.timestamp);
  // No record at or after the time: the end (nothing to read yet).
  return new Map(partitions.map((p) => [p, (found.get(p) ?? -1) >= 0 ? found.get(p)! : end.get(p)!]));
}

/** What a reset would do: current and new offset per partition. */
async function plan(s: AdminSession, group: string, view: GroupView | null, flags: ResetFlags, io: Io): Promise<Planned[]> {
  const previous = new Map<string, number | null>();
  for (const t of view?.offsets ?? []) for (const p of t.partitions) previous.set(`${t.topic}\u0000${p.partition}`, p.committed);
  const prev = (topic: string, partition: number) => previous.get(`${topic}\u0000${partition}`) ?? null;
  if (flags.undo !== undefined) {
    const file = readUndoFile(flags.undo, group);
    const restorable = file.offsets.filter((o) => o.offset !== null);
    const skipped = file.offsets.length - restorable.length;
    if (skipped > 0) io.stderr.write(`${skipped} partition(s) had no committed offset before the reset; leaving them as they are\n`);
    if (restorable.length === 0) throw new RuntimeError(`--undo ${flags.undo}: no offsets to restore`);
    for (const o of restorable) await partitionsOf(s, o.topic, [o.partition]);
    return restorable.map((o) => ({ topic: o.topic, partition: o.partition, previous: prev(o.topic, o.partition), offset: o.offset! }));
  }
  const to = parseResetTarget(flags.to!);
  let selection = flags.topic.map(parseTopicSpec);
  if (selection.length === 0) selection = (view?.offsets ?? []).map((t) => ({ topic: t.topic }));
  if (selection.length === 0) throw new RuntimeError(`group '${group}' has no committed offsets: name the topics to reset with --topic`);
  const out: Planned[] = [];
  for (const sel of selection) {
    const partitions = await partitionsOf(s, sel.topic, sel.partitions);
    const offsets = await targetOffsets(s, sel.topic, partitions, to);
    for (const p of partitions) out.push({ topic: sel.topic, partition: p, previous: prev(sel.topic, p), offset: offsets.get(p)! });
  }
  return out;
}

function resetCommand(io: Io): Command {
  return withAdminOptions(
    new Command("reset-offsets")
      .description("move a group's committed offsets (dry run unless --execute; the group must have no members)")
      .argument("<group>")
      .option("--topic <topic[:p,p]>", "topic (and partitions) to reset, repeatable; default: every topic the group has offsets for", collect, [])
      .option("--to <spec>", "earliest | latest | OFFSET | @TIME (epoch ms, ISO-8601, or relative like -2h)")
      .option("--execute", "apply the change (without it, print what would change)")
      .option("--save <file>", "where --execute writes the previous offsets (default reset-offsets-GROUP-TIME.json)")
      .option("--undo <file>", "restore the offsets a previous --execute saved"),
  ).action((group: string, flags: ResetFlags) => {
    if ((flags.to === undefined) === (flags.undo === undefined)) throw new UsageError("give exactly one of --to SPEC or --undo FILE");
    if (flags.undo !== undefined && flags.topic.length > 0) throw new UsageError("--topic does not apply to --undo: the file says which partitions");
    if (flags.to !== undefined) parseResetTarget(flags.to);
    flags.topic.forEach(parseTopicSpec);
    return withAdmin(flags, io, "groups reset-offsets", async (s) => {
      let view: GroupView | null = null;
      try {
        view = await s.groups.describe(group);
      } catch (err) {
        if (kafkaCode(err) !== ErrorCode.GROUP_ID_NOT_FOUND) throw err; // a new group: nothing committed yet
      }
      if (view !== null && view.members.length > 0) {
        throw new RuntimeError(`group '${group}' is ${view.state} with ${view.members.length} member(s): offsets can only be reset while it has none; stop its consumers first`);
      }
      const offsets = await plan(s, group, view, flags, io);
      if (flags.execute) {
        const save = flags.save ?? undoFileName(group);
        if (flags.save === undefined && existsSync(save)) throw new RuntimeError(`${save} exists already`);
        const undo: UndoFile = { group, savedAt: new Date().toISOString(), offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.previous })) };
        writeFileSync(save, `${JSON.stringify(undo, null, 2)}\n`);
        await s.groups.commit(group, offsets);
        io.stderr.write(`reset ${offsets.length} partition(s) of group ${group}; previous offsets saved to ${save}\nundo with: streamctl groups reset-offsets ${group} --undo ${save} --execute\n`);
      } else {
        io.stderr.write("dry run: nothing changed; add --execute to apply\n");
      }
      const result: ResetDoc = { group, execute: flags.execute === true, offsets };
      if (flags.json) return printJson(io, result);
      io.stdout.write(formatTable(["TOPIC", "PARTITION", "CURRENT", "NEW"], result.offsets.map((o) => [o.topic, o.partition, o.previous, o.offset])));
    });
  });
}

export function groupsCommand(io: Io): Command {
  const cmd = new Command("groups")
    .alias("group")
    .description("list, describe, reset offsets of and delete consumer groups (Kafka group APIs)")
    .addCommand(listCommand(io))
    .addCommand(describeCommand(io))
    .addCommand(resetCommand(io))
    .addCommand(deleteCommand(io));
  return sameOutputBelow(cmd, io);
}
