// A cooperative refund of a batch-settlement channel (docs/batch-settlement.md#refunds). The payer sends a voucher
// re-signed at the charged total: it charges nothing, and only the payer's authorizer can sign it, so it is the
// request's proof. The channel is read from chain, reserved so no voucher races the refund, and the gateway's
// authorizer signs a refund of what the channel holds beyond every charge (at most what was asked), which the
// facilitator submits to the escrow. The origin is not called: a refund buys nothing. Charged but unclaimed money
// stays in the channel for the next claim.
import {
  OnchainChannelSchema,
  refundableAmount,
  type ChannelRecord,
  type ChannelSnapshot,
  type OnchainChannel,
} from "../../channels/channel-state.js";
import { ownAuthorizer } from "../../channels/claim-channel.js";
import type { PaymentChannel } from "../../channels/payment-channel.js";
import { GatewayFailure, paymentRequiredResponse } from "../../errors.js";
import { settleWithFailover } from "../../facilitator/facilitator-pool.js";
import { outcomeError, outcomeReason, settleOutcome } from "../../facilitator/settlement-outcome.js";
import type { ViewEntry } from "../../facilitator/facilitator-view.js";
import type { ChannelRefund, ChannelRefundStatus } from "../../ledger/channel-ledger.js";
import type { ChannelPayload } from "../../schemes/batch-settlement-evm.js";
import { refundTypedData } from "../../schemes/evm/channel-typed-data.js";
import { X402_VERSION, type SettleResponse } from "../../x402/schemas.js";
import type { FacilitatorRequest } from "../../x402/facilitator-request.js";
import { refusedResponse, reserveInput, reserveWithSync, type ChannelRequest } from "./channel-request.js";
import { withReceipt } from "../../pipeline/paid-response.js";
import { startTimer } from "../../pipeline/payment-tracking.js";

const REFUND_AMOUNT_INVALID = "invalid_batch_settlement_evm_refund_amount_invalid";

type RefundPayload = Extract<ChannelPayload, { type: "refund" }> & { channelId: string };

export async function refundChannel(request: ChannelRequest, channel: RefundPayload): Promise<Response> {
  const { env, nowMs } = request;
  if (channel.amount !== undefined && BigInt(channel.amount) === 0n)
    return paymentRequiredResponse(request.challenge(REFUND_AMOUNT_INVALID));
  const stub = env.PAYMENT_CHANNELS.get(env.PAYMENT_CHANNELS.idFromName(channel.channelId));
  const timer = startTimer(nowMs);
  const input = (synced?: OnchainChannel) => ({ ...reserveInput(request, channel, synced), amount: "0", refund: true });

  // A refund is computed from the balance, so the chain is always read; a voucher out of step is refused first,
  // with the channel's state, and without a facilitator call.
  // A voucher not recovered here is verified before the channel's state is looked at (reserveWithSync).
  const reservation = await reserveWithSync(request, stub, input);
  if (reservation instanceof Response) return reservation;
  const { reserved, verifiedBy } = reservation;
  if (verifiedBy && reserved.kind === "reserved") return submitRefund(request, channel, stub, reserved.record, verifiedBy, timer.lap());
  if (reserved.kind === "refused") return refusedResponse(request, reserved);
  throw new GatewayFailure({ kind: "facilitator_bad_response", detail: "the channel's state could not be read" });
}

async function submitRefund(
  request: ChannelRequest,
  channel: RefundPayload,
  stub: DurableObjectStub<PaymentChannel>,
  record: ChannelRecord,
  verifiedBy: ViewEntry,
  verifyMs: number,
): Promise<Response> {
  const { config, requirements, nowMs } = request;
  const pendingId = record.pending!.id;
  const amount = refundableAmount(record, channel.amount);
  const nonce = record.refundNonce;
  // With the gateway's key the refund is signed here; otherwise the facilitator must hold the channel's authorizer.
  const ownKey = ownAuthorizer(config, channel.channelConfig.receiverAuthorizer);
  const refundAuthorizerSignature = ownKey
    ? await ownKey.signTypedData(refundTypedData(channel.channelId, nonce, amount.toString(), requirements.network))
    : undefined;
  const payload = {
    type: "refund",
    channelConfig: channel.channelConfig,
    voucher: channel.voucher,
    amount: amount.toString(),
    refundNonce: nonce,
    claims: [],
    ...(refundAuthorizerSignature ? { refundAuthorizerSignature } : {}),
  };
  let facilitatorId = verifiedBy.facilitator.id;
  const row = (status: ChannelRefundStatus, fields: Partial<ChannelRefund> = {}): ChannelRefund => ({
    refundKey: `${requirements.network}:${channel.channelId}:${nonce}`,
    channelId: channel.channelId,
    network: requirements.network,
    asset: requirements.asset,
    payTo: requirements.payTo,
    payer: channel.channelConfig.payer,
    amount: amount.toString(),
    refundNonce: nonce,
    facilitatorId,
    status,
    at: new Date(nowMs()).toISOString(),
    ...fields,
  });
  const timer = startTimer(nowMs);
  const settleRequest: FacilitatorRequest = {
    x402Version: X402_VERSION,
    paymentPayload: { x402Version: X402_VERSION, accepted: requirements, payload },
    paymentRequirements: requirements,
  };
  const outcome = await settleOutcome(
    async () =>
      (
        await settleWithFailover(
          request.view,
          verifiedBy,
          request.candidates,
          settleRequest,
          nowMs,
          (entry) => (facilitatorId = entry.facilitator.id),
        )
      ).response,
  );
  const settleMs = timer.lap();
  if (outcome.kind !== "settled") {
    // Refused, or turned away at the door: nothing moved. Otherwise the refund may have landed: the channel is read
    // again before the next voucher is trusted, and the row says so.
    const unknown = outcome.kind === "unknown";
    const errorReason = outcomeReason(outcome);
    await stub.refundFailed(pendingId, row(unknown ? "refund_unknown" : "refund_failed", { errorReason }), unknown);
    request.log.outcome = unknown ? "refund_unknown" : "refund_failed";
    throw outcomeError(outcome, request.challenge);
  }
  const settled = outcome.response;

  const refunded = /^\d+$/.test(settled.amount ?? "") ? settled.amount! : amount.toString();
  const after = afterRefund(record, settled, refunded);
  const committed = await stub.refunded(pendingId, after, nowMs(), row("refunded", { refunded, transaction: settled.transaction }));
  request.log.outcome = "refunded";
  const channelState: ChannelSnapshot =
    committed.kind === "committed"
      ? committed.channelState
      : { channelId: channel.channelId, ...after, chargedCumulativeAmount: record.charged };
  const receipt: SettleResponse = {
    success: true,
    transaction: settled.transaction,
    network: requirements.network,
    payer: channel.channelConfig.payer.toLowerCase(),
    amount: refunded,
    extra: { channelState },
  };
  const body = Response.json({
    message: "Refund acknowledged",
    channelId: channel.channelId,
    amount: refunded,
    transaction: settled.transaction,
  });
  return withReceipt(body, receipt, `x402-verify;dur=${verifyMs}, x402-settle;dur=${settleMs}`, {}, request.totalMs());
}

/**
 * The channel after the refund: as the facilitator read it from the escrow, else as the refunded amount leaves it
 * (the money moved: a reply without the state must not lose the refund's record).
 */
function afterRefund(record: ChannelRecord, settled: SettleResponse, refunded: string): OnchainChannel {
  const reported = OnchainChannelSchema.safeParse((settled.extra as { channelState?: unknown } | undefined)?.channelState);
  if (reported.success) return reported.data;
  return {
    balance: (BigInt(record.balance) - BigInt(refunded)).toString(),
    totalClaimed: record.totalClaimed,
    withdrawRequestedAt: record.withdrawRequestedAt,
    refundNonce: (BigInt(record.refundNonce) + 1n).toString(),
  };
}
