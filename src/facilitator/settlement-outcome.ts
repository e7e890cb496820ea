// The one place that says what a settle call's result means for the money (issue #33 "Money bookkeeping"):
// pay-per-call, channel deposits and channel refunds all branch on this, so "refused", "not submitted" and
// "unknown" are decided once. The rule: only a facilitator's verdict that nothing moved (a refusal), or a call turned
// away before anyone acted on it, is certainly unsettled; anything else may have reached the chain.
import { GatewayFailure } from "../errors.js";
import type { PaymentRequired, SettleResponse } from "../x402/schemas.js";
import { isNotSubmitted } from "./facilitator-pool.js";
import { SETTLEMENT_PENDING, SETTLEMENT_REVERTED } from "./pending-settlement.js";

export type SettlementOutcome =
  /** The money moved. */
  | { kind: "settled"; response: SettleResponse }
  /** The facilitator's verdict: it did not settle (a spent balance, a used nonce). Certainly nothing moved. */
  | { kind: "refused"; reason: string; response: SettleResponse }
  /** Turned away before any facilitator acted on it (a door refusal, no facilitator left). Nothing moved. */
  | { kind: "not_submitted"; error: GatewayFailure }
  /** A timeout, a broken reply, a 5xx, or a settle still landing (`reason`): it may be on chain. Never retried blindly. */
  | { kind: "unknown"; error: unknown; reason?: string };

/**
 * Reasons a facilitator gives with `success: false` for a payment that was broadcast and may still land: the
 * official `@x402/evm` facilitator answers a sent but unconfirmed settle with `settlement_pending` and its
 * transaction. That is not a refusal (issue #34).
 */
const STILL_LANDING = new Set([SETTLEMENT_PENDING, SETTLEMENT_REVERTED]);

export async function settleOutcome(settle: () => Promise<SettleResponse>): Promise<SettlementOutcome> {
  let response: SettleResponse;
  try {
    response = await settle();
  } catch (error) {
    if (error instanceof GatewayFailure && isNotSubmitted(error)) return { kind: "not_submitted", error };
    return { kind: "unknown", error };
  }
  if (response.success) return { kind: "settled", response };
  const reason = response.errorReason ?? "unexpected_settle_error";
  if (STILL_LANDING.has(reason)) {
    return {
      kind: "unknown",
      reason,
      error: new GatewayFailure({
        kind: "facilitator_unavailable",
        detail: `settle: ${reason} (transaction ${response.transaction || "unnamed"})`,
      }),
    };
  }
  return { kind: "refused", reason, response };
}

/** What the ledger's `error_reason` says of a settle that did not settle. */
export function outcomeReason(outcome: Exclude<SettlementOutcome, { kind: "settled" }>): string {
  if (outcome.kind === "refused") return outcome.reason;
  const kind = outcome.error instanceof GatewayFailure ? outcome.error.error.kind : "internal_error";
  if (outcome.kind === "not_submitted") return `${kind} (not submitted)`;
  return outcome.reason ?? kind;
}

/** The error a settle that did not settle answers with: a refusal is a 402 with the facilitator's reason. */
export function outcomeError(
  outcome: Exclude<SettlementOutcome, { kind: "settled" }>,
  challenge: (reason: string) => PaymentRequired,
): unknown {
  return outcome.kind === "refused"
    ? new GatewayFailure({ kind: "settle_failed", paymentRequired: challenge(outcome.reason), settleResponse: outcome.response })
    : outcome.error;
}
