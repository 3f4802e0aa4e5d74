// A KafkaClient that forgets some APIs of what each broker advertised in ApiVersions (or lowers
// their newest version), as if the brokers did not serve them: a client test's stand-in for an older broker (one without the
// consumer group protocol, KIP-848, for instance) on the one real broker a test starts. A test
// double: production code never imports it.
import { type BrokerAddress, type ClientOptions, KafkaClient } from "../client/client.ts";
import type { Connection } from "../client/connection.ts";

export class HiddenApisClient extends KafkaClient {
  constructor(
    opts: ClientOptions,
    private readonly hidden: readonly number[],
    /** API key → the newest version to advertise. */
    private readonly newest: ReadonlyMap<number, number> = new Map(),
  ) {
    super(opts);
  }

  override async connectionTo(addr: BrokerAddress): Promise<Connection> {
    return this.hide(await super.connectionTo(addr));
  }

  override async ownConnection(addr: BrokerAddress): Promise<Connection> {
    return this.hide(await super.ownConnection(addr));
  }

  private hide(conn: Connection): Connection {
    for (const key of this.hidden) conn.brokerVersions.delete(key);
    for (const [key, max] of this.newest) {
      const range = conn.brokerVersions.get(key);
      if (range !== undefined) conn.brokerVersions.set(key, { min: range.min, max: Math.min(range.max, max) });
    }
    return conn;
  }
}
