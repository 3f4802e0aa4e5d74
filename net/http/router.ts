// Route table: METHOD + a path pattern whose `:name` segments match one URL segment each
// (percent-decoded). A path that matches with another method answers 405 with `Allow`.
//
// Every route says what it needs (`access`, mandatory so that no route is left unguarded): the
// operations on resources the door checks before the handler runs (Kafka's ACL model, the same
// ACLs as the Kafka door), "open" (no ACL: /healthz), or "handler" when what it needs is only known
// inside (a list filtered to what the caller may describe; a resource named in the body): such a
// handler calls ctx.authorize / ctx.require itself.
import type { Server } from "bun";
import type { Operation, Resource } from "../../core/broker/auth.ts";
import type { Broker } from "../../core/broker/broker.ts";
import { badRequest, HttpError } from "./errors.ts";

export interface RouteContext {
  req: Request;
  url: URL;
  params: Record<string, string>;
  broker: Broker;
  server: Pick<Server<unknown>, "timeout">;
  /** Whether the caller may do `operation` on `resource` (the door's one authorization gate). */
  authorize(operation: Operation, resource: Resource): boolean;
  /** Throws the door's refusal unless authorize() allows it: 403 NOT_AUTHORIZED, or 401 for a caller who sent no credentials. */
  require(operation: Operation, resource: Resource): void;
}

export type Access = "open" | "handler" | ((ctx: RouteContext) => ReadonlyArray<readonly [Operation, Resource]>);

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  access: Access;
  handle(ctx: RouteContext): Response | Promise<Response>;
}

interface Compiled {
  route: Route;
  segments: string[];
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(routes: Route[]) {
    this.compiled = routes.map((route) => ({ route, segments: route.path.split("/").slice(1) }));
  }

  /** The route and its params, or throws 404/405. */
  match(method: string, pathname: string): { route: Route; params: Record<string, string> } {
    const parts = pathname.split("/").slice(1);
    const allowed: string[] = [];
    for (const c of this.compiled) {
      const params = matchSegments(c.segments, parts);
      if (params === null) continue;
      if (c.route.method === method || (method === "HEAD" && c.route.method === "GET")) return { route: c.route, params };
      allowed.push(c.route.method);
    }
    if (allowed.length > 0) throw new MethodNotAllowed(method, pathname, allowed);
    throw new HttpError(404, "NOT_FOUND", `no route ${method} ${pathname}`);
  }
}

export class MethodNotAllowed extends HttpError {
  constructor(
    method: string,
    pathname: string,
    readonly allowed: string[],
  ) {
    super(405, "METHOD_NOT_ALLOWED", `${method} is not allowed on ${pathname}; use ${allowed.join(", ")}`);
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = parts[i]!;
    if (p.startsWith(":")) {
      if (s === "") return null;
      params[p.slice(1)] = decodeSegment(s);
    } else if (p !== s) {
      return null;
    }
  }
  return params;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`bad percent-encoding in path segment '${s}'`);
  }
}
