-- D1 ledger: one row per payment, keyed by the payment itself so it is never recorded twice.
-- Applied by `wrangler d1 execute LEDGER --local --file schema.sql` (npm run db:init), the local stack and the test
-- setup. Idempotent: safe to apply again. Deployments use migrations/ (docs/deploy.md), whose sum this is.

CREATE TABLE IF NOT EXISTS payments (
  -- network:payer:nonce for EVM exact (lower-case), from the scheme plugin.
  payment_key      TEXT PRIMARY KEY,
  rule_id          TEXT NOT NULL,
  method           TEXT NOT NULL,
  resource         TEXT NOT NULL,
  scheme           TEXT NOT NULL,
  network          TEXT NOT NULL,
  asset            TEXT NOT NULL,
  amount           TEXT NOT NULL,
  pay_to           TEXT NOT NULL,
  payer            TEXT NOT NULL,
  facilitator      TEXT NOT NULL,
  -- verified → settled | settle_failed | settle_unknown | origin_failed | owed_refund (before-origin mode:
  -- settled, then the origin failed; or a settle_unknown the chain later showed settled, its answer withheld;
  -- refund payer `amount` of `asset` on `network`, see transaction_hash)
  status           TEXT NOT NULL CHECK (status IN ('verified', 'settled', 'settle_failed', 'settle_unknown', 'origin_failed', 'owed_refund')),
  transaction_hash TEXT,
  error_reason     TEXT,
  origin_status    INTEGER,
  verify_ms        INTEGER,
  origin_ms        INTEGER,
  settle_ms        INTEGER,
  -- the facilitator that verified (its id in the config; `facilitator` above is its URL), and the one asked
  -- to settle (docs/facilitators.md). Ledgers created before these columns: see docs/storage-schema.md.
  facilitator_id   TEXT,
  settled_by       TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  -- an owed_refund's refund, recorded by the operator (`npm run cli -- refunds mark`, docs/admin.md)
  refund_transaction TEXT,
  refunded_at      TEXT,
  -- upto (metered) payments: the most the payer authorized, and the units the meter charged for; `amount` is
  -- then what was settled (docs/metering.md)
  max_amount       TEXT,
  metered_units    TEXT,
  -- SHA-256 (hex) of the signed receipt the payer got (offer-receipt extension, docs/offer-receipt.md)
  receipt_hash     TEXT,
  -- batch-settlement: the channel this call was charged to; its claims are in channel_claims (docs/batch-settlement.md)
  channel_id       TEXT,
  -- an outcome read from the chain by the PaymentRecord reconciler (docs/facilitators.md): chain_transfer (settled;
  -- transaction_hash) | chain_canceled | chain_used_elsewhere | chain_expired_unused (nothing moved), and when
  resolution       TEXT,
  resolved_at      TEXT
);

CREATE INDEX IF NOT EXISTS payments_payer ON payments (payer, created_at);
CREATE INDEX IF NOT EXISTS payments_status ON payments (status, updated_at);
CREATE INDEX IF NOT EXISTS payments_rule ON payments (rule_id, created_at);

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

-- Cooperative refunds of batch-settlement channels (docs/batch-settlement.md): one row per refund nonce of a channel.
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
