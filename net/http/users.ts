// /v1/users: the users SASL listeners accept (core/broker/auth.ts), for `streamctl users`.
//
//   GET    /v1/users          → {"users":[{name, superUser, credentials:[{mechanism, iterations}]}]}
//   POST   /v1/users          {name, password, mechanisms?, iterations?, superUser?} → 201 user
//   PUT    /v1/users/{name}   {password, mechanisms?, iterations?} → user (a new password: every
//                             old credential goes)
//   DELETE /v1/users/{name}   → {"deleted": name}
//
// A password arrives in the body (never the URL) and is turned into salted SCRAM credentials at
// once; neither it nor a salt or key is ever answered or logged. mechanisms defaults to both
// SCRAM-SHA-256 and SCRAM-SHA-512, iterations to 4096 (Kafka's bounds: 4096..16384). Codes:
// 409 USER_EXISTS, 404 USER_NOT_FOUND, 400 UNACCEPTABLE_CREDENTIAL. Listing needs DESCRIBE, the
// rest ALTER, on the cluster (as Kafka's Describe/AlterUserScramCredentials): when any listener
// authenticates, that is a super user (the holder of the control plane's bearer token, or a super
// user by HTTP Basic) or a user with an ACL saying so; 401/403 otherwise, so that an open loopback
// control plane cannot mint users for a SASL listener.
import { CLUSTER, SCRAM_MECHANISMS, type ScramMechanism } from "../../core/broker/auth.ts";
import { readJsonObject } from "./body.ts";
import { badRequest, HttpError } from "./errors.ts";
import { JSON_BODY_BYTES_MAX } from "./limits.ts";
import type { Route, RouteContext } from "./router.ts";


function mechanismsOf(value: unknown): ScramMechanism[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.some((m) => !SCRAM_MECHANISMS.includes(m as ScramMechanism))) {
    throw badRequest(`mechanisms must be a non-empty list of ${SCRAM_MECHANISMS.join(", ")}`, "UNACCEPTABLE_CREDENTIAL");
  }
  return [...new Set(value as ScramMechanism[])];
}

function passwordOf(body: Record<string, unknown>): string {
  if (typeof body.password !== "string") throw badRequest("password must be a string", "UNACCEPTABLE_CREDENTIAL");
  return body.password;
}

function iterationsOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw badRequest("iterations must be an integer", "UNACCEPTABLE_CREDENTIAL");
  return value;
}

async function createUser(ctx: RouteContext): Promise<Response> {
  const body = await readJsonObject(ctx.req, JSON_BODY_BYTES_MAX, ["name", "password", "mechanisms", "iterations", "superUser"]);
  if (typeof body.name !== "string") throw badRequest("name must be a string", "UNACCEPTABLE_CREDENTIAL");
  if (body.superUser !== undefined && typeof body.superUser !== "boolean") throw badRequest("superUser must be true or false");
  const user = await ctx.broker.auth.setPassword(body.name, passwordOf(body), {
    mechanisms: mechanismsOf(body.mechanisms),
    iterations: iterationsOf(body.iterations),
    superUser: body.superUser === true,
    mode: "create",
  });
  ctx.broker.log.info(`created user ${user.name}${user.superUser ? " (super user)" : ""} (http)`);
  return Response.json(user, { status: 201 });
}

async function changePassword(ctx: RouteContext): Promise<Response> {
  const body = await readJsonObject(ctx.req, JSON_BODY_BYTES_MAX, ["password", "mechanisms", "iterations"]);
  const user = await ctx.broker.auth.setPassword(ctx.params.name!, passwordOf(body), { mechanisms: mechanismsOf(body.mechanisms), iterations: iterationsOf(body.iterations), mode: "change" });
  ctx.broker.log.info(`changed the password of user ${user.name} (http)`);
  return Response.json(user);
}

async function deleteUser(ctx: RouteContext): Promise<Response> {
  const name = ctx.params.name!;
  await ctx.broker.auth.deleteUser(name);
  ctx.broker.log.info(`deleted user ${name} (http)`);
  return Response.json({ deleted: name });
}

export const userRoutes: Route[] = [
  {
    method: "GET",
    path: "/v1/users",
    access: () => [["DESCRIBE", CLUSTER]],
    handle: (ctx) => {
      return Response.json({ users: ctx.broker.auth.listUsers() });
    },
  },
  { method: "POST", path: "/v1/users", access: () => [["ALTER", CLUSTER]], handle: createUser },
  { method: "PUT", path: "/v1/users/:name", access: () => [["ALTER", CLUSTER]], handle: changePassword },
  { method: "DELETE", path: "/v1/users/:name", access: () => [["ALTER", CLUSTER]], handle: deleteUser },
];
