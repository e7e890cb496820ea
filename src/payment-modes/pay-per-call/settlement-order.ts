// The two settlement orders of a verified payment (docs/x402.md "Settlement modes").
// after-origin (default): origin, then settle only if it answered < 400; a refused settle withholds the body.
// before-origin: settle, then origin; an origin failure after settlement is recorded `owed_refund`.
import { GatewayFailure, toHttpResponse } from "../../errors.js";
import { encodePaymentResponseHeader, EXPOSED_PAYMENT_HEADERS } from "../../x402/headers.js";
import type { PaymentRequired, PaymentRequirements, SettleResponse } from "../../x402/schemas.js";
import type { LedgerEntry } from "../../ledger/ledger.js";
import type { PriceRule } from "../../pricing/price-rule.js";
import type { SchemePlugin } from "../../schemes/scheme-plugin.js";
import type { IdentifiedPayment } from "../../idempotency/identified-payment.js";
import type { LedgerWriter, LockHandle } from "../../pipeline/payment-tracking.js";
import { outcomeError, outcomeReason, settleOutcome } from "../../facilitator/settlement-outcome.js";
import { chargeFor, chargeForCutStream, sseUsageField, type MeterSpec } from "../../metering/meter-terms.js";
import { readEventUsage, readUsage } from "../../metering/read-usage.js";
import { meterEventStream } from "../../metering/sse-meter.js";
import type { OriginCall } from "./origin-call.js";
import { describeFailure, withReceipt } from "../../pipeline/paid-response.js";

/** The meter a usage-settled payment (upto) is settled by: its maximum is what was verified, in the offer's asset. */
export function paidMeterFor(rule: PriceRule, requirements: PaymentRequirements, plugin: SchemePlugin): PaidMeter | undefined {
  if (!rule.meter || plugin.settles !== "usage") return undefined;
  const template = rule.offers.find(
    (offer) =>
      offer.scheme === requirements.scheme &&
      offer.network === requirements.network &&
      offer.asset.toLowerCase() === requirements.asset.toLowerCase(),
  );
  // The compiler refuses upto offers on assets without decimals; an offer that matches none cannot have been made.
  if (template?.decimals === undefined)
    throw new GatewayFailure({
      kind: "config_invalid",
      detail: `rule ${rule.id}: no asset decimals for ${requirements.asset} on ${requirements.network}`,
    });
  return { spec: rule.meter, maxAtomic: BigInt(requirements.amount), decimals: template.decimals };
}

/** An `upto` payment on a metered rule: the most it may settle, in the offer's asset. */
export interface PaidMeter {
  spec: MeterSpec;
  maxAtomic: bigint;
  decimals: number;
}

export interface PaidRequest {
  lock: LockHandle;
  ledger: LedgerWriter;
  timer: { lap(): number };
  verifyMs: number;
  /** Verify was not asked (payer-standing.ts): settle checks the payment. */
  verifySkipped: boolean;
  /** Since the request arrived: with verify, origin and settle it gives the gateway's own time (Server-Timing). */
  totalMs(): number;
  /** `amount`: what an upto payment settles (atomic), at most what was verified. */
  settle(amount?: string): Promise<SettleResponse>;
  /** The origin, perhaps already asked while verify ran (origin-call.ts). */
  origin: OriginCall;
  /** Keeps the request alive for work after the answer left (a stream the client left is settled then). */
  waitUntil(promise: Promise<unknown>): void;
  /** Set for an upto payment on a metered rule: the amount is read from the origin's answer. */
  meter: PaidMeter | undefined;
  nowMs(): number;
  challenge(reason: string): PaymentRequired;
  /** Set when the payment carries a payment-identifier: settled responses are kept for retries. */
  identified: IdentifiedPayment | undefined;
  /** The payment's lock carries a chain watch: an unknown settle is read from the chain later (reconciler.ts). */
  watched: boolean;
  /**
   * Runs once the payment is settled and the origin answered < 400 (a session rule opens the payer's session: never
   * for a payment owed back, security review F7); `served` false: only the receipt's headers. Returns headers for
   * the answer.
   */
  afterSettle(settled: SettleResponse, served: boolean): Promise<Record<string, string>>;
}

/** Statuses whose answer has no body (Fetch's null body statuses). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export async function forwardThenSettle(paid: PaidRequest): Promise<Response> {
  const askedEarly = paid.origin.startedEarly;
  let origin: Response;
  try {
    origin = await paid.origin.answer();
  } catch (error) {
    giveBack(paid, { status: "origin_failed", errorReason: describeFailure(error), originMs: paid.origin.latencyMs() });
    throw error;
  }
  const forwardedAtMs = paid.origin.startedAtMs;
  // Server-Timing shows what the request waited for the origin after verify; the ledger, the origin's own latency.
  // With verify left out the origin ran beside the claim: when the request waited for it at all, it answered after
  // the claim and its whole latency was on the path (the claim cost nothing); else the claim was, as own time.
  const lapMs = paid.timer.lap();
  const originMs = paid.origin.latencyMs();
  const waitedMs = paid.verifySkipped && lapMs > 0 ? originMs : lapMs;
  if (origin.status >= 400) {
    // The payer keeps their money: nothing is settled for a failed origin answer.
    giveBack(paid, { status: "origin_failed", originStatus: origin.status, originMs });
    return origin;
  }
  const sseField = sseUsageField(paid.meter?.spec);
  let metered: { amount: string; meteredUnits?: string } | undefined;
  if (paid.meter && sseField !== undefined && (NULL_BODY_STATUSES.has(origin.status) || origin.body === null)) {
    // No stream to meter (a 304 for If-None-Match, a 204, an answer to HEAD): nothing was used, so 0 units, the base price. Streaming it
    // would fail (such an answer cannot carry a body) and leave the stream's time limit to charge the cap.
    const charge = chargeFor(paid.meter.spec, { ok: true, units: "0" }, paid.meter.maxAtomic, paid.meter.decimals);
    metered = { amount: charge.amount.toString(), meteredUnits: "0" };
  } else if (paid.meter && sseField !== undefined) {
    return meterStream(paid, paid.meter, sseField, origin, originMs);
  } else if (paid.meter) {
    ({ origin, metered } = await meter(paid.meter, origin, forwardedAtMs, paid));
  }
  // Settles on the origin's headers: a streamed body (SSE) flows to the client after settlement.
  const facts = { originStatus: origin.status, originMs, ...metered };
  const settled = await settleOrThrow(paid, facts, origin, metered?.amount);
  paid.ledger.completed("settled", {
    status: "settled",
    transactionHash: settled.response.transaction,
    ...facts,
    settleMs: settled.settleMs,
  });
  const extra = await paid.afterSettle(settled.response, true);
  const verifyTiming = paid.verifySkipped ? `x402-verify;desc="skipped: payer in good standing";dur=0` : `x402-verify;dur=${paid.verifyMs}`;
  const asked = !askedEarly ? "" : paid.verifySkipped ? `;desc="asked with the claim"` : `;desc="asked during verify"`;
  return keep(
    paid,
    withReceipt(
      origin,
      settled.response,
      `${verifyTiming}, origin${asked};dur=${waitedMs}, x402-settle;dur=${settled.settleMs}`,
      extra,
      paid.totalMs(),
    ),
  );
}

export async function settleThenForward(paid: PaidRequest): Promise<Response> {
  const settled = await settleOrThrow(paid, {}, undefined);
  // Spent before the origin is asked; the ledger row follows once the origin answered.
  paid.lock.complete("settled");
  const timing = `x402-verify;dur=${paid.verifyMs}, x402-settle;dur=${settled.settleMs}`;
  const owed = { status: "owed_refund" as const, transactionHash: settled.response.transaction, settleMs: settled.settleMs };
  let origin: Response;
  try {
    origin = await paid.origin.answer();
  } catch (error) {
    paid.ledger.outcome({ ...owed, errorReason: describeFailure(error), originMs: paid.timer.lap() });
    if (!(error instanceof GatewayFailure)) throw error;
    // The payer was charged: the error answer still carries the receipt, so the refund can be claimed.
    return keep(
      paid,
      withReceipt(toHttpResponse(error.error), settled.response, timing, await paid.afterSettle(settled.response, false), paid.totalMs()),
    );
  }
  const originMs = paid.timer.lap();
  const served = origin.status < 400;
  if (!served) {
    paid.ledger.outcome({ ...owed, originStatus: origin.status, originMs });
  } else {
    paid.ledger.outcome({
      status: "settled",
      transactionHash: settled.response.transaction,
      originStatus: origin.status,
      originMs,
      settleMs: settled.settleMs,
    });
  }
  const extra = await paid.afterSettle(settled.response, served);
  return keep(paid, withReceipt(origin, settled.response, `${timing}, origin;dur=${originMs}`, extra, paid.totalMs()));
}

interface OriginFacts {
  originStatus?: number;
  /** Why a metered stream ended early (client_disconnected, stream_time_limit). */
  errorReason?: string;
  originMs?: number;
  /** A metered payment: the amount settled and the units it was charged for. */
  amount?: string;
  meteredUnits?: string;
}

/**
 * A streamed answer metered from its last event: the events flow to the client as they arrive, the payment is
 * settled when the origin's stream ends, and the receipt goes out as a last `payment-response` event (its data is
 * what PAYMENT-RESPONSE would hold). The payment was verified, and is valid through the stream's longest life
 * (`meter.maxStreamSeconds`, pipeline/payment-window.ts), before the first byte left. Once one did, the lock is
 * never let go: a stream cut at its time limit settles the cap, one the client left settles `meter.onCancel`, and
 * one whose settle is refused keeps its payment spent, so one authorization never buys a second stream (F1).
 */
function meterStream(paid: PaidRequest, spec: PaidMeter, path: string, origin: Response, originMs: number): Response {
  const originStatus = origin.status;
  const settleStream = async (charge: { amount: bigint; units?: string | undefined }, cut?: string): Promise<string> => {
    const facts = {
      originStatus,
      originMs,
      amount: charge.amount.toString(),
      ...(charge.units !== undefined ? { meteredUnits: charge.units } : {}),
      ...(cut ? { errorReason: cut } : {}),
    };
    try {
      const settled = await settleOrThrow(paid, facts, undefined, facts.amount, true);
      paid.ledger.completed("settled", {
        status: "settled",
        transactionHash: settled.response.transaction,
        ...facts,
        settleMs: settled.settleMs,
      });
      return `event: payment-response\ndata: ${encodePaymentResponseHeader(settled.response)}\n\n`;
    } catch (error) {
      // Already recorded by settleOrThrow; the stream ends with why, as a 402 would have said.
      return `event: payment-error\ndata: ${JSON.stringify({ error: describeFailure(error) })}\n\n`;
    }
  };
  const cutCharge = (policy: PaidMeter["spec"]["onCancel"]) => ({
    amount: chargeForCutStream(spec.spec, policy, spec.maxAtomic, spec.decimals),
  });
  const metered = meterEventStream(
    origin.body ?? new Response("").body!,
    {
      async onEnd(tail) {
        const charge = chargeFor(spec.spec, readEventUsage(tail.lastData(), path), spec.maxAtomic, spec.decimals);
        logInvalidUsage(charge);
        return settleStream(charge);
      },
      onTimeLimit: () => settleStream(cutCharge("cap"), "stream_time_limit"),
      onCancel(_reason, deliveredBytes) {
        if (deliveredBytes === 0) {
          // Nothing of the origin's reached the client: nothing is charged. But the origin has started its work, so
          // the payment stays spent: given back, the same authorization would start it again and again.
          paid.identified?.abandon();
          paid.ledger.completed("unknown", { status: "origin_failed", errorReason: "client_disconnected", originStatus, originMs });
          return;
        }
        return settleStream(cutCharge(spec.spec.onCancel), "client_disconnected");
      },
    },
    spec.spec.maxStreamSeconds * 1000,
  );
  // The request lives until the stream is settled, however it ends: a client that left may not cancel the stream
  // (wrangler dev drops such a request without a word), and then the time limit is what settles it.
  paid.waitUntil(metered.done);
  const headers = new Headers(origin.headers);
  headers.append("Access-Control-Expose-Headers", EXPOSED_PAYMENT_HEADERS);
  headers.set("Cache-Control", "no-store");
  return keep(paid, new Response(metered.stream, { status: origin.status, statusText: origin.statusText, headers }));
}

function logInvalidUsage(charge: ReturnType<typeof chargeFor>): void {
  if (charge.invalid)
    console.warn(
      JSON.stringify({ event: "meter_usage_invalid", ...charge.invalid, units: charge.units ?? null, charged: charge.amount.toString() }),
    );
}

/** Reads the usage and the amount it costs; an unreadable usage is charged by the rule's policy, and logged. */
async function meter(
  spec: PaidMeter,
  origin: Response,
  forwardedAtMs: number,
  paid: PaidRequest,
): Promise<{ origin: Response; metered: { amount: string; meteredUnits?: string } }> {
  const answer = await readUsage(spec.spec, origin, forwardedAtMs, () => paid.nowMs());
  const charge = chargeFor(spec.spec, answer.reading, spec.maxAtomic, spec.decimals);
  logInvalidUsage(charge);
  return {
    origin: answer.response,
    metered: { amount: charge.amount.toString(), ...(charge.units !== undefined ? { meteredUnits: charge.units } : {}) },
  };
}

/**
 * Settles; records and throws on a refused (402) or unknown (timeout, broken reply) settlement. The caller completes
 * a settled one. `answer`: the origin's, withheld unless settled. `delivered`: content already went out (a metered
 * stream), so a payment that did not settle stays spent here: released, the same authorization would buy the
 * content again.
 */
async function settleOrThrow(
  paid: PaidRequest,
  origin: OriginFacts,
  answer: Response | undefined,
  amount?: string,
  delivered = false,
): Promise<{ response: SettleResponse; settleMs: number }> {
  const outcome = await settleOutcome(() => paid.settle(amount));
  const settleMs = paid.timer.lap();
  // The caller completes the lock with the ledger row it writes for this settlement.
  if (outcome.kind === "settled") return { response: outcome.response, settleMs };
  const errorReason = outcomeReason(outcome);
  if (outcome.kind === "unknown" && answer && paid.identified && paid.watched) {
    // The chain will say whether this answer was paid for: a retry with the same payment-identifier gets it then.
    paid.identified.keepAwaiting(awaitingAnswer(answer));
  } else {
    await answer?.body?.cancel();
  }
  if (outcome.kind === "unknown") {
    // It may still land on chain: held for good, never retried blindly.
    paid.ledger.completed("unknown", { status: "settle_unknown", errorReason, ...origin, settleMs });
  } else if (delivered) {
    paid.ledger.completed("unknown", { status: "settle_failed", errorReason, ...origin, settleMs });
  } else {
    // Certainly not settled: the payer may use the same payment again.
    giveBack(paid, { status: "settle_failed", errorReason, ...origin, settleMs });
  }
  throw outcomeError(outcome, paid.challenge);
}

/** The origin's answer as a retry gets it once the chain shows it paid for (its PAYMENT-RESPONSE is added then). */
function awaitingAnswer(answer: Response): Response {
  const headers = new Headers(answer.headers);
  headers.append("Access-Control-Expose-Headers", EXPOSED_PAYMENT_HEADERS);
  headers.set("Cache-Control", "no-store");
  return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers });
}

/** A charged answer is what a retry with the same payment-identifier gets back. */
function keep(paid: PaidRequest, response: Response): Response {
  return paid.identified ? paid.identified.keep(response) : response;
}

/** Nothing was settled: the payer keeps their money and may present the same payment again (its lock let go). */
function giveBack(paid: PaidRequest, row: Partial<LedgerEntry> & Pick<LedgerEntry, "status">): void {
  paid.lock.release();
  paid.identified?.abandon();
  paid.ledger.outcome(row);
}
