// Good standing: this isolate's memory that a payer's last payment was accepted (passed verify, or settled).
// Standing buys two shortcuts on a request that changes nothing (GET, HEAD) under `after-origin`:
// - the origin is asked while verify runs: alongside the payment's claim when this isolate meets the payment for
//   the first time, else once the claim is granted (`forwardDuringVerify`, claim-and-verify.ts);
// - when the payment was checked here in full, its signature recovered, verify is not asked at all: settle, which
//   checks the payment again before it moves money, is the facilitator's one call (`verifyEveryPayment`).
// Nothing settles before the origin answered and nothing is returned before the payment is accepted, so either
// shortcut can cost at most an origin answer thrown away. A refusal at verify or settle ends the standing, so each
// accepted payment buys at most one such answer. A payer never seen takes no shortcut; a replay this isolate has
// seen waits for its claim, which is held, and never reaches the origin (a copy another isolate met first is
// answered there, and the answer thrown away). docs/x402.md "Payers in good standing".

/** Payers remembered per isolate; the oldest are forgotten first. */
const REMEMBERED_PAYERS = 10_000;
const inGoodStanding = new Set<string>();

/** One payer on one network, as standing remembers it. */
export function payerKey(network: string, payer: string): string {
  return `${network}|${payer.toLowerCase()}`;
}

export const payerStanding = {
  has: (key: string): boolean => inGoodStanding.has(key),
  /** One of this payer's payments was accepted (verified, or settled). */
  accepted(key: string): void {
    inGoodStanding.delete(key);
    inGoodStanding.add(key);
    if (inGoodStanding.size > REMEMBERED_PAYERS) inGoodStanding.delete(inGoodStanding.values().next().value!);
  },
  /** Refused at verify or settle: the payer's next payment is verified before the origin is asked. */
  refused(key: string): void {
    inGoodStanding.delete(key);
  },
};

const SAFE_METHODS = new Set(["GET", "HEAD"]);

interface StandingTerms {
  forwardDuringVerify: boolean;
  verifyEveryPayment: boolean;
  settlement: string;
}

/** Whether the origin may be asked before verify has answered. */
export function mayAskDuringVerify(rule: StandingTerms, method: string, payer: string): boolean {
  return rule.forwardDuringVerify && rule.settlement === "after-origin" && SAFE_METHODS.has(method) && payerStanding.has(payer);
}

/**
 * Whether verify may be left out. Only where the origin may be asked early anyway, only for a payment whose every
 * part was checked here (what settle could still refuse is the chain's state: a balance, a nonce), and only while
 * the facilitator settle would go to has had no failure since its last success. Verify doubles as the probe that
 * fails over to the next facilitator within the request; a settle cannot (a lost connection may have submitted),
 * so a facilitator that just died costs the one request that finds it dead a 502, and the next ones verify again.
 */
export function maySkipVerify(
  rule: StandingTerms,
  request: { method: string; payer: string; metered: boolean },
  checked: { signatureProven?: boolean },
  settlerHealthy: boolean,
): boolean {
  return !rule.verifyEveryPayment && checked.signatureProven === true && !request.metered && settlerHealthy && mayAskDuringVerify(rule, request.method, request.payer);
}
