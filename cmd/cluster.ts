// `streamctl cluster status` — the cluster's health from one Metadata request (so it works against
// Kafka and Redpanda too): the brokers alive and any named as a replica but gone, the controller,
// and every partition that is under-replicated (ISR smaller than its replicas) or offline (no
// live leader). Exit 0 either way; `--json` for scripts. Internal topics count: an offline
// __consumer_offsets partition is a group outage.
import { Command } from "commander";
import { type AdminFlags, plural, printJson, withAdmin, withAdminOptions } from "./admin-common.ts";
import type { Io } from "./io.ts";
import { formatTable } from "./table.ts";

export function clusterCommand(io: Io): Command {
  const status = withAdminOptions(new Command("status").description("brokers (alive or gone), the controller, under-replicated and offline partitions")).action((flags: AdminFlags) =>
    withAdmin(flags, io, "cluster status", async (s) => {
      const md = await s.admin.metadata(null);
      const alive = new Set(md.brokers.map((b) => b.nodeId));
      const partitions = md.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, ...p })));
      const gone = [...new Set(partitions.flatMap((p) => p.replicas))].filter((id) => !alive.has(id)).sort((a, b) => a - b);
      const view = (p: (typeof partitions)[number]) => ({ topic: p.topic, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr });
      const doc = {
        clusterId: md.clusterId,
        controllerId: md.controllerId,
        brokers: [
          ...md.brokers.map((b) => ({ id: b.nodeId, address: `${b.host}:${b.port}`, alive: true })),
          ...gone.map((id) => ({ id, address: null, alive: false })),
        ].sort((a, b) => a.id - b.id),
        underReplicated: partitions.filter((p) => p.leader >= 0 && alive.has(p.leader) && p.isr.length < p.replicas.length).map(view),
        offline: partitions.filter((p) => p.leader < 0 || !alive.has(p.leader)).map(view),
      };
      if (flags.json) return printJson(io, doc);
      const head =
        `cluster     ${doc.clusterId ?? "-"}\ncontroller  ${doc.controllerId < 0 ? "-" : doc.controllerId}\n` +
        `${plural(alive.size, "broker")} alive${gone.length > 0 ? `, ${gone.length} gone` : ""}; ${plural(doc.underReplicated.length, "partition")} under-replicated, ${doc.offline.length} offline\n\n`;
      const brokers = formatTable(["BROKER", "ADDRESS", "STATE"], doc.brokers.map((b) => [b.id, b.address, b.alive ? "alive" : "gone"]));
      const trouble = [...doc.offline.map((p) => ({ ...p, state: "offline" })), ...doc.underReplicated.map((p) => ({ ...p, state: "under-replicated" }))];
      const table = trouble.length === 0 ? "" : `\n${formatTable(["TOPIC", "PARTITION", "STATE", "LEADER", "REPLICAS", "ISR"], trouble.map((p) => [p.topic, p.partition, p.state, p.leader < 0 ? null : p.leader, p.replicas.join(","), p.isr.join(",")]))}`;
      io.stdout.write(head + brokers + table);
    }),
  );
  return new Command("cluster").description("the cluster's brokers and partition health (cluster status)").addCommand(status);
}
