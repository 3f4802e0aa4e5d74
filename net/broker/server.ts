// The Kafka protocol listener: accepts connections (up to a cap), hands bytes to Connection,
// closes connections idle too long, and on stop() refuses new connections, lets in-flight
// requests finish, then closes what is left.
import type { Socket, TCPSocketListener } from "bun";
import { listenOrExplain } from "../listen.ts";
import { Connection } from "./connection.ts";
import type { BrokerState } from "./state.ts";

export interface KafkaServer {
  host: string;
  port: number;
  /** Stop accepting, wait for in-flight requests (up to graceMs), close every connection. */
  stop(graceMs?: number): Promise<void>;
}

type ConnSocket = Socket<Connection> & { pause(): void; resume(): void };

export function startKafkaServer(host: string, port: number, broker: BrokerState): KafkaServer {
  const connections = new Set<Connection>();
  const idleSeconds = Math.max(1, Math.ceil(broker.options.idleTimeoutMs / 1000));
  const listener: TCPSocketListener<Connection> = listenOrExplain("kafka", host, port, () => Bun.listen<Connection>({
    hostname: host,
    port,
    socket: {
      open(socket) {
        const s = socket as ConnSocket;
        if (connections.size >= broker.options.maxConnections || stopping) {
          broker.metrics.connectionsRefused++;
          socket.terminate();
          return;
        }
        (s as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
        const conn = new Connection(s, broker);
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
