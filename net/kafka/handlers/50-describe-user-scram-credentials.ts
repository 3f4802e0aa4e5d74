// DescribeUserScramCredentials (key 50), v0 (KIP-554). Lists users' SCRAM mechanisms and
// iterations, never a salt or key. Users: null lists every user; a name asked twice is
// DUPLICATE_RESOURCE, an unknown one RESOURCE_NOT_FOUND, per user. Needs DESCRIBE on the cluster
// (core/broker/auth.ts authorize); without it the whole answer is CLUSTER_AUTHORIZATION_FAILED.
import { CLUSTER, type ScramMechanism } from "../../../core/broker/auth.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  DescribeUserScramCredentials,
  type DescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
  type DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult as Result,
} from "../../protocol/messages/index.ts";
import { requesterOf } from "../acl-operations.ts";
import { defineHandler } from "../handler.ts";

/** Kafka's ScramMechanism type ids on the wire. */
export const SCRAM_MECHANISM_IDS: Record<ScramMechanism, number> = { "SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2 };

export const describeUserScramCredentialsHandler = defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
  api: DescribeUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  handle(req, ctx) {
    const auth = ctx.broker.auth;
    if (!auth.authorize(requesterOf(ctx), "DESCRIBE", CLUSTER)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed.", results: [] };
    }
    const names = req.users === null ? auth.listUsers().map((u) => u.name) : req.users.map((u) => u.name);
    const counts = new Map<string, number>();
    for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
    const results: Result[] = [];
    for (const [name, count] of counts) {
      const user = auth.user(name);
      if (count > 1) results.push(failure(name, ErrorCode.DUPLICATE_RESOURCE, `Cannot describe SCRAM credentials for the same user twice in a single request: ${name}`));
      else if (user === undefined) results.push(failure(name, ErrorCode.RESOURCE_NOT_FOUND, `Attempt to describe a user credential that does not exist: ${name}`));
      else results.push({ user: name, errorCode: 0, errorMessage: null, credentialInfos: user.credentials.map((c) => ({ mechanism: SCRAM_MECHANISM_IDS[c.mechanism], iterations: c.iterations })) });
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results };
  },
});

function failure(user: string, errorCode: number, errorMessage: string): Result {
  return { user, errorCode, errorMessage, credentialInfos: [] };
}
