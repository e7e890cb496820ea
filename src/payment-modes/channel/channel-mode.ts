// A request paid from a batch-settlement channel (docs/batch-settlement.md). The channel's object decides the
// voucher (reserve), the origin answers, and the charge is committed, or the reservation released if the origin
// failed. A voucher on a channel the gateway read recently needs no facilitator at all; an unknown or stale channel
// is read through the facilitator's verify; a deposit is verified, then settled on chain once the origin answered.
// Claiming the vouchers on chain is the channel's alarm's job (channels/payment-channel.ts), not the request's.
import { GatewayFailure, paymentRequiredResponse } from "../../errors.js";
import { settleWithFailover } from "../../facilitator/facilitator-pool.js";
import { outcomeError, outcomeReason, settleOutcome } from "../../facilitator/settlement-outcome.js";
import type { LedgerEntry, LedgerStatus } from "../../ledger/ledger.js";
import { buildLedgerEntry } from "../../ledger/ledger-entry.js";
import type { OnchainChannel, ReserveInput } from "../../channels/channel-state.js";
import type { SettleResponse } from "../../x402/schemas.js";
import { parseChannelPayload } from "../../schemes/batch-settlement-evm.js";
import { channelRequest, readOnchain, refusedResponse, reserveInput, reserveWithSync, type ChannelRequest } from "./channel-request.js";
import type { AdmittedPayment } from "../payment-mode.js";
import { refundChannel } from "./channel-refund.js";
import { describeFailure, withReceipt } from "../../pipeline/paid-response.js";
import { startTimer } from "../../pipeline/payment-tracking.js";

/**
 * Paid from a batch-settlement channel: its object is the replay lock and the ledger outbox. The payload is read
 * again here, as the scheme's own (a plugin's check declared the channel, by its id).
 */
export async function payFromChannel(admitted: AdmittedPayment, { channelId }: { channelId: string }): Promise<Response> {
  const payload = parseChannelPayload(admitted.decision.payload.payload);
  if (!payload) return paymentRequiredResponse(admitted.challenge("invalid_payload"));
  const channel = { ...payload, channelId };
  const request = channelRequest(admitted, channel);
  return channel.type === "refund" ? refundChannel(request, channel) : payWithVoucher(request, channel);
}

async function payWithVoucher(
  request: ChannelRequest,
  channel: Exclude<ChannelRequest["checked"]["channel"], { type: "refund" }>,
): Promise<Response> {
  const { env, checked, requirements, nowMs } = request;
  const stub = env.PAYMENT_CHANNELS.get(env.PAYMENT_CHANNELS.idFromName(channel.channelId));
  const timer = startTimer(nowMs);
  const deposit = channel.type === "deposit" ? channel.deposit.amount : undefined;
  const input = (synced?: OnchainChannel): ReserveInput => reserveInput(request, channel, synced);

  // The cumulative count is checked first (reserveWithSync); a deposit is then always checked on chain, a voucher
  // only when the channel's state is unknown or stale.
  const reservation = await reserveWithSync(request, stub, input);
  if (reservation instanceof Response) return reservation;
  const { reserved, verifiedBy } = reservation;
  if (reserved.kind === "refused") return refusedResponse(request, reserved);
  if (reserved.kind !== "reserved")
    throw new GatewayFailure({ kind: "facilitator_bad_response", detail: "the channel's state could not be read" });
  const verifyMs = timer.lap();
  const pendingId = reserved.record.pending!.id;
  const entry = (status: LedgerStatus, fields: Partial<LedgerEntry> = {}): LedgerEntry => {
    const party = {
      // A released voucher is signed again, for the same amount, by the next call: each attempt keeps its own row.
      paymentKey: status === "settled" ? checked.paymentKey : `${checked.paymentKey}#${pendingId}`,
      ruleId: request.ruleId,
      method: request.method,
      resource: request.resourceUrl,
      payer: channel.channelConfig.payer,
      // A voucher checked here, with no facilitator asked, is verified `local`.
      facilitator: verifiedBy?.facilitator ?? ("local" as const),
    };
    return buildLedgerEntry(party, requirements, status, nowMs(), { verifyMs, ...fields });
  };
  const observe = (recorded: LedgerEntry): LedgerEntry => (request.log.payment = recorded);

  let origin: Response;
  try {
    origin = await request.forward();
  } catch (error) {
    await stub.release(pendingId, observe(entry("origin_failed", { errorReason: describeFailure(error), originMs: timer.lap() })));
    throw error;
  }
  const originMs = timer.lap();
  if (origin.status >= 400) {
    // Nothing is charged for a failed answer: the voucher is forgotten and the payer signs the same amount again.
    await stub.release(pendingId, observe(entry("origin_failed", { originStatus: origin.status, originMs })));
    return origin;
  }

  let depositSettled: SettleResponse | undefined;
  let synced: OnchainChannel | undefined;
  let settleMs: number | undefined;
  if (deposit !== undefined) {
    const facts = { originStatus: origin.status, originMs };
    const outcome = await settleOutcome(
      async () =>
        (await settleWithFailover(request.view, verifiedBy!, request.candidates, request.facilitatorRequest, nowMs, () => {})).response,
    );
    settleMs = timer.lap();
    if (outcome.kind !== "settled") {
      await origin.body?.cancel();
      // The voucher is not charged either way; an unknown deposit is recorded so, and the channel is read again.
      const errorReason = outcomeReason(outcome);
      await stub.release(
        pendingId,
        observe(entry(outcome.kind === "unknown" ? "settle_unknown" : "settle_failed", { ...facts, errorReason, settleMs })),
      );
      throw outcomeError(outcome, request.challenge);
    }
    depositSettled = outcome.response;
    synced = readOnchain((depositSettled.extra as { channelState?: unknown } | undefined)?.channelState, "settle");
  }

  const charged = entry("settled", {
    originStatus: origin.status,
    originMs,
    ...(settleMs !== undefined ? { settleMs } : {}),
    ...(depositSettled ? { transactionHash: depositSettled.transaction } : {}),
  });
  const committed = await stub.commit(pendingId, requirements.amount, nowMs(), charged, request.claimRoute, synced);
  if (committed.kind === "refused") {
    // The reservation ran out and another request took the channel: this answer was not charged, so it is not given.
    await origin.body?.cancel();
    return paymentRequiredResponse(request.challenge(committed.reason));
  }
  observe(charged);
  const settled: SettleResponse = {
    success: true,
    transaction: depositSettled?.transaction ?? "",
    network: requirements.network,
    payer: channel.channelConfig.payer.toLowerCase(),
    amount: depositSettled ? deposit! : "",
    extra: { ...depositSettled?.extra, chargedAmount: requirements.amount, channelState: committed.channelState },
  };
  const timing = `x402-verify;dur=${verifyMs}, origin;dur=${originMs}${settleMs !== undefined ? `, x402-settle;dur=${settleMs}` : ""}`;
  return withReceipt(origin, settled, timing, {}, request.totalMs());
}
