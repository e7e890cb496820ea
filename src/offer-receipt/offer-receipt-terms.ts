// The offer-receipt extension's field of a price rule (docs/offer-receipt.md). Spread into PriceRuleSchema at its place.
import * as z from "zod";

export const OfferReceiptRuleFields = {
  /** Signed offers in the 402 and a signed receipt with each settlement (docs/offer-receipt.md); needs OFFER_RECEIPT_KEYS. */
  offerReceipt: z
    .strictObject({
      /** Default false: the receipt leaves out the transaction hash (privacy); true makes it checkable on chain. */
      includeTxHash: z.boolean().default(false),
      /** How long a signed offer holds; default the rule's maxTimeoutSeconds. */
      offerValiditySeconds: z.number().int().min(1).max(86_400).optional(),
    })
    .optional(),
};
