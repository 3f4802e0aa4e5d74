// GET /v1/cluster: the cluster as this broker sees it (cluster mode), for `streamctl cluster status`.
//
//   {"clusterId","nodeId","controller","brokers":[{"id","host","port","alive"}],
//    "underReplicated":[{"topic","partition","leader","replicas","isr"}],
//    "offline":[{"topic","partition","replicas","isr"}]}
//
// `brokers` lists every broker that is alive or named as a replica of some partition; `alive` is
// whether it holds its registration now. A single node answers itself as a cluster of one.
import { CLUSTER } from "../../core/broker/auth.ts";
import type { Route, RouteContext } from "./router.ts";

function cluster(ctx: RouteContext): Response {
  const { broker } = ctx;
  const self = { host: new URL(ctx.req.url).hostname, port: 0 };
  const live = broker.brokerEndpoints(self);
  const liveIds = new Set(live.map((b) => b.id));
  const partitions = broker.topicAssignments().flatMap((t) => t.partitions);
  const named = new Set(partitions.flatMap((p) => p.replicas));
  const brokers = [
    ...live.map((b) => ({ id: b.id, host: b.host, port: b.port, alive: true })),
    ...[...named].filter((id) => !liveIds.has(id)).map((id) => ({ id, host: null, port: null, alive: false })),
  ].sort((a, b) => a.id - b.id);
  const view = (p: (typeof partitions)[number]) => ({ topic: p.topic, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr });
  return Response.json({
    clusterId: broker.clusterId,
    nodeId: broker.nodeId,
    controller: broker.controllerId(),
    brokers,
    underReplicated: partitions.filter((p) => p.leader >= 0 && liveIds.has(p.leader) && p.isr.length < p.replicas.length).map(view),
    offline: partitions.filter((p) => p.leader < 0 || !liveIds.has(p.leader)).map(view),
  });
}

export const clusterRoutes: Route[] = [{ method: "GET", path: "/v1/cluster", access: () => [["DESCRIBE", CLUSTER]], handle: cluster }];
