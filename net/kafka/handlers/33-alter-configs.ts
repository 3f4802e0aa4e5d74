// AlterConfigs (key 33), v0-2 (v1 same as v0, v2 flexible): Kafka's legacy, non-incremental config
// change. For a TOPIC resource the configs given become the topic's whole set of overrides: any
// override not named goes back to its default (core/broker/configs.ts). Checks and answers per
// resource are net/kafka/alter-configs.ts's; validate_only changes nothing.
import {
  AlterConfigs,
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  defaultAlterConfigsResponse,
} from "../../protocol/messages/index.ts";
import { alterConfigResources } from "../alter-configs.ts";
import { defineHandler } from "../handler.ts";

export const alterConfigsHandler = defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  api: AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  async handle(req, ctx) {
    const asks = req.resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, configs: r.configs.map((c) => ({ name: c.name, op: null, value: c.value })) }));
    const responses = await alterConfigResources(asks, req.validateOnly, false, ctx);
    return { ...defaultAlterConfigsResponse(), throttleTimeMs: 0, responses };
  },
});
