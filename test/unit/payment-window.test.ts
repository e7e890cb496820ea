import { describe, expect, it } from "vitest";
import { GatewayFailure } from "../../src/errors.js";
import { assertRuleCoversWindow, buildPaymentBudget, validityWindowSeconds } from "../../src/pipeline/payment-window.js";

describe("validity window", () => {
  it.each<[string, Parameters<typeof buildPaymentBudget>, number]>([
    ["defaults: verify 5 s + origin 30 s + settle 30 s + 6 s", [[{ verifyTimeoutMs: 5000, settleTimeoutMs: 30_000 }], 30_000], 71],
    [
      "each phase takes its longest facilitator timeout, not the sum",
      [
        [
          { verifyTimeoutMs: 5000, settleTimeoutMs: 30_000 },
          { verifyTimeoutMs: 2000, settleTimeoutMs: 20_000 },
        ],
        30_000,
      ],
      71,
    ],
    ["a metered stream's longest life counts", [[{ verifyTimeoutMs: 5000, settleTimeoutMs: 30_000 }], 30_000, 30], 101],
    ["partial seconds round up", [[{ verifyTimeoutMs: 400, settleTimeoutMs: 400 }], 1000], 8],
  ])("%s", (_name, args, seconds) => {
    expect(validityWindowSeconds(buildPaymentBudget(...args))).toBe(seconds);
  });

  it("the default maxTimeoutSeconds (120) covers the default window, with a stream of the default 30 s too", () => {
    expect(assertRuleCoversWindow("r", 120, buildPaymentBudget([{ verifyTimeoutMs: 5000, settleTimeoutMs: 30_000 }], 30_000))).toBe(71);
    expect(assertRuleCoversWindow("r", 120, buildPaymentBudget([{ verifyTimeoutMs: 5000, settleTimeoutMs: 30_000 }], 30_000, 30))).toBe(
      101,
    );
  });

  it("refuses a maxTimeoutSeconds that leaves the client less than 10 s", () => {
    const budget = buildPaymentBudget([{ verifyTimeoutMs: 5000, settleTimeoutMs: 30_000 }], 30_000);
    expect(() => assertRuleCoversWindow("r", 60, budget)).toThrow(GatewayFailure);
    expect(() => assertRuleCoversWindow("r", 80, budget)).toThrow(GatewayFailure);
    expect(assertRuleCoversWindow("r", 81, budget)).toBe(71);
  });
});
