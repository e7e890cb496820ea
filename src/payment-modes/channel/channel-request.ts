// What a request paid from a batch-settlement channel carries through the pipeline, and the helpers both of its
// paths (a call paid with a voucher, channel-mode.ts; a cooperative refund, channel-refund.ts) share: what the
// channel's object is asked to reserve, a refusal as a 402, the channel as a facilitator's answer reports it.
import type { GatewayConfig } from "../../gateway-config.js";
import type { GatewayBindings } from "../../bindings.js";
import { GatewayFailure, paymentRequiredResponse } from "../../errors.js";
import type { FacilitatorView, ViewEntry } from "../../facilitator/facilitator-view.js";
import {
  channelFreshForMs,
  OnchainChannelSchema,
  type ChannelSnapshot,
  type OnchainChannel,
  type ReserveInput,
  type ReserveResult,
} from "../../channels/channel-state.js";
import type { CheckedPayment } from "../../schemes/scheme-plugin.js";
import type { ClaimRoute } from "../../channels/claim-channel.js";
import type { PaymentChannel } from "../../channels/payment-channel.js";
import { verifyWithFailover } from "../../facilitator/facilitator-pool.js";
import type { ChannelPayload } from "../../schemes/batch-settlement-evm.js";
import type { RequestLog } from "../../observability/request-log.js";
import type { PaymentRequired, PaymentRequirements } from "../../x402/schemas.js";
import type { FacilitatorRequest } from "../../x402/facilitator-request.js";
import type { AdmittedPayment } from "../payment-mode.js";

export interface ChannelRequest {
  env: GatewayBindings;
  config: GatewayConfig;
  ruleId: string;
  method: string;
  resourceUrl: string;
  requirements: PaymentRequirements;
  checked: CheckedPayment & { channel: ChannelPayload & { channelId: string } };
  view: FacilitatorView;
  candidates: readonly ViewEntry[];
  facilitatorRequest: FacilitatorRequest;
  /** How long the channel is held for this call if it dies midway (the pipeline's payment lease). */
  leaseMs: number;
  /** Where the channel's claims will go (the facilitators of the rules this charge is made under). */
  claimRoute: ClaimRoute;
  challenge(reason: string): PaymentRequired;
  forward(): Promise<Response>;
  nowMs(): number;
  totalMs(): number;
  log: RequestLog;
}

type Channel = ChannelRequest["checked"]["channel"];

/** The admitted payment as the channel's paths read it; its claims go to the facilitators of the rules it was made under. */
export function channelRequest(admitted: AdmittedPayment, channel: Channel): ChannelRequest {
  const { call, decision } = admitted;
  return {
    env: call.env,
    config: call.config,
    ruleId: call.rule.id,
    method: admitted.request.method,
    resourceUrl: call.resourceUrl,
    requirements: decision.requirements,
    checked: { ...decision.checked, channel },
    view: admitted.view,
    candidates: admitted.candidates,
    facilitatorRequest: admitted.facilitatorRequest,
    leaseMs: admitted.leaseMs,
    challenge: admitted.challenge,
    claimRoute: { facilitators: call.facilitators, circuit: call.ruleSet.circuit, scope: call.config.PRICE_RULES_KEY },
    forward: admitted.forward,
    nowMs: call.deps.nowMs,
    totalMs: () => call.deps.nowMs() - call.log.startedAtMs,
    log: call.log,
  };
}

/** What the channel's object is asked to reserve for this request. */
export function reserveInput(request: ChannelRequest, channel: Channel, synced?: OnchainChannel): ReserveInput {
  return {
    channelId: channel.channelId,
    network: request.requirements.network,
    config: channel.channelConfig,
    voucher: { maxClaimableAmount: channel.voucher.maxClaimableAmount, signature: channel.voucher.signature },
    amount: request.requirements.amount,
    depositAmount: channel.type === "deposit" ? channel.deposit.amount : undefined,
    synced,
    pendingId: crypto.randomUUID(),
    nowMs: request.nowMs(),
    leaseMs: request.leaseMs,
    freshForMs: channelFreshForMs(channel.channelConfig.withdrawDelay),
  };
}

/** A voucher the channel refused: 402 with the reason, and the channel's state when the client is out of step. */
export function refusedResponse(request: ChannelRequest, refused: Extract<ReserveResult, { kind: "refused" }>): Response {
  const challenge = request.challenge(refused.reason);
  return paymentRequiredResponse(refused.corrective ? withChannelState(challenge, request.requirements, refused.corrective) : challenge);
}

/** The channel as a facilitator's answer reports it (`extra` of a verify, `extra.channelState` of a settle). */
export function readOnchain(value: unknown, operation: "verify" | "settle"): OnchainChannel {
  const parsed = OnchainChannelSchema.safeParse(value);
  if (!parsed.success)
    throw new GatewayFailure({ kind: "facilitator_bad_response", detail: `${operation} did not report the channel's state` });
  return parsed.data;
}

/** A corrective 402: the offer carries the channel as the gateway knows it, so the client can resync and retry. */
function withChannelState(
  paymentRequired: PaymentRequired,
  requirements: PaymentRequirements,
  corrective: { channelState: ChannelSnapshot; voucherState: { signedMaxClaimable: string; signature: string } },
): PaymentRequired {
  return {
    ...paymentRequired,
    accepts: paymentRequired.accepts.map((offer) =>
      offer.scheme === requirements.scheme &&
      offer.network === requirements.network &&
      offer.payTo === requirements.payTo &&
      offer.asset === requirements.asset
        ? { ...offer, extra: { ...offer.extra, ...corrective } }
        : offer,
    ),
  };
}

/** What a voucher not proven here gets instead of asking the channel: verified by the facilitator first. */
const UNPROVEN = { kind: "needs_sync" } as const;

/** A reservation on the channel's object, and the facilitator whose verify read the channel for it, if one did. */
export interface Reservation {
  reserved: ReserveResult;
  verifiedBy: ViewEntry | undefined;
}

/**
 * Reserves on the channel's object. A voucher proven here is checked against the channel as the object knows it
 * first, so a client out of step gets its corrective 402 with no facilitator call; the object answers `needs_sync`
 * when it does not know the channel fresh enough. A voucher not proven here (a zero-authorizer channel: perhaps a
 * contract wallet's) is never trusted locally: the facilitator verifies it before the channel's state is looked at, so
 * it can neither be charged nor learn the channel's latest voucher from a corrective 402 (security review F2, F15).
 * Synced, the reservation is asked again with the channel as verify read it. A 402 when verify refuses.
 */
export async function reserveWithSync(
  request: ChannelRequest,
  stub: DurableObjectStub<PaymentChannel>,
  input: (synced?: OnchainChannel) => ReserveInput,
): Promise<Reservation | Response> {
  const reserved = request.checked.signatureProven ? await stub.reserve(input()) : UNPROVEN;
  if (reserved.kind !== "needs_sync") return { reserved, verifiedBy: undefined };
  const verified = await verifyWithFailover(request.view, request.candidates, request.facilitatorRequest, request.nowMs);
  if (!verified.response.isValid) return paymentRequiredResponse(request.challenge(verified.response.invalidReason ?? "invalid_payload"));
  return { reserved: await stub.reserve(input(readOnchain(verified.response.extra, "verify"))), verifiedBy: verified.entry };
}
