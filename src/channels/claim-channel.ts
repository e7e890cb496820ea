// Claims a channel's newest voucher on chain and pays the receiver, through the facilitator: a `claim` settle
// (the escrow's claimWithSignature, signed by the receiver's authorizer: the gateway's CHANNEL_AUTHORIZER_KEY when
// it is the channel's, else the facilitator's own key), then a `settle` (the escrow pays the receiver everything
// claimed for it). Runs in the PaymentChannel object, so it finds its facilitators as a request would.
import { privateKeyToAccount } from "viem/accounts";
import type { Hex, PrivateKeyAccount } from "viem";
import type { GatewayConfig } from "../gateway-config.js";
import type { FacilitatorState } from "../facilitator/facilitator-state.js";
import type { CircuitPolicy, ResolvedFacilitator } from "../facilitator/facilitator-config.js";
import { settleWithFailover } from "../facilitator/facilitator-pool.js";
import { describeError, loadFacilitatorView } from "../facilitator/facilitator-view.js";
import type { LedgerWrite } from "../ledger/ledger-outbox.js";
import { BATCH_SETTLEMENT_SCHEME, claimBatchTypedData, type VoucherClaim } from "../schemes/evm/channel-typed-data.js";
import { X402_VERSION, type PaymentRequirements } from "../x402/schemas.js";
import type { FacilitatorRequest } from "../x402/facilitator-request.js";
import type { ChannelRecord } from "./channel-state.js";

export type ClaimOutcome =
  | { kind: "nothing_to_claim"; ledger: [] }
  | { kind: "claimed"; totalClaimed: string; claimTransaction: string; settleTransaction?: string | undefined; ledger: LedgerWrite[] }
  | { kind: "failed"; reason: string; ledger: LedgerWrite[] };

/**
 * Which facilitators a channel's claims go through: those of the rules its last charge was made under (their auth
 * names secrets, read from the object's env), with that document's circuit policy and health scope.
 */
export interface ClaimRoute {
  facilitators: ResolvedFacilitator[];
  circuit: CircuitPolicy;
  scope: string;
}

/** The gateway's CHANNEL_AUTHORIZER_KEY when it is the channel's receiverAuthorizer; otherwise the facilitator signs. */
export function ownAuthorizer(config: GatewayConfig, receiverAuthorizer: string): PrivateKeyAccount | undefined {
  const authorizer = config.CHANNEL_AUTHORIZER_KEY;
  return authorizer && authorizer.address.toLowerCase() === receiverAuthorizer.toLowerCase()
    ? privateKeyToAccount(authorizer.privateKey as Hex)
    : undefined;
}

/** The bindings a claim reads; the facilitators' `auth` secrets are read from the same env by name. */
export interface ClaimEnv {
  FACILITATOR_STATE: DurableObjectNamespace<FacilitatorState>;
}

export async function claimChannel(
  env: ClaimEnv,
  config: GatewayConfig,
  record: ChannelRecord,
  route: ClaimRoute,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<ClaimOutcome> {
  const channel = record.config;
  const claimRow = (
    status: "settled" | "claimed" | "claim_failed",
    facilitatorId: string,
    fields: { claimTransaction?: string; settleTransaction?: string; errorReason?: string },
  ): LedgerWrite => ({
    table: "channel_claims",
    claim: {
      claimKey: `${record.network}:${record.channelId}:${record.charged}`,
      channelId: record.channelId,
      network: record.network,
      asset: channel.token,
      payTo: channel.receiver,
      payer: channel.payer,
      amount: (BigInt(record.charged) - BigInt(record.totalClaimed)).toString(),
      totalClaimed: record.charged,
      facilitatorId,
      status,
      ...fields,
      at: new Date(Date.now()).toISOString(),
    },
  });
  const failed = (reason: string, facilitatorId = "none"): ClaimOutcome => ({
    kind: "failed",
    reason,
    ledger: [claimRow("claim_failed", facilitatorId, { errorReason: reason })],
  });

  const view = await loadFacilitatorView({
    facilitators: route.facilitators,
    policy: route.circuit,
    state: env.FACILITATOR_STATE,
    scope: route.scope,
    secrets: env,
    fetch: (input, init) => fetch(input, init),
    nowMs: () => Date.now(),
    cacheMs: config.FACILITATOR_STATE_CACHE_MS,
    waitUntil,
  });
  const requirements: PaymentRequirements = {
    scheme: BATCH_SETTLEMENT_SCHEME,
    network: record.network,
    asset: channel.token,
    amount: "0",
    payTo: channel.receiver,
    maxTimeoutSeconds: 0,
    extra: { receiverAuthorizer: channel.receiverAuthorizer },
  };
  const candidates = view.candidates(requirements, X402_VERSION);
  if (candidates.length === 0) return failed(`no facilitator settles ${BATCH_SETTLEMENT_SCHEME} on ${record.network}`);
  const claims: VoucherClaim[] = [
    { voucher: { channel, maxClaimableAmount: record.signedMaxClaimable }, signature: record.signature, totalClaimed: record.charged },
  ];
  const ownKey = ownAuthorizer(config, channel.receiverAuthorizer);
  const claimAuthorizerSignature = ownKey ? await ownKey.signTypedData(claimBatchTypedData(claims, record.network)) : undefined;
  const call = (payload: Record<string, unknown>): FacilitatorRequest => ({
    x402Version: X402_VERSION,
    paymentPayload: { x402Version: X402_VERSION, accepted: requirements, payload },
    paymentRequirements: requirements,
  });

  let facilitatorId = candidates[0]!.facilitator.id;
  const noteAttempt = (entry: (typeof candidates)[number]) => (facilitatorId = entry.facilitator.id);
  let claimTransaction: string;
  try {
    const claimed = await settleWithFailover(
      view,
      candidates[0]!,
      candidates,
      call({ type: "claim", claims, ...(claimAuthorizerSignature ? { claimAuthorizerSignature } : {}) }),
      () => Date.now(),
      noteAttempt,
    );
    if (!claimed.response.success) return failed(claimed.response.errorReason ?? "claim_failed", facilitatorId);
    claimTransaction = claimed.response.transaction;
  } catch (error) {
    return failed(describeError(error), facilitatorId);
  }
  // Claimed: the money is the receiver's now. Paying it out may fail (or find another channel's settle took it
  // first); either way a later settle of the same receiver and token moves it.
  let settleTransaction: string | undefined;
  try {
    const settled = await settleWithFailover(
      view,
      candidates[0]!,
      candidates,
      call({ type: "settle", receiver: channel.receiver, token: channel.token }),
      () => Date.now(),
      noteAttempt,
    );
    if (settled.response.success) settleTransaction = settled.response.transaction;
    else
      console.warn(
        JSON.stringify({ event: "channel_settle_skipped", channelId: record.channelId, reason: settled.response.errorReason ?? null }),
      );
  } catch (error) {
    console.warn(JSON.stringify({ event: "channel_settle_failed", channelId: record.channelId, reason: describeError(error) }));
  }
  return {
    kind: "claimed",
    totalClaimed: record.charged,
    claimTransaction,
    settleTransaction,
    ledger: [
      claimRow(settleTransaction ? "settled" : "claimed", facilitatorId, {
        claimTransaction,
        ...(settleTransaction ? { settleTransaction } : {}),
      }),
    ],
  };
}
