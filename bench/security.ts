// Benchmarks of the security issue (#18), section "security": what TLS and SASL cost, in the same
// run on the same broker.
//   produce  `streamctl bench produce --records N` over PLAINTEXT, then over SASL_SSL
//            (SCRAM-SHA-512, TLS 1.3 from Bun's BoringSSL), alternating who goes first
//   consume  `streamctl bench consume --records N` the same way
//   logins   connections per second, each a full open: TCP connect, ApiVersions, and for the
//            secured ones the TLS handshake and a SCRAM-SHA-512 (or PLAIN) login, then close;
//            HANDSHAKE_CONCURRENCY at once from this process (net/client's Connection)
// The broker is `bin/streamctl serve` with a PLAINTEXT and a SASL_SSL listener, certificates made
// by openssl, fsync always. Best of ROUNDS for throughput. Measures only; asserts nothing.
//
//   BENCH=security make bench                       (or: bun run bench/security.ts)
//   BENCH_SECURITY_RECORDS=2000000 …                 records per throughput run
import { readFileSync } from "node:fs";
import { removeDir, startBroker, STREAMCTL_BIN } from "../test/harness.ts";
import { makeCerts } from "../test/tls-helpers.ts";
import { Connection } from "../net/client/connection.ts";
import type { ClientSecurity } from "../net/client/security.ts";
import type { BenchRow } from "./types.ts";

const SECTION = "security";
const ROUNDS = 2;
const HANDSHAKE_SECONDS = 5;
const HANDSHAKE_CONCURRENCY = 8;
const PASSWORD = "bench-admin-password";

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Run {
  recordsPerSec: number;
  /** CPU seconds of the bench client and the broker together, per million records: less
   * sensitive than records/s to other work on a shared machine. */
  cpuPerMillion: number;
}

async function benchRun(brokerPid: number, args: string[], records: number): Promise<Run> {
  const brokerBefore = cpuSeconds(brokerPid);
  const proc = Bun.spawn([STREAMCTL_BIN, "bench", ...args, "--json"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", STREAMCTL_PASSWORD: PASSWORD, STREAMCTL_PROFILE: "", XDG_CONFIG_HOME: "/nonexistent" } });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`streamctl bench ${args.join(" ")} exited ${code}: ${err.trim()}`);
  const usage = proc.resourceUsage()!;
  const client = (Number(usage.cpuTime.user) + Number(usage.cpuTime.system)) / 1e6;
  const report = JSON.parse(out) as { recordsPerSec: number };
  return { recordsPerSec: report.recordsPerSec, cpuPerMillion: ((client + cpuSeconds(brokerPid) - brokerBefore) * 1e6) / records };
}

/** Full connection opens per second for `seconds`, `concurrency` at a time, and the broker's CPU
 * milliseconds per open. */
async function opensPerSecond(brokerPid: number, host: string, port: number, security: ClientSecurity | undefined, seconds: number, concurrency: number): Promise<{ perSecond: number; brokerCpuMs: number }> {
  const until = performance.now() + seconds * 1000;
  let opened = 0;
  const started = performance.now();
  const cpuBefore = cpuSeconds(brokerPid);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const conn = await Connection.open({ host, port, clientId: "bench-logins", clientVersion: "0", security });
        conn.close();
        opened++;
      }
    }),
  );
  return { perSecond: Math.round(opened / ((performance.now() - started) / 1000)), brokerCpuMs: Math.round(((cpuSeconds(brokerPid) - cpuBefore) * 1000 * 100) / opened) / 100 };
}

export async function run(): Promise<BenchRow[]> {
  const records = Number(process.env.BENCH_SECURITY_RECORDS ?? 2_000_000);
  const certs = await makeCerts();
  const broker = await startBroker({
    // Authorization is on once a listener authenticates (issue #18 item 4): the PLAINTEXT
    // listener's principal, User:ANONYMOUS, is made a super user so that it may create the
    // bench's topics; both listeners' requests pass the same ACL gate.
    args: ["--listener", "SASL_SSL://127.0.0.1:0", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--super-users", "User:ANONYMOUS"],
    env: { STREAMCTL_ADMIN_PASSWORD: PASSWORD },
  });
  const plain = broker.kafka;
  const secure = broker.listeners.find((l) => l.protocol === "SASL_SSL")!.address;
  const secureArgs = ["--broker", secure, "--tls-ca", certs.ca, "--user", "admin", "--sasl-mechanism", "SCRAM-SHA-512"];
  type Key = "plainProduce" | "tlsProduce" | "plainConsume" | "tlsConsume";
  const best: Record<Key, number> = { plainProduce: 0, tlsProduce: 0, plainConsume: 0, tlsConsume: 0 };
  const cpu: Record<Key, number> = { plainProduce: Infinity, tlsProduce: Infinity, plainConsume: Infinity, tlsConsume: Infinity };
  const pid = broker.proc.pid;
  const measure = async (key: Key, args: string[]) => {
    const r = await benchRun(pid, args, records);
    best[key] = Math.max(best[key], r.recordsPerSec);
    cpu[key] = Math.min(cpu[key], r.cpuPerMillion);
  };
  const logins: Record<string, { perSecond: number; brokerCpuMs: number }> = {};
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const common = ["--records", String(records), "--record-size", "100"];
      const producePlain = () => measure("plainProduce", ["produce", ...common, "--topic", `sec-plain-${round}`, "--broker", plain]);
      const produceTls = () => measure("tlsProduce", ["produce", ...common, "--topic", `sec-tls-${round}`, ...secureArgs]);
      const consumePlain = () => measure("plainConsume", ["consume", ...common, "--topic", `sec-plain-${round}`, "--broker", plain]);
      const consumeTls = () => measure("tlsConsume", ["consume", ...common, "--topic", `sec-tls-${round}`, ...secureArgs]);
      // Alternate who goes first, so neither always meets the colder or the warmer broker.
      for (const step of round % 2 === 0 ? [producePlain, produceTls, consumePlain, consumeTls] : [produceTls, producePlain, consumeTls, consumePlain]) await step();
    }
    const [host, port] = [secure.split(":")[0]!, Number(secure.split(":")[1])];
    const [plainHost, plainPort] = [plain.split(":")[0]!, Number(plain.split(":")[1])];
    const ca = await Bun.file(certs.ca).text();
    logins.plaintext = await opensPerSecond(pid, plainHost, plainPort, undefined, HANDSHAKE_SECONDS, HANDSHAKE_CONCURRENCY);
    logins.scram512 = await opensPerSecond(pid, host, port, { tls: { ca }, sasl: { mechanism: "SCRAM-SHA-512", username: "admin", password: PASSWORD } }, HANDSHAKE_SECONDS, HANDSHAKE_CONCURRENCY);
    logins.scram256 = await opensPerSecond(pid, host, port, { tls: { ca }, sasl: { mechanism: "SCRAM-SHA-256", username: "admin", password: PASSWORD } }, HANDSHAKE_SECONDS, HANDSHAKE_CONCURRENCY);
    logins.plain = await opensPerSecond(pid, host, port, { tls: { ca }, sasl: { mechanism: "PLAIN", username: "admin", password: PASSWORD } }, HANDSHAKE_SECONDS, HANDSHAKE_CONCURRENCY);
  } finally {
    await broker.stop();
    removeDir(broker.dataDir);
    removeDir(certs.dir);
  }
  const round2 = (n: number) => Math.round(n * 100) / 100;
  const pctMore = (tls: number, plainCpu: number) => {
    const d = ((tls - plainCpu) / plainCpu) * 100;
    return d >= 0 ? `${d.toFixed(1)}% more than PLAINTEXT` : `${(-d).toFixed(1)}% less than PLAINTEXT`;
  };
  const pct = (tls: number, plainRate: number) => {
    const d = ((plainRate - tls) / plainRate) * 100;
    return d >= 0 ? `${d.toFixed(1)}% below PLAINTEXT` : `${(-d).toFixed(1)}% above PLAINTEXT`;
  };
  const what = `${records.toLocaleString("en-US")} records of 100 B, 1 partition, acks=all, fsync always, no compression, best of ${ROUNDS}`;
  const secured = "SASL_SSL: TLS 1.3 (Bun's BoringSSL, RSA-2048 certificate), SCRAM-SHA-512 login";
  const opens = `${HANDSHAKE_CONCURRENCY} at a time for ${HANDSHAKE_SECONDS} s from one Bun process on the same machine (net/client Connection.open, then close); the client's PBKDF2 (4096 iterations) for SCRAM is most of its cost`;
  const brokerMs = (k: string) => `; the broker's CPU per open: ${logins[k]!.brokerCpuMs} ms`;
  return [
    { section: SECTION, name: "bench produce, PLAINTEXT", value: Math.round(best.plainProduce), unit: "records/s", note: `${what}; streamctl bench produce --records N --broker PLAINTEXT` },
    { section: SECTION, name: "bench produce, SASL_SSL", value: Math.round(best.tlsProduce), unit: "records/s", note: `${pct(best.tlsProduce, best.plainProduce)}; ${secured}; same command with --tls-ca --user --sasl-mechanism SCRAM-SHA-512` },
    { section: SECTION, name: "bench consume, PLAINTEXT", value: Math.round(best.plainConsume), unit: "records/s", note: `${what}; streamctl bench consume --records N` },
    { section: SECTION, name: "bench consume, SASL_SSL", value: Math.round(best.tlsConsume), unit: "records/s", note: `${pct(best.tlsConsume, best.plainConsume)}; ${secured}` },
    { section: SECTION, name: "CPU per million records produced, PLAINTEXT", value: round2(cpu.plainProduce), unit: "CPU s", note: "the bench client's and the broker's user+system CPU together, best of the runs above" },
    { section: SECTION, name: "CPU per million records produced, SASL_SSL", value: round2(cpu.tlsProduce), unit: "CPU s", note: `${pctMore(cpu.tlsProduce, cpu.plainProduce)}` },
    { section: SECTION, name: "CPU per million records consumed, PLAINTEXT", value: round2(cpu.plainConsume), unit: "CPU s", note: "as above" },
    { section: SECTION, name: "CPU per million records consumed, SASL_SSL", value: round2(cpu.tlsConsume), unit: "CPU s", note: `${pctMore(cpu.tlsConsume, cpu.plainConsume)}` },
    { section: SECTION, name: "connection opens, PLAINTEXT", value: logins.plaintext!.perSecond, unit: "opens/s", note: `TCP + ApiVersions; ${opens}${brokerMs("plaintext")}` },
    { section: SECTION, name: "connection opens, TLS + SCRAM-SHA-512", value: logins.scram512!.perSecond, unit: "opens/s", note: `TCP + TLS handshake + ApiVersions + SaslHandshake + 2 SaslAuthenticate; ${opens}${brokerMs("scram512")}` },
    { section: SECTION, name: "connection opens, TLS + SCRAM-SHA-256", value: logins.scram256!.perSecond, unit: "opens/s", note: `${opens}${brokerMs("scram256")}` },
    { section: SECTION, name: "connection opens, TLS + PLAIN", value: logins.plain!.perSecond, unit: "opens/s", note: `the broker runs one PBKDF2 (4096 iterations, SHA-256) per PLAIN login, off the event loop${brokerMs("plain")}` },
  ];
}

if (import.meta.main) {
  for (const row of await run()) console.log(`${row.name.padEnd(40)} ${String(row.value).padStart(10)} ${row.unit}   (${row.note})`);
}
