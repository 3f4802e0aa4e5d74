// `streamctl groups list|describe|reset-offsets|delete` — consumer groups through the HTTP
// control plane. A missing group exits 1 with one line.
//
// reset-offsets is a dry run unless --execute. With --execute it (1) asks the broker for the
// plan (a dry run: current and new offset per partition), (2) writes the current offsets to the
// undo file, (3) commits exactly the planned offsets. `--undo FILE` sends the saved offsets back
// (again a dry run unless --execute). Partitions that had no committed offset before are listed
// in the file with offset null and skipped on undo: a commit cannot "uncommit".
import { Command } from "commander";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { seg } from "../net/http/client.ts";
import { admin, collect, controlPlane, type HttpFlags, printJson, sameOutputBelow, withHttpOptions } from "./control-plane.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";
import { formatCount, formatTable } from "./table.ts";

interface GroupListing {
  group: string;
  state: string;
  protocolType: string;
  members: number;
  lag: number;
}

interface GroupDoc {
  group: string;
  state: string;
  protocol: string;
  members: Array<{ memberId: string; clientId: string; clientHost: string; assignment: Array<{ topic: string; partitions: number[] }> }>;
  offsets: Array<{ topic: string; partitions: Array<{ partition: number; committed: number | null; end: number; lag: number | null }> }>;
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
  return withHttpOptions(new Command("list").description("list consumer groups with their state, members and total lag")).action(async (flags: HttpFlags) => {
    const doc = await admin(() => controlPlane(flags, io).get<{ groups: GroupListing[] }>("/v1/groups"));
    if (flags.json) return printJson(io, doc);
    if (doc.groups.length === 0) {
      io.stderr.write("no consumer groups yet\n");
      return;
    }
    io.stdout.write(formatTable(["GROUP", "STATE", "MEMBERS", "LAG"], doc.groups.map((g) => [g.group, g.state, g.members, formatCount(g.lag)])));
  });
}

export function renderGroup(g: GroupDoc): string {
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
  return withHttpOptions(new Command("describe").description("a group's members, committed offsets, end offsets and lag per partition").argument("<group>")).action(
    async (group: string, flags: HttpFlags) => {
      const doc = await admin(() => controlPlane(flags, io).get<GroupDoc>(`/v1/groups/${seg(group)}`));
      if (flags.json) return printJson(io, doc);
      io.stdout.write(renderGroup(doc));
    },
  );
}

function deleteCommand(io: Io): Command {
  return withHttpOptions(new Command("delete").description("delete a group without members, with its committed offsets").argument("<group>")).action(
    async (group: string, flags: HttpFlags) => {
      const doc = await admin(() => controlPlane(flags, io).delete<{ deleted: string }>(`/v1/groups/${seg(group)}`));
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`deleted group ${doc.deleted}\n`);
    },
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

interface ResetFlags extends HttpFlags {
  topic: string[];
  to?: string;
  execute?: boolean;
  undo?: string;
  save?: string;
}

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

function resetCommand(io: Io): Command {
  return withHttpOptions(
    new Command("reset-offsets")
      .description("move a group's committed offsets (dry run unless --execute; the group must have no members)")
      .argument("<group>")
      .option("--topic <topic[:p,p]>", "topic (and partitions) to reset, repeatable; default: every topic the group has offsets for", collect, [])
      .option("--to <spec>", "earliest | latest | OFFSET | @TIME (epoch ms, ISO-8601, or relative like -2h)")
      .option("--execute", "apply the change (without it, print what would change)")
      .option("--save <file>", "where --execute writes the previous offsets (default reset-offsets-GROUP-TIME.json)")
      .option("--undo <file>", "restore the offsets a previous --execute saved"),
  ).action(async (group: string, flags: ResetFlags) => {
    if ((flags.to === undefined) === (flags.undo === undefined)) throw new UsageError("give exactly one of --to SPEC or --undo FILE");
    if (flags.undo !== undefined && flags.topic.length > 0) throw new UsageError("--topic does not apply to --undo: the file says which partitions");
    const client = controlPlane(flags, io);
    const path = `/v1/groups/${seg(group)}/offsets`;
    let request: Record<string, unknown>;
    if (flags.undo !== undefined) {
      const file = readUndoFile(flags.undo, group);
      const restorable = file.offsets.filter((o) => o.offset !== null);
      const skipped = file.offsets.length - restorable.length;
      if (skipped > 0) io.stderr.write(`${skipped} partition(s) had no committed offset before the reset; leaving them as they are\n`);
      if (restorable.length === 0) throw new RuntimeError(`--undo ${flags.undo}: no offsets to restore`);
      request = { offsets: restorable };
    } else {
      const to = parseResetTarget(flags.to!);
      const topics = flags.topic.map(parseTopicSpec);
      request = { to, ...(topics.length ? { topics } : {}) };
    }
    const plan = await admin(() => client.post<ResetDoc>(path, { ...request, execute: false }));
    let result = plan;
    if (flags.execute) {
      const save = flags.save ?? undoFileName(group);
      if (flags.save === undefined && existsSync(save)) throw new RuntimeError(`${save} exists already`);
      const undo: UndoFile = { group, savedAt: new Date().toISOString(), offsets: plan.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.previous })) };
      writeFileSync(save, `${JSON.stringify(undo, null, 2)}\n`);
      const exact = plan.offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }));
      result = await admin(() => client.post<ResetDoc>(path, { offsets: exact, execute: true }));
      result = { ...result, offsets: plan.offsets };
      io.stderr.write(`reset ${plan.offsets.length} partition(s) of group ${group}; previous offsets saved to ${save}\nundo with: streamctl groups reset-offsets ${group} --undo ${save} --execute\n`);
    } else {
      io.stderr.write("dry run: nothing changed; add --execute to apply\n");
    }
    if (flags.json) return printJson(io, result);
    io.stdout.write(formatTable(["TOPIC", "PARTITION", "CURRENT", "NEW"], result.offsets.map((o) => [o.topic, o.partition, o.previous, o.offset])));
  });
}

export function groupsCommand(io: Io): Command {
  const cmd = new Command("groups")
    .description("list, describe, reset offsets of and delete consumer groups (through the HTTP control plane)")
    .addCommand(listCommand(io))
    .addCommand(describeCommand(io))
    .addCommand(resetCommand(io))
    .addCommand(deleteCommand(io));
  return sameOutputBelow(cmd, io);
}
