// The HTTP control plane listener (JSON over Bun.serve). One file per resource registers its
// routes here; every failure goes through errorResponse() so clients always see
// {"error":{code,message}}, and nothing a client sends can make a handler throw past it.
//
// Order on stop: the broker's shutdown signal ends every SSE stream first (stream.ts listens to
// it), then Bun stops accepting and waits for in-flight requests, then the stats sampler stops.
import { timingSafeEqual } from "node:crypto";
import type { Server } from "bun";
import { ANONYMOUS, type Operation, type Resource } from "../../core/broker/auth.ts";
import type { Broker } from "../../core/broker/broker.ts";
import { listenOrExplain } from "../listen.ts";
import { clusterRoutes } from "./cluster.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { groupRoutes } from "./groups.ts";
import { checkHttpLimits, SERVER_BODY_BYTES_MAX } from "./limits.ts";
import { metricsRoutes } from "./metrics.ts";
import { recordRoutes } from "./records.ts";
import { MethodNotAllowed, type Route, Router } from "./router.ts";
import { StatsSampler, statsRoutes } from "./stats.ts";
import { streamRoutes } from "./stream.ts";
import { topicRoutes } from "./topics.ts";
import { userRoutes } from "./users.ts";

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Bearer token required on every request (mandatory when bound beyond loopback). */
  token?: string;
  /** The broker core: topics, records, groups, metrics. */
  broker: Broker;
  /** Serve HTTPS with this PEM certificate and key (serve --http-tls). */
  tls?: { cert: string; key: string };
}

export interface HttpServer {
  host: string;
  port: number;
  stop(): Promise<void>;
}

const healthRoutes: Route[] = [{ method: "GET", path: "/healthz", handle: () => Response.json({ status: "ok" }) }];

/** What answers one request (a route or a JSON error); exported so tests drive the door in-process. */
export interface HttpDoor {
  fetch(req: Request, server: Pick<Server<unknown>, "timeout">): Promise<Response>;
  /** Stops the stats sampler. */
  close(): void;
}

export function httpDoor(broker: Broker, token?: string): HttpDoor {
  checkHttpLimits();
  const sampler = new StatsSampler(broker);
  const router = new Router([
    ...healthRoutes,
    ...clusterRoutes,
    ...topicRoutes,
    ...recordRoutes,
    ...streamRoutes,
    ...groupRoutes,
    ...statsRoutes(sampler),
    ...metricsRoutes(sampler),
    ...userRoutes,
  ]);
  const authorized = bearerCheck(token);
  // Who a request acts as: the holder of the configured bearer token is a super user (it is the
  // operator's own key); without a token, everyone is User:ANONYMOUS, whom broker.auth.authorize
  // lets do what it lets anonymous Kafka clients do. HTTP Basic users come with issue #18 item 5.
  const authorize = token !== undefined ? () => true : (operation: Operation, resource: Resource) => broker.auth.authorize({ principal: ANONYMOUS, host: "" }, operation, resource);
  return {
    async fetch(req, server) {
      try {
        if (!authorized(req.headers.get("authorization"))) {
          throw new HttpError(401, "UNAUTHORIZED", "missing or wrong bearer token");
        }
        const url = new URL(req.url);
        const { route, params } = router.match(req.method, url.pathname);
        return await route.handle({ req, url, params, broker, server, authorize });
      } catch (err) {
        const res = errorResponse(err);
        if (err instanceof MethodNotAllowed) res.headers.set("allow", err.allowed.join(", "));
        if (err instanceof HttpError && err.status === 401) res.headers.set("www-authenticate", "Bearer");
        if (!(err instanceof HttpError) && res.status >= 500) broker.log.error(`http ${req.method} ${req.url}: ${(err as Error)?.stack ?? err}`);
        return res;
      }
    },
    close() {
      sampler.stop();
    },
  };
}

export function startHttpServer(opts: HttpServerOptions): HttpServer {
  const door = httpDoor(opts.broker, opts.token);
  const server = listenOrExplain("http", opts.host, opts.port, () => Bun.serve({
    hostname: opts.host,
    port: opts.port,
    development: false,
    // Bun's default lets a second process bind the same port (SO_REUSEPORT), after which the
    // kernel spreads requests over both brokers. One port, one broker.
    reusePort: false,
    maxRequestBodySize: SERVER_BODY_BYTES_MAX,
    ...(opts.tls ? { tls: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    fetch: (req, server) => door.fetch(req, server),
    error(err) {
      return errorResponse(err);
    },
  }));
  return {
    host: opts.host,
    port: server.port ?? opts.port,
    async stop() {
      await server.stop(false);
      door.close();
    },
  };
}

/** Constant-time comparison of `Authorization: Bearer <token>`; no token configured → open. */
function bearerCheck(token: string | undefined): (header: string | null) => boolean {
  if (token === undefined) return () => true;
  const want = Buffer.from(`Bearer ${token}`);
  return (header) => {
    if (header === null) return false;
    const got = Buffer.from(header);
    return got.length === want.length && timingSafeEqual(got, want);
  };
}
