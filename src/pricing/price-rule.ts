// The KV price-rules document: wire schema (docs/price-rules.md) and the compiled, ready-to-serve form.
import { MeterSchema, type MeterSpec } from "../metering/meter-terms.js";
import type { OfferReceiptTerms } from "../offer-receipt/sign-offer-receipt.js";
import * as z from "zod";
import { AtomicAmountSchema, NetworkSchema, type PaymentRequirements } from "../x402/schemas.js";
import type { SchemePlugin } from "../schemes/scheme-plugin.js";
import { PricingSchema, type Pricing } from "./dynamic-price.js";
import type { PathPattern } from "./path-pattern.js";
import { QuoteConfigSchema, type QuoteConfig } from "./quote-client.js";
import { TenantRouteSchema, type TenantRoute } from "./tenant-payto.js";
import { UsdPriceSchema } from "./usd.js";
import { SessionTermsSchema, type SessionTerms } from "../sessions/session-terms.js";
import { CircuitPolicySchema, type CircuitPolicy, type FacilitatorConfig } from "../facilitator/facilitator-config.js";
import { PreferencesSchema, type Preferences } from "./preferences.js";
import { DiscoveryRuleFields, type DiscoveryTerms } from "../discovery/discovery-terms.js";
import { PaymentIdentifierRuleFields } from "../idempotency/payment-identifier-terms.js";
import { OfferReceiptRuleFields } from "../offer-receipt/offer-receipt-terms.js";
import { McpTermsSchema, type McpTerms } from "../mcp/mcp-terms.js";

const HTTP_METHOD = /^[A-Z]{1,16}$/;

const PaymentOptionSchema = z.strictObject({
  /** Default `exact`. */
  scheme: z.string().min(1).default("exact"),
  network: NetworkSchema,
  /** Token address or mint; default: the network's default asset in the registry. */
  asset: z.string().min(1).optional(),
  /** Atomic amount for this option; overrides the rule's `price`. */
  amount: AtomicAmountSchema.optional(),
  /** Overrides the rule's `payTo` for this option. */
  payTo: z.string().min(1).optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
  /**
   * For a kind the gateway has no plugin for (e.g. `card` on `card:visa`, `ach:us`): leave verify and settle
   * wholly to a facilitator that lists it in `/supported` (docs/facilitators.md "Any rail").
   */
  delegate: z.boolean().optional(),
});
export type PaymentOption = z.infer<typeof PaymentOptionSchema>;

export const PriceRuleSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, "expected 1-64 of [A-Za-z0-9._:-]"),
  /** `"*"` (default) or a list such as `["GET", "POST"]`. A rule for GET also prices HEAD. */
  methods: z.union([z.literal("*"), z.array(z.string().regex(HTTP_METHOD, "expected an upper-case HTTP method")).min(1)]).default("*"),
  path: z.string().min(1).max(2048),
  /** `"$0.01"` converted per asset with its decimals, or an atomic amount of one asset. */
  price: z.union([UsdPriceSchema, z.strictObject({ amount: AtomicAmountSchema, asset: z.string().min(1) })]).optional(),
  /** A price computed per request from one request input (instead of `price`). */
  pricing: PricingSchema.optional(),
  /** A URL that prices the request and/or names its payee; `price`/`pricing`/`payTo` fill in what it leaves out. */
  quote: QuoteConfigSchema.optional(),
  accepts: z.array(PaymentOptionSchema).min(1),
  /** A fixed address, or `{ tenant, table, fallback? }` to route by tenant through a KV table. */
  payTo: z.union([z.string().min(1), TenantRouteSchema]).optional(),
  description: z.string().max(1024).default(""),
  mimeType: z.string().max(256).default("application/json"),
  /**
   * Default 120. How long the client's payment authorization stays valid (clients sign now + this). It must cover
   * the payment's validity window, verify + origin + settle timeouts (+ a metered stream) + 6 s, with 10 s to
   * spare, or the rule is a configuration error (pipeline/payment-window.ts; docs/x402.md "Validity window").
   */
  maxTimeoutSeconds: z.number().int().min(1).max(86_400).default(120),
  /**
   * `after-origin` (default): settle only once the origin answered < 400. `before-origin`: settle first, for
   * expensive origins; an origin failure after settlement is recorded as `owed_refund`.
   */
  settlement: z.enum(["after-origin", "before-origin"]).default("after-origin"),
  /**
   * Default true. With `after-origin`, a GET or HEAD from a payer whose last payment passed verify asks the origin
   * while verify runs; nothing settles or is returned before verify accepts. false: the origin waits for verify.
   */
  forwardDuringVerify: z.boolean().default(true),
  /**
   * Default false. When false, a GET or HEAD from a payer in good standing whose payment was checked here in full
   * (an EOA's EIP-3009 signature) is not verified: settle, which checks it again, is the facilitator's one call.
   * true: every payment is verified before the origin is asked (with `forwardDuringVerify`, while it is asked).
   */
  verifyEveryPayment: z.boolean().default(false),
  /**
   * Default "standard": payments per payer and per client address, checked before any facilitator call, through the
   * Rate Limiting binding of that tier (wrangler.toml: strict 20 per 10 s, standard 1200 per 60 s, generous 6000 per
   * 60 s). "off": none (docs/security.md "Abuse cost").
   */
  rateLimit: z.enum(["strict", "standard", "generous", "off"]).default("standard"),
  ...PaymentIdentifierRuleFields,
  /** Sends this rule's requests to another origin than `ORIGIN_URL`. */
  origin: z.url({ protocol: /^https?$/ }).optional(),
  /** Pay once, then use a session (sign-in-with-x or a session token) for the scope, TTL and quota below. */
  session: SessionTermsSchema.optional(),
  /** Filters and orders this rule's options and facilitators; each field set here wins over the document's. */
  preferences: PreferencesSchema.optional(),
  ...DiscoveryRuleFields,
  /** Default true: a browser (Accept prefers text/html) gets the paywall page as its 402 (docs/paywall.md). */
  paywall: z.boolean().default(true),
  /** An MCP server: `tools/call` priced per tool (instead of `price`), everything else free (docs/mcp.md). */
  mcp: McpTermsSchema.optional(),
  /** What an `upto` payment is charged from the origin's answer; the price is then the maximum (docs/metering.md). */
  meter: MeterSchema.optional(),
  ...OfferReceiptRuleFields,
});
export type PriceRuleInput = z.infer<typeof PriceRuleSchema>;

const AssetConfigSchema = z.strictObject({
  network: NetworkSchema,
  address: z.string().min(1),
  decimals: z.number().int().min(0).max(36),
  name: z.string().optional(),
  version: z.string().optional(),
  symbol: z.string().optional(),
  assetTransferMethod: z.enum(["eip3009", "permit2"]).optional(),
  /** Make this the network's default asset. */
  default: z.boolean().optional(),
});

export const PriceRulesDocumentSchema = z.strictObject({
  /** Where an editor finds the document's JSON Schema (docs/price-rules.schema.json); ignored by the gateway. */
  $schema: z.string().optional(),
  version: z.literal(1).default(1),
  assets: z.array(AssetConfigSchema).default([]),
  /**
   * The facilitators (docs/facilitators.md), each parsed on its own so every problem is listed. Absent or
   * empty: `FACILITATOR_URL` (+ `FACILITATOR_AUTH_TOKEN`) as the one facilitator, id `default`.
   */
  facilitators: z.array(z.unknown()).optional(),
  /** Preferences for every rule (a rule's own fields win). */
  preferences: PreferencesSchema.optional(),
  /** When a facilitator's circuit opens and how long it stays open. */
  circuit: CircuitPolicySchema.default({ failureThreshold: 3, openSeconds: 30 }),
  /** Each rule is parsed on its own (PriceRuleSchema) so one bad rule does not hide the others' problems. */
  rules: z.array(z.unknown()),
});

/** A rule after validation, with its 402 offers computed once at load time. */
export interface PriceRule {
  id: string;
  methods: "*" | readonly string[];
  pattern: PathPattern;
  description: string;
  mimeType: string;
  origin: string | undefined;
  settlement: "after-origin" | "before-origin";
  forwardDuringVerify: boolean;
  verifyEveryPayment: boolean;
  paymentIdentifierRequired: boolean;
  /** Absent: pay per call. */
  session: SessionTerms | undefined;
  /** Position in the document: the last tie-break. */
  index: number;
  price: RulePrice;
  payTo: RulePayTo;
  quote: QuoteConfig | undefined;
  /** One per configured option; resolved into PaymentRequirements per request (pricing/resolve-offers.ts). */
  offers: OfferTemplate[];
  /** The offers when nothing depends on the request: computed once at load time, the fast path. */
  staticAccepts: PaymentRequirements[] | undefined;
  /** Pricing reads the request body (body size, a JSON field, or the quote callback). */
  needsBody: boolean;
  /** Facilitator ids tried first for this rule's payments (its preferences, else the document's). */
  preferFacilitators: readonly string[];
  discovery: DiscoveryTerms | undefined;
  discoverable: boolean;
  paywall: boolean;
  mcp: McpTerms | undefined;
  /** Set for rules that meter `upto` payments. */
  meter: MeterSpec | undefined;
  /** How long clients sign their authorizations for; must cover the payment's validity window (payment-window.ts). */
  maxTimeoutSeconds: number;
  /** The rate-limit tier its payments are counted in (pipeline/rate-limit.ts). */
  rateLimit: RateLimitTier;
  /** Set for rules whose offers and receipts are signed. */
  offerReceipt: OfferReceiptTerms | undefined;
}

export type RulePrice =
  | { kind: "usd"; attodollars: bigint }
  | { kind: "atomic"; amount: string; asset: string }
  | { kind: "dynamic"; pricing: Pricing }
  /** Every option names its own `amount`, or the quote callback supplies the price. */
  | { kind: "none" }
  /** Per MCP tool, from the rule's `mcp.tools`. */
  | { kind: "mcp" };

export type RulePayTo = { kind: "static"; address: string | undefined } | { kind: "tenant"; route: TenantRoute };

export interface OfferTemplate {
  plugin: SchemePlugin;
  scheme: string;
  network: string;
  /** Normalised by the plugin. */
  asset: string;
  /** From the registry; needed to convert a USD price. */
  decimals: number | undefined;
  /** From the registry (`USDC`); what the `assets` preference matches. */
  symbol: string | undefined;
  /** The option's own atomic amount: wins over every rule-level price. */
  amount: string | undefined;
  /** The option's own payee: wins over the rule's. */
  payTo: string | undefined;
  extra: Record<string, unknown> | undefined;
  maxTimeoutSeconds: number;
}

export interface PriceRuleSet {
  rules: PriceRule[];
  /** Empty: the env-var shorthand applies (facilitator/facilitator-config.ts `resolveFacilitators`). */
  facilitators: FacilitatorConfig[];
  circuit: CircuitPolicy;
  preferences: Preferences | undefined;
}

export type RateLimitTier = "strict" | "standard" | "generous" | "off";
