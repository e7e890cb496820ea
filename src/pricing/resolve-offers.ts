// Turns a rule's offer templates into the PaymentRequirements for one request, from the price and payee
// derived for that very request. The 402 and the payment check both come through here with the same
// inputs, so what is checked at payment time is what was asked for. Pure.
import type { PaymentRequirements } from "../x402/schemas.js";
import { sameAddress } from "./assets.js";
import type { OfferTemplate, PriceRule } from "./price-rule.js";
import { formatUsd, usdToAtomicCeil, usdToAtomicExact } from "./usd.js";

export type RequestPrice =
  | { kind: "usd"; attodollars: bigint; exact: boolean }
  | { kind: "atomic"; amount: string; asset: string }
  | { kind: "none" };

export interface RequestTerms {
  price: RequestPrice;
  /** The payee for an offer's network, when it is routed (tenant table, quote); undefined: the rule's own. */
  payToFor?: (network: string) => string | undefined;
}

export type ResolvedOffers =
  | { ok: true; accepts: PaymentRequirements[] }
  /** `problems` name the option (index into the rule's offers) each reason belongs to. */
  | { ok: false; reason: string; problems: { option: number; reason: string }[] };

export function resolveOffers(rule: Pick<PriceRule, "offers" | "payTo">, terms: RequestTerms): ResolvedOffers {
  const accepts: PaymentRequirements[] = [];
  const problems: { option: number; reason: string }[] = [];
  rule.offers.forEach((template, option) => {
    const offer = resolveOffer(rule, template, terms);
    if (typeof offer === "string") problems.push({ option, reason: offer });
    else if (offer) accepts.push(offer);
  });
  // A priced option that cannot be built is a configuration fault, not something to hide by offering fewer.
  if (problems.length > 0 || accepts.length === 0) {
    const reason = problems.map((p) => `${rule.offers[p.option]!.network}: ${p.reason}`).join("; ") || "no payment option applies";
    return { ok: false, reason, problems };
  }
  return { ok: true, accepts };
}

/** undefined: the option does not apply (an atomic price in another asset). */
function resolveOffer(
  rule: Pick<PriceRule, "payTo">,
  template: OfferTemplate,
  terms: RequestTerms,
): PaymentRequirements | string | undefined {
  let amount = template.amount;
  if (amount === undefined) {
    const { price } = terms;
    if (price.kind === "atomic") {
      if (!sameAddress(price.asset, template.asset)) return undefined;
      amount = price.amount;
    } else if (price.kind === "usd") {
      if (template.decimals === undefined)
        return `asset ${template.asset} is not in the asset registry, so a USD price cannot be converted`;
      const atomic = price.exact
        ? usdToAtomicExact(price.attodollars, template.decimals)
        : usdToAtomicCeil(price.attodollars, template.decimals);
      if (atomic === undefined) return `price ${formatUsd(price.attodollars)} is finer than the asset's ${template.decimals} decimals`;
      amount = atomic.toString();
    } else {
      return "no amount: set the rule's price or this option's amount";
    }
  }
  if (BigInt(amount) === 0n) return "amount must be greater than zero (leave free routes out of the rules)";

  const staticPayTo = rule.payTo.kind === "static" ? rule.payTo.address : undefined;
  const payToInput = template.payTo ?? terms.payToFor?.(template.network) ?? staticPayTo;
  if (payToInput === undefined) return "no payTo for this network";
  const payTo = template.plugin.parseAddress(payToInput);
  if (!payTo.ok) return `payTo: ${payTo.reason}`;
  return {
    scheme: template.scheme,
    network: template.network,
    amount,
    asset: template.asset,
    payTo: payTo.value,
    maxTimeoutSeconds: template.maxTimeoutSeconds,
    ...(template.extra ? { extra: template.extra } : {}),
  };
}
