// Read-side queries over the batch-settlement ledger (docs/batch-settlement.md): each channel with what it holds,
// what was charged to it and what was claimed, its claim batches and its cooperative refunds.

const CHANNELS = `SELECT channel_id AS channelId, network, asset, pay_to AS payTo, payer, balance, charged, total_claimed AS totalClaimed,
  withdraw_requested_at AS withdrawRequestedAt, updated_at AS updatedAt FROM channels ORDER BY updated_at DESC LIMIT 1000`;
const CLAIMS = `SELECT claim_key AS claimKey, channel_id AS channelId, amount, total_claimed AS totalClaimed, status, facilitator_id AS facilitatorId,
  claim_transaction AS claimTransaction, settle_transaction AS settleTransaction, error_reason AS errorReason, updated_at AS updatedAt
  FROM channel_claims ORDER BY updated_at DESC LIMIT 1000`;

const REFUNDS = `SELECT refund_key AS refundKey, channel_id AS channelId, amount, refunded, refund_nonce AS refundNonce, status, facilitator_id AS facilitatorId,
  transaction_hash AS transactionHash, error_reason AS errorReason, updated_at AS updatedAt
  FROM channel_refunds ORDER BY updated_at DESC LIMIT 1000`;

type Rows = Record<string, unknown>[];

export async function listChannels(db: D1Database): Promise<{ channels: Rows; claims: Rows; refunds: Rows }> {
  const [channels, claims, refunds] = await db.batch([db.prepare(CHANNELS), db.prepare(CLAIMS), db.prepare(REFUNDS)]);
  return { channels: channels!.results as Rows, claims: claims!.results as Rows, refunds: refunds!.results as Rows };
}
