// Payment ledger in D1. One row per payment (primary key: the payment itself); writes are idempotent
// and order-independent, so a retried or reordered write never corrupts a row. Writers: the
// PaymentRecord outbox (every payment), tests.

export type LedgerStatus = "verified" | "settled" | "settle_failed" | "settle_unknown" | "origin_failed" | "owed_refund";

export interface LedgerEntry {
  paymentKey: string;
  ruleId: string;
  method: string;
  resource: string;
  scheme: string;
  network: string;
  asset: string;
  amount: string;
  payTo: string;
  payer: string;
  /** URL of the facilitator that verified. */
  facilitator: string;
  /** Its id in the config (`default` for the FACILITATOR_URL shorthand). */
  facilitatorId: string;
  /** Id of the facilitator asked to settle (the last one asked when settle failed over); unset: none was. */
  settledBy?: string | undefined;
  status: LedgerStatus;
  transactionHash?: string | undefined;
  errorReason?: string | undefined;
  originStatus?: number | undefined;
  verifyMs?: number | undefined;
  originMs?: number | undefined;
  settleMs?: number | undefined;
  /** upto: the most the payer authorized (`amount` is then what was settled). */
  maxAmount?: string | undefined;
  /** upto: the units the meter read and charged for. */
  meteredUnits?: string | undefined;
  /** Hex SHA-256 of the signed receipt sent with the settlement (offer-receipt). */
  receiptHash?: string | undefined;
  /** batch-settlement: the channel the call was charged to (docs/batch-settlement.md). */
  channelId?: string | undefined;
  /** How an unknown outcome was read from the chain (payment-record/chain-watch.ts), and when. */
  resolution?: string | undefined;
  resolvedAt?: string | undefined;
  /** ISO-8601. */
  at: string;
}

const COLUMNS = [
  "payment_key",
  "rule_id",
  "method",
  "resource",
  "scheme",
  "network",
  "asset",
  "amount",
  "pay_to",
  "payer",
  "facilitator",
  "status",
  "transaction_hash",
  "error_reason",
  "origin_status",
  "verify_ms",
  "origin_ms",
  "settle_ms",
  "facilitator_id",
  "settled_by",
  "created_at",
  "updated_at",
  "max_amount",
  "metered_units",
  "receipt_hash",
  "channel_id",
  "resolution",
  "resolved_at",
];
const INSERT = `INSERT INTO payments (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`;

// Statuses are ranked by what they tell an operator, and a write replaces a row only with a higher rank: money that
// moved (settled) > money owed back (owed_refund) > money perhaps moved (settle_unknown) > an attempt that failed >
// verified. One payment can be attempted several times (a lock released after a failure), so an earlier attempt's
// failure must never hide a later refund owed or unknown settlement (security review F6), and a replayed payment's
// refusal never overwrites the original's settlement, whichever lands first.
// A failure read from the chain (`resolved_at` set: the authorization can no longer move money) is final, so it
// ranks above "perhaps moved" and replaces it.
// A metered (upto) payment's `amount` becomes what was settled.
const UPDATED_ON_OUTCOME = [
  "status",
  "transaction_hash",
  "error_reason",
  "origin_status",
  "origin_ms",
  "settle_ms",
  "settled_by",
  "updated_at",
  "amount",
  "metered_units",
  "receipt_hash",
  "resolution",
  "resolved_at",
];
const rank = (table: string) =>
  `(CASE ${table}.status WHEN 'settled' THEN 4 WHEN 'owed_refund' THEN 3 WHEN 'settle_unknown' THEN 2 WHEN 'verified' THEN 0
    ELSE (CASE WHEN ${table}.resolved_at IS NULL THEN 1 ELSE 2.5 END) END)`;
const RECORD_OUTCOME = `${INSERT} ON CONFLICT (payment_key) DO UPDATE SET ${UPDATED_ON_OUTCOME.map((c) => `${c} = excluded.${c}`).join(", ")}
  WHERE ${rank("excluded")} > ${rank("payments")}`;

function bindEntry(statement: D1PreparedStatement, entry: LedgerEntry): D1PreparedStatement {
  return statement.bind(
    entry.paymentKey,
    entry.ruleId,
    entry.method,
    entry.resource,
    entry.scheme,
    entry.network,
    entry.asset,
    entry.amount,
    entry.payTo,
    entry.payer,
    entry.facilitator,
    entry.status,
    entry.transactionHash ?? null,
    entry.errorReason ?? null,
    entry.originStatus ?? null,
    entry.verifyMs ?? null,
    entry.originMs ?? null,
    entry.settleMs ?? null,
    entry.facilitatorId,
    entry.settledBy ?? null,
    entry.at,
    entry.at,
    entry.maxAmount ?? null,
    entry.meteredUnits ?? null,
    entry.receiptHash ?? null,
    entry.channelId ?? null,
    entry.resolution ?? null,
    entry.resolvedAt ?? null,
  );
}

/** Writes one ledger entry with the right rule for its status (the outbox flush uses this). */
export async function recordLedgerEntry(db: D1Database, entry: LedgerEntry): Promise<void> {
  await (entry.status === "verified" ? recordVerified(db, entry) : recordOutcome(db, entry));
}

/** First sighting of a verified payment. Does nothing if the payment is already recorded. */
export async function recordVerified(db: D1Database, entry: LedgerEntry): Promise<void> {
  await bindEntry(db.prepare(`${INSERT} ON CONFLICT (payment_key) DO NOTHING`), { ...entry, status: "verified" }).run();
}

/** The payment's outcome; inserts the row if the `verified` write has not landed yet. */
export async function recordOutcome(db: D1Database, entry: LedgerEntry): Promise<void> {
  await bindEntry(db.prepare(RECORD_OUTCOME), entry).run();
}

/** Why a ledger row needs an operator's attention. */
export type ReconciliationReason = "owed_refund" | "settle_unknown" | "stuck_verified";

export interface ReconciliationCase {
  reason: ReconciliationReason;
  row: Record<string, unknown>;
}

/**
 * Settlements with no origin success (`owed_refund`: refund them), settlements whose outcome is unknown
 * (`settle_unknown`: look the payment up on chain), and payments still `verified` after `stuckAfterMs`
 * (a Worker died mid-request: check chain and origin logs).
 */
export async function findReconciliationCases(db: D1Database, nowMs: number, stuckAfterMs = 10 * 60 * 1000): Promise<ReconciliationCase[]> {
  const stuckBefore = new Date(nowMs - stuckAfterMs).toISOString();
  const { results } = await db
    .prepare(
      `SELECT CASE WHEN status = 'verified' THEN 'stuck_verified' ELSE status END AS reason, *
       FROM payments
       WHERE status IN ('owed_refund', 'settle_unknown') OR (status = 'verified' AND updated_at < ?)
       ORDER BY updated_at`,
    )
    .bind(stuckBefore)
    .all<Record<string, unknown> & { reason: ReconciliationReason }>();
  return results.map(({ reason, ...row }) => ({ reason, row }));
}
