// What an authorization rule of the Kafka door is (net/kafka/acl-gate.ts runs them), and the
// helpers the rules of acl-rules-data.ts and acl-rules-admin.ts share.
import type { Operation, ResourceType } from "../../core/broker/auth.ts";
import { CLOSE_CONNECTION, NO_RESPONSE, type RequestContext } from "./handler.ts";

/** What a rule may ask: whether the request's principal may do `op` on a resource. */
export interface Asker {
  readonly ctx: RequestContext;
  can(op: Operation, type: ResourceType, name: string): boolean;
  /** On some resource of `type` (an idempotent producer's WRITE on any topic, KIP-679). */
  canAny(op: Operation, type: ResourceType): boolean;
}

/** A handler's outcome as a rule's `after` sees it: the response object, or no answer at all. */
export type Outcome<Res> = Res | typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

/**
 * A rule's decision: null lets the request through as it is; `answer` refuses it whole; `req`
 * (with `after`) lets the handler run on the allowed part and merges the rest into its answer.
 */
export type Verdict<Req, Res> = null | { answer: Outcome<Res> } | { req: Req; after: (res: Outcome<Res>) => Outcome<Res> };

export type Rule<Req = any, Res = any> = (req: Req, a: Asker) => Verdict<Req, Res>;

/** Needs nothing (ApiVersions, SASL, telemetry): answered for anyone the session admits. */
export const OPEN: Rule = () => null;

// --- helpers the rules share -------------------------------------------------------------------

/** Items split by a test: [allowed, refused], each in the order given. */
export function split<T>(items: readonly T[], allowed: (t: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const t of items) (allowed(t) ? yes : no).push(t);
  return [yes, no];
}

/**
 * The verdict for a request whose items are split: all allowed → through; none → `answer` of the
 * refused ones; some → the handler on the allowed ones and `merge` of its answer with the refused.
 */
export function partly<Req, Res, T>(
  items: readonly T[],
  allowed: (t: T) => boolean,
  narrowed: (allowed: T[]) => Req,
  refusedAnswer: (refused: T[]) => Outcome<Res>,
  merge: (res: Res, refused: T[]) => Res,
): Verdict<Req, Res> {
  const [yes, no] = split(items, allowed);
  if (no.length === 0) return null;
  if (yes.length === 0) return { answer: refusedAnswer(no) };
  return {
    req: narrowed(yes),
    after: (res) => (res === NO_RESPONSE || res === CLOSE_CONNECTION ? res : merge(res, no)),
  };
}
