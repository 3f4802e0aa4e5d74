// The HTTP door's defences against browsers (issue #18 item 5), checked before credentials:
//
// - Host (DNS rebinding): on a loopback listener without a token, a request whose Host is not a
//   loopback name (localhost, 127.x.y.z, [::1], with or without a port) nor one given with
//   --http-host is refused, 421 MISDIRECTED_REQUEST: a page on evil.example that rebinds its name to
//   127.0.0.1 sends `Host: evil.example`.
// - Origin (cross-site requests): a state-changing request (POST, PUT, PATCH, DELETE) that carries
//   an Origin other than the door's own (scheme://Host) or one given with --http-cors-origin is
//   refused, 403 CROSS_ORIGIN, on every listener: a `text/plain` POST needs no preflight, so a
//   browser would otherwise send it with whatever credentials it holds. Clients that are not
//   browsers send no Origin and are not affected.
// - CORS: only for the --http-cors-origin list. A preflight (OPTIONS with Origin and
//   Access-Control-Request-Method) from a listed origin is answered 204 with the methods and
//   headers the door takes; from any other, 403 CROSS_ORIGIN. A listed origin's responses carry
//   Access-Control-Allow-Origin.
import { HttpError } from "./errors.ts";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
export const CORS_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE";
export const CORS_HEADERS = "authorization, content-type";
export const CORS_MAX_AGE_S = 600;

export interface GuardOptions {
  /** Check Host: the listener is on loopback and takes requests without credentials. */
  checkHost: boolean;
  /** More names Host may carry (--http-host), lower case, with or without a port. */
  hosts: readonly string[];
  /** Origins allowed cross-origin requests and CORS (--http-cors-origin), like https://app.example:8443. */
  corsOrigins: readonly string[];
  /** The scheme the door serves: an Origin equal to scheme://Host is the door's own. */
  tls: boolean;
}

/** "Host" → its name without port and brackets, lower case; null when it is not host[:port]. */
export function hostName(host: string): string | null {
  const h = host.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^\s:[\]/@]+)(?::(\d{1,5}))?$/.exec(h);
  if (m === null) return null;
  return m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
}

export function isLoopbackName(name: string): boolean {
  const n = name.endsWith(".") ? name.slice(0, -1) : name;
  if (n === "localhost" || n.endsWith(".localhost") || n === "::1" || n === "0:0:0:0:0:0:0:1") return true;
  const v4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(n);
  return v4 !== null && v4.slice(1).every((o) => Number(o) <= 255);
}

/** Whether an address the listener binds is loopback (127.x, ::1, localhost). */
export function isLoopbackListener(host: string): boolean {
  return isLoopbackName(host.toLowerCase());
}

/** A listed origin, normalised (lower case, no trailing slash); throws on what is not scheme://host[:port]. */
export function normaliseOrigin(origin: string): string {
  const o = origin.trim().toLowerCase().replace(/\/$/, "");
  if (!/^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(o)) throw new Error(`expected an origin like https://app.example:8443, got "${origin}"`);
  return o;
}

export class Guard {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;

  constructor(private readonly options: GuardOptions) {
    this.hosts = new Set(options.hosts.map((h) => h.toLowerCase()));
    this.origins = new Set(options.corsOrigins.map(normaliseOrigin));
  }

  /** A response for a CORS preflight (or null when the request is none); throws when refused. */
  check(req: Request): Response | null {
    // Bun.serve always has a Host (it answers 400 without one); a Request made in-process may not.
    const host = req.headers.get("host") ?? new URL(req.url).host;
    if (this.options.checkHost && !this.hostAllowed(host)) {
      throw new HttpError(421, "MISDIRECTED_REQUEST", `Host "${host}" is not this broker's: a loopback control plane without a token answers only localhost, 127.0.0.1 and [::1] (add names with --http-host)`);
    }
    const origin = req.headers.get("origin");
    if (origin === null) return null;
    const listed = this.origins.has(origin.toLowerCase());
    if (req.method === "OPTIONS" && req.headers.has("access-control-request-method")) {
      if (!listed) throw new HttpError(403, "CROSS_ORIGIN", `origin ${origin} may not make cross-origin requests here (allow it with --http-cors-origin)`);
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": CORS_METHODS,
          "access-control-allow-headers": CORS_HEADERS,
          "access-control-max-age": String(CORS_MAX_AGE_S),
          vary: "Origin",
        },
      });
    }
    if (STATE_CHANGING.has(req.method) && !listed && origin.toLowerCase() !== `${this.options.tls ? "https" : "http"}://${host.toLowerCase()}`) {
      throw new HttpError(403, "CROSS_ORIGIN", `a ${req.method} from origin ${origin} is refused: only this broker's own pages and --http-cors-origin origins may change state`);
    }
    return null;
  }

  /** Adds the CORS headers a listed origin's response needs. */
  decorate(req: Request, res: Response): Response {
    const origin = req.headers.get("origin");
    if (origin === null || !this.origins.has(origin.toLowerCase())) return res;
    try {
      res.headers.set("access-control-allow-origin", origin);
      res.headers.append("vary", "Origin");
    } catch {
      // Immutable headers (a Response.redirect or a fetched one): none are answered here.
    }
    return res;
  }

  private hostAllowed(host: string): boolean {
    const name = hostName(host);
    if (name === null) return false;
    return isLoopbackName(name) || this.hosts.has(name) || this.hosts.has(host.trim().toLowerCase());
  }
}
