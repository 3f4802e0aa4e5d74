// The HTTP control plane listener (JSON over Bun.serve). Routes are added per resource; every
// failure goes through errorResponse() so clients always see {"error":{code,message}}.
import type { BrokerState } from "../broker/state.ts";
import { errorResponse, HttpError } from "./errors.ts";

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Bearer token required on every request (mandatory when bound beyond loopback). */
  token?: string;
  /** The running broker: its topic store, metrics and (later) group coordinator. */
  state: BrokerState;
  routes?: Record<string, (req: Request) => Response | Promise<Response>>;
}

export interface HttpServer {
  host: string;
  port: number;
  stop(): Promise<void>;
}

export function startHttpServer(opts: HttpServerOptions): HttpServer {
  const server = Bun.serve({
    hostname: opts.host,
    port: opts.port,
    development: false,
    async fetch(req) {
      try {
        if (opts.token !== undefined && req.headers.get("authorization") !== `Bearer ${opts.token}`) {
          throw new HttpError(401, "UNAUTHORIZED", "missing or wrong bearer token");
        }
        const path = new URL(req.url).pathname;
        if (path === "/healthz") return Response.json({ status: "ok" });
        const route = opts.routes?.[path];
        if (route) return await route(req);
        throw new HttpError(404, "NOT_FOUND", `no route ${req.method} ${path}`);
      } catch (err) {
        return errorResponse(err);
      }
    },
    error(err) {
      return errorResponse(err);
    },
  });
  return {
    host: opts.host,
    port: server.port ?? opts.port,
    async stop() {
      await server.stop(false);
    },
  };
}
