// A well-formed client run as a child while the broker is under attack (issue #7): it sends an
// ApiVersions request 1 ms after the last answer, one at a time, on one connection, and on SIGTERM
// prints the latencies (ms) as JSON on stdout. Often enough that a half-second attack still yields a
// few hundred samples: with fewer than 100, a "p99" is only the slowest one. A separate process, so
// the attacker's busy event loop does not inflate what it measures.
// Usage: bun test/reliability-prober.ts <host:port>
import { ApiVersions, defaultApiVersionsRequest } from "../net/protocol/messages/index.ts";
import { RawConnection } from "./raw-kafka.ts";

const conn = await RawConnection.open(process.argv[2]!);
const latencies: number[] = [];
let failures = 0;
let stop = false;
process.on("SIGTERM", () => (stop = true));
process.stdout.write("ready\n");
while (!stop) {
  const t0 = performance.now();
  try {
    await conn.request(ApiVersions, 3, { ...defaultApiVersionsRequest(), clientSoftwareName: "prober", clientSoftwareVersion: "1" }, 5000);
    latencies.push(performance.now() - t0);
  } catch {
    failures++;
  }
  await new Promise((r) => setTimeout(r, 1));
}
process.stdout.write(`${JSON.stringify({ latencies, failures })}\n`);
process.exit(0);
