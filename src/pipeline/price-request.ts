// Prices one request of a priced route: the offers its 402 shows and its payment is checked against. Rules
// that depend on nothing in the request use the offers computed at load time; the others derive the price
// (dynamic pricing, quote callback) and the payee (tenant table, quote) from this request.
import type { GatewayConfig } from "../gateway-config.js";
import type { GatewayBindings } from "../bindings.js";
import { GatewayFailure } from "../errors.js";
import { computeDynamicPrice, type PricingInput } from "../pricing/dynamic-price.js";
import type { PriceRule } from "../pricing/price-rule.js";
import { fetchQuote, type QuoteReply } from "../pricing/quote-client.js";
import { resolveOffers, type RequestPrice } from "../pricing/resolve-offers.js";
import { loadTenantTable, tenantOf, tenantPayTo } from "../pricing/tenant-payto.js";
import { parseUsd } from "../pricing/usd.js";
import { findAmbiguousKey, fold } from "../pricing/ambiguous-json.js";
import { readBodyUpTo } from "../proxy/read-body.js";
import type { FacilitatorFacts, SchemeRegistry } from "../schemes/scheme-plugin.js";
import type { PaymentRequirements } from "../x402/schemas.js";

export interface PricedRequest {
  /** The request, with its body buffered when pricing had to read it. */
  request: Request;
  accepts: PaymentRequirements[];
}

export interface PriceRequestOptions {
  rule: PriceRule;
  request: Request;
  params: Record<string, string>;
  env: GatewayBindings;
  config: GatewayConfig;
  fetch: typeof fetch;
  nowMs: number;
  schemes: SchemeRegistry;
  /** For plugins whose offers need the facilitator's facts (Solana's feePayer). */
  facilitator: FacilitatorFacts;
  /** Whether a facilitator that is up settles this offer's kind; the others are not offered. */
  canSettle: (offer: PaymentRequirements) => boolean;
  /** The price of the MCP tool this request calls (rules with `mcp`). */
  mcpToolPrice?: string;
}

export async function priceRequest(options: PriceRequestOptions): Promise<PricedRequest> {
  const { request, accepts } = await resolveRequestOffers(options);
  const settleable = accepts.filter(options.canSettle);
  if (settleable.length === 0) {
    // Never an empty `accepts`: fail closed, naming what no facilitator settles.
    const missing = [...new Set(accepts.map((offer) => `${offer.scheme} ${offer.network}`))];
    console.error(JSON.stringify({ event: "no_settleable_offer", rule: options.rule.id, missing }));
    throw new GatewayFailure({ kind: "unsettleable", ruleId: options.rule.id, missing });
  }
  return { request, accepts: await completeOffers(settleable, options.schemes, options.facilitator) };
}

async function completeOffers(
  accepts: PaymentRequirements[],
  schemes: SchemeRegistry,
  facilitator: FacilitatorFacts,
): Promise<PaymentRequirements[]> {
  const plugins = accepts.map((offer) => schemes.find(offer.scheme, offer.network));
  if (!plugins.some((plugin) => plugin?.completeOffer)) return accepts;
  return Promise.all(
    accepts.map(async (offer, i) => {
      const plugin = plugins[i];
      if (!plugin?.completeOffer) return offer;
      const completed = await plugin.completeOffer(offer, facilitator);
      // The facilitator cannot settle an offer the rules make: fail closed like any other bad configuration.
      if (!completed.ok) throw new GatewayFailure({ kind: "config_invalid", detail: `${offer.network}: ${completed.reason}` });
      return completed.value;
    }),
  );
}

async function resolveRequestOffers(options: PriceRequestOptions): Promise<PricedRequest> {
  const { rule, config } = options;
  let { request } = options;
  if (rule.staticAccepts) return { request, accepts: rule.staticAccepts };

  let body: Uint8Array | null = null;
  if (rule.needsBody && request.body) {
    body = await readBodyUpTo(request.body, config.MAX_PAID_BODY_BYTES);
    if (body === null) throw new GatewayFailure({ kind: "body_too_large", limitBytes: config.MAX_PAID_BODY_BYTES });
    request = new Request(request, { body });
  }
  const url = new URL(request.url);
  const quote = rule.quote
    ? await fetchQuote(
        rule.quote,
        { ruleId: rule.id, method: request.method, url, headers: request.headers, body },
        options.fetch,
        options.nowMs,
      )
    : undefined;

  const price =
    quotedPrice(quote) ?? ruleOwnPrice(rule, { url, headers: request.headers, params: options.params, body }, options.mcpToolPrice);
  const quotedPayTo = quote?.payTo;
  let tenantPayToFor: ((network: string) => string | undefined) | undefined;
  if (rule.payTo.kind === "tenant" && typeof quotedPayTo !== "string") {
    const { route } = rule.payTo;
    const table = await loadTenantTable(options.env.PRICE_RULES, route.table, config.PRICE_RULES_CACHE_TTL_SECONDS, options.nowMs);
    tenantPayToFor = tenantPayTo(table, route, tenantOf(route, { url, headers: request.headers, params: options.params }));
  }
  const payToFor = (network: string): string | undefined => {
    if (typeof quotedPayTo === "string") return quotedPayTo;
    return quotedPayTo?.[network] ?? quotedPayTo?.[network.split(":")[0]!] ?? tenantPayToFor?.(network);
  };

  const resolved = resolveOffers(rule, { price, payToFor });
  if (!resolved.ok) {
    // Blame what supplied the terms: the quote service for its own answer, otherwise the configuration.
    if (quote && (quote.price !== undefined || quotedPayTo !== undefined))
      throw new GatewayFailure({ kind: "quote_failed", detail: `rule ${rule.id}: ${resolved.reason}` });
    throw new GatewayFailure({ kind: "config_invalid", detail: `rule ${rule.id}: ${resolved.reason}` });
  }
  return { request, accepts: resolved.accepts };
}

function quotedPrice(quote: QuoteReply | undefined): RequestPrice | undefined {
  if (quote?.price === undefined) return undefined;
  if (typeof quote.price === "string") return { kind: "usd", attodollars: parseUsd(quote.price), exact: false };
  return { kind: "atomic", ...quote.price };
}

interface InputSource {
  url: URL;
  headers: Headers;
  params: Record<string, string>;
  body: Uint8Array | null;
}

function ruleOwnPrice(rule: PriceRule, source: InputSource, mcpToolPrice: string | undefined): RequestPrice {
  const { price } = rule;
  if (price.kind === "usd") return { ...price, exact: true };
  if (price.kind === "mcp") {
    if (mcpToolPrice === undefined)
      throw new GatewayFailure({ kind: "config_invalid", detail: `rule ${rule.id}: an MCP rule priced a request that calls no tool` });
    return { kind: "usd", attodollars: parseUsd(mcpToolPrice), exact: true };
  }
  if (price.kind !== "dynamic") return price;
  const computed = computeDynamicPrice(price.pricing, readInput(price.pricing.input, source));
  if (!computed.ok) throw new GatewayFailure({ kind: "pricing_input_invalid", reason: computed.reason });
  // Per-unit prices can fall between atomic units: round up, never undercharge.
  return { kind: "usd", attodollars: computed.attodollars, exact: false };
}

function readInput(input: PricingInput, source: InputSource): string | undefined {
  if ("query" in input) return readQueryInput(source.url.searchParams, input.query);
  if ("header" in input) return source.headers.get(input.header)?.trim() || undefined;
  if ("param" in input) return source.params[input.param];
  if ("bodyBytes" in input) return String(source.body?.length ?? 0);
  if (!source.body || source.body.length === 0) return undefined;
  let value: unknown;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(source.body);
    value = JSON.parse(text);
  } catch {
    throw new GatewayFailure({ kind: "pricing_input_invalid", reason: "the body is not JSON" });
  }
  // The origin must read the value priced here, whichever JSON parser it uses (security review F9).
  const ambiguous = findAmbiguousKey(text, input.json.split("."));
  if (ambiguous) throw new GatewayFailure({ kind: "pricing_input_invalid", reason: `the body can be read two ways: ${ambiguous}` });
  for (const key of input.json.split(".")) {
    value =
      typeof value === "object" && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)
        ? (value as Record<string, unknown>)[key]
        : undefined;
  }
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * The priced query parameter, when it is there once: repeated (`?n=1&n=4000`), or beside a spelling that differs only
 * in case, the origin may read another value than the one priced (Django and PHP take the last; ASP.NET ignores case).
 */
function readQueryInput(params: URLSearchParams, name: string): string | undefined {
  const folded = fold(name);
  let found: string | undefined;
  let count = 0;
  for (const [key, value] of params) {
    if (fold(key) !== folded) continue;
    count++;
    found = value;
  }
  if (count > 1) throw new GatewayFailure({ kind: "pricing_input_invalid", reason: `the query names ${name} more than once` });
  return params.has(name) ? found : undefined;
}
