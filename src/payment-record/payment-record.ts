// PaymentRecord Durable Object: one instance per lock group (for EVM and Solana payments, one payer on one
// network; otherwise one payment). It holds the replay lock of each of the group's payments ("first writer wins"
// is a decision inside one object) and their ledger outbox (each ledger write is stored here durably first, then
// copied to D1 in the same call; what D1 refuses, an alarm retries until D1 takes it). RPC surface: claim,
// release, complete, record.
// A payment's `verified` row is stored with its claim, before verify is asked, and waits with its lock: the outcome
// that follows replaces it and is the one D1 write, and it reaches D1 itself only when no outcome came (the lease
// ran out, or the lock was let go after verify accepted). So a settle never waits for a ledger write.
// Grouped by payer so the object a payment needs is already warm: creating an object per payment cost more than
// the rest of the gateway's own time on a paid request (docs/storage-schema.md).
import { DurableObject } from "cloudflare:workers";
import { parseRpcUrls, type GatewayEnvVars } from "../gateway-config.js";
import type { PaymentIdentifierRecord } from "../idempotency/payment-identifier-record.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { LedgerOutbox } from "../ledger/ledger-outbox.js";
import type { ChainWatch } from "./chain-watch.js";
import { Reconciler } from "./reconciler.js";

export type LockState = "in_flight" | "settled" | "unknown";

/** `busy`: the claim asked for its group's one exclusive slot (a metered stream), and another payment holds it. */
export type ClaimResult = { kind: "claimed" } | { kind: "held"; state: LockState } | { kind: "busy" };

interface LockRow {
  owner: string;
  state: LockState;
  lease_until_ms: number;
  forget_at_ms: number | null;
  exclusive: number;
  [key: string]: SqlStorageValue;
}

/**
 * 7: the reconciler keeps the blocks a spent nonce's transaction is searched in, and its looks without a verdict
 * (`spent_block`, `misses`); 6: a lock may carry a chain watch, and the reconciler's state of it (`watch` …
 * `looks`); 5: a lock may take its group's one exclusive slot (`exclusive`); 4: a lock holds its payment's pending
 * `verified` ledger row (`pending_entry`); 3: locks keyed by payment (one object per group); 2 was one lock per object.
 */
const SCHEMA_VERSION = 7;

/**
 * The reconciler's (schema 6): the chain watch (JSON ChainWatch), the ledger row a resolution is built on, the next
 * look, the block the last look searched to (less a margin), how many looks found it still open, and when a dead
 * request's claim was held (null: a settle left unknown).
 */
const WATCH_COLUMNS = [
  "watch TEXT",
  "watch_entry TEXT",
  "look_at_ms INTEGER",
  "from_block TEXT",
  "looks INTEGER NOT NULL DEFAULT 0",
  "held_at_ms INTEGER",
];
/** Schema 7: the first block a spent nonce was seen spent at (its transaction is searched for up to it), looks without a verdict. */
const SEARCH_COLUMNS = ["spent_block TEXT", "misses INTEGER NOT NULL DEFAULT 0"];

/** A dead claim with a watch is first looked at within this of its lease's end (its log is then in the last 1,000 blocks). */
const DEAD_CLAIM_LOOK_MS = 60_000;
/** A dead claim without one sends its `verified` row to D1 within this of its lease's end. */
const DEAD_CLAIM_ROW_MS = 10 * 60_000;

/** When a ledger write is stored with no alarm set, one this far ahead covers it while D1 is asked. */
const UNCOVERED_WRITE_ALARM_MS = 60_000;

/** What a PaymentRecord reads of the Worker's env (bindings.ts names the whole; a host Worker must give these). */
interface PaymentRecordEnv extends Pick<GatewayEnvVars, "RPC_URLS"> {
  LEDGER: D1Database;
  PAYMENT_IDENTIFIERS: DurableObjectNamespace<PaymentIdentifierRecord>;
}

export class PaymentRecord extends DurableObject<PaymentRecordEnv> {
  #schemaReady = false;
  #outbox?: LedgerOutbox;
  #reconciler?: Reconciler;
  #rpcUrls?: { urls: Readonly<Record<string, string>> | undefined };
  /** The alarm as this object last set or read it; undefined until then (storage is asked). */
  #alarmAtMs: number | null | undefined;
  /** The outbox copy under way, if any, and whether a write came in after it read the outbox. */
  #flushing: Promise<void> | undefined;
  #flushAgain = false;

  /**
   * Takes the payment for `owner` unless another request holds it. An `in_flight` claim whose lease has run
   * out (its Worker died mid-request) can be taken over, unless the chain can be asked about it (a watch): then it is
   * held until it has been; `settled` and `unknown` are never released.
   * `pending`: the payment's `verified` row, kept with the lock until an outcome replaces it. `exclusive`: at most
   * one such claim of the group is in flight at once (one metered stream per payer: what one authorization can
   * settle bounds what is delivered before settlement); `forgetAtMs`: when such a lock is forgotten (it outlives
   * its lease). `watch`: what the chain can be asked about the payment (reconciler.ts).
   * Positional because a Worker and its objects may run different versions while a deploy rolls out: a new
   * argument goes at the end, where an older object ignores it.
   */
  async claim(
    paymentKey: string,
    owner: string,
    leaseMs: number,
    nowMs: number,
    pending?: LedgerEntry,
    exclusive = false,
    forgetAtMs?: number,
    watch?: ChainWatch,
  ): Promise<ClaimResult> {
    const row = this.#lock(paymentKey);
    if (row && !(row.state === "in_flight" && row.lease_until_ms < nowMs)) return { kind: "held", state: row.state };
    if (row && this.#reconcile().holdDeadClaims(nowMs, paymentKey) > 0) {
      // Its dead request may have settled it: the reconciler looks first (security review of issue #34).
      this.#sendPending("payment_key = ?", paymentKey);
      await this.#flushThenSchedule();
      return { kind: "held", state: "unknown" };
    }
    // A stream's claim whose request died may have delivered content: never taken over (security review F1).
    if (row?.exclusive === 1) return { kind: "held", state: "unknown" };
    if (exclusive) {
      const other = this.ctx.storage.sql
        .exec(
          "SELECT 1 FROM payment_locks WHERE exclusive = 1 AND state = 'in_flight' AND lease_until_ms >= ? AND payment_key != ? LIMIT 1",
          nowMs,
          paymentKey,
        )
        .toArray();
      if (other.length > 0) return { kind: "busy" };
    }
    // Taking over a dead request's claim: its `verified` row is the only trace of it, and goes to D1 now.
    const tookOver = row !== undefined && this.#sendPending("payment_key = ?", paymentKey);
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO payment_locks (payment_key, owner, state, lease_until_ms, forget_at_ms, pending_entry, exclusive, watch) VALUES (?, ?, 'in_flight', ?, ?, ?, ?, ?)",
      paymentKey,
      owner,
      nowMs + leaseMs,
      // An exclusive lock outlives its lease (below): it is forgotten when its authorization could no longer settle.
      exclusive ? (forgetAtMs ?? nowMs + leaseMs) : null,
      pending ? JSON.stringify(pending) : null,
      exclusive ? 1 : 0,
      watch ? JSON.stringify(watch) : null,
    );
    if (tookOver) await this.#flushThenSchedule();
    // The lease's end must come to an alarm: a request that dies leaves its `verified` row, and its payment's watch,
    // to it. Any alarm due before the lock must be looked at will do, so an object that has one writes nothing.
    const leaseEndsMs = nowMs + leaseMs;
    const lookBy = leaseEndsMs + (watch ? DEAD_CLAIM_LOOK_MS : DEAD_CLAIM_ROW_MS);
    const current = await this.#currentAlarm();
    if (current === null || current > lookBy) await this.#setAlarm(leaseEndsMs);
    return { kind: "claimed" };
  }

  /**
   * Gives the payment back (nothing was settled), so the same authorization can be used again. `keepRow` false:
   * verify never accepted it, so its `verified` row goes with the lock instead of to D1.
   */
  async release(paymentKey: string, owner: string, keepRow = true): Promise<void> {
    const row = this.#lock(paymentKey);
    if (row?.owner !== owner || row.state !== "in_flight") return;
    const sent = keepRow && this.#sendPending("payment_key = ?", paymentKey);
    this.ctx.storage.sql.exec("DELETE FROM payment_locks WHERE payment_key = ?", paymentKey);
    await (sent ? this.#flushThenSchedule() : this.#scheduleAlarm());
  }

  /**
   * Settled (or possibly settled): held for good, forgotten once the authorization itself has expired.
   * `entry`, when given, is the payment's ledger write for that outcome, stored in the same call.
   */
  async complete(paymentKey: string, owner: string, state: "settled" | "unknown", forgetAtMs: number, entry?: LedgerEntry): Promise<void> {
    const row = this.#lock(paymentKey);
    let sent = false;
    // A lock the reconciler found settled stays settled: a completion retried, or a slow request's, says no more.
    if (row?.owner === owner && !(row.state === "settled" && state === "unknown")) {
      // Without its outcome here, the `verified` row goes now: a settled lock no longer runs out.
      if (!entry) sent = this.#sendPending("payment_key = ?", paymentKey);
      // A completion ends whatever the reconciler was doing with the lock (it may have held a slow request's claim).
      this.ctx.storage.sql.exec(
        "UPDATE payment_locks SET state = ?, forget_at_ms = ?, pending_entry = NULL, look_at_ms = NULL, held_at_ms = NULL WHERE payment_key = ?",
        state,
        forgetAtMs,
        paymentKey,
      );
      // Perhaps settled: the chain is asked what became of it (reconciler.ts).
      if (state === "unknown") this.#reconcile().watchUnknown(paymentKey, entry, Date.now());
    }
    if (entry) this.#ledger().enqueue({ table: "payments", entry });
    await (entry || sent ? this.#flushThenSchedule() : this.#scheduleAlarm());
  }

  /**
   * Stores a ledger write durably; the same call copies it to D1, and the alarm retries while D1 fails. A
   * `verified` row of a payment claimed here waits with its lock instead (see the top of this file); an outcome
   * replaces it.
   */
  async record(entry: LedgerEntry): Promise<void> {
    this.#ensureSchema();
    const sql = this.ctx.storage.sql;
    if (entry.status === "verified") {
      const held = sql.exec(
        "UPDATE payment_locks SET pending_entry = ? WHERE payment_key = ? AND state = 'in_flight'",
        JSON.stringify(entry),
        entry.paymentKey,
      );
      // The lock's own alarm (its lease's end) is what sends it if nothing replaces it.
      if (held.rowsWritten > 0) return this.#scheduleAlarm();
    } else {
      sql.exec("UPDATE payment_locks SET pending_entry = NULL WHERE payment_key = ?", entry.paymentKey);
    }
    this.#ledger().enqueue({ table: "payments", entry });
    await this.#flushThenSchedule();
  }

  /** Ledger writes not yet in D1 (operators and tests). */
  pendingLedgerWrites(): number {
    return this.#ledger().pending();
  }

  override async alarm(): Promise<void> {
    // This alarm is spent; a retry the runtime schedules after a throw is not counted on.
    this.#alarmAtMs = null;
    this.#ensureSchema();
    const now = Date.now();
    // A dead claim the chain can be asked about is held until it has been (reconciler.ts).
    this.#reconcile().holdDeadClaims(now);
    // A claim whose lease ran out had no outcome: its Worker died, and its `verified` row is what is left of it.
    this.#sendPending("lease_until_ms <= ? AND pending_entry IS NOT NULL AND state != 'settled'", now);
    await this.#reconcile().lookAtDue(now);
    await this.#flush();
    // A stream whose request died while it ran may have delivered content: its payment stays spent ("unknown", for
    // the reconciler of issue #34), and its payer's one stream slot is free again.
    this.ctx.storage.sql.exec(
      "UPDATE payment_locks SET state = 'unknown' WHERE state = 'in_flight' AND exclusive = 1 AND lease_until_ms <= ?",
      now,
    );
    // Spent authorizations past their validity, and claims whose Worker died long ago, are nothing to remember.
    this.ctx.storage.sql.exec(
      "DELETE FROM payment_locks WHERE (state != 'in_flight' AND forget_at_ms <= ? AND (state != 'unknown' OR look_at_ms IS NULL)) OR (state = 'in_flight' AND lease_until_ms <= ?)",
      now,
      now,
    );
    const locks = this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM payment_locks").one().n;
    if (locks === 0 && this.pendingLedgerWrites() === 0) {
      // A group with nothing left leaves no storage behind.
      await this.ctx.storage.deleteAll();
      this.#schemaReady = false;
      this.#ledger().forget();
      return;
    }
    await this.#scheduleAlarm();
  }

  /**
   * Copies what was just stored to D1 in the same call, instead of a task for the alarm: no alarm write, no alarm
   * run per payment (each was a storage write of its own), and the row reaches D1 at once. The alarm is left to
   * retry what D1 refused, to end leases and to forget locks.
   */
  async #flushThenSchedule(): Promise<void> {
    // An object that stops mid-copy must still find its rows again: some alarm has to exist before D1 is asked.
    // On the paid path the lease's alarm is there already, so this writes nothing.
    if ((await this.#currentAlarm()) === null) await this.#setAlarm(Date.now() + UNCOVERED_WRITE_ALARM_MS);
    await this.#flush();
    await this.#scheduleAlarm();
  }

  /** One copy at a time keeps the outbox's order; writes stored while one runs are taken by it before it ends. */
  #flush(): Promise<void> {
    if (this.#flushing) {
      this.#flushAgain = true;
      return this.#flushing;
    }
    const run = async () => {
      try {
        do {
          this.#flushAgain = false;
          // A refusal sets the retry time: the alarm tries again then, not this call.
          if (!(await this.#ledger().flush(this.env.LEDGER))) break;
        } while (this.#flushAgain);
      } finally {
        this.#flushing = undefined;
      }
    };
    this.#flushing = run();
    return this.#flushing;
  }

  /** One alarm slot serves every job: the next D1 flush attempt, and forgetting the next lock. */
  async #scheduleAlarm(): Promise<void> {
    this.#ensureSchema();
    const candidates: number[] = [];
    if (this.pendingLedgerWrites() > 0) candidates.push(this.#ledger().nextAttemptMs());
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>(
        "SELECT MIN(CASE WHEN state = 'in_flight' THEN lease_until_ms WHEN state = 'unknown' AND look_at_ms IS NOT NULL THEN look_at_ms ELSE forget_at_ms END) AS at FROM payment_locks",
      )
      .one().at;
    if (next !== null) candidates.push(next);
    else if (candidates.length === 0) candidates.push(0); // empty: the alarm deletes the storage
    const due = Math.max(Date.now(), Math.min(...candidates));
    // A hot payer's object is asked many times a second: only an earlier alarm needs a storage write.
    const current = await this.#currentAlarm();
    if (current === null || due < current) await this.#setAlarm(due);
  }

  /** The alarm as this object last set or read it; storage is asked only the first time. */
  async #currentAlarm(): Promise<number | null> {
    if (this.#alarmAtMs === undefined) this.#alarmAtMs = await this.ctx.storage.getAlarm();
    return this.#alarmAtMs;
  }

  async #setAlarm(atMs: number): Promise<void> {
    await this.ctx.storage.setAlarm(atMs);
    this.#alarmAtMs = atMs;
  }

  #reconcile(): Reconciler {
    this.#ensureSchema();
    this.#reconciler ??= new Reconciler(
      this.ctx.storage.sql,
      () => {
        this.#rpcUrls ??= { urls: parseRpcUrls(this.env) };
        return this.#rpcUrls.urls;
      },
      (entry) => this.#ledger().enqueue({ table: "payments", entry }),
      async (ref, paymentResponse) => {
        const record = this.env.PAYMENT_IDENTIFIERS.get(this.env.PAYMENT_IDENTIFIERS.idFromName(ref.id));
        return (await record.resolve(ref.fingerprint, paymentResponse, Date.now())).kind;
      },
    );
    return this.#reconciler;
  }

  #ledger(): LedgerOutbox {
    this.#outbox ??= new LedgerOutbox(this.ctx.storage.sql);
    return this.#outbox;
  }

  /** Moves the pending `verified` rows of the locks `where` selects into the outbox; true if there were any. */
  #sendPending(where: string, ...params: SqlStorageValue[]): boolean {
    const sql = this.ctx.storage.sql;
    const pending = sql
      .exec<{ pending_entry: string }>(`SELECT pending_entry FROM payment_locks WHERE pending_entry IS NOT NULL AND ${where}`, ...params)
      .toArray();
    if (pending.length === 0) return false;
    for (const { pending_entry } of pending) this.#ledger().enqueue({ table: "payments", entry: JSON.parse(pending_entry) as LedgerEntry });
    sql.exec(`UPDATE payment_locks SET pending_entry = NULL WHERE ${where}`, ...params);
    return true;
  }

  #lock(paymentKey: string): LockRow | undefined {
    this.#ensureSchema();
    return this.ctx.storage.sql
      .exec<LockRow>("SELECT owner, state, lease_until_ms, forget_at_ms, exclusive FROM payment_locks WHERE payment_key = ?", paymentKey)
      .toArray()[0];
  }

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    this.#schemaReady = true;
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS _schema (version INTEGER NOT NULL)");
    const version = sql.exec<{ version: number }>("SELECT version FROM _schema").toArray()[0]?.version ?? 0;
    if (version >= SCHEMA_VERSION) return;
    if (version >= 3) {
      if (version === 3) sql.exec("ALTER TABLE payment_locks ADD COLUMN pending_entry TEXT");
      if (version <= 4) sql.exec("ALTER TABLE payment_locks ADD COLUMN exclusive INTEGER NOT NULL DEFAULT 0");
      if (version <= 5) for (const column of WATCH_COLUMNS) sql.exec(`ALTER TABLE payment_locks ADD COLUMN ${column}`);
      for (const column of SEARCH_COLUMNS) sql.exec(`ALTER TABLE payment_locks ADD COLUMN ${column}`);
    } else {
      // An object from version 2 held one payment's lock without its key; its outbox is kept and still flushed.
      // Its lock is dropped: that payment is single-use on chain anyway (the facilitator refuses a spent nonce).
      sql.exec("DROP TABLE IF EXISTS payment_lock");
      sql.exec(`CREATE TABLE IF NOT EXISTS payment_locks (
        payment_key TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_flight', 'settled', 'unknown')),
        lease_until_ms INTEGER NOT NULL,
        forget_at_ms INTEGER,
        pending_entry TEXT,
        exclusive INTEGER NOT NULL DEFAULT 0,
        ${[...WATCH_COLUMNS, ...SEARCH_COLUMNS].join(",\n        ")}
      )`);
    }
    sql.exec("DELETE FROM _schema");
    sql.exec("INSERT INTO _schema (version) VALUES (?)", SCHEMA_VERSION);
  }
}
