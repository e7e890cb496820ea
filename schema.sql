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
  -- settled, then the origin failed; refund payer `amount` of `asset` on `network`, see transaction_hash)
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
  receipt_hash     TEXT
);

CREATE INDEX IF NOT EXISTS payments_payer ON payments (payer, created_at);
CREATE INDEX IF NOT EXISTS payments_status ON payments (status, updated_at);
CREATE INDEX IF NOT EXISTS payments_rule ON payments (rule_id, created_at);
