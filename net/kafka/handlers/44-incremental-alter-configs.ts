// IncrementalAlterConfigs (key 44), v0-1 (KIP-339; v1 flexible). Per config: SET (0), DELETE (1:
// back to the default), APPEND (2) and SUBTRACT (3) for list configs (cleanup.policy), from the
// topic's current value (core/broker/configs.ts). Checks and answers per resource, broker and
// broker-logger resources included, are net/kafka/alter-configs.ts's; validate_only changes nothing.
import {
  IncrementalAlterConfigs,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
  defaultIncrementalAlterConfigsResponse,
} from "../../protocol/messages/index.ts";
import { alterConfigResources } from "../alter-configs.ts";
import { defineHandler } from "../handler.ts";

export const incrementalAlterConfigsHandler = defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  api: IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  async handle(req, ctx) {
    const asks = req.resources.map((r) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      configs: r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value })),
    }));
    const responses = await alterConfigResources(asks, req.validateOnly, true, ctx);
    return { ...defaultIncrementalAlterConfigsResponse(), throttleTimeMs: 0, responses };
  },
});
