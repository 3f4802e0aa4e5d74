// Where the HTTP door's private unix socket (the front's relay to Bun.serve) lives, against the
// compiled binary: in the data dir's `.http` (the data-dir lock makes it the broker's alone), so a
// broker killed with SIGKILL leaves nothing in the temporary directory and the next start on that
// data dir replaces what it left; a data dir too long for a unix socket's path falls back to
// $TMPDIR/streamctl-http-<pid>-*, and a later start removes those whose broker is gone.
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { removeDir, startBroker, tempDir } from "./harness.ts";

const tmp = tempDir("streamctl-sockdir-");
const env = { TMPDIR: tmp, STREAMCTL_HTTP_TOKEN: "" };
const ours = () => readdirSync(tmp).filter((n) => n.startsWith("streamctl-http-"));

afterAll(() => removeDir(tmp));

test("in the data dir: nothing in $TMPDIR; after SIGKILL the next start replaces the stale socket and a clean stop removes it", async () => {
  const data = join(tmp, "data");
  const first = await startBroker({ dataDir: data, env });
  expect(existsSync(join(data, ".http", "door.sock"))).toBe(true);
  expect(ours()).toEqual([]);
  await first.kill9();
  expect(existsSync(join(data, ".http", "door.sock"))).toBe(true);

  const second = await startBroker({ dataDir: data, env });
  expect((await fetch(`http://${second.http}/healthz`)).status).toBe(200);
  expect(await second.stop()).toBe(0);
  expect(existsSync(join(data, ".http"))).toBe(false);
  expect(ours()).toEqual([]);
});

test("a data dir too long for a unix socket path: $TMPDIR/streamctl-http-<pid>-*, removed by a later start once its broker was killed", async () => {
  const data = join(tmp, "x".repeat(120));
  const first = await startBroker({ dataDir: data, env });
  const left = ours();
  expect(left).toHaveLength(1);
  expect(left[0]).toStartWith(`streamctl-http-${first.proc.pid}-`);
  expect((await fetch(`http://${first.http}/healthz`)).status).toBe(200);
  await first.kill9();
  expect(ours()).toEqual(left);

  const second = await startBroker({ dataDir: data, env });
  expect(ours()).toEqual([expect.stringMatching(new RegExp(`^streamctl-http-${second.proc.pid}-`))]);
  expect((await fetch(`http://${second.http}/healthz`)).status).toBe(200);
  expect(await second.stop()).toBe(0);
  expect(ours()).toEqual([]);
});
