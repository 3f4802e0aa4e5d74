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

/** A 16-byte uuid as core names topic ids: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case. */
export function uuidToString(id: Uint8Array): string {
  const hex = Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex").padEnd(32, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The inverse of uuidToString. */
export function uuidFromString(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replaceAll("-", ""), "hex"));
}
