// Decides what a request to a priced route gets, before any I/O: a challenge, a 400, or a payment to verify.
import { GatewayFailure } from "../errors.js";
import { sameAddress } from "../pricing/assets.js";
import type { CheckContext, CheckedPayment, SchemePlugin } from "../schemes/scheme-plugin.js";
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import { decodePaymentSignatureHeader, MAX_PAYMENT_HEADER_CHARS, PAYMENT_SIGNATURE, X_PAYMENT } from "../x402/headers.js";
import {
  caip2FromV1,
  decodeXPaymentHeader,
  MAX_X_PAYMENT_CHARS,
  toV1Requirements,
  type PaymentPayloadV1,
  type PaymentRequirementsV1,
} from "../x402/v1.js";
import { X402_VERSION, type PaymentPayload, type PaymentRequired, type PaymentRequirements } from "../x402/schemas.js";

export type PaymentDecision =
  | { kind: "challenge"; paymentRequired: PaymentRequired }
  | {
      kind: "verify";
      payload: PaymentPayload;
      requirements: PaymentRequirements;
      checked: CheckedPayment;
      plugin: SchemePlugin;
      /** Set when the client paid in V1 (`X-PAYMENT`): the facilitator is spoken to in V1 too. */
      v1?: { payload: PaymentPayloadV1; requirements: PaymentRequirementsV1 };
    };

export interface DecideOptions {
  /** The offers made for this very request (pipeline/price-request.ts). */
  accepts: readonly PaymentRequirements[];
  /** Builds this request's 402 (challenge-response.ts: with its extensions). */
  challenge: (error: string) => PaymentRequired;
  paymentHeader: string | null;
  /** The V1 `X-PAYMENT` header; looked at only without a V2 payment. */
  v1Header: string | null;
  resource: PaymentRequired["resource"];
  /** The rule's own plugins (delegated kinds included), then the registry. */
  schemes: Pick<SchemeRegistry, "find">;
  check: CheckContext;
}

export async function decidePayment(options: DecideOptions): Promise<PaymentDecision> {
  const challenge = (error: string): PaymentDecision => ({ kind: "challenge", paymentRequired: options.challenge(error) });

  if (options.paymentHeader === null && options.v1Header !== null) return decideV1Payment(options, options.v1Header, challenge);
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

/**
 * V1 payloads name only scheme and network (no echoed offer): each offer on that network is tried with the
 * scheme's own checks, which pin recipient and amount; the first that passes is the one paid.
 */
async function decideV1Payment(
  options: DecideOptions,
  header: string,
  challenge: (error: string) => PaymentDecision,
): Promise<PaymentDecision> {
  if (header.length > MAX_X_PAYMENT_CHARS) throw new GatewayFailure({ kind: "header_too_large", header: X_PAYMENT });
  const decoded = decodeXPaymentHeader(header);
  if (!decoded.ok) throw new GatewayFailure({ kind: "payment_malformed", reason: decoded.reason });
  const v1Payload = decoded.value;
  if (v1Payload.x402Version !== 1) return challenge("invalid_x402_version");
  const sameScheme = options.accepts.filter((offer) => offer.scheme === v1Payload.scheme);
  if (sameScheme.length === 0) return challenge("unsupported_scheme");
  const network = caip2FromV1(v1Payload.network);
  const candidates = sameScheme.filter((offer) => offer.network === network);
  if (candidates.length === 0) return challenge("invalid_network");
  let firstFailure: string | undefined;
  for (const offer of candidates) {
    const plugin = options.schemes.find(offer.scheme, offer.network);
    const v1Requirements = toV1Requirements(offer, options.resource);
    if (!plugin || !v1Requirements) continue;
    const payload: PaymentPayload = { x402Version: 1, accepted: offer, payload: v1Payload.payload };
    const checked = await plugin.checkPayload(payload, offer, options.check);
    if (checked.ok)
      return {
        kind: "verify",
        payload,
        requirements: offer,
        checked: checked.value,
        plugin,
        v1: { payload: v1Payload, requirements: v1Requirements },
      };
    firstFailure ??= checked.reason;
  }
  return challenge(firstFailure ?? "unsupported_scheme");
}

/** The offer the client's `accepted` echoes, compared on the fields that decide who gets paid how much. */
function findOffer(offers: readonly PaymentRequirements[], accepted: PaymentRequirements): PaymentRequirements | string {
  const sameScheme = offers.filter((offer) => offer.scheme === accepted.scheme);
  if (sameScheme.length === 0) return "unsupported_scheme";
  const sameNetwork = sameScheme.filter((offer) => offer.network === accepted.network);
  if (sameNetwork.length === 0) return "invalid_network";
  const match = sameNetwork.find(
    (offer) => sameAddress(offer.asset, accepted.asset) && sameAddress(offer.payTo, accepted.payTo) && offer.amount === accepted.amount,
  );
  return match ?? "invalid_payment_requirements";
}
