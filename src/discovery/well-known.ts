// `GET /.well-known/x402` (docs/discovery.md): every discoverable priced resource with its offers, session terms
// and bazaar entry, built from the compiled rules and cached with them (a KV edit shows up within the rules' TTL).
// Never says more than a 402 would: no secrets, tenant tables, quote URLs or facilitator config. Pure.
import { parseUsd, formatUsd, usdToAtomicCeil } from "../pricing/usd.js";
import { describeInput, type Pricing } from "../pricing/dynamic-price.js";
import type { OfferTemplate, PriceRule, PriceRuleSet } from "../pricing/price-rule.js";
import { X402_VERSION, type PaymentRequirements } from "../x402/schemas.js";
import { BAZAAR, buildBazaarExtension, buildMcpBazaarExtension, routeTemplateOf } from "./bazaar-extension.js";

/** How a resource is priced: `fixed` offers are exactly what its 402 asks; the others are computed per request. */
export type PriceDescription =
  | { kind: "fixed" }
  | { kind: "dynamic"; input: string; min: string; max?: string }
  | { kind: "quoted"; base?: string };

/** An offer as listed: a 402's offer, or for per-request prices the lowest one (`amount`) and the highest (`maxAmount`). */
export type ListedOffer = Omit<PaymentRequirements, "amount" | "payTo"> & { amount?: string; maxAmount?: string; payTo?: string };

export interface WellKnownResource {
  resource: string;
  /** `mcp`: one tool of an MCP server (`toolName`), paid per `tools/call`. */
  type: "http" | "mcp";
  toolName?: string;
  methods: readonly string[];
  routeTemplate?: string;
  description: string;
  mimeType: string;
  price: PriceDescription;
  /** `static`, or where the payee is chosen per request (`tenant` table, `quote`). */
  payTo: "static" | "tenant" | "quote";
  accepts: ListedOffer[];
  session?: { ttlSeconds: number; maxRequests: number; scope: unknown };
  serviceName?: string;
  tags?: string[];
  iconUrl?: string;
  category?: string;
  extensions: Record<string, unknown>;
}

export interface WellKnownDocument {
  x402Version: typeof X402_VERSION;
  resources: WellKnownResource[];
}

export interface BuiltWellKnown {
  body: string;
  /** Weak: the same rules give the same body byte for byte, but a proxy may re-encode it. */
  etag: string;
}

const built = new WeakMap<PriceRuleSet, Map<string, BuiltWellKnown>>();

/** `origin` is the request's scheme://host: the resources are listed as this gateway serves them. */
export function buildWellKnown(ruleSet: PriceRuleSet, origin: string): BuiltWellKnown {
  let byOrigin = built.get(ruleSet);
  if (!byOrigin) {
    byOrigin = new Map();
    built.set(ruleSet, byOrigin);
  }
  const cached = byOrigin.get(origin);
  if (cached) return cached;
  const document: WellKnownDocument = {
    x402Version: X402_VERSION,
    resources: ruleSet.rules
      .filter((r) => r.discoverable)
      .flatMap((r) => (r.mcp ? describeMcpTools(r, origin) : [describeRule(r, origin)])),
  };
  const body = JSON.stringify(document);
  const result = { body, etag: `W/"${fnv1a(body)}"` };
  // A handful of hosts per gateway; bounded anyway so a flood of Host headers cannot grow it.
  if (byOrigin.size < 16) byOrigin.set(origin, result);
  return result;
}

function describeRule(rule: PriceRule, origin: string): WellKnownResource {
  const routeTemplate = rule.discovery?.routeTemplate ?? routeTemplateOf(rule.pattern);
  const method = rule.methods === "*" ? "GET" : rule.methods[0]!;
  const bazaar = buildBazaarExtension(rule.discovery, rule.pattern, method);
  const service = rule.discovery?.service;
  const { price, accepts } = listOffers(rule);
  return {
    resource: `${origin}${routeTemplate ?? rule.pattern.source}`,
    type: "http",
    methods: rule.methods === "*" ? ["*"] : rule.methods,
    ...(routeTemplate ? { routeTemplate } : {}),
    description: rule.description,
    mimeType: rule.mimeType,
    price,
    payTo: rule.quote ? "quote" : rule.payTo.kind === "tenant" ? "tenant" : "static",
    accepts,
    ...(rule.session
      ? { session: { ttlSeconds: rule.session.ttlSeconds, maxRequests: rule.session.maxRequests, scope: rule.session.scope } }
      : {}),
    ...(service?.name ? { serviceName: service.name } : {}),
    ...(service?.tags ? { tags: service.tags } : {}),
    ...(service?.iconUrl ? { iconUrl: service.iconUrl } : {}),
    ...(service?.category ? { category: service.category } : {}),
    extensions: bazaar ? { [BAZAAR]: bazaar } : {},
  };
}

function describeMcpTools(rule: PriceRule, origin: string): WellKnownResource[] {
  const http = describeRule(rule, origin);
  return Object.entries(rule.mcp!.tools).map(([toolName, tool]) => ({
    ...http,
    type: "mcp" as const,
    toolName,
    methods: ["POST"],
    description: tool.description ?? http.description,
    price: { kind: "fixed" as const },
    accepts: rule.offers.map((t) => listOffer(rule, t, parseUsd(tool.price), parseUsd(tool.price))),
    extensions: { [BAZAAR]: buildMcpBazaarExtension(toolName, tool) },
  }));
}

function listOffers(rule: PriceRule): { price: PriceDescription; accepts: ListedOffer[] } {
  if (rule.staticAccepts) return { price: { kind: "fixed" }, accepts: rule.staticAccepts };
  const { price } = rule;
  if (price.kind === "dynamic") {
    const range = priceRange(price.pricing);
    return {
      price: {
        kind: "dynamic",
        input: describeInput(price.pricing.input),
        min: formatUsd(range.min),
        ...(range.max !== undefined ? { max: formatUsd(range.max) } : {}),
      },
      accepts: rule.offers.map((t) => listOffer(rule, t, range.min, range.max)),
    };
  }
  const usd = price.kind === "usd" ? price.attodollars : undefined;
  const atomic = price.kind === "atomic" ? price : undefined;
  const described: PriceDescription = rule.quote
    ? { kind: "quoted", ...(usd !== undefined ? { base: formatUsd(usd) } : {}) }
    : { kind: "fixed" };
  const accepts = rule.offers
    .filter((t) => !atomic || t.amount !== undefined || t.asset.toLowerCase() === atomic.asset.toLowerCase())
    .map((t) => listOffer(rule, t, usd, usd, atomic?.amount));
  return { price: described, accepts };
}

function listOffer(
  rule: PriceRule,
  template: OfferTemplate,
  minUsd: bigint | undefined,
  maxUsd: bigint | undefined,
  atomicAmount?: string,
): ListedOffer {
  const toAtomic = (usd: bigint | undefined) =>
    usd !== undefined && template.decimals !== undefined ? usdToAtomicCeil(usd, template.decimals).toString() : undefined;
  const amount = template.amount ?? atomicAmount ?? toAtomic(minUsd);
  const maxAmount = (template.amount ?? atomicAmount) !== undefined ? undefined : toAtomic(maxUsd);
  const payTo = template.payTo ?? (rule.payTo.kind === "static" && !rule.quote ? rule.payTo.address : undefined);
  return {
    scheme: template.scheme,
    network: template.network,
    asset: template.asset,
    ...(amount !== undefined ? { amount } : {}),
    ...(maxAmount !== undefined && maxAmount !== amount ? { maxAmount } : {}),
    ...(payTo !== undefined ? { payTo } : {}),
    maxTimeoutSeconds: template.maxTimeoutSeconds,
    ...(template.extra ? { extra: template.extra } : {}),
  };
}

/** The lowest and highest price the spec can produce (no highest: per-unit without a cap). */
function priceRange(spec: Pricing): { min: bigint; max: bigint | undefined } {
  let min: bigint;
  let max: bigint | undefined;
  if (spec.map) {
    const prices = [...Object.values(spec.map), ...(spec.otherwise ? [spec.otherwise] : [])].map(parseUsd);
    min = prices.reduce((a, b) => (b < a ? b : a));
    max = prices.reduce((a, b) => (b > a ? b : a));
  } else if (spec.tiers) {
    const prices = spec.tiers.map((tier) => parseUsd(tier.price));
    min = prices.reduce((a, b) => (b < a ? b : a));
    max = prices.reduce((a, b) => (b > a ? b : a));
  } else {
    min = spec.base ? parseUsd(spec.base) : 0n;
    max = undefined;
  }
  const floor = spec.floor ? parseUsd(spec.floor) : undefined;
  const cap = spec.cap ? parseUsd(spec.cap) : undefined;
  if (floor !== undefined && min < floor) min = floor;
  if (floor !== undefined && max !== undefined && max < floor) max = floor;
  if (cap !== undefined && (max === undefined || max > cap)) max = cap;
  if (cap !== undefined && min > cap) min = cap;
  return { min, max };
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0") + text.length.toString(16);
}
