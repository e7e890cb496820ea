// The D1 ledger's batch-settlement half: one row per channel (what it holds, what was charged and claimed) and
// one per claim batch (the on-chain claim and the settlement that paid the receiver). Each call charged to a
// channel is a `payments` row like any payment, with its `channel_id`. Writers: the PaymentChannel outbox.

export interface ChannelSummary {
  channelId: string;
  network: string;
  asset: string;
  payTo: string;
  payer: string;
  balance: string;
  charged: string;
  totalClaimed: string;
  withdrawRequestedAt: number;
  /** ISO-8601. */
  at: string;
}

export type ChannelClaimStatus = "claimed" | "settled" | "claim_failed";

/** Which channel a claim or refund row is about: its parties and token. */
interface ChannelParties {
  channelId: string;
  network: string;
  asset: string;
  payTo: string;
  payer: string;
}

export interface ChannelClaim extends ChannelParties {
  /** network:channelId:totalClaimed, so a resent batch is one row. */
  claimKey: string;
  /** What this batch added to the channel's claimed total (atomic). */
  amount: string;
  totalClaimed: string;
  facilitatorId: string;
  status: ChannelClaimStatus;
  claimTransaction?: string | undefined;
  settleTransaction?: string | undefined;
  errorReason?: string | undefined;
  at: string;
}

// Newer facts win: a summary replaces an older one; a claim's outcome replaces `claim_failed` and `claimed`.
const UPSERT_CHANNEL = `INSERT INTO channels (channel_id, network, asset, pay_to, payer, balance, charged, total_claimed, withdraw_requested_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (channel_id) DO UPDATE SET balance = excluded.balance, charged = excluded.charged, total_claimed = excluded.total_claimed,
    withdraw_requested_at = excluded.withdraw_requested_at, updated_at = excluded.updated_at
  WHERE excluded.updated_at >= channels.updated_at`;

const RECORD_CLAIM = `INSERT INTO channel_claims (claim_key, channel_id, network, asset, pay_to, payer, amount, total_claimed, facilitator_id,
    status, claim_transaction, settle_transaction, error_reason, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (claim_key) DO UPDATE SET status = excluded.status, claim_transaction = COALESCE(excluded.claim_transaction, channel_claims.claim_transaction),
    settle_transaction = COALESCE(excluded.settle_transaction, channel_claims.settle_transaction), error_reason = excluded.error_reason, updated_at = excluded.updated_at
  WHERE channel_claims.status <> 'settled'`;

export async function upsertChannel(db: D1Database, channel: ChannelSummary): Promise<void> {
  await db
    .prepare(UPSERT_CHANNEL)
    .bind(
      channel.channelId,
      channel.network,
      channel.asset,
      channel.payTo,
      channel.payer,
      channel.balance,
      channel.charged,
      channel.totalClaimed,
      channel.withdrawRequestedAt,
      channel.at,
    )
    .run();
}

export async function recordChannelClaim(db: D1Database, claim: ChannelClaim): Promise<void> {
  await db
    .prepare(RECORD_CLAIM)
    .bind(
      claim.claimKey,
      claim.channelId,
      claim.network,
      claim.asset,
      claim.payTo,
      claim.payer,
      claim.amount,
      claim.totalClaimed,
      claim.facilitatorId,
      claim.status,
      claim.claimTransaction ?? null,
      claim.settleTransaction ?? null,
      claim.errorReason ?? null,
      claim.at,
      claim.at,
    )
    .run();
}

/** refunded: on chain; refund_failed: refused, nothing moved; refund_unknown: no answer, the chain tells (transaction unknown). */
export type ChannelRefundStatus = "refunded" | "refund_failed" | "refund_unknown";

/** A cooperative refund: the payer asked for what the channel holds beyond the charges, and was paid it back. */
export interface ChannelRefund extends ChannelParties {
  /** network:channelId:refundNonce; the escrow takes each nonce once, so a retried refund is one row. */
  refundKey: string;
  /** What the gateway signed for (atomic). */
  amount: string;
  /** What the escrow paid back (atomic), when known. */
  refunded?: string | undefined;
  refundNonce: string;
  facilitatorId: string;
  status: ChannelRefundStatus;
  transaction?: string | undefined;
  errorReason?: string | undefined;
  at: string;
}

// A refund that landed is final; a failed or unknown attempt with the same nonce is replaced by what came after.
const RECORD_REFUND = `INSERT INTO channel_refunds (refund_key, channel_id, network, asset, pay_to, payer, amount, refunded, refund_nonce,
    facilitator_id, status, transaction_hash, error_reason, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (refund_key) DO UPDATE SET amount = excluded.amount, refunded = excluded.refunded, facilitator_id = excluded.facilitator_id,
    status = excluded.status, transaction_hash = excluded.transaction_hash, error_reason = excluded.error_reason, updated_at = excluded.updated_at
  WHERE channel_refunds.status <> 'refunded'`;

export async function recordChannelRefund(db: D1Database, refund: ChannelRefund): Promise<void> {
  await db
    .prepare(RECORD_REFUND)
    .bind(
      refund.refundKey,
      refund.channelId,
      refund.network,
      refund.asset,
      refund.payTo,
      refund.payer,
      refund.amount,
      refund.refunded ?? null,
      refund.refundNonce,
      refund.facilitatorId,
      refund.status,
      refund.transaction ?? null,
      refund.errorReason ?? null,
      refund.at,
      refund.at,
    )
    .run();
}
