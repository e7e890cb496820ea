// Verify and settle across several facilitators (docs/facilitators.md "Failover"). Verify moves no money, so it
// fails over to the next facilitator on any fault. Settle goes to the facilitator that verified, and moves on
// only when an attempt provably submitted nothing: anything else may have reached the chain and stays unknown.
// Each phase as a whole, failover included, lasts at most the longest timeout any candidate has for it: that bound
// is what a payment's validity window counts on (pipeline/payment-window.ts), so a failover never starts a settle
// the payment cannot outlive.
import { GatewayFailure } from "../errors.js";
import type { SettleResponse, VerifyResponse } from "../x402/schemas.js";
import type { FacilitatorRequest } from "../x402/facilitator-request.js";
import { describeError, type FacilitatorView, type ViewEntry } from "./facilitator-view.js";

export interface Attempted<T> {
  entry: ViewEntry;
  response: T;
}

/** Whether a settle failed before any facilitator could act on it (or before one was asked at all). */
export function isNotSubmitted(error: unknown): boolean {
  if (!(error instanceof GatewayFailure)) return false;
  const { kind } = error.error;
  return kind === "config_invalid" || (kind === "facilitator_unavailable" && error.error.notSubmitted === true);
}

function noFacilitator(what: string): GatewayFailure {
  return new GatewayFailure({ kind: "facilitator_unavailable", detail: `no facilitator available to ${what}`, notSubmitted: true });
}

/**
 * One call to one facilitator, its outcome counted against the facilitator's circuit. A configuration fault
 * (a missing secret) is the operator's, not the facilitator's: logged, not counted. Throws only GatewayFailures.
 */
async function callCounted<T>(
  view: FacilitatorView,
  entry: ViewEntry,
  operation: "verify" | "settle",
  nowMs: () => number,
  request: FacilitatorRequest,
  timeoutMs: number,
): Promise<T> {
  const started = nowMs();
  try {
    const client = view.client(entry);
    const response = (await (operation === "verify" ? client.verify(request, timeoutMs) : client.settle(request, timeoutMs))) as T;
    view.record(entry, true, nowMs() - started);
    return response;
  } catch (error) {
    if (!(error instanceof GatewayFailure)) throw error;
    if (error.error.kind === "config_invalid") {
      console.error(JSON.stringify({ event: "facilitator_misconfigured", facilitator: entry.facilitator.id, detail: error.error.detail }));
    } else if (error.error.kind === "facilitator_unavailable" && error.error.rateLimited) {
      // A rate limit is the facilitator's quota, which anyone's traffic can spend: this request fails over, but the
      // circuit stays closed for everyone else (security review F12).
      console.warn(JSON.stringify({ event: "facilitator_rate_limited", facilitator: entry.facilitator.id, operation }));
    } else {
      view.record(entry, false, nowMs() - started, `${operation}: ${describeError(error)}`);
    }
    throw error;
  }
}

/**
 * When a phase over these candidates must end: the longest timeout any of them has for it, from now; or `endsAtMs`,
 * when a phase already under way goes on (a settle resubmitted after the chain said the first did not land).
 */
function phaseDeadline(
  candidates: readonly ViewEntry[],
  timeout: (entry: ViewEntry) => number,
  nowMs: () => number,
  endsAtMs?: number,
): () => number {
  const deadlineMs = endsAtMs ?? nowMs() + Math.max(0, ...candidates.map(timeout));
  return () => deadlineMs - nowMs();
}

export async function verifyWithFailover(
  view: FacilitatorView,
  candidates: readonly ViewEntry[],
  request: FacilitatorRequest,
  nowMs: () => number,
): Promise<Attempted<VerifyResponse>> {
  let lastError: unknown;
  const remainingMs = phaseDeadline(candidates, (entry) => entry.facilitator.verifyTimeoutMs, nowMs);
  for (const entry of candidates) {
    if (remainingMs() <= 0) break;
    if (!(await view.admit(entry))) continue;
    try {
      return { entry, response: await callCounted<VerifyResponse>(view, entry, "verify", nowMs, request, remainingMs()) };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError ?? noFacilitator("verify this payment");
}

/**
 * `verifier`: the facilitator that verified the payment, asked first; absent when verify was not asked
 * (payment-modes/pay-per-call/payer-standing.ts), and the candidates are tried in order. `onAttempt` names each facilitator as it is
 * asked, so the ledger says who settled (or was last asked). Throws the first error that may have submitted; when
 * every attempt provably did not, the last such error.
 */
export async function settleWithFailover(
  view: FacilitatorView,
  verifier: ViewEntry | undefined,
  candidates: readonly ViewEntry[],
  request: FacilitatorRequest,
  nowMs: () => number,
  onAttempt: (entry: ViewEntry) => void,
  endsAtMs?: number,
): Promise<Attempted<SettleResponse>> {
  let lastError: unknown;
  const remainingMs = phaseDeadline(candidates, (entry) => entry.facilitator.settleTimeoutMs, nowMs, endsAtMs);
  for (const entry of verifier ? [verifier, ...candidates.filter((c) => c !== verifier)] : candidates) {
    // Out of budget: the payment may not outlive another attempt, and this one is certainly not submitted.
    if (remainingMs() <= 0) break;
    // The verifier just answered; the others must pass their circuit like any call.
    if (entry !== verifier && !(await view.admit(entry))) continue;
    onAttempt(entry);
    try {
      return { entry, response: await callCounted<SettleResponse>(view, entry, "settle", nowMs, request, remainingMs()) };
    } catch (error) {
      if (!isNotSubmitted(error)) throw error;
      lastError = error;
    }
  }
  throw lastError ?? noFacilitator("settle this payment");
}
