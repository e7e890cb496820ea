// Where a rule asks for signed offers and receipts (`offerReceipt`, docs/offer-receipt.md): the 402 gets its
// offers signed, a successful settlement its receipt. A rule that asks without OFFER_RECEIPT_KEYS is invalid
// config (503), never an unsigned answer that claims to be signed.
import type { GatewayConfig } from "../gateway-config.js";
import { GatewayFailure } from "../errors.js";
import type { PaymentRequired, SettleResponse } from "../x402/schemas.js";
import { receiptSigner, type ReceiptSigner } from "./receipt-keys.js";
import { OFFER_RECEIPT, receiptHash, signOffers, signReceipt, type OfferReceiptTerms } from "./sign-offer-receipt.js";

function signerFor(config: GatewayConfig, ruleId: string): Promise<ReceiptSigner> {
  if (!config.OFFER_RECEIPT_KEYS)
    throw new GatewayFailure({
      kind: "config_invalid",
      detail: `rule ${ruleId} signs offers and receipts (offerReceipt) but OFFER_RECEIPT_KEYS is not set`,
    });
  return receiptSigner(config.OFFER_RECEIPT_KEYS);
}

export async function withSignedOffers(
  paymentRequired: PaymentRequired,
  terms: OfferReceiptTerms,
  ruleId: string,
  config: GatewayConfig,
  nowMs: number,
): Promise<PaymentRequired> {
  const signer = await signerFor(config, ruleId);
  const extension = await signOffers(paymentRequired.accepts, paymentRequired.resource.url, terms, signer, Math.floor(nowMs / 1000));
  return { ...paymentRequired, extensions: { ...paymentRequired.extensions, [OFFER_RECEIPT]: extension } };
}

/** The settlement with its receipt, and the receipt's hash for the ledger; a failed settlement gets none. */
export async function withSignedReceipt(
  settled: SettleResponse,
  terms: OfferReceiptTerms,
  resourceUrl: string,
  ruleId: string,
  config: GatewayConfig,
  nowMs: number,
): Promise<{ settled: SettleResponse; receiptHash?: string }> {
  if (!settled.success || !settled.payer) return { settled };
  const signer = await signerFor(config, ruleId);
  const extension = await signReceipt(
    { network: settled.network, payer: settled.payer, transaction: settled.transaction },
    resourceUrl,
    terms,
    signer,
    Math.floor(nowMs / 1000),
  );
  return {
    settled: { ...settled, extensions: { ...settled.extensions, [OFFER_RECEIPT]: extension } },
    receiptHash: await receiptHash(extension.info.receipt.signature),
  };
}
