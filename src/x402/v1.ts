// x402 V1 on the wire, for clients that still speak it (`X-PAYMENT`, a body-based 402 with `x402Version: 1`,
// `X-PAYMENT-RESPONSE`). Inside, everything stays V2: V1 names are mapped to CAIP-2 at this boundary. Pure.
import * as z from "zod";
import { decodeBase64Json, type DecodeResult } from "./headers.js";
import type { PaymentRequired, PaymentRequirements, SettleResponse } from "./schemas.js";

/** V1 network names → CAIP-2. */
const V1_NETWORKS: Record<string, string> = {
  ethereum: "eip155:1",
  sepolia: "eip155:11155111",
  base: "eip155:8453",
  "base-sepolia": "eip155:84532",
  avalanche: "eip155:43114",
  "avalanche-fuji": "eip155:43113",
  polygon: "eip155:137",
  "polygon-amoy": "eip155:80002",
  abstract: "eip155:2741",
  "abstract-testnet": "eip155:11124",
  iotex: "eip155:4689",
  sei: "eip155:1329",
  "sei-testnet": "eip155:1328",
  peaq: "eip155:3338",
  story: "eip155:1514",
  educhain: "eip155:41923",
  "skale-base-sepolia": "eip155:324705682",
  solana: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
  "solana-devnet": "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
};
const BY_CAIP2 = new Map(Object.entries(V1_NETWORKS).map(([name, caip2]) => [caip2, name]));

export function caip2FromV1(name: string): string | undefined {
  return Object.hasOwn(V1_NETWORKS, name) ? V1_NETWORKS[name] : undefined;
}

function v1NameOf(network: string): string | undefined {
  return BY_CAIP2.get(network);
}

// x402Version is checked after parsing, as for V2 (a wrong version is a 402 the client can act on).
const PaymentPayloadV1Schema = z.object({
  x402Version: z.number().int(),
  scheme: z.string().min(1).max(64),
  network: z.string().min(1).max(64),
  payload: z.record(z.string(), z.unknown()),
});
export type PaymentPayloadV1 = z.infer<typeof PaymentPayloadV1Schema>;

export interface PaymentRequirementsV1 {
  scheme: string;
  network: string;
  maxAmountRequired: string;
  resource: string;
  description: string;
  mimeType: string;
  payTo: string;
  maxTimeoutSeconds: number;
  asset: string;
  extra?: Record<string, unknown>;
}

export interface PaymentRequiredV1 {
  x402Version: 1;
  error: string;
  accepts: PaymentRequirementsV1[];
}

/** Largest `X-PAYMENT` accepted, in characters (as for `PAYMENT-SIGNATURE`). */
export const MAX_X_PAYMENT_CHARS = 16 * 1024;

export function decodeXPaymentHeader(header: string): DecodeResult<PaymentPayloadV1> {
  return decodeBase64Json(header, PaymentPayloadV1Schema);
}

/** undefined when the offer's network has no V1 name (V1 clients cannot pay it). */
export function toV1Requirements(offer: PaymentRequirements, resource: PaymentRequired["resource"]): PaymentRequirementsV1 | undefined {
  const network = v1NameOf(offer.network);
  if (network === undefined) return undefined;
  return {
    scheme: offer.scheme,
    network,
    maxAmountRequired: offer.amount,
    resource: resource.url,
    description: resource.description ?? "",
    mimeType: resource.mimeType ?? "application/json",
    payTo: offer.payTo,
    maxTimeoutSeconds: offer.maxTimeoutSeconds,
    asset: offer.asset,
    ...(offer.extra ? { extra: offer.extra } : {}),
  };
}

/** The V1 body of a 402, or undefined when no offer is payable by a V1 client. */
export function toV1PaymentRequired(paymentRequired: PaymentRequired): PaymentRequiredV1 | undefined {
  const accepts = paymentRequired.accepts.flatMap((offer) => toV1Requirements(offer, paymentRequired.resource) ?? []);
  if (accepts.length === 0) return undefined;
  return { x402Version: 1, error: paymentRequired.error ?? "", accepts };
}

export function toV1SettleResponse(settled: SettleResponse): SettleResponse {
  return { ...settled, network: v1NameOf(settled.network) ?? settled.network };
}

/** A V1 facilitator's settle answer with its network named in CAIP-2, as the ledger and `PAYMENT-RESPONSE` want. */
export function fromV1SettleResponse(settled: SettleResponse): SettleResponse {
  return { ...settled, network: caip2FromV1(settled.network) ?? settled.network };
}
