// The payment-identifier extension's field of a price rule (docs/price-rules.md): the 402 always advertises the
// extension; the rule says whether a payment without an id is refused. Spread into PriceRuleSchema at its place.
import * as z from "zod";

export const PaymentIdentifierRuleFields = {
  /** The 402 always advertises the payment-identifier extension; `required: true` refuses payments without an id. */
  paymentIdentifier: z.strictObject({ required: z.boolean() }).default({ required: false }),
};
