// KIP-430's authorized_operations fields (the core's allowed operations as a bit field, one bit per
// AclOperation code, net/protocol/acl-codes.ts, and the schema's "not asked" value, INT32_MIN), and
// the requester of a Kafka request.
import type { Operation, Requester, Resource } from "../../core/broker/auth.ts";
import { ACL_OPERATION_CODE } from "../protocol/acl-codes.ts";
import type { RequestContext } from "./handler.ts";

export { aclCodes, aclNames } from "../protocol/acl-codes.ts";

export const OPERATIONS_NOT_REQUESTED = -2147483648;

export function operationBits(operations: readonly Operation[]): number {
  let bits = 0;
  for (const op of operations) bits |= 1 << ACL_OPERATION_CODE[op];
  return bits;
}

/** KIP-430's bit field of what the request's principal may do to `resource`. */
export function allowedBits(ctx: Pick<RequestContext, "session" | "remoteAddress" | "broker">, resource: Resource): number {
  return operationBits(ctx.broker.authorizedOperations(requesterOf(ctx), resource));
}

/** The principal and client address a request is decided for. */
export function requesterOf(ctx: Pick<RequestContext, "session" | "remoteAddress">): Requester {
  return { principal: ctx.session.principal, host: hostOf(ctx.remoteAddress) };
}

/** "::ffff:10.0.0.1" → "10.0.0.1": ACL hosts name IPv4 clients as IPv4. */
export function hostOf(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
