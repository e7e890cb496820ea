// The replay lock and the facilitator's verify of one payment. A payment this isolate meets for the first time
// has its verify, and its early origin call when the payer's standing allows one, sent alongside its claim: verify
// moves no money, the origin is only asked a GET, and settle still waits for the claim, so the lock keeps its place
// before anything that could settle while the claim's round trip leaves the paid path. A payment met before (a
// replay, a retry after a refusal) is claimed first, so one whose lock is held costs no facilitator or origin call.
// Copies of one payment in this isolate never race each other to the lock: a copy whose claim is still out here
// waits for it, so the origin is asked at most once per payment per isolate.
import type { Attempted } from "../../facilitator/facilitator-pool.js";
import type { ClaimOutcome } from "../../payment-record/claim-payment.js";
import type { VerifyResponse } from "../../x402/schemas.js";
import { LockHandle, type WaitUntil } from "../../pipeline/payment-tracking.js";

/** Claims this isolate is waiting on, by payment key. */
const claimsInFlight = new Map<string, Promise<ClaimOutcome>>();

/** Payment keys remembered per isolate: enough for the copies of a payment to arrive while it is in flight. */
const REMEMBERED_KEYS = 10_000;
const metBefore = new Set<string>();

/** True the first time this isolate meets `paymentKey` (until it is crowded out of memory, oldest first). */
export function firstMeeting(paymentKey: string): boolean {
  if (metBefore.has(paymentKey)) return false;
  metBefore.add(paymentKey);
  if (metBefore.size > REMEMBERED_KEYS) metBefore.delete(metBefore.values().next().value!);
  return true;
}

export type ClaimAndVerifyOutcome =
  | { kind: "held" }
  /** The payer's one exclusive slot (a metered stream) is taken by another of its payments. */
  | { kind: "busy" }
  /** The facilitator refused the payment; its lock is released. */
  | { kind: "refused"; verified: Attempted<VerifyResponse> }
  /** `verified` is absent when verify was not asked (payer-standing.ts): settle will check the payment. */
  | { kind: "accepted"; lock: LockHandle; verified: Attempted<VerifyResponse> | undefined; verifyMs: number };

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export async function claimAndVerify(options: {
  paymentKey: string;
  claim: () => Promise<ClaimOutcome>;
  /** Absent: the payment is only claimed. */
  verify: (() => Promise<Attempted<VerifyResponse>>) | undefined;
  /**
   * Asks the origin before verify has answered (payer-standing.ts): alongside the claim for a payment met
   * for the first time, else once the claim is granted.
   */
  askOriginEarly?: () => void;
  ctx: WaitUntil;
  nowMs: () => number;
}): Promise<ClaimAndVerifyOutcome> {
  const { paymentKey, nowMs, verify: ask } = options;
  const verify =
    ask &&
    ((): Promise<Settled<Attempted<VerifyResponse>>> =>
      ask().then(
        (value) => ({ ok: true, value }),
        (error: unknown) => ({ ok: false, error }),
      ));
  // A copy of a payment whose claim is out here: taken (by that copy, or elsewhere) means this one is a replay.
  // Inline, not a helper to await: with no claim out, nothing may yield between this look and the claim's entry.
  for (let other = claimsInFlight.get(paymentKey); other; ) {
    if (
      await other.then(
        () => true,
        () => false,
      )
    )
      return { kind: "held" };
    const next = claimsInFlight.get(paymentKey);
    other = next === other ? undefined : next;
  }
  const first = firstMeeting(paymentKey);
  let verifyStartedAtMs = nowMs();
  // Settled-or-failed, never rejected: a verify whose claim failed or was held is simply not looked at.
  let verifying = verify && first ? verify() : undefined;
  if (first) options.askOriginEarly?.();
  const claiming = options.claim();
  claimsInFlight.set(paymentKey, claiming);
  let claimed: ClaimOutcome;
  try {
    claimed = await claiming;
  } finally {
    if (claimsInFlight.get(paymentKey) === claiming) claimsInFlight.delete(paymentKey);
  }
  if (claimed.kind !== "claimed") return { kind: claimed.kind };
  const lock = new LockHandle(claimed.claim, options.ctx, paymentKey);
  if (!first) options.askOriginEarly?.();
  if (!verify) return { kind: "accepted", lock, verified: undefined, verifyMs: 0 };
  if (!verifying) {
    verifyStartedAtMs = nowMs();
    verifying = verify();
  }
  const result = await verifying;
  if (!result.ok) {
    lock.releaseUnverified();
    throw result.error;
  }
  if (!result.value.response.isValid) {
    lock.releaseUnverified();
    return { kind: "refused", verified: result.value };
  }
  return { kind: "accepted", lock, verified: result.value, verifyMs: nowMs() - verifyStartedAtMs };
}
