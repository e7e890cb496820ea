// A Durable Object's ledger outbox: each ledger write is stored in the object first (in the same storage write as
// the fact it records), then copied to D1 in order, retried with backoff while D1 fails. Used by PaymentRecord (a
// payment's rows) and PaymentChannel (a channel's charges, its summary, its claims and refunds).
import {
  recordChannelClaim,
  recordChannelRefund,
  upsertChannel,
  type ChannelClaim,
  type ChannelRefund,
  type ChannelSummary,
} from "./channel-ledger.js";
import { recordLedgerEntry, type LedgerEntry } from "./ledger.js";

export type LedgerWrite =
  | { table: "payments"; entry: LedgerEntry }
  | { table: "channels"; channel: ChannelSummary }
  | { table: "channel_claims"; claim: ChannelClaim }
  | { table: "channel_refunds"; refund: ChannelRefund };

interface OutboxRow {
  seq: number;
  entry: string;
  [key: string]: SqlStorageValue;
}

/** First retry after a failed D1 write; doubles up to the cap. */
const FLUSH_RETRY_BASE_MS = 1000;
const FLUSH_RETRY_MAX_MS = 5 * 60 * 1000;

export class LedgerOutbox {
  #ready = false;

  constructor(private readonly sql: SqlStorage) {}

  enqueue(write: LedgerWrite): void {
    this.#ensureSchema();
    this.sql.exec("INSERT INTO outbox (entry) VALUES (?)", JSON.stringify(write));
    this.sql.exec("UPDATE flush_state SET next_attempt_ms = 0 WHERE id = 1");
  }

  pending(): number {
    this.#ensureSchema();
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
  }

  nextAttemptMs(): number {
    this.#ensureSchema();
    return this.sql.exec<{ next_attempt_ms: number }>("SELECT next_attempt_ms FROM flush_state WHERE id = 1").one().next_attempt_ms;
  }

  /** Writes the outbox to D1 in order; stops at the first failure and backs off. False if D1 refused a write. */
  async flush(db: D1Database): Promise<boolean> {
    this.#ensureSchema();
    for (const row of this.sql.exec<OutboxRow>("SELECT seq, entry FROM outbox ORDER BY seq").toArray()) {
      try {
        await write(db, JSON.parse(row.entry) as LedgerWrite | LedgerEntry);
      } catch (cause) {
        const attempts = this.sql.exec<{ attempts: number }>("SELECT attempts FROM flush_state WHERE id = 1").one().attempts + 1;
        const delay = Math.min(FLUSH_RETRY_BASE_MS * 2 ** (attempts - 1), FLUSH_RETRY_MAX_MS);
        this.sql.exec("UPDATE flush_state SET attempts = ?, next_attempt_ms = ? WHERE id = 1", attempts, Date.now() + delay);
        console.error(JSON.stringify({ event: "ledger_flush_failed", attempts, retryInMs: delay, cause: String(cause) }));
        return false;
      }
      this.sql.exec("DELETE FROM outbox WHERE seq = ?", row.seq);
    }
    this.sql.exec("UPDATE flush_state SET attempts = 0, next_attempt_ms = 0 WHERE id = 1");
    return true;
  }

  /** After the object's storage was wiped (deleteAll): the tables come back on next use. */
  forget(): void {
    this.#ready = false;
  }

  #ensureSchema(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.sql.exec("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)");
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS flush_state (id INTEGER PRIMARY KEY CHECK (id = 1), attempts INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL)",
    );
    this.sql.exec("INSERT OR IGNORE INTO flush_state (id, attempts, next_attempt_ms) VALUES (1, 0, 0)");
  }
}

/** Rows queued before the outbox named its tables are payments entries. */
async function write(db: D1Database, queued: LedgerWrite | LedgerEntry): Promise<void> {
  if (!("table" in queued)) return recordLedgerEntry(db, queued);
  if (queued.table === "payments") return recordLedgerEntry(db, queued.entry);
  if (queued.table === "channels") return upsertChannel(db, queued.channel);
  if (queued.table === "channel_refunds") return recordChannelRefund(db, queued.refund);
  return recordChannelClaim(db, queued.claim);
}
