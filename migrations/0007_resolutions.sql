-- Outcomes read from the chain (issue #34, docs/facilitators.md "Reconciler"): how a payment whose settle outcome was
-- unknown, or whose request died, was resolved, and when.
ALTER TABLE payments ADD COLUMN resolution TEXT;
ALTER TABLE payments ADD COLUMN resolved_at TEXT;
