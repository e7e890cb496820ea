// WalletSession Durable Object: one per wallet (sessions/wallet-key.ts), holding all of that wallet's
// entitlements and the SIWX nonces it has used. One object per wallet makes every decision about a wallet —
// quota decrement, nonce use, grant, revocation — a single-threaded step with no cross-wallet contention
// (docs/sessions.md "Why one object per wallet"). RPC surface: grant, consume, restore, revoke, list.
import { DurableObject } from "cloudflare:workers";

export interface Entitlement {
  scope: string;
  expiresAtMs: number;
  remaining: number;
}

export interface GrantRequest {
  scope: string;
  /** The settled payment: granting twice for one payment adds nothing. */
  paymentKey: string;
  ttlMs: number;
  /** Requests added to the scope's quota. */
  requests: number;
}

export interface ConsumeRequest {
  scope: string;
  /** A SIWX proof's nonce, spent in the same step as the request; absent for session tokens. */
  nonce?: { value: string; expiresAtMs: number };
}

export type ConsumeResult =
  | { kind: "granted"; entitlement: Entitlement }
  | { kind: "nonce_reused" }
  | { kind: "session_not_found" }
  | { kind: "session_expired" }
  | { kind: "session_exhausted" };

interface EntitlementRow {
  scope: string;
  expires_at_ms: number;
  remaining: number;
  [key: string]: SqlStorageValue;
}

/** Grants are remembered this long after their session ends, so a late duplicate grant is still recognised. */
const GRANT_MEMORY_MS = 24 * 60 * 60 * 1000;

export class WalletSession extends DurableObject<unknown> {
  #schemaReady = false;

  /** Adds the payment's requests to the scope; a session still running is extended, an ended one replaced. */
  async grant(request: GrantRequest, nowMs: number): Promise<Entitlement> {
    this.#schema();
    const sql = this.ctx.storage.sql;
    const current = this.#entitlement(request.scope);
    const applied = sql.exec("SELECT 1 FROM applied_grant WHERE payment_key = ?", request.paymentKey).toArray().length > 0;
    if (applied) return current ?? { scope: request.scope, expiresAtMs: 0, remaining: 0 };
    const running = current && current.expiresAtMs > nowMs && current.remaining > 0 ? current : undefined;
    const entitlement: Entitlement = {
      scope: request.scope,
      expiresAtMs: Math.max(running?.expiresAtMs ?? 0, nowMs + request.ttlMs),
      remaining: (running?.remaining ?? 0) + request.requests,
    };
    sql.exec(
      "INSERT OR REPLACE INTO entitlement (scope, expires_at_ms, remaining) VALUES (?, ?, ?)",
      entitlement.scope,
      entitlement.expiresAtMs,
      entitlement.remaining,
    );
    const forgetAtMs = entitlement.expiresAtMs + GRANT_MEMORY_MS;
    sql.exec("INSERT OR REPLACE INTO applied_grant (payment_key, forget_at_ms) VALUES (?, ?)", request.paymentKey, forgetAtMs);
    await this.#scheduleCleanup(entitlement.expiresAtMs);
    return entitlement;
  }

  /** Spends one request of the scope (and the proof's nonce) in one atomic step. */
  async consume(request: ConsumeRequest, nowMs: number): Promise<ConsumeResult> {
    this.#schema();
    const sql = this.ctx.storage.sql;
    if (request.nonce) {
      const used = sql.exec("SELECT 1 FROM used_nonce WHERE nonce = ?", request.nonce.value).toArray().length > 0;
      if (used) return { kind: "nonce_reused" };
      // Spent even when no session follows: a proof is good for one attempt.
      sql.exec("INSERT INTO used_nonce (nonce, expires_at_ms) VALUES (?, ?)", request.nonce.value, request.nonce.expiresAtMs);
      await this.#scheduleCleanup(request.nonce.expiresAtMs);
    }
    const current = this.#entitlement(request.scope);
    if (!current) return { kind: "session_not_found" };
    if (current.expiresAtMs <= nowMs) return { kind: "session_expired" };
    if (current.remaining <= 0) return { kind: "session_exhausted" };
    sql.exec("UPDATE entitlement SET remaining = remaining - 1 WHERE scope = ?", request.scope);
    return { kind: "granted", entitlement: { ...current, remaining: current.remaining - 1 } };
  }

  /** Gives back a request whose origin answer failed: the payer is not charged for what they did not get. */
  restore(scope: string, nowMs: number): void {
    this.#schema();
    this.ctx.storage.sql.exec("UPDATE entitlement SET remaining = remaining + 1 WHERE scope = ? AND expires_at_ms > ?", scope, nowMs);
  }

  /** Operator revocation: ends one scope's session, or all of the wallet's. Returns how many ended. */
  revoke(scope?: string): number {
    this.#schema();
    const cursor =
      scope === undefined
        ? this.ctx.storage.sql.exec("DELETE FROM entitlement")
        : this.ctx.storage.sql.exec("DELETE FROM entitlement WHERE scope = ?", scope);
    return cursor.rowsWritten;
  }

  list(): Entitlement[] {
    this.#schema();
    return this.ctx.storage.sql
      .exec<EntitlementRow>("SELECT scope, expires_at_ms, remaining FROM entitlement ORDER BY scope")
      .toArray()
      .map(toEntitlement);
  }

  /** Drops ended sessions, spent nonces past their lifetime and old grant records; empties the object when nothing is left. */
  override async alarm(): Promise<void> {
    this.#schema();
    const sql = this.ctx.storage.sql;
    const nowMs = Date.now();
    sql.exec("DELETE FROM entitlement WHERE expires_at_ms <= ?", nowMs);
    sql.exec("DELETE FROM used_nonce WHERE expires_at_ms <= ?", nowMs);
    sql.exec("DELETE FROM applied_grant WHERE forget_at_ms <= ?", nowMs);
    const next = sql
      .exec<{ next: number | null }>(
        `SELECT MIN(t) AS next FROM (
          SELECT MIN(expires_at_ms) AS t FROM entitlement
          UNION ALL SELECT MIN(expires_at_ms) FROM used_nonce
          UNION ALL SELECT MIN(forget_at_ms) FROM applied_grant)`,
      )
      .one().next;
    if (next === null) {
      await this.ctx.storage.deleteAll();
      this.#schemaReady = false;
      return;
    }
    await this.ctx.storage.setAlarm(next);
  }

  #entitlement(scope: string): Entitlement | undefined {
    const row = this.ctx.storage.sql
      .exec<EntitlementRow>("SELECT scope, expires_at_ms, remaining FROM entitlement WHERE scope = ?", scope)
      .toArray()[0];
    return row && toEntitlement(row);
  }

  async #scheduleCleanup(atMs: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || atMs < current) await this.ctx.storage.setAlarm(atMs);
  }

  #schema(): void {
    if (this.#schemaReady) return;
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS entitlement (scope TEXT PRIMARY KEY, expires_at_ms INTEGER NOT NULL, remaining INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS used_nonce (nonce TEXT PRIMARY KEY, expires_at_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS applied_grant (payment_key TEXT PRIMARY KEY, forget_at_ms INTEGER NOT NULL);
    `);
    this.#schemaReady = true;
  }
}

function toEntitlement(row: EntitlementRow): Entitlement {
  return { scope: row.scope, expiresAtMs: row.expires_at_ms, remaining: row.remaining };
}
