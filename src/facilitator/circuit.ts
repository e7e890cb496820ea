// The circuit breaker of one facilitator, as a pure state machine shared by the FacilitatorState Durable Object
// (where all isolates agree) and each isolate's cached copy (so a failure seen here counts here at once).
import type { CircuitPolicy } from "./facilitator-config.js";

export interface FacilitatorHealth {
  consecutiveFailures: number;
  state: "closed" | "open";
  /** When the circuit last opened (or a probe failed). */
  openedAtMs: number | null;
  /** When the current half-open probe was handed out; null: none out. */
  probeAtMs: number | null;
  /** Moving average of successful calls' durations. */
  latencyMs: number | null;
  lastError: string | null;
  calls: number;
  failures: number;
}

export interface CallOutcome {
  ok: boolean;
  latencyMs: number;
  atMs: number;
  error?: string;
}

export type Availability = "closed" | "open" | "half-open";

export const HEALTHY: FacilitatorHealth = {
  consecutiveFailures: 0,
  state: "closed",
  openedAtMs: null,
  probeAtMs: null,
  latencyMs: null,
  lastError: null,
  calls: 0,
  failures: 0,
};

/** Weight of the newest sample in the latency average. */
const LATENCY_WEIGHT = 0.2;

export function applyOutcome(health: FacilitatorHealth, outcome: CallOutcome, policy: CircuitPolicy): FacilitatorHealth {
  const calls = health.calls + 1;
  if (outcome.ok) return { ...countSuccess(health, outcome), consecutiveFailures: 0, state: "closed", openedAtMs: null, probeAtMs: null };
  const consecutiveFailures = health.consecutiveFailures + 1;
  const failures = health.failures + 1;
  const lastError = outcome.error ?? "failed";
  // A failed probe (or any failure while open) starts the open period again.
  if (health.state === "open" || consecutiveFailures >= policy.failureThreshold) {
    return { ...health, consecutiveFailures, failures, calls, lastError, state: "open", openedAtMs: outcome.atMs, probeAtMs: null };
  }
  return { ...health, consecutiveFailures, failures, calls, lastError };
}

/**
 * A success counted without touching the circuit: one an isolate saw while its view was healthy and reports
 * late (facilitator-view.ts), when other isolates' failures may have come since.
 */
export function countSuccess(health: FacilitatorHealth, outcome: Pick<CallOutcome, "latencyMs">): FacilitatorHealth {
  const latencyMs =
    health.latencyMs === null ? outcome.latencyMs : health.latencyMs + LATENCY_WEIGHT * (outcome.latencyMs - health.latencyMs);
  return { ...health, latencyMs: Math.round(latencyMs), calls: health.calls + 1 };
}

export function availabilityOf(health: FacilitatorHealth, policy: CircuitPolicy, nowMs: number): Availability {
  if (health.state === "closed") return "closed";
  return nowMs - (health.openedAtMs ?? 0) >= policy.openSeconds * 1000 ? "half-open" : "open";
}

/** Half-open: one probe at a time; a probe that never reports back frees the slot after another open period. */
export function canProbe(health: FacilitatorHealth, policy: CircuitPolicy, nowMs: number): boolean {
  if (availabilityOf(health, policy, nowMs) !== "half-open") return false;
  return health.probeAtMs === null || nowMs - health.probeAtMs >= policy.openSeconds * 1000;
}
