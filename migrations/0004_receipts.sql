-- Signed receipts (docs/offer-receipt.md): the hash of the receipt each settled payment's payer got.
ALTER TABLE payments ADD COLUMN receipt_hash TEXT;
