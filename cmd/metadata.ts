// `streamctl metadata [TOPIC…]` — what the cluster says about itself (kcat -L): its id, the
// controller, the brokers, and every topic's partitions with leader, replicas and in-sync
// replicas. One Metadata request (never creating a topic); `--json` prints it as one document.
// A named topic that does not exist exits 1 with one line.
import { Command } from "commander";
import { errorByCode } from "../net/protocol/errors.ts";
import { topicError } from "../net/client/admin.ts";
import { type AdminFlags, checkTopicName, plural, printJson, withAdmin, withAdminOptions } from "./admin-common.ts";
import type { Io } from "./io.ts";
import { formatTable } from "./table.ts";

interface MetadataFlags extends AdminFlags {
  internal?: boolean;
}

function errorName(code: number): string | null {
  return code === 0 ? null : (errorByCode(code)?.name ?? `error ${code}`);
}

export function metadataCommand(io: Io): Command {
  return withAdminOptions(
    new Command("metadata")
      .description("brokers, controller, topics, partitions, leaders and replicas (like kcat -L)")
      .argument("[topics...]", "only these topics (default: all)")
      .option("-i, --internal", "include internal topics (__consumer_offsets, …)"),
  ).action((topics: string[], flags: MetadataFlags) => {
    for (const t of topics) checkTopicName(t);
    return withAdmin(flags, io, "metadata", async (s) => {
      const md = await s.admin.metadata(topics.length > 0 ? topics : null);
      for (const t of md.topics) if (t.errorCode !== 0) throw topicError(t.errorCode, t.name, "metadata of");
      const shown = md.topics.filter((t) => flags.internal || topics.length > 0 || !t.internal);
      const doc = {
        clusterId: md.clusterId,
        controllerId: md.controllerId,
        brokers: md.brokers,
        topics: shown.map((t) => ({
          name: t.name,
          topicId: t.topicId,
          internal: t.internal,
          partitions: t.partitions.map((p) => ({ partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr, offline: p.offline, error: errorName(p.errorCode) })),
        })),
      };
      if (flags.json) return printJson(io, doc);
      const head = `cluster     ${doc.clusterId ?? "-"}\ncontroller  ${doc.controllerId < 0 ? "-" : doc.controllerId}\n${plural(doc.brokers.length, "broker")}, ${plural(doc.topics.length, "topic")}\n\n`;
      const brokers = formatTable(
        ["BROKER", "ADDRESS", "RACK"],
        doc.brokers.map((b) => [b.nodeId, `${b.host.includes(":") ? `[${b.host}]` : b.host}:${b.port}`, b.rack]),
      );
      const rows = doc.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partition, p.leader < 0 ? null : p.leader, p.replicas.join(","), p.isr.join(","), p.error]));
      const partitions = rows.length > 0 ? `\n${formatTable(["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "ERROR"], rows)}` : "";
      io.stdout.write(head + brokers + partitions);
    });
  });
}
