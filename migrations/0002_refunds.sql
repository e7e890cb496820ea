-- Refunds of `owed_refund` payments, recorded by `npm run cli -- refunds mark KEY --tx HASH` (docs/admin.md).
ALTER TABLE payments ADD COLUMN refund_transaction TEXT;
ALTER TABLE payments ADD COLUMN refunded_at TEXT;
