// PaymentIdentifierRecord Durable Object: one per client-chosen payment identifier. Remembers which payment
// the id belongs to and, once that payment settled, the response it bought, so a retry after a timeout gets
// the same answer instead of a second charge. RPC surface: begin, store, abandon.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";

/** A response as kept for retries. `body` is null when it was larger than the configured limit. */
export interface StoredResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: ArrayBuffer | null;
}

export type BeginResult =
  | { kind: "new" }
  | { kind: "conflict" }
  | { kind: "in_flight" }
  | { kind: "stored"; response: StoredResponse };

interface Row {
  fingerprint: string;
  state: "in_flight" | "stored";
  lease_until_ms: number;
  response: string | null;
  body: ArrayBuffer | null;
  [key: string]: SqlStorageValue;
}

export class PaymentIdentifierRecord extends DurableObject<Env> {
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
    this.ctx.storage.sql.exec("UPDATE identified_payment SET state = 'stored', response = ?, body = ? WHERE id = 1", JSON.stringify(meta), body);
    await this.ctx.storage.setAlarm(forgetAtMs);
  }

  /** Nothing was charged: forget the id so a retry runs again. */
  async abandon(fingerprint: string): Promise<void> {
    const row = this.#row();
    if (row?.fingerprint !== fingerprint || row.state !== "in_flight") return;
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
        body BLOB
      )`);
      this.#schemaReady = true;
    }
    return this.ctx.storage.sql.exec<Row>("SELECT fingerprint, state, lease_until_ms, response, body FROM identified_payment WHERE id = 1").toArray()[0];
  }
}
