// The HTTP door's per-request latency, for comparing two binaries (issue #18: the front that
// answers Bun's parser errors in JSON adds a relay hop). 600 sequential keep-alive GET /healthz;
// prints p50/p90/p99 in ms. Usage: bun run bench/http-front-latency.ts BINARY
const [bin] = process.argv.slice(2);
const dir = (await Bun.$`mktemp -d`.text()).trim();
const proc = Bun.spawn([bin!, "serve", "--data-dir", dir, "--kafka-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--fsync", "never"], { stderr: "pipe", env: { ...process.env, STREAMCTL_HTTP_TOKEN: "" } });
let err = ""; const dec = new TextDecoder(); const reader = proc.stderr.getReader();
while (!/http=(\S+)/.test(err)) err += dec.decode((await reader.read()).value);
const http = /http=(\S+)/.exec(err)![1];
const lat: number[] = [];
for (let i = 0; i < 600; i++) { const t = performance.now(); await (await fetch(`http://${http}/healthz`)).arrayBuffer(); lat.push(performance.now() - t); }
lat.sort((a, b) => a - b);
console.log(bin!.split("/").pop(), "p50", lat[300]!.toFixed(3), "p90", lat[540]!.toFixed(3), "p99", lat[594]!.toFixed(3));
proc.kill(); await proc.exited; await Bun.$`rm -rf ${dir}`;
export {};
