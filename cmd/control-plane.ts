// streamctl's HTTP control plane as the management commands use it: for what only a streamctl
// broker knows (bytes and segments per partition, what an ack means on disk, rates out, damaged
// topics). Everything else goes over the Kafka protocol (admin-common.ts), so `topics`, `groups`
// and `top` work with the HTTP door off, and against Kafka or Redpanda.
//
// Which control plane, if any:
//   --http URL|HOST:PORT, else STREAMCTL_HTTP     that one; failing to reach it is an error (exit 1)
//   --http none / STREAMCTL_HTTP=none             none
//   neither, and the broker is streamctl          the default http://127.0.0.1:8092, if it answers
//                                                 quickly; silently none otherwise
// Before a control plane's numbers are shown beside the Kafka broker's, it must prove it is the same
// broker: a topic both list must carry the same topic id on both doors (a second broker on the
// default port would otherwise lend its sizes to this one). A named control plane that fails the
// check is an error; the default one is just not used. A broker that is not streamctl (its cluster
// id says so) gets none.
import { readFileSync } from "node:fs";
import { ControlPlaneClient, ControlPlaneError, ControlPlaneUnreachable, seg } from "../net/http/client.ts";
import { readSecretFile } from "./client-options.ts";
import { RuntimeError, UsageError } from "./io.ts";
import { loadProfile } from "./profile.ts";

export const HTTP_URL_DEFAULT = "http://127.0.0.1:8092";
/** The default control plane is a guess: give up on it fast. A named one gets the usual timeout. */
const GUESSED_TIMEOUT_MS = 2_000;

export interface HttpFlags {
  http?: string;
  /** The token is read from a file (or STREAMCTL_HTTP_TOKEN), never taken as a flag: `ps` shows flags. */
  httpTokenFile?: string;
  profile?: string;
  /** The SASL user of commands that connect, also the HTTP Basic user when there is no token. */
  user?: string;
  passwordFile?: string;
}

/** `HOST:PORT` (as the ready line prints it) or an http(s) URL, as a URL; "none" is null. */
export function httpUrl(flag: string, value: string): string | null {
  if (value === "none") return null;
  if (/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value)) return `http://${value}`;
  try {
    const u = new URL(value);
    if (u.protocol === "http:" || u.protocol === "https:") return value;
  } catch {
    // below
  }
  throw new UsageError(`${flag}: expected HOST:PORT, an http(s) URL or none, got "${value}"`);
}

export interface ControlPlaneChoice {
  url: string | null;
  /** Named by --http, STREAMCTL_HTTP or the profile (not the default guess). */
  named: boolean;
  /** Named by --http on this command line. */
  byFlag?: boolean;
  token?: string;
  /** HTTP Basic credentials, when there is no token and a user with a password is known. */
  basic?: { user: string; password: string };
  /** PEM CAs for an https control plane (the profile's tlsCa; serve --http-tls). */
  ca?: string;
}

/** --http, STREAMCTL_HTTP, the profile's (cmd/profile.ts), or the default; the token from
 * --http-token-file, STREAMCTL_HTTP_TOKEN or the profile's token file. */
export function chooseControlPlane(flags: HttpFlags, env: Record<string, string | undefined>): ControlPlaneChoice {
  const profile = loadProfile(env, flags.profile);
  const tokenFile = flags.httpTokenFile ?? (env.STREAMCTL_HTTP_TOKEN ? undefined : profile?.httpTokenFile);
  const token = (tokenFile !== undefined ? readSecretFile(flags.httpTokenFile !== undefined ? "--http-token-file" : `profile ${profile?.name}: httpTokenFile`, tokenFile) : env.STREAMCTL_HTTP_TOKEN) || undefined;
  // No token: the user of --user / STREAMCTL_USER / the profile, by HTTP Basic, when a password is
  // known (--password-file, STREAMCTL_PASSWORD, the profile's).
  const user = flags.user ?? (env.STREAMCTL_USER || undefined) ?? profile?.user;
  const password =
    user === undefined || token !== undefined
      ? undefined
      : flags.passwordFile !== undefined
        ? readSecretFile("--password-file", flags.passwordFile)
        : (env.STREAMCTL_PASSWORD || undefined) ?? (profile?.passwordFile !== undefined ? readSecretFile(`profile ${profile.name}: passwordFile`, profile.passwordFile) : profile?.password);
  const basic = user !== undefined && password !== undefined ? { user, password } : undefined;
  const withCa = (choice: ControlPlaneChoice): ControlPlaneChoice =>
    choice.url?.startsWith("https:") && profile?.tlsCa !== undefined ? { ...choice, ca: readCa(profile.tlsCa) } : choice;
  if (flags.http !== undefined) return withCa({ url: httpUrl("--http", flags.http), named: true, byFlag: true, token, basic });
  if (env.STREAMCTL_HTTP) return withCa({ url: httpUrl("STREAMCTL_HTTP", env.STREAMCTL_HTTP), named: true, token, basic });
  if (profile?.http !== undefined) return withCa({ url: httpUrl(`profile ${profile.name}: http`, profile.http), named: true, token, basic });
  // A guessed control plane gets no password: whatever listens on the default port is not vouched for.
  return { url: HTTP_URL_DEFAULT, named: false, token };
}

function readCa(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`tlsCa ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function controlPlaneClient(choice: ControlPlaneChoice): ControlPlaneClient {
  return new ControlPlaneClient({ url: choice.url!, token: choice.token, basic: choice.basic, timeoutMs: choice.named ? undefined : GUESSED_TIMEOUT_MS, ca: choice.ca });
}

/**
 * Whether the control plane serves the broker whose topics (name → id) are `kafkaTopics`: a topic
 * listed by both has the same id on both. Two brokers without topics pass only when `emptyMatches`
 * (a named control plane: the user said it is this broker's; a guessed one must prove it).
 */
export async function sameBroker(cp: ControlPlaneClient, kafkaTopics: ReadonlyMap<string, string | null>, emptyMatches: boolean): Promise<boolean> {
  const listed = await cp.get<{ topics: Array<{ name: string }> }>("/v1/topics");
  const common = listed.topics.map((t) => t.name).filter((n) => kafkaTopics.has(n));
  if (common.length === 0) return emptyMatches && listed.topics.length === 0 && kafkaTopics.size === 0;
  const name = common[0]!;
  const doc = await cp.get<{ topicId?: string }>(`/v1/topics/${seg(name)}`);
  return doc.topicId !== undefined && doc.topicId === kafkaTopics.get(name);
}

/** Runs a control-plane call, turning its failures into RuntimeError (exit 1, one line). */
export async function viaControlPlane<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ControlPlaneError || err instanceof ControlPlaneUnreachable) throw new RuntimeError(err.message.split("\n")[0]!, { cause: err });
    throw err;
  }
}

export { ControlPlaneClient, ControlPlaneError, ControlPlaneUnreachable };
