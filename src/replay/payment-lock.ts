// PaymentLock Durable Object: one instance per payment (network + payer + nonce), so "first writer wins"
// is a single-object decision with no cross-payment contention. RPC surface: claim, release, complete.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";

export type LockState = "in_flight" | "settled" | "unknown";

export type ClaimResult = { kind: "claimed" } | { kind: "held"; state: LockState };

interface LockRow {
  owner: string;
  state: LockState;
  lease_until_ms: number;
  [key: string]: SqlStorageValue;
}

const SCHEMA_VERSION = 1;

export class PaymentLock extends DurableObject<Env> {
  #schemaReady = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
  }

  /**
   * Takes the payment for `owner` unless another request holds it. An `in_flight` claim whose lease has run
   * out (its Worker died mid-request) can be taken over; `settled` and `unknown` are never released.
   */
  claim(owner: string, leaseMs: number, nowMs: number): ClaimResult {
    const row = this.#row();
    if (row && !(row.state === "in_flight" && row.lease_until_ms < nowMs)) return { kind: "held", state: row.state };
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO payment_lock (id, owner, state, lease_until_ms) VALUES (1, ?, 'in_flight', ?)",
      owner,
      nowMs + leaseMs,
    );
    return { kind: "claimed" };
  }

  /** Gives the payment back (nothing was settled), so the same authorization can be used again. */
  release(owner: string): void {
    const row = this.#row();
    if (row?.owner === owner && row.state === "in_flight") this.ctx.storage.sql.exec("DELETE FROM payment_lock WHERE id = 1");
  }

  /** Settled (or possibly settled): held for good, forgotten once the authorization itself has expired. */
  async complete(owner: string, state: "settled" | "unknown", forgetAtMs: number): Promise<void> {
    const row = this.#row();
    if (row?.owner !== owner) return;
    this.ctx.storage.sql.exec("UPDATE payment_lock SET state = ? WHERE id = 1", state);
    await this.ctx.storage.setAlarm(forgetAtMs);
  }

  /** Deletes all storage, so a forgotten payment leaves nothing behind. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.#schemaReady = false;
  }

  #row(): LockRow | undefined {
    this.#ensureSchema();
    return this.ctx.storage.sql.exec<LockRow>("SELECT owner, state, lease_until_ms FROM payment_lock WHERE id = 1").toArray()[0];
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
      lease_until_ms INTEGER NOT NULL
    )`);
    sql.exec("DELETE FROM _schema");
    sql.exec("INSERT INTO _schema (version) VALUES (?)", SCHEMA_VERSION);
  }
}
