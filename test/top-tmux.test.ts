// Issue 6: `streamctl top` in a real terminal (tmux on its own socket: new-session -d, send-keys,
// capture-pane), showing a topic's rate while the test produces into it, switching views, and
// quitting on q and on Ctrl-C with exit 0; and `top --once` as plain text for scripts.
// Waits poll the pane until what is expected appears (with a deadline), never a fixed sleep.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BrokerProcess, removeDir, runProcess, startBroker, STREAMCTL_BIN, streamctl } from "./harness.ts";
import { api, postJson } from "./http-helpers.ts";

const SOCKET = `streamctl-top-${process.pid}`;
let broker: BrokerProcess;

const tmux = (...args: string[]) => runProcess(["tmux", "-L", SOCKET, "-f", "/dev/null", ...args]);

async function capture(session: string): Promise<string> {
  return (await tmux("capture-pane", "-p", "-t", session)).stdout;
}

/** Polls the pane until `predicate` holds; fails with the last screen after `timeoutMs`. */
async function waitForScreen(session: string, predicate: (screen: string) => boolean, what: string, timeoutMs = 20000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await capture(session);
    if (predicate(screen)) return screen;
    await Bun.sleep(50); // pacing between polls, not a stand-in for the event
  }
  throw new Error(`timed out waiting for ${what}; screen:\n${screen}`);
}

/** Starts top in a detached session; after top exits the pane shows `top-exited:<code>`. */
async function startTop(session: string, extra: string[] = [], size = { columns: 150, rows: 30 }): Promise<void> {
  const cmd = `NO_COLOR=1 STREAMCTL_HTTP=http://${broker.http} STREAMCTL_BROKER=${broker.kafka} ${STREAMCTL_BIN} top ${extra.join(" ")}; echo top-exited:$?; exec cat`;
  const r = await tmux("new-session", "-d", "-s", session, "-x", String(size.columns), "-y", String(size.rows), "sh", "-c", cmd);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
}

beforeAll(async () => {
  broker = await startBroker();
  for (const [name, partitions] of [["busy", 2], ["quiet", 1]] as const) {
    expect((await postJson(broker.http, "/v1/topics", { name, partitions })).status).toBe(201);
  }
});

afterAll(async () => {
  await tmux("kill-server");
  expect(await broker.stop()).toBe(0);
  removeDir(broker.dataDir);
});

describe("top in a terminal", () => {
  test("shows the rate of a topic being produced into, switches views, quits on q", async () => {
    let producing = true;
    const producer = (async () => {
      const body = Array.from({ length: 200 }, (_, i) => `record-${i}`).join("\n");
      while (producing) await api(broker.http, "/v1/topics/busy/records", { method: "POST", body });
    })();
    try {
      await startTop("rates");
      const screen = await waitForScreen(
        "rates",
        (s) => {
          const row = s.split("\n").find((l) => l.startsWith("busy "));
          const recordsIn = row?.trim().split(/\s+/)[2];
          return recordsIn !== undefined && recordsIn !== "-" && recordsIn !== "0";
        },
        "a records/s figure for busy",
      );
      expect(screen).toContain("TOPIC");
      expect(screen).toMatch(/REC\/S IN▼/);
      expect(screen.split("\n").find((l) => l.startsWith("quiet "))).toMatch(/^quiet\s+1\s+0\s+0\.00/);
      // Busiest first: busy is listed above quiet.
      expect(screen.indexOf("busy ")).toBeLessThan(screen.indexOf("quiet "));

      await tmux("send-keys", "-t", "rates", "p");
      await waitForScreen("rates", (s) => /TOPIC\s+PART\s+REC\/S IN/.test(s) && /busy\s+1\s/.test(s), "the partitions view");
      await tmux("send-keys", "-t", "rates", "g");
      await waitForScreen("rates", (s) => s.includes("(no consumer groups)"), "the groups view");
      await tmux("send-keys", "-t", "rates", "t");
      await tmux("send-keys", "-t", "rates", "s");
      await waitForScreen("rates", (s) => /MB\/S IN▼/.test(s), "sorting on the next column");

      await tmux("send-keys", "-t", "rates", "q");
      await waitForScreen("rates", (s) => s.includes("top-exited:0"), "top to exit 0 on q");
    } finally {
      producing = false;
      await producer;
    }
  });

  test("Ctrl-C quits cleanly", async () => {
    await startTop("ctrlc");
    await waitForScreen("ctrlc", (s) => s.includes("busy "), "the first frame");
    await tmux("send-keys", "-t", "ctrlc", "C-c");
    await waitForScreen("ctrlc", (s) => s.includes("top-exited:0"), "top to exit 0 on Ctrl-C");
  });
});

describe("top --once", () => {
  test("prints one plain frame and exits", async () => {
    const r = await streamctl(["top", "--once"], { env: { STREAMCTL_HTTP: `http://${broker.http}`, STREAMCTL_BROKER: broker.kafka } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("\x1b");
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^streamctl top {2}http:\/\/127\.0\.0\.1:\d+ {2}up \S+ {2}fsync always {2}conns \d+ {2}topics 2 {2}records [\d,]+ {2}disk .+ {2}groups 0$/);
    expect(lines[2]!.split(/\s{2,}/)).toEqual(["TOPIC", "PARTS", "REC/S IN", "MB/S IN", "REC/S OUT", "MB/S OUT", "END", "SIZE"]);
    expect(lines.slice(3).map((l) => l.split(/\s+/)[0])).toEqual(expect.arrayContaining(["busy", "quiet"]));
    const groups = await streamctl(["top", "--once", "--view", "groups"], { env: { STREAMCTL_HTTP: `http://${broker.http}`, STREAMCTL_BROKER: broker.kafka } });
    expect(groups.stdout).toContain("(no consumer groups)");
  });

  test("usage mistakes and an unreachable broker", async () => {
    const badView = await streamctl(["top", "--once", "--view", "nope"]);
    expect(badView.code).toBe(2);
    const notTty = await streamctl(["top"], { env: { STREAMCTL_HTTP: `http://${broker.http}`, STREAMCTL_BROKER: broker.kafka } });
    expect(notTty.code).toBe(2);
    expect(notTty.stderr).toContain("--once");
    const down = await streamctl(["top", "--once", "--http", "http://127.0.0.1:1"]);
    expect(down.code).toBe(1);
    expect(down.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("top on a short terminal (issue 22)", () => {
  beforeAll(async () => {
    for (let i = 0; i < 20; i++) expect((await postJson(broker.http, "/v1/topics", { name: `many-${String(i).padStart(2, "0")}`, partitions: 1 })).status).toBe(201);
  });

  test("12 rows: the summary and the header stay, rows scroll with j/k and PgDn/PgUp, / filters", async () => {
    await startTop("short", ["--view", "topics"], { columns: 120, rows: 12 });
    const lines = (s: string) => s.split("\n");
    const topRows = (s: string) => lines(s).filter((l) => /^(many-\d\d|busy|quiet) /.test(l));
    const first = await waitForScreen("short", (s) => /rows 1-6 of 22/.test(s), "the first page of 22 rows");
    expect(lines(first)[0]).toStartWith("streamctl top  http://");
    expect(lines(first)[2]).toStartWith("TOPIC ");
    expect(topRows(first)).toHaveLength(6);

    await tmux("send-keys", "-t", "short", "j");
    const down = await waitForScreen("short", (s) => /rows 2-7 of 22/.test(s), "one row down");
    expect(topRows(down)[0]).toBe(topRows(first)[1]);
    await tmux("send-keys", "-t", "short", "NPage");
    await waitForScreen("short", (s) => /rows 8-13 of 22/.test(s), "a page down");
    await tmux("send-keys", "-t", "short", "End");
    const end = await waitForScreen("short", (s) => /rows 17-22 of 22/.test(s), "the end");
    expect(lines(end)[0]).toStartWith("streamctl top  http://");
    expect(lines(end)[2]).toStartWith("TOPIC ");
    await tmux("send-keys", "-t", "short", "PPage");
    await waitForScreen("short", (s) => /rows 11-16 of 22/.test(s), "a page up");
    await tmux("send-keys", "-t", "short", "k");
    await waitForScreen("short", (s) => /rows 10-15 of 22/.test(s), "one row up");

    await tmux("send-keys", "-t", "short", "/", "m", "a", "n", "y", "-", "1", "Enter");
    const filtered = await waitForScreen("short", (s) => /rows 1-6 of 10/.test(s) && s.includes("filter /many-1"), "the rows matching /many-1");
    expect(topRows(filtered).every((l) => l.startsWith("many-1"))).toBe(true);
    await tmux("send-keys", "-t", "short", "Escape");
    await waitForScreen("short", (s) => /rows 1-6 of 22/.test(s), "the filter dropped");
    await tmux("send-keys", "-t", "short", "q");
    await waitForScreen("short", (s) => s.includes("top-exited:0"), "top to exit 0 on q");
  });
});
