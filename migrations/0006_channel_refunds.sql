-- batch-settlement cooperative refunds (docs/batch-settlement.md): one row per refund nonce of a channel.
CREATE TABLE IF NOT EXISTS channel_refunds (
  -- network:channelId:refundNonce
  refund_key       TEXT PRIMARY KEY,
  channel_id       TEXT NOT NULL,
  network          TEXT NOT NULL,
  asset            TEXT NOT NULL,
  pay_to           TEXT NOT NULL,
  payer            TEXT NOT NULL,
  -- atomic: what the gateway signed for, and what the escrow paid back (NULL until known)
  amount           TEXT NOT NULL,
  refunded         TEXT,
  refund_nonce     TEXT NOT NULL,
  facilitator_id   TEXT NOT NULL,
  -- refunded (on chain) | refund_failed (refused, nothing moved) | refund_unknown (no answer: check the chain)
  status           TEXT NOT NULL CHECK (status IN ('refunded', 'refund_failed', 'refund_unknown')),
  transaction_hash TEXT,
  error_reason     TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS channel_refunds_channel ON channel_refunds (channel_id, created_at);
