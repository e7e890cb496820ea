// What a payment mode is handed. A priced request runs one skeleton (pipeline/serve-priced.ts):
//
//   challenge → check → admit → claim → verify / forward → settle → answer
//
// The orchestrator owns the first three: the 402 and its reasons, the payment's local check (the scheme plugin),
// and admission (rate limit, body size, a facilitator that can settle it). A mode owns the rest, each in its own
// folder: pay-per-call/ (one payment, one lock, settled on chain), channel/ (a voucher on a batch-settlement channel,
// charged in its Durable Object) and session/ (a wallet's paid session: a request it covers is served with no
// payment at all, so it is tried before pricing).
import type { GatewayBindings } from "../bindings.js";
import type { FacilitatorView, ViewEntry } from "../facilitator/facilitator-view.js";
import type { GatewayConfig } from "../gateway-config.js";
import type { RequestLog } from "../observability/request-log.js";
import type { PaymentDecision } from "../pipeline/decide-payment.js";
import type { GatewayDeps } from "../pipeline/gateway-deps.js";
import type { WaitUntil } from "../pipeline/payment-tracking.js";
import type { ResolvedFacilitator } from "../facilitator/facilitator-config.js";
import type { PriceRule, PriceRuleSet } from "../pricing/price-rule.js";
import type { FacilitatorRequest } from "../x402/facilitator-request.js";
import type { PaymentRequired } from "../x402/schemas.js";
import type { SessionOffer } from "../sessions/session-offer.js";

/** One request matched to a priced rule: what every stage after matching reads. */
export interface PricedCall {
  env: GatewayBindings;
  config: GatewayConfig;
  deps: GatewayDeps;
  ctx: WaitUntil;
  log: RequestLog;
  ruleSet: PriceRuleSet;
  rule: PriceRule;
  /** The resource the payment is for: the request's URL. */
  resourceUrl: string;
  /** The rule's facilitators, resolved with their secrets' names and timeouts. */
  facilitators: ResolvedFacilitator[];
}

/** A payment that passed its scheme's local check and was admitted: what a paying mode serves. */
export interface AdmittedPayment {
  call: PricedCall;
  /** The request, its body sized. */
  request: Request;
  decision: Extract<PaymentDecision, { kind: "verify" }>;
  view: FacilitatorView;
  /** The facilitators that can settle it, in the order they are asked. */
  candidates: readonly ViewEntry[];
  facilitatorRequest: FacilitatorRequest;
  /** How long the payment is held for this request if its Worker dies midway. */
  leaseMs: number;
  /** How long the payment must stay valid to settle after everything that runs first (payment-window.ts). */
  validityWindowSeconds: number;
  /** A metered stream's longest life; 0 for any other answer. */
  streamSeconds: number;
  /** The rule's session terms for this request, when a settled payment opens a session. */
  session: SessionOffer | undefined;
  /** This request's 402 body with `reason` (its log line records the reason). */
  challenge(reason: string): PaymentRequired;
  /** Asks the origin for the paid answer. */
  forward(): Promise<Response>;
}
