// FacilitatorState Durable Object: one per rules document (named by its KV key). Holds, per facilitator, its
// circuit (failures, open/half-open, latency) and its last `GET /supported` answer, so every isolate sees the
// same health and a new isolate need not ask each facilitator again. RPC surface: read, report, storeSupported,
// claimProbe.
import { DurableObject } from "cloudflare:workers";
import type { SupportedKind } from "../schemes/scheme-plugin.js";
import { applyOutcome, canProbe, countSuccess, HEALTHY, type CallOutcome, type FacilitatorHealth } from "./circuit.js";
import type { CircuitPolicy } from "./facilitator-config.js";

export interface SupportedAnswer {
  kinds: SupportedKind[];
  signers: Record<string, string[]>;
  fetchedAtMs: number;
}

export interface FacilitatorRecord {
  health: FacilitatorHealth;
  supported: SupportedAnswer | null;
}

export interface ReportedOutcome extends CallOutcome {
  /** facilitator id + url (facilitator/facilitator-view.ts `stateKey`). */
  key: string;
}

interface StateRow {
  key: string;
  health: string;
  supported: string | null;
  [column: string]: SqlStorageValue;
}

const SCHEMA_VERSION = 1;

export class FacilitatorState extends DurableObject<unknown> {
  #schemaReady = false;
  /** What storage holds, read once per key: this object is the only writer, and every isolate reads it here. */
  readonly #records = new Map<string, FacilitatorRecord>();

  read(keys: string[]): Record<string, FacilitatorRecord> {
    const records: Record<string, FacilitatorRecord> = {};
    for (const key of keys) records[key] = this.#record(key);
    return records;
  }

  /**
   * Applies call outcomes in order; returns the facilitators' health afterwards. `counted`: successes an isolate
   * saw while the circuit was healthy, sent late in a batch (facilitator-view.ts): they count calls and latency
   * but do not move the circuit, which other isolates' failures may have moved since.
   */
  report(outcomes: ReportedOutcome[], policy: CircuitPolicy, counted: ReportedOutcome[] = []): Record<string, FacilitatorHealth> {
    const after: Record<string, FacilitatorHealth> = {};
    for (const outcome of counted) after[outcome.key] = countSuccess(after[outcome.key] ?? this.#record(outcome.key).health, outcome);
    for (const outcome of outcomes)
      after[outcome.key] = applyOutcome(after[outcome.key] ?? this.#record(outcome.key).health, outcome, policy);
    // One write per facilitator, however many outcomes it had.
    for (const [key, health] of Object.entries(after)) this.#writeHealth(key, health);
    return after;
  }

  /** Keeps the newer of two answers, so a slow refresh cannot overwrite a fresher one. */
  storeSupported(key: string, supported: SupportedAnswer): void {
    const record = this.#record(key);
    if (record.supported && record.supported.fetchedAtMs >= supported.fetchedAtMs) return;
    this.#records.set(key, { ...record, supported });
    this.ctx.storage.sql.exec(
      "INSERT INTO facilitator_state (key, health, supported) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET supported = excluded.supported",
      key,
      JSON.stringify(record.health),
      JSON.stringify(supported),
    );
  }

  /** Hands out the one probe of a half-open circuit; false when it is closed, still open, or a probe is out. */
  claimProbe(key: string, policy: CircuitPolicy, nowMs: number): boolean {
    const record = this.#record(key);
    if (!canProbe(record.health, policy, nowMs)) return false;
    this.#writeHealth(key, { ...record.health, probeAtMs: nowMs });
    return true;
  }

  #record(key: string): FacilitatorRecord {
    const known = this.#records.get(key);
    if (known) return known;
    this.#schema();
    const row = this.ctx.storage.sql.exec<StateRow>("SELECT * FROM facilitator_state WHERE key = ?", key).toArray()[0];
    const record = row
      ? {
          health: JSON.parse(row.health) as FacilitatorHealth,
          supported: row.supported ? (JSON.parse(row.supported) as SupportedAnswer) : null,
        }
      : { health: HEALTHY, supported: null };
    this.#records.set(key, record);
    return record;
  }

  /** The health column only: the `/supported` answer beside it is larger and changes far less often. */
  #writeHealth(key: string, health: FacilitatorHealth): void {
    const record = this.#record(key);
    this.#records.set(key, { ...record, health });
    // A row exists whenever there is a `/supported` answer (storeSupported writes it), so a new row has none.
    this.ctx.storage.sql.exec(
      "INSERT INTO facilitator_state (key, health, supported) VALUES (?, ?, NULL) ON CONFLICT (key) DO UPDATE SET health = excluded.health",
      key,
      JSON.stringify(health),
    );
  }

  #schema(): void {
    if (this.#schemaReady) return;
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const current = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
    if (current < SCHEMA_VERSION) {
      sql.exec("CREATE TABLE IF NOT EXISTS facilitator_state (key TEXT PRIMARY KEY, health TEXT NOT NULL, supported TEXT)");
      sql.exec("DELETE FROM schema_version");
      sql.exec("INSERT INTO schema_version (version) VALUES (?)", SCHEMA_VERSION);
    }
    this.#schemaReady = true;
  }
}
