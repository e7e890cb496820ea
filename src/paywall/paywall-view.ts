// What the paywall page shows for one 402: the rule's title and description, each offer's price in its token's
// units and its network's name, and which offers the page can pay itself (EVM `exact` by EIP-3009). Pure.
import { formatUnits as formatAtomicUnits } from "viem";
import { PAYMENT_IDENTIFIER } from "../idempotency/payment-identifier.js";
import { SOLANA_DEVNET, SOLANA_MAINNET } from "../pricing/assets.js";
import type { PriceRule } from "../pricing/price-rule.js";
import type { PaymentRequired, PaymentRequirements } from "../x402/schemas.js";
import type { PaywallOffer, PaywallView } from "./paywall-page.js";

const NETWORK_NAMES: Record<string, string> = {
  "eip155:1": "Ethereum",
  "eip155:8453": "Base",
  "eip155:84532": "Base Sepolia",
  "eip155:137": "Polygon",
  "eip155:80002": "Polygon Amoy",
  "eip155:42161": "Arbitrum One",
  "eip155:421614": "Arbitrum Sepolia",
  "eip155:43114": "Avalanche",
  "eip155:43113": "Avalanche Fuji",
  "eip155:10": "OP Mainnet",
  "eip155:31337": "Local chain (31337)",
  [SOLANA_MAINNET]: "Solana",
  [SOLANA_DEVNET]: "Solana Devnet",
};

export function buildPaywallView(rule: PriceRule, method: string, paymentRequired: PaymentRequired, isFirstVisit: boolean): PaywallView {
  const service = rule.discoverable ? rule.discovery?.service?.name : undefined;
  const identifier = paymentRequired.extensions?.[PAYMENT_IDENTIFIER];
  return {
    title: service ?? rule.description,
    description: rule.description,
    method,
    // Only what the page's script uses: the bazaar schemas stay in the header, out of the page's weight.
    paymentRequired: {
      x402Version: paymentRequired.x402Version,
      error: paymentRequired.error,
      resource: paymentRequired.resource,
      accepts: paymentRequired.accepts,
      extensions: identifier ? { [PAYMENT_IDENTIFIER]: identifier } : {},
    },
    offers: paymentRequired.accepts.map((offer) => describeOffer(rule, offer)),
    ...(rule.session ? { sessionNote: sessionNote(rule.session.maxRequests, rule.session.ttlSeconds) } : {}),
    ...(isFirstVisit ? {} : { notice: `The gateway asks for a new payment: ${paymentRequired.error}.` }),
  };
}

function describeOffer(rule: PriceRule, offer: PaymentRequirements): PaywallOffer {
  const template = rule.offers.find((t) => t.scheme === offer.scheme && t.network === offer.network && t.asset === offer.asset);
  const decimals = template?.decimals;
  const unit = template?.symbol ?? shorten(offer.asset);
  const unpayableBecause = whyUnpayable(offer);
  return {
    price: decimals === undefined ? `${offer.amount} ${unit} (atomic units)` : `${formatUnits(offer.amount, decimals)} ${unit}`,
    networkName: NETWORK_NAMES[offer.network] ?? offer.network,
    payTo: offer.payTo,
    scheme: offer.scheme,
    ...(unpayableBecause ? { unpayableBecause } : {}),
  };
}

function whyUnpayable(offer: PaymentRequirements): string | undefined {
  const viaClient = "Pay this option with an x402 client";
  if (offer.scheme !== "exact") return `${viaClient} (the ${offer.scheme} scheme).`;
  if (!offer.network.startsWith("eip155:")) return `${viaClient}: this page pays EVM networks only.`;
  const extra = offer.extra ?? {};
  if (extra.assetTransferMethod === "permit2") return `${viaClient} (a Permit2 token).`;
  if (typeof extra.name !== "string" || typeof extra.version !== "string") return `${viaClient}.`;
  return undefined;
}

/** `10000` at 6 decimals is `0.01`. */
export function formatUnits(amount: string, decimals: number): string {
  return formatAtomicUnits(BigInt(amount), decimals);
}

function sessionNote(maxRequests: number, ttlSeconds: number): string {
  const requests = maxRequests === 1 ? "1 request" : `${maxRequests.toLocaleString("en-US")} requests`;
  return `One payment opens a session: up to ${requests} within ${formatDuration(ttlSeconds)} (x402 clients reuse it by signing in with their wallet).`;
}

function formatDuration(seconds: number): string {
  const units: [number, string][] = [
    [86_400, "day"],
    [3600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  for (const [size, name] of units) {
    if (seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

function shorten(address: string): string {
  return address.length > 14 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}
