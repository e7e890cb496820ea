-- batch-settlement (docs/batch-settlement.md): each call's channel, the channels, and their claim batches.
ALTER TABLE payments ADD COLUMN channel_id TEXT;

-- batch-settlement channels (docs/batch-settlement.md): what each holds, what was charged to it and claimed from it.
CREATE TABLE IF NOT EXISTS channels (
  channel_id            TEXT PRIMARY KEY,
  network               TEXT NOT NULL,
  asset                 TEXT NOT NULL,
  pay_to                TEXT NOT NULL,
  payer                 TEXT NOT NULL,
  -- atomic amounts: the escrow's balance when last read, the gateway's cumulative charge, the escrow's claimed total
  balance               TEXT NOT NULL,
  charged               TEXT NOT NULL,
  total_claimed         TEXT NOT NULL,
  -- unix seconds; non-zero: the payer asked to withdraw
  withdraw_requested_at INTEGER NOT NULL DEFAULT 0,
  updated_at            TEXT NOT NULL
);

-- One row per claim batch: the on-chain claim of a channel's newest voucher, and the settlement paying the receiver.
CREATE TABLE IF NOT EXISTS channel_claims (
  -- network:channelId:totalClaimed
  claim_key          TEXT PRIMARY KEY,
  channel_id         TEXT NOT NULL,
  network            TEXT NOT NULL,
  asset              TEXT NOT NULL,
  pay_to             TEXT NOT NULL,
  payer              TEXT NOT NULL,
  -- what this batch added to the claimed total
  amount             TEXT NOT NULL,
  total_claimed      TEXT NOT NULL,
  facilitator_id     TEXT NOT NULL,
  -- claimed (on chain, not yet paid out) | settled (paid to pay_to) | claim_failed (retried by the channel's alarm)
  status             TEXT NOT NULL CHECK (status IN ('claimed', 'settled', 'claim_failed')),
  claim_transaction  TEXT,
  settle_transaction TEXT,
  error_reason       TEXT,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS channel_claims_channel ON channel_claims (channel_id, created_at);
