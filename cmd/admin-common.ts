// What the management commands (`topics`, `groups`, `top`, `metadata`, `offsets`) share: the
// --broker / -X / --http flags, an AdminSession (the Kafka admin client, the cluster's metadata
// fetched once, streamctl's control plane when there is a matching one), and the mapping of
// failures to the exit-code contract: the broker's answer or no answer at all is exit 1 with one
// line naming what failed; a mistake in the call is exit 2.
import { type Command, Option } from "commander";
import { topicNameProblem } from "../core/topics/names.ts";
import { ADMIN_REQUEST_TIMEOUT_MS_DEFAULT, AdminClient, type ClusterMetadata } from "../net/client/admin.ts";
import { GroupAdmin } from "../net/client/admin-groups.ts";
import { KafkaClient } from "../net/client/client.ts";
import { AuthenticationError, ConnectionError, KafkaClientError } from "../net/client/errors.ts";
import { UnsupportedApiError } from "../net/client/versions.ts";
import { resolveClient } from "./client-options.ts";
import { type ClientSettings, parseClientSettings } from "./client-settings.ts";
import { chooseControlPlane, type ControlPlaneChoice, type ControlPlaneClient, controlPlaneClient, ControlPlaneError, ControlPlaneUnreachable, type HttpFlags, sameBroker } from "./control-plane.ts";
import { type Io, RuntimeError, UsageError } from "./io.ts";
import { formatHostPort, parseHostPort } from "./listen-address.ts";
import { VERSION } from "./version.ts";

export const BROKER_DEFAULT = "127.0.0.1:9092";
/** What a streamctl broker answers as its cluster id (core/broker/broker.ts). */
const STREAMCTL_CLUSTER_ID = "streamctl";

export interface AdminFlags extends HttpFlags {
  broker?: string;
  X: string[];
  json?: boolean;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds --broker, -X, --http, --http-token-file (and --json) to a management command; its TLS,
 * SASL and profile flags come with --broker (cmd/client-options.ts). */
export function withAdminOptions(cmd: Command, json = true): Command {
  cmd.addOption(new Option("--broker <host:port>", `Kafka bootstrap broker(s), comma-separated (env STREAMCTL_BROKER, default ${BROKER_DEFAULT})`));
  cmd.addOption(new Option("-X <key=value>", "client setting, repeatable: client.id, request.timeout.ms, bootstrap.servers").argParser(collect).default([]));
  cmd.option("--http <url>", "streamctl's control plane for sizes, segments and durability: HOST:PORT, URL, or none (env STREAMCTL_HTTP)");
  cmd.option("--http-token-file <file>", "file holding the control plane's bearer token (or env STREAMCTL_HTTP_TOKEN; never a flag: `ps` shows flags)");
  cmd.addOption(hiddenTokenFlag());
  if (json) cmd.option("--json", "print JSON instead of a table");
  return cmd;
}

/** --http-token, refused: a token on the command line is in `ps` for every user of the machine. */
export function hiddenTokenFlag(): Option {
  return new Option("--http-token <token>").hideHelp().argParser(() => {
    throw new UsageError("--http-token would show the token in `ps`: use --http-token-file FILE or STREAMCTL_HTTP_TOKEN");
  });
}

/** One command's connection to the cluster: closed by `withAdmin` whatever happens. */
export class AdminSession {
  readonly admin: AdminClient;
  readonly groups: GroupAdmin;
  private clusterCache: Promise<ClusterMetadata> | null = null;
  private cpCache: Promise<ControlPlaneClient | null> | null = null;

  constructor(
    readonly client: KafkaClient,
    readonly broker: string,
    settings: ClientSettings,
    private readonly cpChoice: ControlPlaneChoice,
    private readonly io: Io,
  ) {
    this.admin = new AdminClient(client, { requestTimeoutMs: settings.requestTimeoutMs });
    this.groups = new GroupAdmin(this.admin);
  }

  /** Brokers and every topic, asked once per command. */
  cluster(): Promise<ClusterMetadata> {
    this.clusterCache ??= this.admin.metadata(null);
    return this.clusterCache;
  }

  /** Forgets the cached metadata (after a create or delete). */
  refresh(): void {
    this.clusterCache = null;
  }

  /**
   * streamctl's control plane serving this same broker, or null (control-plane.ts says which one
   * is tried). A named one that cannot be reached or serves another streamctl is a RuntimeError.
   */
  controlPlane(): Promise<ControlPlaneClient | null> {
    this.cpCache ??= this.findControlPlane();
    return this.cpCache;
  }

  private async findControlPlane(): Promise<ControlPlaneClient | null> {
    const choice = this.cpChoice;
    if (choice.url === null) return null;
    const md = await this.cluster();
    if (md.clusterId !== STREAMCTL_CLUSTER_ID) {
      // Kafka or Redpanda: no control plane can be theirs, so none is mixed in. Said when asked for
      // on the command line; STREAMCTL_HTTP left in a shell for streamctl is ignored quietly.
      if (choice.byFlag) this.io.stderr.write(`streamctl: --http ignored: the broker at ${this.broker} is not streamctl (cluster id ${JSON.stringify(md.clusterId)})\n`);
      return null;
    }
    const cp = controlPlaneClient(choice);
    const ids = new Map(md.topics.filter((t) => !t.internal && t.errorCode === 0).map((t) => [t.name, t.topicId]));
    try {
      if (await sameBroker(cp, ids, choice.named)) return cp;
    } catch (err) {
      if (!choice.named) return null;
      if (err instanceof ControlPlaneError || err instanceof ControlPlaneUnreachable) throw new RuntimeError(err.message.split("\n")[0]!, { cause: err });
      throw err;
    }
    if (!choice.named) return null;
    throw new RuntimeError(`the control plane at ${cp.base.origin} serves another broker than ${this.broker} (their topic ids differ); check --http/STREAMCTL_HTTP and --broker/STREAMCTL_BROKER`);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** The bootstrap list from --broker, -X bootstrap.servers, STREAMCTL_BROKER or the default. */
function bootstrapOf(flags: AdminFlags, settings: ClientSettings, io: Io, profileBroker?: string): { label: string; list: Array<{ host: string; port: number }> } {
  const [flag, value] =
    flags.broker !== undefined
      ? ["--broker", flags.broker]
      : settings.bootstrapServers !== undefined
        ? ["-X bootstrap.servers", settings.bootstrapServers]
        : io.env.STREAMCTL_BROKER
          ? ["STREAMCTL_BROKER", io.env.STREAMCTL_BROKER]
          : profileBroker !== undefined
            ? ["the profile's broker", profileBroker]
            : ["STREAMCTL_BROKER", BROKER_DEFAULT];
  const list = value.split(",").map((s) => parseHostPort(flag, s.trim()));
  return { label: list.map(formatHostPort).join(","), list };
}

/** Opens an AdminSession for `command`, runs `fn`, maps failures, closes. */
export async function withAdmin<T>(flags: AdminFlags, io: Io, command: string, fn: (s: AdminSession) => Promise<T>): Promise<T> {
  const settings = parseClientSettings(flags.X ?? [], "admin", command);
  // TLS, SASL and the profile (cmd/client-options.ts); the bootstrap list as -X allows.
  const { security, profile } = resolveClient(io, { ...flags, broker: flags.broker ?? settings.bootstrapServers });
  const { label, list } = bootstrapOf(flags, settings, io, profile?.broker);
  const cpChoice = chooseControlPlane(flags, io.env);
  // -X request.timeout.ms bounds each admin operation (AdminClient.bounded); the connections get the
  // same bound, so the client's own default (10 s, issue #22's data commands) never cuts it shorter.
  const timeoutMs = settings.requestTimeoutMs ?? ADMIN_REQUEST_TIMEOUT_MS_DEFAULT;
  const client = new KafkaClient({ bootstrap: list, clientId: settings.clientId ?? "streamctl", clientVersion: VERSION, security, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
  const session = new AdminSession(client, label, settings, cpChoice, io);
  try {
    return await fn(session);
  } catch (err) {
    throw adminFailure(err, label);
  } finally {
    const closed = await Promise.race([session.close().then(() => true), Bun.sleep(CLOSE_WAIT_MS).then(() => false)]);
    // KafkaClient.close() waits for connections still opening: one to a broker that accepted and
    // never answered holds the process until the connection's own request timeout (45 s). The
    // command is done: the process may end (an unref'd timer fires only if something holds it).
    if (!closed && io.stdin === process.stdin) setTimeout(() => process.exit(), CLOSE_WAIT_MS).unref();
  }
}

/** How long a finished command waits for its connections to close before it stops waiting. */
const CLOSE_WAIT_MS = 200;

/** Client failures as the CLI's one-line errors. */
export function adminFailure(err: unknown, broker: string): Error {
  if (err instanceof UsageError || err instanceof RuntimeError) return err;
  if (err instanceof KafkaClientError || err instanceof UnsupportedApiError || err instanceof AuthenticationError) return new RuntimeError(oneLine(err.message), { cause: err });
  if (err instanceof ConnectionError) return new RuntimeError(`broker ${broker}: ${oneLine(err.message)} (--broker or STREAMCTL_BROKER)`, { cause: err });
  if (err instanceof ControlPlaneError || err instanceof ControlPlaneUnreachable) return new RuntimeError(oneLine(err.message), { cause: err });
  return err instanceof Error ? err : new RuntimeError(String(err));
}

/** The Kafka error code behind a failure, if the broker answered with one. */
export function kafkaCode(err: unknown): number | undefined {
  return err instanceof KafkaClientError ? err.code : undefined;
}

function oneLine(s: string): string {
  return s.split("\n")[0]!;
}

/** Nested subcommands do not inherit the entry point's exit override and output streams from
 * addCommand(): give them the same, so a usage mistake deep down is still exit 2, one line. */
export function sameOutputBelow(cmd: Command, io: Io): Command {
  for (const sub of cmd.commands) {
    sub.exitOverride().configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => {},
    });
    sameOutputBelow(sub, io);
  }
  return cmd;
}

export function printJson(io: Io, doc: unknown): void {
  io.stdout.write(`${JSON.stringify(doc)}\n`);
}

/** `K=V` pairs (from --config / --set) into an object; a pair without '=' is a usage error. */
export function keyValues(flag: string, pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw new UsageError(`${flag}: expected KEY=VALUE, got "${p}"`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** A topic name checked at the edge: a bad one is a usage error (exit 2) before any connection. */
export function checkTopicName(name: string): string {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new UsageError(`invalid topic name: ${problem}`);
  return name;
}

export function positiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new UsageError(`${flag}: expected a positive integer, got "${value}"`);
  return Number(value);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
