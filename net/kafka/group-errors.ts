// Group coordinator answers on the wire: core/groups names its errors as Kafka does, so the code
// is one lookup; and the helpers every group handler shares.
import type { GroupErrorName } from "../../core/groups/types.ts";
import { ErrorCode } from "../protocol/errors.ts";
import type { RequestContext } from "./handler.ts";

export function groupErrorCode(error: GroupErrorName | null): number {
  return error === null ? ErrorCode.NONE : ErrorCode[error];
}

/** Kafka's client host: the peer's address with a leading slash ("/127.0.0.1"). */
export function clientHost(ctx: RequestContext): string {
  const addr = ctx.remoteAddress;
  return addr ? `/${addr}` : "";
}
