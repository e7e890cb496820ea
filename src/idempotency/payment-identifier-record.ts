// PaymentIdentifierRecord Durable Object: one per client-chosen payment identifier. Remembers which payment
// the id belongs to and, once that payment settled, the response it bought, so a retry after a timeout gets
// the same answer instead of a second charge. An answer whose settle's outcome was left unknown is kept too, awaiting
// it: the PaymentRecord's reconciler says what the chain showed (issue #34), and a retry meanwhile is told to wait.
// RPC surface: begin, store, abandon, keepAwaiting, resolve.
import { DurableObject } from "cloudflare:workers";

/** A response as kept for retries. `body` is null when it was larger than the configured limit. */
export interface StoredResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: ArrayBuffer | null;
}

export type BeginResult = { kind: "new" } | { kind: "conflict" } | { kind: "in_flight" } | { kind: "stored"; response: StoredResponse };

/**
 * An answer kept for a payment whose settle's outcome is unknown: `AWAITING` while the chain has not said (the row
 * stays `in_flight`, its lease the await's end, so an older version of this object, after a rollback, refuses and
 * forgets it rather than serving it), `RESOLVED` once it showed the payment settled (`stored`, served).
 */
const AWAITING = 1;
const RESOLVED = 2;

/** What `resolve` found. `pending`: the answer may still be on its way here (its request's lease is live). */
export type ResolveResult = { kind: "kept" } | { kind: "not_kept" } | { kind: "pending" };

interface Row {
  fingerprint: string;
  state: "in_flight" | "stored";
  /** 0, AWAITING or RESOLVED (above). */
  awaiting: number;
  /** How long an awaiting answer is kept once its payment is known settled (the TTL, from then). */
  keep_for_ms: number | null;
  lease_until_ms: number;
  response: string | null;
  body: ArrayBuffer | null;
  [key: string]: SqlStorageValue;
}

export class PaymentIdentifierRecord extends DurableObject<unknown> {
  #schemaReady = false;

  /**
   * Starts (or finds) the request for this id. Another payload under the same id is a conflict. An `in_flight` row is
   * forgotten by an alarm at its lease's end, so a request that died (or a settle left unknown) leaves nothing
   * behind for good (security review F18).
   */
  async begin(fingerprint: string, leaseMs: number, nowMs: number): Promise<BeginResult> {
    const row = this.#row();
    if (row) {
      if (row.fingerprint !== fingerprint) return { kind: "conflict" };
      // The answer exists, but whether it was paid for is not known yet: the reconciler will say.
      if (row.awaiting === AWAITING) return { kind: "in_flight" };
      if (row.state === "stored") {
        const meta = JSON.parse(row.response!) as Omit<StoredResponse, "body">;
        return { kind: "stored", response: { ...meta, body: row.body } };
      }
      if (row.lease_until_ms >= nowMs) return { kind: "in_flight" };
    }
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO identified_payment (id, fingerprint, state, lease_until_ms, response, body) VALUES (1, ?, 'in_flight', ?, NULL, NULL)",
      fingerprint,
      nowMs + leaseMs,
    );
    await this.ctx.storage.setAlarm(nowMs + leaseMs);
    return { kind: "new" };
  }

  /** Keeps the response the payment bought until `forgetAtMs`. */
  async store(fingerprint: string, response: StoredResponse, forgetAtMs: number): Promise<void> {
    const row = this.#row();
    if (row?.fingerprint !== fingerprint) return;
    const { body, ...meta } = response;
    this.ctx.storage.sql.exec(
      "UPDATE identified_payment SET state = 'stored', response = ?, body = ? WHERE id = 1",
      JSON.stringify(meta),
      body,
    );
    await this.ctx.storage.setAlarm(forgetAtMs);
  }

  /**
   * Keeps the answer of a payment whose settle's outcome is unknown, unserved until `resolve`. Not resolved by
   * `awaitUntilMs` (the reconciler gave up: its RPC stayed down), it is forgotten with the id; resolved settled, it is
   * kept until `forgetAtMs`.
   */
  async keepAwaiting(fingerprint: string, response: StoredResponse, keepForMs: number, awaitUntilMs: number): Promise<void> {
    const row = this.#row();
    if (row?.fingerprint !== fingerprint || row.state !== "in_flight" || row.awaiting !== 0) return;
    const { body, ...meta } = response;
    this.ctx.storage.sql.exec(
      "UPDATE identified_payment SET awaiting = ?, lease_until_ms = ?, response = ?, body = ?, keep_for_ms = ? WHERE id = 1",
      AWAITING,
      awaitUntilMs,
      JSON.stringify(meta),
      body,
      keepForMs,
    );
    await this.ctx.storage.setAlarm(awaitUntilMs);
  }

  /**
   * The chain said what became of the payment an awaiting answer is for. `paymentResponse` (the PAYMENT-RESPONSE
   * header): it settled, and the answer is served to retries from now on, with it, for `keep_for_ms`. Null: nothing
   * moved, the id is forgotten and a retry runs again. `kept`: an answer with its body is here for the payer to fetch;
   * `pending`: its request may still be storing it, ask again. Asking twice gives the same answer.
   */
  async resolve(fingerprint: string, paymentResponse: string | null, nowMs: number): Promise<ResolveResult> {
    const row = this.#row();
    if (row?.fingerprint !== fingerprint) {
      // Nothing here for this payment: leave no storage behind either.
      if (!row) await this.#forgetAll();
      return { kind: "not_kept" };
    }
    if (row.awaiting === RESOLVED) return { kind: row.body !== null ? "kept" : "not_kept" };
    if (row.awaiting === 0 && row.state === "in_flight" && row.lease_until_ms >= nowMs) return { kind: "pending" };
    if (paymentResponse === null || row.awaiting === 0) {
      // Not settled, or settled with no answer kept: a late `keepAwaiting` must find nothing to keep.
      if (row.state === "in_flight") await this.#forgetAll();
      return { kind: "not_kept" };
    }
    const meta = JSON.parse(row.response!) as Omit<StoredResponse, "body">;
    const headers = [...meta.headers.filter(([name]) => name.toLowerCase() !== "payment-response"), ["payment-response", paymentResponse]];
    this.ctx.storage.sql.exec(
      "UPDATE identified_payment SET state = 'stored', awaiting = ?, response = ? WHERE id = 1",
      RESOLVED,
      JSON.stringify({ ...meta, headers }),
    );
    await this.ctx.storage.setAlarm(nowMs + (row.keep_for_ms ?? 0));
    return { kind: row.body !== null ? "kept" : "not_kept" };
  }

  /** Nothing was charged: forget the id so a retry runs again. */
  async abandon(fingerprint: string): Promise<void> {
    const row = this.#row();
    if (!row) return this.#forgetAll();
    if (row.fingerprint !== fingerprint || row.state !== "in_flight" || row.awaiting !== 0) return;
    await this.#forgetAll();
  }

  async #forgetAll(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.#schemaReady = false;
  }

  override async alarm(): Promise<void> {
    // A lease's alarm that finds the request still running (its lease taken over by a retry) waits for the new end.
    const row = this.#row();
    if (row?.state === "in_flight" && row.lease_until_ms > Date.now()) return this.ctx.storage.setAlarm(row.lease_until_ms);
    await this.ctx.storage.deleteAll();
    this.#schemaReady = false;
  }

  #row(): Row | undefined {
    if (!this.#schemaReady) {
      this.ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS identified_payment (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_flight', 'stored')),
        lease_until_ms INTEGER NOT NULL,
        response TEXT,
        body BLOB,
        awaiting INTEGER NOT NULL DEFAULT 0,
        keep_for_ms INTEGER
      )`);
      // An object from before awaiting answers (issue #34) gets the columns; its row is an ordinary one.
      const columns = new Set(
        this.ctx.storage.sql
          .exec<{ name: string }>("SELECT name FROM pragma_table_info('identified_payment')")
          .toArray()
          .map((c) => c.name),
      );
      if (!columns.has("awaiting"))
        this.ctx.storage.sql.exec("ALTER TABLE identified_payment ADD COLUMN awaiting INTEGER NOT NULL DEFAULT 0");
      if (!columns.has("keep_for_ms")) this.ctx.storage.sql.exec("ALTER TABLE identified_payment ADD COLUMN keep_for_ms INTEGER");
      this.#schemaReady = true;
    }
    return this.ctx.storage.sql
      .exec<Row>("SELECT fingerprint, state, awaiting, keep_for_ms, lease_until_ms, response, body FROM identified_payment WHERE id = 1")
      .toArray()[0];
  }
}
