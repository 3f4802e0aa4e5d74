// `streamctl topics list|create|describe|delete|alter|add-partitions|compact` — topic management over
// Kafka's admin APIs (Metadata, ListOffsets, CreateTopics, DeleteTopics, DescribeConfigs,
// IncrementalAlterConfigs/AlterConfigs, CreatePartitions), so it manages Kafka and Redpanda too.
// A streamctl broker's control plane, when there is a matching one (control-plane.ts), adds what
// only it knows: bytes and segments per partition, what an ack means on disk, damaged topics.
// Without it those read "-" (null in JSON). END is the high watermark and LSO the last stable
// offset beside it (lower while a transaction is open: read_committed readers stop there). Tables for people on stdout, confirmations on stderr;
// `--json` prints one JSON document instead. A missing topic exits 1 with one line.
// `topics compact` has no Kafka API: it asks a streamctl broker's control plane for a cleaning
// pass now (POST /v1/topics/{name}/compact) and prints what the pass removed.
import { Command } from "commander";
import { topicNameProblem } from "../core/topics/names.ts";
import { CONFIG_SOURCE_TOPIC, type TopicMetadata } from "../net/client/admin.ts";
import { UnsupportedApiError } from "../net/client/versions.ts";
import { seg } from "../net/http/client.ts";
import { ErrorCode } from "../net/protocol/errors.ts";
import { type AdminFlags, type AdminSession, collect, kafkaCode, keyValues, plural, positiveInt, printJson, sameOutputBelow, withAdmin, withAdminOptions } from "./admin-common.ts";
import { viaControlPlane } from "./control-plane.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";
import { formatBytes, formatCount, formatTable } from "./table.ts";

interface PartitionDoc {
  partition: number;
  start: number;
  /** The high watermark. */
  end: number;
  /** The last stable offset: below `end` while a transaction is open (read_committed readers stop there). */
  lso: number;
  /** streamctl's control plane only; null without it. */
  bytes: number | null;
  segments: number | null;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface TopicDoc {
  name: string;
  topicId: string | null;
  partitions: PartitionDoc[];
  configs: Record<string, string>;
  overrides: Record<string, string>;
  /** streamctl's control plane only. */
  durability?: string;
  fsync?: string;
  /** Configs the topic sets that streamctl accepts (Kafka does) but does not act on; control plane only. */
  noEffect?: string[];
}

/** What the control plane answers for a topic (net/http/topics.ts). */
interface HttpTopicDoc {
  topicId: string;
  partitions: Array<{ partition: number; bytes: number; segments: number }>;
  durability: string;
  fsync: string;
  noEffect?: string[];
}

function topicName(name: string): string {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new UsageError(problem);
  return name;
}

export function renderTopic(t: TopicDoc): string {
  const parts = formatTable(
    ["PARTITION", "START", "END", "LSO", "RECORDS", "SIZE", "SEGMENTS"],
    t.partitions.map((p) => [p.partition, p.start, p.end, p.lso, formatCount(p.end - p.start), p.bytes === null ? null : formatBytes(p.bytes), p.segments]),
  );
  const durability = t.durability === undefined ? "" : `durability  ${t.durability}\n`;
  return `topic       ${t.name}\nid          ${t.topicId ?? "-"}\n${durability}\n${parts}\n${configTable(t)}`;
}

function configTable(t: TopicDoc): string {
  const source = (k: string) => (Object.hasOwn(t.overrides, k) ? "topic" : "default") + (t.noEffect?.includes(k) ? ", no effect here" : "");
  return formatTable(["CONFIG", "VALUE", "SOURCE"], Object.entries(t.configs).map(([k, v]) => [k, v, source(k)]));
}

/** The whole document of one topic: metadata, offsets and configs over Kafka, plus the control plane's extras. */
async function describeTopic(s: AdminSession, name: string): Promise<TopicDoc> {
  const [md, configs] = await Promise.all([s.admin.topic(name), s.admin.describeConfigs(name)]);
  const ranges = (await s.admin.offsetRanges([md])).get(name)!;
  const cp = await s.controlPlane();
  const extra = cp ? await viaControlPlane(() => cp.get<HttpTopicDoc>(`/v1/topics/${seg(name)}`)) : null;
  const sameTopic = extra !== null && extra.topicId === md.topicId;
  const doc: TopicDoc = {
    name,
    topicId: md.topicId,
    partitions: md.partitions.map((p) => {
      const onDisk = sameTopic ? extra.partitions.find((x) => x.partition === p.partition) : undefined;
      const r = ranges.get(p.partition) ?? { start: 0, end: 0, lso: 0 };
      return { partition: p.partition, start: r.start, end: r.end, lso: r.lso, bytes: onDisk?.bytes ?? null, segments: onDisk?.segments ?? null, leader: p.leader, replicas: p.replicas, isr: p.isr };
    }),
    configs: Object.fromEntries(configs.filter((c) => c.value !== null).map((c) => [c.name, c.value!])),
    overrides: Object.fromEntries(configs.filter((c) => c.source === CONFIG_SOURCE_TOPIC && c.value !== null).map((c) => [c.name, c.value!])),
  };
  if (sameTopic) {
    doc.durability = extra.durability;
    doc.fsync = extra.fsync;
    if (extra.noEffect !== undefined) doc.noEffect = extra.noEffect;
  }
  return doc;
}

interface ListFlags extends AdminFlags {
  internal?: boolean;
}

function listCommand(io: Io): Command {
  return withAdminOptions(new Command("list").description("list topics with their partitions, records and size on disk").option("-i, --internal", "include internal topics (__consumer_offsets, …)")).action(
    (flags: ListFlags) =>
      withAdmin(flags, io, "topics list", async (s) => {
        const md = await s.cluster();
        const topics = md.topics.filter((t) => t.errorCode === 0 && (flags.internal || !t.internal));
        const ranges = await s.admin.offsetRanges(topics);
        const cp = await s.controlPlane();
        type HttpListing = { topics: Array<{ name: string; bytes: number; segments: number }>; damaged?: Array<{ name: string; file: string; reason: string }> };
        const http = cp ? await viaControlPlane(() => cp.get<HttpListing>("/v1/topics")) : null;
        const doc = {
          topics: topics.map((t: TopicMetadata) => {
            const r = [...(ranges.get(t.name)?.values() ?? [])];
            const onDisk = http?.topics.find((x) => x.name === t.name);
            return { name: t.name, partitions: t.partitions.length, records: r.reduce((n, p) => n + p.end - p.start, 0), bytes: onDisk?.bytes ?? null, segments: onDisk?.segments ?? null };
          }),
          damaged: http?.damaged ?? [],
        };
        if (flags.json) return printJson(io, doc);
        // Topics kept unopened because their topic.json is damaged: on stderr, not in the table.
        for (const d of doc.damaged) io.stderr.write(`damaged topic ${d.name}: ${d.file} (${d.reason}); restore the file or delete the topic\n`);
        if (doc.topics.length === 0) {
          io.stderr.write("no topics yet; create one with: streamctl topics create NAME --partitions N\n");
          return;
        }
        io.stdout.write(formatTable(["TOPIC", "PARTITIONS", "RECORDS", "SIZE"], doc.topics.map((t) => [t.name, t.partitions, formatCount(t.records), t.bytes === null ? null : formatBytes(t.bytes)])));
      }),
  );
}

interface CreateFlags extends AdminFlags {
  partitions?: string;
  replicationFactor?: string;
  config: string[];
  ifNotExists?: boolean;
}

function createCommand(io: Io): Command {
  return withAdminOptions(
    new Command("create")
      .description("create a topic")
      .argument("<topic>", "name: 1-249 of [a-zA-Z0-9._-]")
      .option("-p, --partitions <n>", "number of partitions (default: the broker's)")
      .option("-r, --replication-factor <n>", "copies of each partition (default: the broker's)")
      .option("-c, --config <key=value>", "topic config, repeatable (retention.ms, cleanup.policy, …)", collect, [])
      .option("--if-not-exists", "succeed quietly when the topic exists already"),
  ).action((name: string, flags: CreateFlags) => {
    topicName(name);
    const partitions = flags.partitions === undefined ? null : positiveInt("--partitions", flags.partitions);
    const replicationFactor = flags.replicationFactor === undefined ? null : positiveInt("--replication-factor", flags.replicationFactor);
    const configs = keyValues("--config", flags.config);
    return withAdmin(flags, io, "topics create", async (s) => {
      try {
        await s.admin.createTopic(name, { partitions, replicationFactor, configs });
      } catch (err) {
        if (!flags.ifNotExists || kafkaCode(err) !== ErrorCode.TOPIC_ALREADY_EXISTS) throw err;
        const doc = await describeTopic(s, name);
        if (flags.json) return printJson(io, doc);
        io.stderr.write(`topic ${name} exists already (${plural(doc.partitions.length, "partition")})\n`);
        return;
      }
      const doc = await describeTopic(s, name);
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`created topic ${doc.name} with ${plural(doc.partitions.length, "partition")}\n`);
    });
  });
}

function describeCommand(io: Io): Command {
  return withAdminOptions(new Command("describe").description("partitions (offsets, size, segments), configs and durability of a topic").argument("<topic>")).action((name: string, flags: AdminFlags) => {
    topicName(name);
    return withAdmin(flags, io, "topics describe", async (s) => {
      const doc = await describeTopic(s, name);
      if (flags.json) return printJson(io, doc);
      io.stdout.write(renderTopic(doc));
    });
  });
}

function deleteCommand(io: Io): Command {
  return withAdminOptions(new Command("delete").description("delete a topic and all its records").argument("<topic>").option("--if-exists", "succeed quietly when there is no such topic")).action(
    (name: string, flags: AdminFlags & { ifExists?: boolean }) => {
      topicName(name);
      return withAdmin(flags, io, "topics delete", async (s) => {
        try {
          await s.admin.deleteTopic(name);
        } catch (err) {
          if (flags.ifExists && kafkaCode(err) === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return;
          throw err;
        }
        if (flags.json) return printJson(io, { deleted: name });
        io.stderr.write(`deleted topic ${name}\n`);
      });
    },
  );
}

interface AlterFlags extends AdminFlags {
  set: string[];
  reset: string[];
}

function alterCommand(io: Io): Command {
  return withAdminOptions(
    new Command("alter")
      .description("change topic configs: --set key=value, --reset key (back to the default)")
      .argument("<topic>")
      .option("--set <key=value>", "set a config, repeatable", collect, [])
      .option("--reset <key>", "return a config to its default, repeatable", collect, []),
  ).action((name: string, flags: AlterFlags) => {
    topicName(name);
    const changes: Record<string, string | null> = keyValues("--set", flags.set);
    for (const k of flags.reset) changes[k] = null;
    const count = Object.keys(changes).length;
    if (count === 0) throw new UsageError("nothing to change: give --set key=value or --reset key");
    return withAdmin(flags, io, "topics alter", async (s) => {
      await s.admin.topic(name); // "does not exist" before anything else
      try {
        await s.admin.alterConfigs(name, changes);
      } catch (err) {
        // A streamctl broker without the Kafka config APIs still has its control plane.
        const cp = err instanceof UnsupportedApiError ? await s.controlPlane() : null;
        if (cp === null) throw err;
        await viaControlPlane(() => cp.patch(`/v1/topics/${seg(name)}/configs`, changes));
      }
      const doc = await describeTopic(s, name);
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`altered ${plural(count, "config")} of topic ${name}\n`);
      io.stdout.write(configTable(doc));
    });
  });
}

function addPartitionsCommand(io: Io): Command {
  return withAdminOptions(
    new Command("add-partitions")
      .description("add partitions to a topic (Kafka never removes any; keys may map to other partitions afterwards)")
      .argument("<topic>")
      .argument("<count>", "how many partitions to add"),
  ).action((name: string, count: string, flags: AdminFlags) => {
    topicName(name);
    const more = positiveInt("<count>", count);
    return withAdmin(flags, io, "topics add-partitions", async (s) => {
      const before = (await s.admin.topic(name)).partitions.length;
      await s.admin.createPartitions(name, before + more);
      const doc = await describeTopic(s, name);
      if (flags.json) return printJson(io, doc);
      io.stderr.write(`topic ${name} now has ${plural(doc.partitions.length, "partition")} (was ${before})\n`);
    });
  });
}

/** What the control plane answers for a cleaning pass (net/http/topics.ts). */
interface CompactDoc {
  topic: string;
  recordsRemoved: number;
  bytesRemoved: number;
  segmentsRemoved: number;
  bytesRead: number;
  bytesWritten: number;
  ms: number;
  partitions: Array<{ partition: number; cleaned: boolean; reason: string; recordsBefore: number; recordsAfter: number; bytesBefore: number; bytesAfter: number; segmentsBefore: number; segmentsAfter: number; tombstonesRemoved: number; abortedRemoved: number; markersRemoved: number; firstDirtyOffset: number }>;
}

function compactCommand(io: Io): Command {
  return withAdminOptions(
    new Command("compact")
      .description("clean a compacted topic now (cleanup.policy with compact): keep the latest record per key, drop expired tombstones; prints what was removed (needs a streamctl broker's control plane)")
      .argument("<topic>"),
  ).action((name: string, flags: AdminFlags) => {
    topicName(name);
    return withAdmin(flags, io, "topics compact", async (s) => {
      await s.admin.topic(name); // "does not exist" before anything else
      const cp = await s.controlPlane();
      if (cp === null) throw new RuntimeError(`topics compact needs a streamctl broker's control plane (--http URL or STREAMCTL_HTTP); ${s.broker} offers none`);
      const doc = await viaControlPlane(() => cp.post<CompactDoc>(`/v1/topics/${seg(name)}/compact`, {}));
      if (flags.json) return printJson(io, doc);
      io.stdout.write(
        formatTable(
          ["PARTITION", "RECORDS BEFORE", "RECORDS AFTER", "SIZE BEFORE", "SIZE AFTER", "SEGMENTS BEFORE", "SEGMENTS AFTER", "TOMBSTONES REMOVED", "NOTE"],
          doc.partitions.map((p) => [
            p.partition,
            formatCount(p.recordsBefore),
            formatCount(p.recordsAfter),
            formatBytes(p.bytesBefore),
            formatBytes(p.bytesAfter),
            p.segmentsBefore,
            p.segmentsAfter,
            formatCount(p.tombstonesRemoved),
            p.cleaned ? "" : p.reason,
          ]),
        ),
      );
      io.stderr.write(`compacted topic ${name}: removed ${plural(doc.recordsRemoved, "record")}, ${formatBytes(doc.bytesRemoved)} (${doc.bytesRemoved} bytes) and ${plural(doc.segmentsRemoved, "segment")} in ${doc.ms} ms\n`);
    });
  });
}

export function topicsCommand(io: Io): Command {
  const cmd = new Command("topics")
    .alias("topic")
    .description("list, create, describe, delete, alter, add partitions to and compact topics (Kafka admin APIs)")
    .addCommand(listCommand(io))
    .addCommand(createCommand(io))
    .addCommand(describeCommand(io))
    .addCommand(deleteCommand(io))
    .addCommand(alterCommand(io))
    .addCommand(addPartitionsCommand(io))
    .addCommand(compactCommand(io));
  return sameOutputBelow(cmd, io);
}
