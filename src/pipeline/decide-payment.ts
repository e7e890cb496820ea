// Decides what a request to a priced route gets, before any I/O: a challenge, a 400, or a payment to verify.
import { GatewayFailure } from "../errors.js";
import { buildPaymentIdentifierExtension, PAYMENT_IDENTIFIER } from "../idempotency/payment-identifier.js";
import { sameAddress } from "../pricing/assets.js";
import type { PriceRule } from "../pricing/price-rule.js";
import type { CheckContext, CheckedPayment, SchemePlugin } from "../schemes/scheme-plugin.js";
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import { buildPaymentRequired } from "../x402/challenge.js";
import { decodePaymentSignatureHeader, MAX_PAYMENT_HEADER_CHARS, PAYMENT_SIGNATURE } from "../x402/headers.js";
import { X402_VERSION, type PaymentPayload, type PaymentRequired, type PaymentRequirements } from "../x402/schemas.js";

export type PaymentDecision =
  | { kind: "challenge"; paymentRequired: PaymentRequired }
  | { kind: "verify"; payload: PaymentPayload; requirements: PaymentRequirements; checked: CheckedPayment; plugin: SchemePlugin };

export interface DecideOptions {
  /** The offers made for this very request (pipeline/price-request.ts). */
  accepts: readonly PaymentRequirements[];
  /** Builds this request's 402 (handle-request.ts: with its sign-in-with-x challenge, if any). */
  challenge: (error: string) => PaymentRequired;
  paymentHeader: string | null;
  schemes: SchemeRegistry;
  check: CheckContext;
}

export function buildChallenge(rule: PriceRule, accepts: PaymentRequirements[], resourceUrl: string, error: string, extensions: Record<string, unknown> = {}): PaymentRequired {
  return buildPaymentRequired({
    resourceUrl,
    description: rule.description,
    mimeType: rule.mimeType,
    accepts,
    error,
    extensions: { [PAYMENT_IDENTIFIER]: buildPaymentIdentifierExtension(rule.paymentIdentifierRequired), ...extensions },
  });
}

export async function decidePayment(options: DecideOptions): Promise<PaymentDecision> {
  const challenge = (error: string): PaymentDecision => ({ kind: "challenge", paymentRequired: options.challenge(error) });

  if (options.paymentHeader === null) return challenge(`${PAYMENT_SIGNATURE} header is required`);
  if (options.paymentHeader.length > MAX_PAYMENT_HEADER_CHARS) {
    throw new GatewayFailure({ kind: "header_too_large", header: PAYMENT_SIGNATURE });
  }
  const decoded = decodePaymentSignatureHeader(options.paymentHeader);
  if (!decoded.ok) throw new GatewayFailure({ kind: "payment_malformed", reason: decoded.reason });
  const payload = decoded.value;
  if (payload.x402Version !== X402_VERSION) return challenge("invalid_x402_version");

  const offered = findOffer(options.accepts, payload.accepted);
  if (typeof offered === "string") return challenge(offered);
  const plugin = options.schemes.find(offered.scheme, offered.network);
  if (!plugin) return challenge("unsupported_scheme");
  const checked = await plugin.checkPayload(payload, offered, options.check);
  if (!checked.ok) return challenge(checked.reason);
  return { kind: "verify", payload, requirements: offered, checked: checked.value, plugin };
}

/** The offer the client's `accepted` echoes, compared on the fields that decide who gets paid how much. */
function findOffer(offers: readonly PaymentRequirements[], accepted: PaymentRequirements): PaymentRequirements | string {
  const sameScheme = offers.filter((offer) => offer.scheme === accepted.scheme);
  if (sameScheme.length === 0) return "unsupported_scheme";
  const sameNetwork = sameScheme.filter((offer) => offer.network === accepted.network);
  if (sameNetwork.length === 0) return "invalid_network";
  const match = sameNetwork.find(
    (offer) =>
      sameAddress(offer.asset, accepted.asset) &&
      sameAddress(offer.payTo, accepted.payTo) &&
      offer.amount === accepted.amount,
  );
  return match ?? "invalid_payment_requirements";
}
