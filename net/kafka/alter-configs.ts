// AlterConfigs and IncrementalAlterConfigs share this: the checks Kafka's ConfigAdminManager
// makes before anything is stored, the resource types, and the answer per resource. The topic
// changes themselves are the core's (core/broker/configs.ts).
//
// | resource (ConfigResource.Type)  | answer                                                      |
// |---------------------------------|-------------------------------------------------------------|
// | named twice in one request      | INVALID_REQUEST "Each resource must appear at most once."   |
// | a config key twice              | INVALID_REQUEST "Error due to duplicate config keys"        |
// | a null value (but DELETE)       | INVALID_REQUEST "Null value not supported for : k"          |
// | an operation other than 0..3    | INVALID_REQUEST "Unknown operations type n"                 |
// | TOPIC (2)                       | the core applies it: UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG |
// | BROKER (4), name not "" / ours  | INVALID_REQUEST (Kafka's validateResourceNameIsCurrentNodeId) |
// | BROKER (4), any config          | INVALID_REQUEST "Cannot update these configs dynamically: Set(…)": |
// |                                 |   this broker has no dynamic broker configs (Kafka answers this for its read-only ones) |
// | BROKER (4), no config           | nothing to do: success                                      |
// | BROKER_LOGGER (8), incremental  | name must be ours; SET/DELETE → INVALID_CONFIG "Logger x does not exist!" (no log4j here); |
// |                                 |   APPEND/SUBTRACT → INVALID_REQUEST                        |
// | anything else (and BROKER_LOGGER in the legacy API) | INVALID_REQUEST "Unknown resource type n" |
import type { ConfigChange } from "../../core/broker/broker.ts";
import { CoreError } from "../../core/errors.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { errorMessage, kafkaErrorCode } from "./errors.ts";
import type { RequestContext } from "./handler.ts";

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;
export const RESOURCE_BROKER_LOGGER = 8;

/** IncrementalAlterConfigs' operations by id (AlterConfigOp.OpType). */
const OPERATIONS: ReadonlyArray<ConfigChange["op"]> = ["set", "delete", "append", "subtract"];

export interface ConfigResourceAsk {
  resourceType: number;
  resourceName: string;
  /** `op` is the wire id for incremental requests, null for the legacy one (a plain set). */
  configs: Array<{ name: string; op: number | null; value: string | null }>;
}

export interface ConfigResourceAnswer {
  resourceType: number;
  resourceName: string;
  errorCode: number;
  errorMessage: string | null;
}

export async function alterConfigResources(resources: ConfigResourceAsk[], validateOnly: boolean, incremental: boolean, ctx: RequestContext): Promise<ConfigResourceAnswer[]> {
  const seen = new Map<string, number>();
  for (const r of resources) seen.set(`${r.resourceType}\0${r.resourceName}`, (seen.get(`${r.resourceType}\0${r.resourceName}`) ?? 0) + 1);
  const answers: ConfigResourceAnswer[] = [];
  for (const r of resources) {
    const answer = (errorCode: number, message: string | null): ConfigResourceAnswer => ({ resourceType: r.resourceType, resourceName: r.resourceName, errorCode, errorMessage: message });
    if (seen.get(`${r.resourceType}\0${r.resourceName}`)! > 1) {
      answers.push(answer(ErrorCode.INVALID_REQUEST, "Each resource must appear at most once."));
      continue;
    }
    const refused = malformed(r, incremental);
    if (refused !== null) {
      answers.push(answer(ErrorCode.INVALID_REQUEST, refused));
      continue;
    }
    try {
      const [code, message] = await alterOne(r, validateOnly, incremental, ctx);
      answers.push(answer(code, message));
    } catch (err) {
      if (!(err instanceof CoreError)) throw err;
      const message = err.code === "UNKNOWN_TOPIC" ? `The topic '${r.resourceName}' does not exist.` : errorMessage(err);
      answers.push(answer(kafkaErrorCode(err), message));
    }
  }
  return answers;
}

/** Why a resource's config list is malformed whatever the resource (Kafka's preprocess), or null. */
function malformed(r: ConfigResourceAsk, incremental: boolean): string | null {
  const names = r.configs.map((c) => c.name);
  if (new Set(names).size !== names.length) return "Error due to duplicate config keys";
  const unknownOp = r.configs.find((c) => c.op !== null && OPERATIONS[c.op] === undefined);
  if (unknownOp) return `Unknown operations type ${unknownOp.op}`;
  const nulls = r.configs.filter((c) => c.value === null && !(incremental && c.op === 1)).map((c) => c.name);
  if (nulls.length > 0) return `Null value not supported for : ${nulls.join(", ")}`;
  return null;
}

async function alterOne(r: ConfigResourceAsk, validateOnly: boolean, incremental: boolean, ctx: RequestContext): Promise<[number, string | null]> {
  const { broker } = ctx;
  const via = `${incremental ? "IncrementalAlterConfigs" : "AlterConfigs"} from ${ctx.clientId ?? "a client"}`;
  switch (r.resourceType) {
    case RESOURCE_TOPIC: {
      if (incremental) {
        const changes = r.configs.map((c): ConfigChange => ({ name: c.name, op: OPERATIONS[c.op ?? 0]!, value: c.value }));
        await broker.alterTopicConfigs(r.resourceName, changes, { validateOnly, via });
      } else {
        await broker.replaceTopicConfigs(r.resourceName, Object.fromEntries(r.configs.map((c) => [c.name, c.value!])), { validateOnly, via });
      }
      return [0, null];
    }
    case RESOURCE_BROKER: {
      const wrongNode = r.resourceName === "" ? null : nodeProblem(r.resourceName, broker.nodeId);
      if (wrongNode !== null) return [ErrorCode.INVALID_REQUEST, wrongNode];
      if (r.configs.length === 0) return [0, null];
      return [ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: Set(${r.configs.map((c) => c.name).join(", ")})`];
    }
    case RESOURCE_BROKER_LOGGER: {
      if (!incremental) break;
      const wrongNode = nodeProblem(r.resourceName, broker.nodeId);
      if (wrongNode !== null) return [ErrorCode.INVALID_REQUEST, wrongNode];
      const listOp = r.configs.find((c) => c.op === 2 || c.op === 3);
      if (listOp) return [ErrorCode.INVALID_REQUEST, `${OPERATIONS[listOp.op!]!.toUpperCase()} operation is not allowed for the BROKER_LOGGER resource`];
      if (r.configs.length > 0) return [ErrorCode.INVALID_CONFIG, `Logger ${r.configs[0]!.name} does not exist!`];
      return [0, null];
    }
  }
  return [ErrorCode.INVALID_REQUEST, `Unknown resource type ${r.resourceType}`];
}

function nodeProblem(name: string, nodeId: number): string | null {
  if (!/^-?\d+$/.test(name)) return `Node id must be an integer, but it is: ${name}`;
  return Number(name) === nodeId ? null : `Unexpected broker id, expected ${nodeId}, but received ${name}`;
}
