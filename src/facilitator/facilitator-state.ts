// FacilitatorState Durable Object: one per rules document (named by its KV key). Holds, per facilitator, its
// circuit (failures, open/half-open, latency) and its last `GET /supported` answer, so every isolate sees the
// same health and a new isolate need not ask each facilitator again. RPC surface: read, report, storeSupported,
// claimProbe.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.js";
import type { SupportedKind } from "../schemes/scheme-plugin.js";
import { applyOutcome, canProbe, HEALTHY, type CallOutcome, type FacilitatorHealth } from "./circuit.js";
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

export class FacilitatorState extends DurableObject<Env> {
  #schemaReady = false;

  read(keys: string[]): Record<string, FacilitatorRecord> {
    const records: Record<string, FacilitatorRecord> = {};
    for (const key of keys) records[key] = this.#record(key);
    return records;
  }

  /** Applies call outcomes in order; returns the facilitators' health afterwards. */
  report(outcomes: ReportedOutcome[], policy: CircuitPolicy): Record<string, FacilitatorHealth> {
    const after: Record<string, FacilitatorHealth> = {};
    for (const outcome of outcomes) {
      const record = this.#record(outcome.key);
      after[outcome.key] = applyOutcome(record.health, outcome, policy);
      this.#write(outcome.key, after[outcome.key]!, record.supported);
    }
    return after;
  }

  /** Keeps the newer of two answers, so a slow refresh cannot overwrite a fresher one. */
  storeSupported(key: string, supported: SupportedAnswer): void {
    const record = this.#record(key);
    if (record.supported && record.supported.fetchedAtMs >= supported.fetchedAtMs) return;
    this.#write(key, record.health, supported);
  }

  /** Hands out the one probe of a half-open circuit; false when it is closed, still open, or a probe is out. */
  claimProbe(key: string, policy: CircuitPolicy, nowMs: number): boolean {
    const record = this.#record(key);
    if (!canProbe(record.health, policy, nowMs)) return false;
    this.#write(key, { ...record.health, probeAtMs: nowMs }, record.supported);
    return true;
  }

  #record(key: string): FacilitatorRecord {
    this.#schema();
    const row = this.ctx.storage.sql.exec<StateRow>("SELECT * FROM facilitator_state WHERE key = ?", key).toArray()[0];
    if (!row) return { health: HEALTHY, supported: null };
    return { health: JSON.parse(row.health) as FacilitatorHealth, supported: row.supported ? (JSON.parse(row.supported) as SupportedAnswer) : null };
  }

  #write(key: string, health: FacilitatorHealth, supported: SupportedAnswer | null): void {
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO facilitator_state (key, health, supported) VALUES (?, ?, ?)",
      key,
      JSON.stringify(health),
      supported ? JSON.stringify(supported) : null,
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
