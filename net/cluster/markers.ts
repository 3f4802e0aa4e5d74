// Transaction markers sent to other brokers (issue #20 in a cluster): a transaction coordinator
// whose transaction touched a partition led by another broker asks that leader to write the
// marker with WriteTxnMarkers (API key 27), as Kafka's TransactionMarkerChannelManager does. The
// leader answers once the marker is on every in-sync replica (net/kafka/handlers/27-…).
//
// One connection per destination broker, opened on first use and dropped on any failure. Every
// error is thrown: the coordinator keeps the transaction decided and retries its markers on its
// timer (core/transactions/coordinator.ts), against the partition's leader of that time.
import { Connection } from "../client/connection.ts";
import { ErrorCode, errorByCode } from "../protocol/errors.ts";
import { WriteTxnMarkers } from "../protocol/messages/index.ts";

export interface TxnMarker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

export interface MarkerSenderOptions {
  nodeId: number;
  /** The address of a broker by id (the cluster's view), or undefined while unknown. */
  endpoint(id: number): { host: string; port: number } | undefined;
}

const CONNECT_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 15_000;

export class MarkerSender {
  private readonly conns = new Map<number, Promise<Connection>>();
  private stopped = false;

  constructor(private readonly opts: MarkerSenderOptions) {}

  /** Has broker `leaderId` write the marker to `topic`/`partition`; throws what it answers otherwise. */
  async write(leaderId: number, topic: string, partition: number, marker: TxnMarker): Promise<void> {
    const conn = await this.connection(leaderId);
    let code: number;
    try {
      const res = await conn.request(WriteTxnMarkers, {
        markers: [{ producerId: BigInt(marker.producerId), producerEpoch: marker.producerEpoch, transactionResult: marker.commit, topics: [{ name: topic, partitionIndexes: [partition] }], coordinatorEpoch: marker.coordinatorEpoch }],
      });
      code = res.markers[0]?.topics[0]?.partitions[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    } catch (e) {
      this.drop(leaderId, conn);
      throw e;
    }
    if (code !== ErrorCode.NONE) throw new Error(`broker ${leaderId} refused the marker for ${topic}/${partition}: ${errorName(code)}`);
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.conns.values()) void c.then((conn) => conn.close()).catch(() => {});
    this.conns.clear();
  }

  private connection(id: number): Promise<Connection> {
    if (this.stopped) return Promise.reject(new Error("the marker sender is stopped"));
    const open = this.conns.get(id);
    if (open !== undefined) {
      return open.then((c) => {
        if (c.isOpen) return c;
        this.drop(id, c);
        return this.connection(id);
      });
    }
    const at = this.opts.endpoint(id);
    if (at === undefined) return Promise.reject(new Error(`broker ${id} is not registered`));
    const opening = Connection.open({ host: at.host, port: at.port, clientId: `streamctl-txn-markers-${this.opts.nodeId}`, clientVersion: "1", connectTimeoutMs: CONNECT_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    this.conns.set(id, opening);
    opening.catch(() => {
      if (this.conns.get(id) === opening) this.conns.delete(id);
    });
    return opening;
  }

  private drop(id: number, conn: Connection): void {
    conn.close();
    const current = this.conns.get(id);
    void current?.then((c) => {
      if (c === conn && this.conns.get(id) === current) this.conns.delete(id);
    });
  }
}

function errorName(code: number): string {
  return `${errorByCode(code)?.name ?? "error"} (${code})`;
}
