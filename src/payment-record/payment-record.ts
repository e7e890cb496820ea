// PaymentRecord Durable Object: one instance per payment (network + payer + nonce). It is the payment's
// replay lock ("first writer wins" is a decision inside one object, with no cross-payment contention) and
// its ledger outbox (each ledger write is stored here durably first, then copied to D1 by an alarm that
// retries until D1 takes it). RPC surface: claim, release, complete, record.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { LedgerOutbox } from "../ledger/ledger-outbox.js";

export type LockState = "in_flight" | "settled" | "unknown";

export type ClaimResult = { kind: "claimed" } | { kind: "held"; state: LockState };

interface LockRow {
  owner: string;
  state: LockState;
  lease_until_ms: number;
  forget_at_ms: number | null;
  [key: string]: SqlStorageValue;
}

const SCHEMA_VERSION = 2;

export class PaymentRecord extends DurableObject<Env> {
  #schemaReady = false;
  #outbox?: LedgerOutbox;

  /**
   * Takes the payment for `owner` unless another request holds it. An `in_flight` claim whose lease has run
   * out (its Worker died mid-request) can be taken over; `settled` and `unknown` are never released.
   */
  claim(owner: string, leaseMs: number, nowMs: number): ClaimResult {
    const row = this.#lock();
    if (row && !(row.state === "in_flight" && row.lease_until_ms < nowMs)) return { kind: "held", state: row.state };
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO payment_lock (id, owner, state, lease_until_ms, forget_at_ms) VALUES (1, ?, 'in_flight', ?, NULL)",
      owner,
      nowMs + leaseMs,
    );
    return { kind: "claimed" };
  }

  /** Gives the payment back (nothing was settled), so the same authorization can be used again. */
  async release(owner: string): Promise<void> {
    const row = this.#lock();
    if (row?.owner !== owner || row.state !== "in_flight") return;
    this.ctx.storage.sql.exec("DELETE FROM payment_lock WHERE id = 1");
    await this.#scheduleAlarm();
  }

  /** Settled (or possibly settled): held for good, forgotten once the authorization itself has expired. */
  async complete(owner: string, state: "settled" | "unknown", forgetAtMs: number): Promise<void> {
    const row = this.#lock();
    if (row?.owner !== owner) return;
    this.ctx.storage.sql.exec("UPDATE payment_lock SET state = ?, forget_at_ms = ? WHERE id = 1", state, forgetAtMs);
    await this.#scheduleAlarm();
  }

  /** Stores a ledger write durably; the alarm copies it to D1 right away and keeps retrying while D1 fails. */
  async record(entry: LedgerEntry): Promise<void> {
    this.#ledger().enqueue({ table: "payments", entry });
    await this.#scheduleAlarm();
  }

  /** Ledger writes not yet in D1 (operators and tests). */
  pendingLedgerWrites(): number {
    return this.#ledger().pending();
  }

  override async alarm(): Promise<void> {
    this.#ensureSchema();
    await this.#ledger().flush(this.env.LEDGER);
    const lock = this.#lock();
    const outboxEmpty = this.pendingLedgerWrites() === 0;
    const forgettable = !lock || (lock.forget_at_ms !== null && lock.forget_at_ms <= Date.now());
    if (outboxEmpty && forgettable && (!lock || lock.state !== "in_flight")) {
      // Nothing left to remember: delete everything so a finished payment leaves no storage behind.
      await this.ctx.storage.deleteAll();
      this.#schemaReady = false;
      this.#ledger().forget();
      return;
    }
    await this.#scheduleAlarm();
  }

  /** One alarm slot serves both jobs: the next D1 flush attempt, and forgetting the payment. */
  async #scheduleAlarm(): Promise<void> {
    const candidates: number[] = [];
    if (this.pendingLedgerWrites() > 0) candidates.push(this.#ledger().nextAttemptMs());
    const lock = this.#lock();
    if (lock?.forget_at_ms != null) candidates.push(lock.forget_at_ms);
    if (!lock) candidates.push(0);
    if (candidates.length === 0) return;
    await this.ctx.storage.setAlarm(Math.max(Date.now(), Math.min(...candidates)));
  }

  #ledger(): LedgerOutbox {
    this.#outbox ??= new LedgerOutbox(this.ctx.storage.sql);
    return this.#outbox;
  }

  #lock(): LockRow | undefined {
    this.#ensureSchema();
    return this.ctx.storage.sql.exec<LockRow>("SELECT owner, state, lease_until_ms, forget_at_ms FROM payment_lock WHERE id = 1").toArray()[0];
  }

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    this.#schemaReady = true;
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS _schema (version INTEGER NOT NULL)");
    const version = sql.exec<{ version: number }>("SELECT version FROM _schema").toArray()[0]?.version ?? 0;
    if (version >= SCHEMA_VERSION) return;
    sql.exec(`CREATE TABLE IF NOT EXISTS payment_lock (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      owner TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('in_flight', 'settled', 'unknown')),
      lease_until_ms INTEGER NOT NULL,
      forget_at_ms INTEGER
    )`);
    sql.exec("DELETE FROM _schema");
    sql.exec("INSERT INTO _schema (version) VALUES (?)", SCHEMA_VERSION);
  }
}
