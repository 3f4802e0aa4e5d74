// The Kafka door's authorization gate: every request that decoded passes here, with its principal
// known (the session) and before its handler runs, and is let through, narrowed or refused by the
// core's decision (core/broker/auth.ts authorize, by the ACLs). Which operation on which resource
// each API needs is Kafka's (KafkaApis and AuthHelper, 3.8), one rule per API key in the tables of
// acl-rules-data.ts and acl-rules-admin.ts; the answers are Kafka's codes.
//
// | authorization      | principal    | rule of the API key | what happens                                      |
// |--------------------|--------------|---------------------|---------------------------------------------------|
// | off                | anyone       | —                   | the handler runs (no cost beyond one check)       |
// | on                 | a super user | —                   | the handler runs                                  |
// | on                 | anyone else  | none (unknown API)  | the connection closes (fail closed: an API added  |
// |                    |              |                     | without a rule is never served unchecked)         |
// | on                 | anyone else  | allows all of it    | the handler runs                                  |
// | on                 | anyone else  | refuses all of it   | the rule's answer (its *_AUTHORIZATION_FAILED)    |
// | on                 | anyone else  | allows a part       | the handler runs on that part; the rule merges    |
// |                    |              |                     | the refused part's errors into the answer         |
//
// A rule that narrows a request whose handler answers with its own encoded frame (Produce, Fetch)
// gets that frame decoded back into a response to merge into: a rare path (a request naming
// topics the principal may and may not use), so the common one keeps its encoded answers.
import { decodeResponseHeader } from "../protocol/header.ts";
import { Reader } from "../protocol/reader.ts";
import { requesterOf } from "./acl-operations.ts";
import type { Outcome, Rule, Verdict } from "./acl-rule.ts";
import { ADMIN_RULES } from "./acl-rules-admin.ts";
import { DATA_RULES } from "./acl-rules-data.ts";
import { CLOSE_CONNECTION, EncodedResponse, type Handler, type HandlerResult, NO_RESPONSE, type RequestContext } from "./handler.ts";

const RULES: ReadonlyMap<number, Rule> = new Map<number, Rule>([...DATA_RULES, ...ADMIN_RULES]);

/** Whether the gate has a rule for `apiKey` (a test checks every served API has one). */
export function hasRule(apiKey: number): boolean {
  return RULES.has(apiKey);
}

/** The gate's decision for one decoded request (the table at the top); null: run the handler as it is. */
export function gate(handler: Handler, req: unknown, ctx: RequestContext): Verdict<unknown, unknown> | typeof CLOSE_CONNECTION {
  const auth = ctx.broker.auth;
  if (!auth.authorizationEnabled) return null;
  const who = requesterOf(ctx);
  if (auth.isSuperUser(who.principal)) return null;
  const rule = RULES.get(handler.api.key);
  if (rule === undefined) {
    ctx.broker.log.debug?.(`closing connection from ${ctx.remoteAddress}: API ${handler.api.name} has no authorization rule`);
    return CLOSE_CONNECTION;
  }
  return rule(req, {
    ctx,
    can: (op, type, name) => auth.authorize(who, op, { type, name }),
    canAny: (op, type) => auth.authorizeAny(who, op, type),
  });
}

/** A handler's result as a response object for a rule's `after` (an encoded frame decoded back). */
export function outcomeOf(handler: Handler, version: number, res: HandlerResult<unknown>): Outcome<unknown> {
  if (res === NO_RESPONSE || res === CLOSE_CONNECTION) return res;
  if (!(res instanceof EncodedResponse)) return res;
  const chunks = Array.isArray(res.chunks) ? res.chunks : [res.chunks];
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  const r = new Reader(bytes, 4);
  decodeResponseHeader(r, handler.api.key, version);
  return handler.api.decodeResponse(r, version);
}
