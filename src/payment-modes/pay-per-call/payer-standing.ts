// Good standing: this isolate's memory that a payer's last payment settled (a facilitator verdict that moved
// money; never a claim, nor a verify alone). For STANDING_TTL_MS after it, standing buys two shortcuts on a request
// that changes nothing (GET, HEAD) under `after-origin`, and only for a payment whose signature was recovered here
// to its payer, canonical (low s, v 27 or 28) as the token's ecrecover wants it:
// - the origin is asked while verify runs: alongside the payment's claim when this isolate meets the payment for
//   the first time, else once the claim is granted (`forwardDuringVerify`, claim-and-verify.ts);
// - verify is not asked at all: settle, which checks the payment again before it moves money, is the facilitator's
//   one call (`verifyEveryPayment`).
// Nothing settles before the origin answered and nothing is returned before the payment is accepted, so a shortcut
// costs at most an origin answer thrown away. Bounded (security review F3, F5; docs/security.md): a payer has at
// most one shortcut in flight per isolate, the rest wait for verify's verdict before the origin is asked, so a
// burst of N payments from a payer who spent its balance costs the origin 1 call, not N; a refusal at verify or
// settle of a payment proven to be the payer's ends the standing (one whose signature was not proven here says
// nothing about the payer it names, and cannot end someone else's standing); a payer never seen takes no shortcut.
// docs/x402.md "Payers in good standing".

/** Payers remembered per isolate; the oldest are forgotten first. */
const REMEMBERED_PAYERS = 10_000;
/** How long one settled payment keeps its payer in good standing. */
const STANDING_TTL_MS = 5 * 60_000;
/** Payer → until when (ms) it stands. Insertion order is age: the oldest are evicted first. */
const inGoodStanding = new Map<string, number>();
/** Payers with a shortcut in flight in this isolate. */
const shortcutsInFlight = new Set<string>();

/** One payer on one network, as standing remembers it. */
export function payerKey(network: string, payer: string): string {
  return `${network}|${payer.toLowerCase()}`;
}

export const payerStanding = {
  has(key: string, nowMs: number): boolean {
    const until = inGoodStanding.get(key);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    inGoodStanding.delete(key);
    return false;
  },
  /** One of this payer's payments settled: a facilitator moved its money. */
  settled(key: string, nowMs: number): void {
    inGoodStanding.delete(key);
    inGoodStanding.set(key, nowMs + STANDING_TTL_MS);
    if (inGoodStanding.size > REMEMBERED_PAYERS) inGoodStanding.delete(inGoodStanding.keys().next().value!);
  },
  /**
   * Refused at verify or settle: the payer's next payment is verified before the origin is asked. `proven`: the
   * payment's signature was recovered to the payer here; a refusal of one that was not says nothing about the payer.
   */
  refused(key: string, proven: boolean): void {
    if (proven) inGoodStanding.delete(key);
  },
};

const SAFE_METHODS = new Set(["GET", "HEAD"]);

interface StandingTerms {
  forwardDuringVerify: boolean;
  verifyEveryPayment: boolean;
  settlement: string;
}

export interface Shortcut {
  /** Verify is left out: settle checks the payment. */
  skipVerify: boolean;
  /** Gives the payer's shortcut slot back; call once the payment's outcome is known. */
  release(): void;
}

/**
 * The shortcut this request may take, with the payer's one slot taken, or undefined: the request waits for verify's
 * verdict before the origin is asked. Verify is left out only for a payment whose every part was checked here (what
 * settle could still refuse is the chain's state: a balance, a nonce), not metered, and only while the facilitator
 * settle would go to has had no failure since its last success: verify doubles as the probe that fails over within
 * the request, and a settle cannot (a lost connection may have submitted).
 */
export function takeShortcut(
  rule: StandingTerms,
  request: { method: string; payer: string; metered: boolean; nowMs: number },
  checked: { signatureProven?: boolean },
  settlerHealthy: boolean,
): Shortcut | undefined {
  const { payer } = request;
  if (!rule.forwardDuringVerify || rule.settlement !== "after-origin" || !SAFE_METHODS.has(request.method)) return undefined;
  if (checked.signatureProven !== true || !payerStanding.has(payer, request.nowMs) || shortcutsInFlight.has(payer)) return undefined;
  shortcutsInFlight.add(payer);
  let held = true;
  return {
    skipVerify: !rule.verifyEveryPayment && !request.metered && settlerHealthy,
    release() {
      if (held) shortcutsInFlight.delete(payer);
      held = false;
    },
  };
}
