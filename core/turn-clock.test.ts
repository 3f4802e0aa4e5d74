import { expect, test } from "bun:test";
import { chargeTurn, nextTurn, TURN_SHARE_MS, turnLeft, turnSpentMs } from "./turn-clock.ts";

test("charges add up within a turn, with uncharged work since a time; the next turn starts at zero", async () => {
  await nextTurn();
  expect(turnSpentMs()).toBe(0);
  chargeTurn(TURN_SHARE_MS / 4);
  chargeTurn(TURN_SHARE_MS / 4);
  expect(turnSpentMs()).toBe(TURN_SHARE_MS / 2);
  expect(turnLeft()).toBe(true);
  // Work begun "TURN_SHARE_MS / 2 + 1 ms ago" and not charged yet uses up the rest.
  expect(turnLeft(performance.now() - TURN_SHARE_MS / 2 - 1)).toBe(false);
  chargeTurn(TURN_SHARE_MS);
  expect(turnLeft()).toBe(false);
  await nextTurn();
  expect(turnSpentMs()).toBe(0);
  expect(turnLeft()).toBe(true);
});
