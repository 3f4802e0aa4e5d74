// `streamctl topics list|create|describe|delete|alter` — topic management through the HTTP
// control plane. Tables for people on stdout, confirmations on stderr; `--json` prints the
// control plane's JSON document (one line) instead. A missing topic exits 1 with one line.
import { Command } from "commander";
import { topicNameProblem } from "../core/topics/names.ts";
import { seg } from "../net/http/client.ts";
import { admin, collect, controlPlane, errorCode, sameOutputBelow, type HttpFlags, keyValues, printJson, withHttpOptions } from "./control-plane.ts";
import { type Io, UsageError } from "./io.ts";
import { formatBytes, formatCount, formatTable } from "./table.ts";

interface TopicSummary {
  name: string;
  partitions: number;
  records: number;
  bytes: number;
  segments: number;
}

export interface TopicDoc {
  name: string;
  topicId: string;
  partitions: Array<{ partition: number; start: number; end: number; bytes: number; segments: number }>;
  configs: Record<string, string>;
  overrides: Record<string, string>;
  durability: string;
}

function topicName(name: string): string {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new UsageError(problem);
  return name;
}

export function renderTopic(t: TopicDoc): string {
  const parts = formatTable(
    ["PARTITION", "START", "END", "RECORDS", "SIZE", "SEGMENTS"],
    t.partitions.map((p) => [p.partition, p.start, p.end, formatCount(p.end - p.start), formatBytes(p.bytes), p.segments]),
  );
  const configs = formatTable(
    ["CONFIG", "VALUE", "SOURCE"],
    Object.entries(t.configs).map(([k, v]) => [k, v, Object.hasOwn(t.overrides, k) ? "topic" : "default"]),
  );
  return `topic       ${t.name}\nid          ${t.topicId}\ndurability  ${t.durability}\n\n${parts}\n${configs}`;
}

function listCommand(io: Io): Command {
  return withHttpOptions(new Command("list").description("list topics with their partitions, records and size on disk")).action(async (flags: HttpFlags) => {
    const doc = await admin(() => controlPlane(flags, io).get<{ topics: TopicSummary[]; damaged?: Array<{ name: string; file: string; reason: string }> }>("/v1/topics"));
    if (flags.json) return printJson(io, doc);
    // Topics kept unopened because their topic.json is damaged: on stderr, not in the table.
    for (const d of doc.damaged ?? []) io.stderr.write(`damaged topic ${d.name}: ${d.file} (${d.reason}); restore the file or delete the topic\n`);
    if (doc.topics.length === 0) {
      io.stderr.write("no topics yet; create one with: streamctl topics create NAME --partitions N\n");
      return;
    }
    io.stdout.write(formatTable(["TOPIC", "PARTITIONS", "RECORDS", "SIZE"], doc.topics.map((t) => [t.name, t.partitions, formatCount(t.records), formatBytes(t.bytes)])));
  });
}

interface CreateFlags extends HttpFlags {
  partitions?: string;
  config: string[];
  ifNotExists?: boolean;
}

function createCommand(io: Io): Command {
  return withHttpOptions(
    new Command("create")
      .description("create a topic")
      .argument("<topic>", "name: 1-249 of [a-zA-Z0-9._-]")
      .option("-p, --partitions <n>", "number of partitions (default: the broker's --default-partitions)")
      .option("-c, --config <key=value>", "topic config, repeatable (retention.ms, cleanup.policy, …)", collect, [])
      .option("--if-not-exists", "succeed quietly when the topic exists already"),
  ).action(async (name: string, flags: CreateFlags) => {
    const body: { name: string; partitions?: number; configs?: Record<string, string> } = { name: topicName(name) };
    if (flags.partitions !== undefined) {
      if (!/^\d+$/.test(flags.partitions) || Number(flags.partitions) < 1) throw new UsageError(`--partitions: expected a positive integer, got "${flags.partitions}"`);
      body.partitions = Number(flags.partitions);
    }
    if (flags.config.length > 0) body.configs = keyValues("--config", flags.config);
    const client = controlPlane(flags, io);
    let doc: TopicDoc;
    try {
      doc = await admin(() => client.post<TopicDoc>("/v1/topics", body));
    } catch (err) {
      if (!flags.ifNotExists || errorCode(err) !== "TOPIC_EXISTS") throw err;
      doc = await admin(() => client.get<TopicDoc>(`/v1/topics/${seg(name)}`));
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`topic ${name} exists already (${doc.partitions.length} partition${doc.partitions.length === 1 ? "" : "s"})\n`);
      return;
    }
    if (flags.json) return printJson(io, doc);
    io.stderr.write(`created topic ${doc.name} with ${doc.partitions.length} partition${doc.partitions.length === 1 ? "" : "s"}\n`);
  });
}

function describeCommand(io: Io): Command {
  return withHttpOptions(new Command("describe").description("partitions (offsets, size, segments), configs and durability of a topic").argument("<topic>")).action(
    async (name: string, flags: HttpFlags) => {
      const doc = await admin(() => controlPlane(flags, io).get<TopicDoc>(`/v1/topics/${seg(topicName(name))}`));
      if (flags.json) return printJson(io, doc);
      io.stdout.write(renderTopic(doc));
    },
  );
}

function deleteCommand(io: Io): Command {
  return withHttpOptions(new Command("delete").description("delete a topic and all its records").argument("<topic>").option("--if-exists", "succeed quietly when there is no such topic")).action(
    async (name: string, flags: HttpFlags & { ifExists?: boolean }) => {
      let doc: { deleted: string };
      try {
        doc = await admin(() => controlPlane(flags, io).delete<{ deleted: string }>(`/v1/topics/${seg(topicName(name))}`));
      } catch (err) {
        if (flags.ifExists && errorCode(err) === "UNKNOWN_TOPIC") return;
        throw err;
      }
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`deleted topic ${doc.deleted}\n`);
    },
  );
}

interface AlterFlags extends HttpFlags {
  set: string[];
  reset: string[];
}

function alterCommand(io: Io): Command {
  return withHttpOptions(
    new Command("alter")
      .description("change topic configs: --set key=value, --reset key (back to the default)")
      .argument("<topic>")
      .option("--set <key=value>", "set a config, repeatable", collect, [])
      .option("--reset <key>", "return a config to its default, repeatable", collect, []),
  ).action(async (name: string, flags: AlterFlags) => {
    const changes: Record<string, string | null> = keyValues("--set", flags.set);
    for (const k of flags.reset) changes[k] = null;
    if (Object.keys(changes).length === 0) throw new UsageError("nothing to change: give --set key=value or --reset key");
    const doc = await admin(() => controlPlane(flags, io).patch<TopicDoc>(`/v1/topics/${seg(topicName(name))}/configs`, changes));
    if (flags.json) return printJson(io, doc);
    io.stderr.write(`altered ${Object.keys(changes).length} config${Object.keys(changes).length === 1 ? "" : "s"} of topic ${doc.name}\n`);
    io.stdout.write(formatTable(["CONFIG", "VALUE", "SOURCE"], Object.entries(doc.configs).map(([k, v]) => [k, v, Object.hasOwn(doc.overrides, k) ? "topic" : "default"])));
  });
}

export function topicsCommand(io: Io): Command {
  const cmd = new Command("topics")
    .description("list, create, describe, delete and alter topics (through the HTTP control plane)")
    .addCommand(listCommand(io))
    .addCommand(createCommand(io))
    .addCommand(describeCommand(io))
    .addCommand(deleteCommand(io))
    .addCommand(alterCommand(io));
  return sameOutputBelow(cmd, io);
}
