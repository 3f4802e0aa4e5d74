// The handlers of issue #21 against random requests built from the schemas (every field present
// in the version given a value: strings, numbers, nulls, empty arrays, unknown tags), at every
// version each serves, over topics some of whose names the samples use. Whatever comes in, the
// door answers in that version's format, whole, and no handler throws (a throw would close the
// connection and log "request handler failed"). Seeded: SEED=<n> replays a run; FUZZ_RUNS=<n>
// sets the requests per API version (default 40).
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as messages from "../protocol/messages/index.ts";
import type { MessageSchema } from "../protocol/schema.ts";
import { rng, Sampler } from "../testing/message-samples.ts";
import { DoorHarness } from "../testing/kafka-door.ts";
import { HANDLERS } from "./handlers/index.ts";

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
/** The APIs this issue added or corrected, and FindCoordinator, whose v4+ with no keys threw. */
const KEYS = [2, 3, 10, 16, 21, 23, 33, 35, 37, 43, 44, 47, 60, 61, 71, 75];
const mod = messages as unknown as Record<string, unknown>;

let h: DoorHarness;

beforeAll(async () => {
  h = await DoorHarness.open({ groups: { initialRebalanceDelayMs: 0 } });
  // Names the sampler picks (net/testing/message-samples.ts STRINGS), so some requests hit topics.
  for (const name of ["a", "topic-1", "kafka.streamctl_9"]) await h.createTopic(name, 2);
});

afterAll(async () => {
  await h.close();
});

const cases = HANDLERS.filter((hd) => KEYS.includes(hd.api.key)).flatMap((hd) =>
  Array.from({ length: hd.maxVersion - hd.minVersion + 1 }, (_, i) => [hd.api.name, hd.minVersion + i, hd] as const),
);

test.each(cases)(`%s v%i: random requests get whole answers, never a throw (SEED=${SEED})`, async (_name, version, handler) => {
  const schema = mod[`${handler.api.name}RequestSchema`] as MessageSchema;
  expect(schema).toBeDefined();
  h.errors.length = 0;
  for (let run = 0; run < RUNS; run++) {
    const seed = (SEED + run * 7919 + handler.api.key * 104729 + version) >>> 0;
    const request = new Sampler(mod, schema, rng(seed), { populated: false }).message(version);
    try {
      await h.answer(handler.api, version, request as never);
    } catch (err) {
      throw new Error(`seed ${seed}: ${(err as Error).message}; broker errors: ${h.errors.join(" | ")}`);
    }
    expect(h.errors).toEqual([]);
  }
});
