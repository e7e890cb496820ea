// The reconciler's schedule (src/payment-record/reconciler.ts): how many looks at the chain a watched lock can cost.
// A payment whose look never gives a verdict (an RPC down for good, a spent nonce whose transaction is never found)
// is held at most 30 days and a margin: its looks back off so that costs a bounded number of reads.
import { describe, expect, it } from "vitest";
import { FORGET_AFTER_MAX_MS, FORGET_MARGIN_MS } from "../../src/payment-record/lock-lifetime.js";
import { lookMaxCalls, type ChainWatch } from "../../src/payment-record/chain-watch.js";
import { looksWithinBudget, nextLookMs, retryInMs } from "../../src/payment-record/reconciler.js";

describe("the reconciler's looks", () => {
  it("without a verdict: 30 s, doubling, at most an hour apart; at most 750 looks over the longest hold", () => {
    expect([0, 1, 2, 6, 7, 20].map(retryInMs)).toEqual([30_000, 60_000, 120_000, 1_920_000, 3_600_000, 3_600_000]);
    let looks = 0;
    for (let at = 0; at <= FORGET_AFTER_MAX_MS + FORGET_MARGIN_MS; looks++) at += retryInMs(looks);
    expect(looks).toBeLessThanOrEqual(750);
  });

  it("unused while valid: backing off from 15 s to 5 min, and one look just after the expiry", () => {
    const now = 1_000_000;
    expect(nextLookMs(now, (now + 3_600_000) / 1000, 0)).toBe(now + 15_000);
    expect(nextLookMs(now, (now + 3_600_000) / 1000, 9)).toBe(now + 300_000);
    // Expiring in 10 s: the next look is 3 s after it, not 15 s from now.
    expect(nextLookMs(now, (now + 10_000) / 1000, 0)).toBe(now + 13_000);
  });
});

describe("one alarm run's looks", () => {
  const watch = (method: "eip3009" | "permit2"): ChainWatch => {
    const paid = { asset: "0x", payTo: "0x", amount: "1", payer: "0x", network: "eip155:1", validBeforeSeconds: 0 };
    return method === "permit2" ? { ...paid, method, permit2Nonce: "1" } : { ...paid, method, nonce: "0x01" };
  };

  it("stay within 45 RPC calls at their most (the Free plan allows 50 subrequests a run): 10 EIP-3009 looks, 3 Permit2 ones (12 calls each)", () => {
    expect(lookMaxCalls(watch("eip3009")) * 10).toBeLessThanOrEqual(45);
    expect(looksWithinBudget(Array.from({ length: 25 }, () => watch("eip3009")))).toBe(10);
    expect(looksWithinBudget(Array.from({ length: 25 }, () => watch("permit2")))).toBe(3);
    expect(3 * lookMaxCalls(watch("permit2"))).toBeLessThanOrEqual(45);
    // 4 + 4 + 12 + 12 + 12 = 44; the next EIP-3009 look would make 48.
    expect(
      looksWithinBudget([watch("eip3009"), watch("eip3009"), watch("permit2"), watch("permit2"), watch("permit2"), watch("eip3009")]),
    ).toBe(5);
    expect(looksWithinBudget([])).toBe(0);
  });
});
