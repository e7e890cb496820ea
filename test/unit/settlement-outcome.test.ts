// The one classifier of settle results (issue #33 "Money bookkeeping"): what is certainly unsettled, and what may
// be on chain.
import { describe, expect, it } from "vitest";
import { GatewayFailure } from "../../src/errors.js";
import { outcomeReason, settleOutcome } from "../../src/facilitator/settlement-outcome.js";
import type { SettleResponse } from "../../src/x402/schemas.js";

const answer = (response: Partial<SettleResponse>) => async () =>
  ({ success: false, transaction: "", network: "eip155:84532", ...response }) as SettleResponse;
const failing = (error: unknown) => async (): Promise<SettleResponse> => {
  throw error;
};

describe("settleOutcome", () => {
  it.each<[string, () => Promise<SettleResponse>, string, string]>([
    ["a success", answer({ success: true, transaction: "0x1" }), "settled", ""],
    ["a refusal", answer({ errorReason: "insufficient_funds" }), "refused", "insufficient_funds"],
    ["a refusal without a reason", answer({}), "refused", "unexpected_settle_error"],
    // @x402/evm 2.27 answers a broadcast, unconfirmed settle this way: it is landing, not refused (issue #34).
    ["settlement_pending", answer({ errorReason: "settlement_pending", transaction: "0xab" }), "unknown", "settlement_pending"],
    [
      "turned away at the door",
      failing(new GatewayFailure({ kind: "facilitator_unavailable", detail: "settle: HTTP 401", notSubmitted: true })),
      "not_submitted",
      "facilitator_unavailable (not submitted)",
    ],
    [
      "a 5xx or a lost connection",
      failing(new GatewayFailure({ kind: "facilitator_unavailable", detail: "settle: HTTP 502" })),
      "unknown",
      "facilitator_unavailable",
    ],
    ["a timeout", failing(new GatewayFailure({ kind: "facilitator_timeout", operation: "settle" })), "unknown", "facilitator_timeout"],
    ["a bug", failing(new TypeError("boom")), "unknown", "internal_error"],
  ])("%s", async (_name, settle, kind, reason) => {
    const outcome = await settleOutcome(settle);
    expect(outcome.kind).toBe(kind);
    if (outcome.kind !== "settled") expect(outcomeReason(outcome)).toBe(reason);
  });
});
