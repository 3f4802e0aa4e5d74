// AlterUserScramCredentials (key 51), v0 (KIP-554). Sets (upsertions: the client sends salt,
// iterations and SaltedPassword, never the password) and removes (deletions) users' SCRAM
// credentials. Each user's changes apply together or not at all; results are per user, in the
// order users are first named; codes as Kafka: UNSUPPORTED_SASL_MECHANISM, UNACCEPTABLE_CREDENTIAL
// (iterations outside 4096..16384, empty name or salt), DUPLICATE_RESOURCE (a user and mechanism
// twice), RESOURCE_NOT_FOUND (deleting what is not there). A user whose last credential goes is
// removed. Needs ALTER on the cluster, else every user's result is CLUSTER_AUTHORIZATION_FAILED.
import { CLUSTER, type ScramAlteration } from "../../../core/broker/auth.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { AlterUserScramCredentials, type AlterUserScramCredentialsRequest, type AlterUserScramCredentialsResponse } from "../../protocol/messages/index.ts";
import { kafkaErrorCode } from "../errors.ts";
import { requesterOf } from "../acl-operations.ts";
import { defineHandler } from "../handler.ts";
import { SCRAM_MECHANISM_IDS } from "./50-describe-user-scram-credentials.ts";

const MECHANISM_BY_ID = new Map(Object.entries(SCRAM_MECHANISM_IDS).map(([name, id]) => [id, name]));

export const alterUserScramCredentialsHandler = defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
  api: AlterUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const changes: ScramAlteration[] = [
      ...req.deletions.map((d) => ({ kind: "delete" as const, user: d.name, mechanism: MECHANISM_BY_ID.get(d.mechanism) ?? `UNKNOWN(${d.mechanism})` })),
      ...req.upsertions.map((u) => ({ kind: "upsert" as const, user: u.name, mechanism: MECHANISM_BY_ID.get(u.mechanism) ?? `UNKNOWN(${u.mechanism})`, iterations: u.iterations, salt: u.salt, saltedPassword: u.saltedPassword })),
    ];
    const auth = ctx.broker.auth;
    if (!auth.authorize(requesterOf(ctx), "ALTER", CLUSTER)) {
      const users = [...new Set(changes.map((c) => c.user))];
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed." })) };
    }
    const results = await auth.alterScramCredentials(changes);
    if ([...results.values()].some((e) => e === null)) ctx.broker.log.info(`SCRAM credentials altered by ${ctx.session.principal.type}:${ctx.session.principal.name} for ${[...results].filter(([, e]) => e === null).map(([u]) => u).join(", ")}`);
    return {
      throttleTimeMs: 0,
      results: [...results].map(([user, err]) => ({ user, errorCode: err === null ? 0 : kafkaErrorCode(err), errorMessage: err?.message ?? null })),
    };
  },
});
