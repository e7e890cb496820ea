// schema.sql as single statements, for the D1 batch API (which takes one statement per prepare). Pure.

export function splitSqlStatements(sql: string): string[] {
  return sql
    .replace(/--.*$/gm, "")
    .split(";")
    .map((statement) => statement.trim())
    .filter(Boolean);
}

/** Columns added after the first schema.sql, for ledgers created before them; each fails harmlessly once applied. */
export const LEDGER_UPGRADES = [
  "ALTER TABLE payments ADD COLUMN facilitator_id TEXT",
  "ALTER TABLE payments ADD COLUMN settled_by TEXT",
  "ALTER TABLE payments ADD COLUMN refund_transaction TEXT",
  "ALTER TABLE payments ADD COLUMN refunded_at TEXT",
  "ALTER TABLE payments ADD COLUMN max_amount TEXT",
  "ALTER TABLE payments ADD COLUMN metered_units TEXT",
  "ALTER TABLE payments ADD COLUMN receipt_hash TEXT",
  "ALTER TABLE payments ADD COLUMN channel_id TEXT",
  "ALTER TABLE payments ADD COLUMN resolution TEXT",
  "ALTER TABLE payments ADD COLUMN resolved_at TEXT",
];
