// How long a payment must stay valid once it arrives (docs/x402.md "Validity window"). Settle runs last, after
// verify and the origin (and a metered stream's whole life); a payment that expires before it would let the origin
// work for nothing, and a stream be delivered for nothing (security review F1, F4). So every EVM scheme refuses,
// before any origin or facilitator call, an authorization that expires sooner than now + this window. Pure.
import { GatewayFailure } from "../errors.js";
import type { ResolvedFacilitator } from "../facilitator/facilitator-config.js";

/** The official facilitator refuses, at verify and again at settle, an authorization expiring sooner than this. */
const FACILITATOR_VALIDITY_MARGIN_SECONDS = 6;
/**
 * What an honest client's authorization loses before it arrives: signing, the trip, and its clock against ours.
 * Clients sign `now + maxTimeoutSeconds`, so a rule must leave this much beyond its own window.
 */
const CLIENT_SLACK_SECONDS = 10;

export interface PaymentBudget {
  /** The verify phase as a whole, failover included (facilitator-pool.ts bounds it). */
  verifyMs: number;
  /** Until the origin's headers arrive (ORIGIN_TIMEOUT_MS). */
  originMs: number;
  /** A metered stream's longest life (`meter.maxStreamSeconds`); 0 for an answer that is not streamed unpaid. */
  streamMs: number;
  /** The settle phase as a whole, failover included. */
  settleMs: number;
}

/** Each phase is bounded by the longest timeout any facilitator has for it (facilitator-pool.ts). */
export function buildPaymentBudget(
  facilitators: readonly Pick<ResolvedFacilitator, "verifyTimeoutMs" | "settleTimeoutMs">[],
  originTimeoutMs: number,
  streamSeconds = 0,
): PaymentBudget {
  return {
    verifyMs: Math.max(0, ...facilitators.map((f) => f.verifyTimeoutMs)),
    originMs: originTimeoutMs,
    streamMs: streamSeconds * 1000,
    settleMs: Math.max(0, ...facilitators.map((f) => f.settleTimeoutMs)),
  };
}

/** Seconds from now the payment must stay valid: every phase, then the facilitator's own margin at settle. */
export function validityWindowSeconds(budget: PaymentBudget): number {
  return Math.ceil((budget.verifyMs + budget.originMs + budget.streamMs + budget.settleMs) / 1000) + FACILITATOR_VALIDITY_MARGIN_SECONDS;
}

/**
 * A rule whose `maxTimeoutSeconds` cannot cover its own window would refuse every honest payment: a configuration
 * error (503), named with the numbers, rather than a 402 nobody can pay.
 */
export function assertRuleCoversWindow(ruleId: string, maxTimeoutSeconds: number, budget: PaymentBudget): number {
  const window = validityWindowSeconds(budget);
  if (maxTimeoutSeconds < window + CLIENT_SLACK_SECONDS) {
    const parts = `verify ${budget.verifyMs} ms + origin ${budget.originMs} ms + ${budget.streamMs ? `stream ${budget.streamMs} ms + ` : ""}settle ${budget.settleMs} ms + ${FACILITATOR_VALIDITY_MARGIN_SECONDS} s`;
    throw new GatewayFailure({
      kind: "config_invalid",
      detail: `rule ${ruleId}: maxTimeoutSeconds ${maxTimeoutSeconds} cannot cover its payments' window (${parts} = ${window} s, plus ${CLIENT_SLACK_SECONDS} s for the client): raise it to at least ${window + CLIENT_SLACK_SECONDS} or lower the timeouts`,
    });
  }
  return window;
}
