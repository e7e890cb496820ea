// Read-side ledger queries for the admin API and CLI (docs/admin.md): filtered entries, revenue grouped one way,
// owed refunds, and marking a refund paid. Every filter is a bound parameter; group-by columns come from a
// fixed map, never from the request.
import * as z from "zod";
import type { LedgerStatus } from "../ledger/ledger.js";

const STATUSES = [
  "verified",
  "settled",
  "settle_failed",
  "settle_unknown",
  "origin_failed",
  "owed_refund",
] as const satisfies readonly LedgerStatus[];
const IsoTime = z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/, "expected an ISO-8601 date or time");

export const LedgerFilterSchema = z.strictObject({
  since: IsoTime.optional(),
  until: IsoTime.optional(),
  rule: z.string().min(1).max(200).optional(),
  payer: z.string().min(1).max(200).optional(),
  status: z.enum(STATUSES).optional(),
  /** How an outcome was read from the chain (payment-record/chain-watch.ts); `any`: every resolved row. */
  resolution: z.enum(["any", "chain_transfer", "chain_canceled", "chain_used_elsewhere", "chain_expired_unused"]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type LedgerFilter = z.infer<typeof LedgerFilterSchema>;

const REVENUE_GROUPS = { rule: "rule_id", payTo: "pay_to", network: "network", day: "substr(created_at, 1, 10)" } as const;
export const RevenueQuerySchema = z.strictObject({
  by: z.enum(["rule", "payTo", "network", "day"]).default("rule"),
  since: IsoTime.optional(),
  until: IsoTime.optional(),
});
export type RevenueQuery = z.infer<typeof RevenueQuerySchema>;

export const MarkRefundSchema = z.strictObject({
  transaction: z.string().regex(/^(0x[0-9a-fA-F]{64}|[1-9A-HJ-NP-Za-km-z]{43,90})$/, "expected a transaction hash or signature"),
});

function where(filter: Omit<Partial<LedgerFilter>, "limit">): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    if (!value) return;
    clauses.push(clause);
    params.push(value);
  };
  add("created_at >= ?", filter.since);
  add("created_at < ?", filter.until);
  add("rule_id = ?", filter.rule);
  // Addresses are compared without case: EVM checksums mix it, and payers are stored as the facilitator wrote them.
  add("lower(payer) = lower(?)", filter.payer);
  add("status = ?", filter.status);
  if (filter.resolution === "any") clauses.push("resolution IS NOT NULL");
  else add("resolution = ?", filter.resolution);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

export async function listLedger(db: D1Database, filter: LedgerFilter): Promise<Record<string, unknown>[]> {
  const { sql, params } = where(filter);
  const { results } = await db
    .prepare(`SELECT * FROM payments ${sql} ORDER BY created_at DESC LIMIT ?`)
    .bind(...params, filter.limit)
    .all();
  return results;
}

/**
 * Settled amounts, per group and per asset (amounts of different assets never add up). Atomic units as decimal
 * strings: summed in SQLite's 64-bit integers, enough for 9.2 × 10^12 USDC per group.
 */
export async function revenue(
  db: D1Database,
  query: RevenueQuery,
): Promise<{ group: string; network: string; asset: string; payments: number; amount: string }[]> {
  const group = REVENUE_GROUPS[query.by];
  const { sql, params } = where({ ...query, status: "settled" });
  const { results } = await db
    .prepare(
      `SELECT ${group} AS grp, network, asset, COUNT(*) AS payments, CAST(SUM(CAST(amount AS INTEGER)) AS TEXT) AS amount
       FROM payments ${sql} GROUP BY grp, network, asset ORDER BY grp, network, asset`,
    )
    .bind(...params)
    .all<{ grp: string; network: string; asset: string; payments: number; amount: string }>();
  return results.map((row) => ({ group: row.grp, network: row.network, asset: row.asset, payments: row.payments, amount: row.amount }));
}

/** Payments settled before the origin failed (`before-origin` mode) whose refund is not yet recorded. */
export async function listOwedRefunds(db: D1Database): Promise<Record<string, unknown>[]> {
  const { results } = await db
    .prepare("SELECT * FROM payments WHERE status = 'owed_refund' AND refund_transaction IS NULL ORDER BY created_at")
    .all();
  return results;
}

export type MarkRefundResult = "marked" | "already_marked" | "not_owed";

/** Records the refund's transaction; the same one again is a no-op, another one is refused. */
export async function markRefund(db: D1Database, paymentKey: string, transaction: string, nowMs: number): Promise<MarkRefundResult> {
  const updated = await db
    .prepare(
      "UPDATE payments SET refund_transaction = ?, refunded_at = ? WHERE payment_key = ? AND status = 'owed_refund' AND refund_transaction IS NULL",
    )
    .bind(transaction, new Date(nowMs).toISOString(), paymentKey)
    .run();
  if (updated.meta.changes > 0) return "marked";
  const row = await db
    .prepare("SELECT status, refund_transaction FROM payments WHERE payment_key = ?")
    .bind(paymentKey)
    .first<{ status: string; refund_transaction: string | null }>();
  if (row?.status === "owed_refund" && row.refund_transaction === transaction) return "marked";
  return row?.status === "owed_refund" ? "already_marked" : "not_owed";
}
