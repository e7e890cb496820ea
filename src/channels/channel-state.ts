// The decisions a payment channel makes about one voucher, as pure functions of its record (channels/payment-channel.ts
// keeps the record and applies them one request at a time). Mirrors the scheme's server rules: each voucher must be
// exactly what was charged so far plus this request's price; it may not promise more than the channel holds nor less
// than was already claimed; and a channel serves one request at a time.
import * as z from "zod";
import type { ChannelConfig } from "../schemes/evm/channel-typed-data.js";

export const CUMULATIVE_MISMATCH = "invalid_batch_settlement_evm_cumulative_amount_mismatch";
export const CHANNEL_BUSY = "invalid_batch_settlement_evm_channel_busy";
export const EXCEEDS_BALANCE = "invalid_batch_settlement_evm_cumulative_exceeds_balance";
export const BELOW_CLAIMED = "invalid_batch_settlement_evm_cumulative_below_claimed";
export const REFUND_NO_BALANCE = "invalid_batch_settlement_evm_refund_no_balance";

/** The channel as the escrow holds it, from a facilitator's verify or settle answer. Parsed at that boundary. */
export const OnchainChannelSchema = z.object({
  balance: z.string().regex(/^\d+$/),
  totalClaimed: z.string().regex(/^\d+$/),
  withdrawRequestedAt: z.coerce.number().int().min(0).default(0),
  refundNonce: z.coerce.string().regex(/^\d+$/).default("0"),
});
export type OnchainChannel = z.infer<typeof OnchainChannelSchema>;

export interface PendingRequest {
  id: string;
  signedMaxClaimable: string;
  signature: string;
  expiresAtMs: number;
}

export interface ChannelRecord extends OnchainChannel {
  channelId: string;
  network: string;
  config: ChannelConfig;
  /** What the gateway has charged the channel so far (cumulative). */
  charged: string;
  /** The newest voucher the payer signed, covering `charged`: what a claim sends. */
  signedMaxClaimable: string;
  signature: string;
  /** When the on-chain half was last read (a facilitator's answer); local checks trust it for a while. */
  syncedAtMs: number;
  pending?: PendingRequest | undefined;
}

/** The channel as PAYMENT-RESPONSE and a corrective 402 report it. */
export interface ChannelSnapshot extends Omit<OnchainChannel, "refundNonce"> {
  channelId: string;
  refundNonce: string;
  chargedCumulativeAmount: string;
}

export interface ReserveInput {
  channelId: string;
  network: string;
  config: ChannelConfig;
  voucher: { maxClaimableAmount: string; signature: string };
  /** This request's price; "0" for a refund. */
  amount: string;
  /**
   * A cooperative refund: the voucher re-signs what was charged (it charges nothing), it may equal the claimed total,
   * and the chain is always read first, because the refund is computed from the balance.
   */
  refund?: boolean | undefined;
  /** A deposit arriving with this voucher: counted towards the balance the voucher may reach. */
  depositAmount?: string | undefined;
  /** Fresh on-chain state (from the facilitator's verify): required when the record is unknown or stale. */
  synced?: OnchainChannel | undefined;
  pendingId: string;
  nowMs: number;
  /** How long the reservation holds if the request dies (longer than origin + settle). */
  leaseMs: number;
  /** How long on-chain state read earlier stays good enough for a local check. */
  freshForMs: number;
}

export type ReserveResult =
  | { kind: "reserved"; record: ChannelRecord; local: boolean }
  | { kind: "needs_sync" }
  | {
      kind: "refused";
      reason: string;
      corrective?: { channelState: ChannelSnapshot; voucherState: { signedMaxClaimable: string; signature: string } };
    };

export function snapshotOf(record: ChannelRecord): ChannelSnapshot {
  return {
    channelId: record.channelId,
    balance: record.balance,
    totalClaimed: record.totalClaimed,
    withdrawRequestedAt: record.withdrawRequestedAt,
    refundNonce: record.refundNonce,
    chargedCumulativeAmount: record.charged,
  };
}

export function reserve(record: ChannelRecord | undefined, input: ReserveInput): ReserveResult {
  if (record?.pending && record.pending.expiresAtMs > input.nowMs) return { kind: "refused", reason: CHANNEL_BUSY };
  const signed = BigInt(input.voucher.maxClaimableAmount);
  const amount = BigInt(input.amount);
  // Unknown channel (first call here, or state lost): the payer's own count is the base, and the claimed total
  // read from chain below keeps it honest.
  const base = record ? BigInt(record.charged) : signed - amount;
  if (base < 0n || signed !== base + amount) {
    return {
      kind: "refused",
      reason: CUMULATIVE_MISMATCH,
      ...(record
        ? {
            corrective: {
              channelState: snapshotOf(record),
              voucherState: { signedMaxClaimable: record.signedMaxClaimable, signature: record.signature },
            },
          }
        : {}),
    };
  }
  const fresh =
    record !== undefined && !input.refund && input.depositAmount === undefined && input.nowMs - record.syncedAtMs <= input.freshForMs;
  const onchain = input.synced ?? (fresh ? record : undefined);
  if (!onchain) return { kind: "needs_sync" };
  const reachable = BigInt(onchain.balance) + BigInt(input.depositAmount ?? 0);
  if (signed > reachable) return { kind: "refused", reason: EXCEEDS_BALANCE };
  if (input.refund ? signed < BigInt(onchain.totalClaimed) : signed <= BigInt(onchain.totalClaimed))
    return { kind: "refused", reason: BELOW_CLAIMED };
  if (input.refund && BigInt(onchain.balance) <= signed) return { kind: "refused", reason: REFUND_NO_BALANCE };
  const next: ChannelRecord = {
    channelId: input.channelId,
    network: input.network,
    config: input.config,
    charged: base.toString(),
    signedMaxClaimable: record?.signedMaxClaimable ?? base.toString(),
    signature: record?.signature ?? "",
    balance: onchain.balance,
    totalClaimed: onchain.totalClaimed,
    withdrawRequestedAt: onchain.withdrawRequestedAt,
    refundNonce: onchain.refundNonce,
    syncedAtMs: input.synced ? input.nowMs : record!.syncedAtMs,
    pending: {
      id: input.pendingId,
      signedMaxClaimable: input.voucher.maxClaimableAmount,
      signature: input.voucher.signature,
      expiresAtMs: input.nowMs + input.leaseMs,
    },
  };
  return { kind: "reserved", record: next, local: input.synced === undefined };
}

export type CommitResult = { kind: "committed"; record: ChannelRecord } | { kind: "refused"; reason: string };

/**
 * Charges the reserved request `amount` (at most its price) and keeps its voucher as the one to claim. `synced`: the
 * channel after this request's deposit landed.
 */
export function commit(
  record: ChannelRecord | undefined,
  pendingId: string,
  amount: string,
  nowMs: number,
  synced?: OnchainChannel,
): CommitResult {
  const pending = record?.pending;
  if (!record || pending?.id !== pendingId) return { kind: "refused", reason: "invalid_batch_settlement_evm_pending_request_mismatch" };
  const charged = BigInt(record.charged) + BigInt(amount);
  if (charged > BigInt(pending.signedMaxClaimable))
    return { kind: "refused", reason: "invalid_batch_settlement_evm_charge_exceeds_signed_cumulative" };
  return {
    kind: "committed",
    record: {
      ...record,
      ...(synced ? { ...synced, syncedAtMs: nowMs } : {}),
      charged: charged.toString(),
      signedMaxClaimable: pending.signedMaxClaimable,
      signature: pending.signature,
      pending: undefined,
    },
  };
}

/**
 * Drops the reservation (the request was not served); a stale id changes nothing. A channel never charged here is
 * forgotten. `unsure`: what the chain holds may have changed (a refund whose outcome is unknown), so the next voucher
 * reads it again before it is trusted.
 */
export function release(record: ChannelRecord | undefined, pendingId: string, unsure = false): ChannelRecord | undefined {
  if (!record || record.pending?.id !== pendingId) return record;
  if (record.signature === "") return undefined;
  return { ...record, pending: undefined, ...(unsure ? { syncedAtMs: 0 } : {}) };
}

/**
 * How much of a reserved refund request to pay back: what the channel holds beyond everything charged, or less when
 * the payer asks for less. Never what was charged, claimed or not: the refund leaves that for the claims.
 */
export function refundableAmount(record: ChannelRecord, requested?: string): bigint {
  const left = BigInt(record.balance) - BigInt(record.charged);
  if (left <= 0n) return 0n;
  return requested !== undefined && BigInt(requested) < left ? BigInt(requested) : left;
}

/**
 * The reserved refund landed: the channel is as the chain now holds it (`after`). The refund's voucher, signed at the
 * charged total, is as good as the newest one for a claim, and is kept when the channel had none.
 */
export function commitRefund(record: ChannelRecord | undefined, pendingId: string, after: OnchainChannel, nowMs: number): CommitResult {
  const pending = record?.pending;
  if (!record || pending?.id !== pendingId) return { kind: "refused", reason: "invalid_batch_settlement_evm_pending_request_mismatch" };
  const keepVoucher = record.signature !== "" && BigInt(record.signedMaxClaimable) >= BigInt(record.charged);
  return {
    kind: "committed",
    record: {
      ...record,
      ...after,
      syncedAtMs: nowMs,
      ...(keepVoucher ? {} : { signedMaxClaimable: pending.signedMaxClaimable, signature: pending.signature }),
      pending: undefined,
    },
  };
}

/** What a claim would add on chain: the charged total above what the escrow already counts as claimed. */
export function unclaimed(record: ChannelRecord): bigint {
  return BigInt(record.charged) - BigInt(record.totalClaimed);
}

/** How long a channel read from chain is trusted for local voucher checks: a third of its withdrawal delay, 30 s–5 min (the SDK's bounds). */
export function channelFreshForMs(withdrawDelaySeconds: number): number {
  return Math.min(Math.max((withdrawDelaySeconds * 1000) / 3, 30_000), 5 * 60_000);
}

/** What a claim keeps free before a withdrawal the payer requests right after a sync could complete. */
const CLAIM_SAFETY_MS = 120_000;

/**
 * How soon after its first unclaimed charge a channel is claimed: the configured interval, but never so late that a
 * withdrawal requested just after the last sync (charges trusted for `channelFreshForMs` more) completes first
 * (security review F23: 300 s of freshness plus a 600 s interval left nothing of a 900 s delay).
 */
export function claimIntervalMs(configuredMs: number, withdrawDelaySeconds: number): number {
  return Math.max(1000, Math.min(configuredMs, withdrawDelaySeconds * 1000 - channelFreshForMs(withdrawDelaySeconds) - CLAIM_SAFETY_MS));
}
