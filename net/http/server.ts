// The HTTP control plane listener (JSON over Bun.serve). One file per resource registers its
// routes here; every failure goes through errorResponse() so clients always see
// {"error":{code,message}}, and nothing a client sends can make a handler throw past it.
//
// Order on stop: the broker's shutdown signal ends every SSE stream first (stream.ts listens to
// it), then Bun stops accepting and waits for in-flight requests, then the stats sampler stops.
import type { Server } from "bun";
import { ANONYMOUS, type Operation, principalString, type Resource, requester } from "../../core/broker/auth.ts";
import type { Broker } from "../../core/broker/broker.ts";
import { listenOrExplain } from "../listen.ts";
import { clusterRoutes } from "./cluster.ts";
import { CallerCheck, unauthorized, WWW_AUTHENTICATE } from "./callers.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { type AddressCount, CLIENT_HEADER, type Front, frontPlumbing, type Plumbing, SECRET_HEADER, startFront } from "./front.ts";
import { Guard, isLoopbackListener } from "./guard.ts";
import { groupRoutes } from "./groups.ts";
import { checkHttpLimits, SERVER_BODY_BYTES_MAX } from "./limits.ts";
import { metricsRoutes } from "./metrics.ts";
import { recordRoutes } from "./records.ts";
import { MethodNotAllowed, type Route, Router } from "./router.ts";
import { StatsSampler, statsRoutes } from "./stats.ts";
import { streamRoutes } from "./stream.ts";
import { topicRoutes } from "./topics.ts";
import { userRoutes } from "./users.ts";

export interface HttpServerOptions extends Omit<DoorOptions, "tls" | "listenHost"> {
  host: string;
  port: number;
  /** The broker core: topics, records, groups, metrics. */
  broker: Broker;
  /** Serve HTTPS with this PEM certificate and key (serve --http-tls). */
  tls?: { cert: string; key: string };
  /** Fair under abuse (issue #18): connections held at once, in all (--max-connections) and per
   * client address (--max-connections-per-ip, counted with the Kafka door's), and the deadline of
   * a request head (--first-request-timeout-ms); `refused` hears of each connection refused. */
  connections: {
    max: number;
    perAddress: AddressCount;
    headTimeoutMs: number;
    /** A body not whole this long after its head: 408 (--request-body-timeout-ms; default 30 s). */
    bodyTimeoutMs?: number;
    refused(address: string, why: string): void;
    /** A connection ended by the head or body deadline, with a line to log (null: none). */
    timedOut?(kind: "http_head" | "http_body", line: string | null): void;
  };
  /** The locked data dir: Bun.serve's socket goes in its private `.http` directory, so a broker
   * killed with SIGKILL leaves nothing behind elsewhere (net/http/front.ts, frontPlumbing). */
  privateDir?: string;
}

export interface DoorOptions {
  /** Bearer token of the operator, a super user (mandatory when bound beyond loopback); with it, every request needs credentials. */
  token?: string;
  /** The listener's host: on loopback without a token, Host is checked (net/http/guard.ts). */
  listenHost?: string;
  /** More names Host may carry on such a listener (--http-host). */
  allowedHosts?: readonly string[];
  /** Origins allowed cross-origin requests and CORS (--http-cors-origin). */
  corsOrigins?: readonly string[];
  /** Whether the door is served over TLS (an Origin of https://Host is its own). */
  tls?: boolean;
}

export interface HttpServer {
  host: string;
  port: number;
  stop(): Promise<void>;
}

const healthRoutes: Route[] = [{ method: "GET", path: "/healthz", access: "open", handle: () => Response.json({ status: "ok" }) }];

/** What the door needs of Bun's server: the idle timeout of a request (SSE) and the client's address. */
export type DoorServer = Pick<Server<unknown>, "timeout"> & { requestIP?(req: Request): { address: string } | null };

/** What answers one request (a route or a JSON error); exported so tests drive the door in-process. */
export interface HttpDoor {
  fetch(req: Request, server: DoorServer): Promise<Response>;
  /** Stops the stats sampler. */
  close(): void;
}

export function httpDoor(broker: Broker, options: DoorOptions = {}): HttpDoor {
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
  const callers = new CallerCheck(broker, options.token);
  const guard = new Guard({
    checkHost: options.token === undefined && isLoopbackListener(options.listenHost ?? "127.0.0.1"),
    hosts: options.allowedHosts ?? [],
    corsOrigins: options.corsOrigins ?? [],
    tls: options.tls ?? false,
  });
  return {
    async fetch(req, server) {
      try {
        const preflight = guard.check(req);
        if (preflight !== null) return preflight;
        const caller = await callers.of(req.headers.get("authorization"));
        const url = new URL(req.url);
        const { route, params } = router.match(req.method, url.pathname);
        // The operator (bearer token) may do anything; anyone else what authorize() says, by the
        // same ACLs as the Kafka door. A refusal is 401 for a caller who sent no credentials
        // (sending some may help), 403 otherwise.
        const who = caller.kind === "principal" ? requester(caller.principal, clientHost(server.requestIP?.(req)?.address)) : null;
        const authorize = (operation: Operation, resource: Resource) => who === null || broker.auth.authorize(who, operation, resource);
        const require = (operation: Operation, resource: Resource) => {
          if (authorize(operation, resource)) return;
          const what = `${operation} ${resource.type} ${resource.name}`;
          if (who!.principal === ANONYMOUS) throw unauthorized(`an anonymous request may not ${what}: send credentials (HTTP Basic user and password, or the Bearer token)`);
          throw new HttpError(403, "NOT_AUTHORIZED", `${principalString(who!.principal)} may not ${what}`);
        };
        const ctx = { req, url, params, broker, server, authorize, require };
        if (typeof route.access === "function") for (const [operation, resource] of route.access(ctx)) require(operation, resource);
        return guard.decorate(req, await route.handle(ctx));
      } catch (err) {
        const res = errorResponse(err);
        if (err instanceof MethodNotAllowed) res.headers.set("allow", err.allowed.join(", "));
        if (err instanceof HttpError && err.status === 401) res.headers.set("www-authenticate", WWW_AUTHENTICATE);
        if (!(err instanceof HttpError) && res.status >= 500) broker.log.error(`http ${req.method} ${req.url}: ${(err as Error)?.stack ?? err}`);
        return guard.decorate(req, res);
      }
    },
    close() {
      sampler.stop();
    },
  };
}

export function startHttpServer(opts: HttpServerOptions): HttpServer {
  const door = httpDoor(opts.broker, { ...opts, listenHost: opts.host, tls: opts.tls !== undefined });
  // Bun.serve on a private unix socket behind the front (net/http/front.ts), which faces the
  // network, terminates TLS and answers what Bun's parser would refuse without JSON.
  const serveOn = (plumbing: Plumbing) =>
    Bun.serve({
      unix: plumbing.socket,
      development: false,
      maxRequestBodySize: SERVER_BODY_BYTES_MAX,
      fetch: (req, server) => door.fetch(req, { timeout: (r, s) => server.timeout(r, s), requestIP: (r) => frontClient(r, plumbing.secret) }),
      error(err) {
        return errorResponse(err);
      },
    });
  let plumbing: Plumbing | undefined;
  let server: Server<unknown>;
  try {
    plumbing = frontPlumbing(opts.privateDir);
    try {
      server = serveOn(plumbing);
    } catch (err) {
      // A data dir on a file system without unix sockets: the temporary directory instead.
      if (opts.privateDir === undefined) throw err;
      plumbing.remove();
      plumbing = frontPlumbing();
      server = serveOn(plumbing);
    }
  } catch (err) {
    plumbing?.remove();
    door.close();
    throw err;
  }
  const upstream = plumbing;
  let front: Front;
  try {
    front = listenOrExplain("http", opts.host, opts.port, () =>
      startFront({
        hostname: opts.host,
        port: opts.port,
        tls: opts.tls,
        upstream: upstream.socket,
        bodyBytesMax: SERVER_BODY_BYTES_MAX,
        secret: upstream.secret,
        maxConnections: opts.connections.max,
        addresses: opts.connections.perAddress,
        headTimeoutMs: opts.connections.headTimeoutMs,
        bodyTimeoutMs: opts.connections.bodyTimeoutMs,
        onTimedOut: opts.connections.timedOut,
        onRefused: opts.connections.refused,
      }),
    );
  } catch (err) {
    void server.stop(true);
    upstream.remove();
    door.close();
    throw err;
  }
  return {
    host: opts.host,
    port: front.port,
    async stop() {
      front.stop();
      await server.stop(false);
      front.closeAll();
      door.close();
      upstream.remove();
    },
  };
}

/** The client's address as the front passed it (with the secret that proves the front sent it). */
function frontClient(req: Request, secret: string): { address: string } | null {
  if (req.headers.get(SECRET_HEADER) !== secret) return null;
  const address = req.headers.get(CLIENT_HEADER);
  return address === null ? null : { address };
}

/** The client's address as ACLs name hosts: an IPv4-mapped IPv6 address as plain IPv4. */
function clientHost(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
