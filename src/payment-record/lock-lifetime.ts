// How long a payment's lock outlives its request: both where it is taken (claim-payment.ts) and where the
// reconciler holds a dead request's lock (reconciler.ts) keep it by the same rule.

/** Kept after settlement until the authorization can no longer settle, plus this margin. */
export const FORGET_MARGIN_MS = 10 * 60 * 1000;
/** The longest a settled payment's lock is kept, however long its authorization stays valid (F18). */
export const FORGET_AFTER_MAX_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * When a lock may be forgotten. A payer may sign an authorization valid for centuries: its lock is kept at most
 * FORGET_AFTER_MAX_MS (an alarm time must be a date; a replay after that is refused on chain, where the nonce stays
 * spent).
 */
export function forgetAtMs(expiresAtSeconds: number, nowMs: number): number {
  return Math.min(Math.max(expiresAtSeconds * 1000, nowMs), nowMs + FORGET_AFTER_MAX_MS) + FORGET_MARGIN_MS;
}
