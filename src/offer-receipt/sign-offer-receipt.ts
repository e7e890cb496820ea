// Signed offers (in the 402) and signed receipts (in PAYMENT-RESPONSE), the `offer-receipt` extension
// (docs/offer-receipt.md): compact JWS over the JCS-canonical payload, `{alg, kid}` header. Pure but for signing.
import { CompactSign } from "jose";
import type { PaymentRequirements } from "../x402/schemas.js";
import type { ReceiptSigner } from "./receipt-keys.js";

export const OFFER_RECEIPT = "offer-receipt";
const PAYLOAD_VERSION = 1;

export interface OfferReceiptTerms {
  /** Default false: the receipt leaves out the transaction (privacy); true makes it checkable on chain. */
  includeTxHash: boolean;
  /** How long a signed offer holds; default the offer's maxTimeoutSeconds. */
  offerValiditySeconds: number | undefined;
}

/** RFC 8785 for the values offers and receipts hold: strings, safe integers, and objects of them. */
function canonicalize(value: unknown): string {
  if (typeof value === "string" || typeof value === "boolean" || value === null) return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("cannot canonicalize a non-finite number");
    return JSON.stringify(Object.is(value, -0) ? 0 : value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalize(v)}`).join(",")}}`;
  }
  throw new Error(`cannot canonicalize a ${typeof value}`);
}

function sign(payload: Record<string, unknown>, signer: ReceiptSigner): Promise<string> {
  return new CompactSign(new TextEncoder().encode(canonicalize(payload)))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid })
    .sign(signer.key);
}

/** The 402's `offer-receipt` extension: one signed offer per accepted option. */
export async function signOffers(
  accepts: readonly PaymentRequirements[],
  resourceUrl: string,
  terms: OfferReceiptTerms,
  signer: ReceiptSigner,
  nowSeconds: number,
) {
  const offers = await Promise.all(
    accepts.map(async (offer, acceptIndex) => ({
      format: "jws" as const,
      acceptIndex,
      signature: await sign(
        {
          version: PAYLOAD_VERSION,
          resourceUrl,
          scheme: offer.scheme,
          network: offer.network,
          asset: offer.asset,
          payTo: offer.payTo,
          amount: offer.amount,
          validUntil: nowSeconds + (terms.offerValiditySeconds ?? offer.maxTimeoutSeconds),
        },
        signer,
      ),
    })),
  );
  return { info: { offers }, schema: OFFERS_SCHEMA };
}

/** The settlement's `offer-receipt` extension: the payer's proof that this resource was paid for. */
export async function signReceipt(
  settled: { network: string; payer: string; transaction: string },
  resourceUrl: string,
  terms: OfferReceiptTerms,
  signer: ReceiptSigner,
  nowSeconds: number,
) {
  const receipt = {
    format: "jws" as const,
    signature: await sign(
      {
        version: PAYLOAD_VERSION,
        network: settled.network,
        resourceUrl,
        payer: settled.payer,
        issuedAt: nowSeconds,
        ...(terms.includeTxHash && settled.transaction ? { transaction: settled.transaction } : {}),
      },
      signer,
    ),
  };
  return { info: { receipt }, schema: RECEIPT_SCHEMA };
}

/** Hex SHA-256 of the receipt's JWS: what the ledger keeps (the receipt itself is the payer's). */
export async function receiptHash(jws: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(jws)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const SIGNED = {
  type: "object",
  properties: { format: { type: "string", enum: ["jws", "eip712"] }, signature: { type: "string" } },
  required: ["format", "signature"],
};
const OFFERS_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: { offers: { type: "array", items: SIGNED } },
  required: ["offers"],
};
const RECEIPT_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: { receipt: SIGNED },
  required: ["receipt"],
};
