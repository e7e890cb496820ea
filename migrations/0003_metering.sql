-- Metered `upto` payments (docs/metering.md): the authorized maximum and the units charged for; `amount` is what was settled.
ALTER TABLE payments ADD COLUMN max_amount TEXT;
ALTER TABLE payments ADD COLUMN metered_units TEXT;
