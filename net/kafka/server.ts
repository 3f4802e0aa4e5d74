// The Kafka door: a listener that accepts connections (up to a cap), hands bytes to Connection,
// closes connections idle too long, and on stop() refuses new connections, lets in-flight
// requests finish, then closes what is left. It reaches storage only through the broker core.
import type { Socket, TCPSocketListener } from "bun";
import type { Broker } from "../../core/broker/broker.ts";
import { listenOrExplain } from "../listen.ts";
import { Connection } from "./connection.ts";
import type { Handler, KafkaDoor, KafkaDoorOptions } from "./handler.ts";
import { HANDLERS } from "./handlers/index.ts";
import { checkKafkaDoorLimits } from "./limits.ts";

export interface KafkaServerOptions extends KafkaDoorOptions {
  host: string;
  port: number;
  broker: Broker;
  /** Address advertised in Metadata/FindCoordinator instead of the listener's. */
  advertise?: { host: string; port: number };
}

export interface KafkaServer {
  host: string;
  port: number;
  /** Stop accepting, wait for in-flight requests (up to graceMs), close every connection. */
  stop(graceMs?: number): Promise<void>;
}

type ConnSocket = Socket<Connection> & { pause(): void; resume(): void };

/** The door's state for one listener: every handler, the options, the advertised address. */
export function kafkaDoor(broker: Broker, options: KafkaDoorOptions, advertised: { host: string; port: number }): KafkaDoor {
  return { broker, options, handlers: new Map<number, Handler>(HANDLERS.map((h) => [h.api.key, h])), advertised };
}

export function startKafkaServer(opts: KafkaServerOptions): KafkaServer {
  checkKafkaDoorLimits();
  const { host, port, broker } = opts;
  const door = kafkaDoor(
    broker,
    { requestBytesMax: opts.requestBytesMax, maxConnections: opts.maxConnections, idleTimeoutMs: opts.idleTimeoutMs },
    opts.advertise ?? { host, port },
  );
  const connections = new Set<Connection>();
  const idleSeconds = Math.max(1, Math.ceil(door.options.idleTimeoutMs / 1000));
  const listener: TCPSocketListener<Connection> = listenOrExplain("kafka", host, port, () => Bun.listen<Connection>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const s = socket as ConnSocket;
        if (connections.size >= door.options.maxConnections || stopping) {
          broker.metrics.connectionsRefused++;
          socket.terminate();
          return;
        }
        (s as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
        const conn = new Connection(s, door);
        socket.data = conn;
        connections.add(conn);
        broker.metrics.connectionsOpen++;
        broker.metrics.connectionsTotal++;
        socket.timeout(idleSeconds);
      },
      data(socket, chunk) {
        socket.timeout(idleSeconds);
        socket.data?.onData(chunk);
      },
      drain(socket) {
        socket.data?.onDrain();
      },
      timeout(socket) {
        // Idle: nothing read for idleTimeoutMs. A long-polling fetch is not idle.
        const conn = socket.data;
        if (conn && !conn.idle) socket.timeout(idleSeconds);
        else conn?.closeNow();
      },
      close(socket) {
        const conn = socket.data;
        if (conn && connections.delete(conn)) {
          conn.onClose();
          broker.metrics.connectionsOpen--;
        }
      },
      error(socket) {
        socket.data?.closeNow();
      },
    },
  }));
  let stopping = false;
  if (opts.advertise === undefined) door.advertised = { host, port: listener.port };
  return {
    host,
    port: listener.port,
    async stop(graceMs = 5000) {
      stopping = true;
      listener.stop(false);
      // In-flight requests finish (parked long polls were already woken by the shutdown signal),
      // their answers are handed to the sockets, then every connection is closed.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
      await Promise.race([Promise.all([...connections].map((c) => c.whenIdle())), grace]);
      clearTimeout(timer);
      for (const c of connections) c.closeNow();
      listener.stop(true);
    },
  };
}
