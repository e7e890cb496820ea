// Validates a price-rules document and computes each rule's 402 offers. Pure; reports every problem at once.
import { compileMeter } from "../metering/meter-terms.js";
import * as z from "zod";
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import type { PaymentRequirements } from "../x402/schemas.js";
import { AssetRegistry, BUILTIN_ASSETS } from "./assets.js";
import { parsePathPattern, patternShapeKey, type PathPattern } from "./path-pattern.js";
import {
  PriceRuleSchema,
  PriceRulesDocumentSchema,
  type OfferTemplate,
  type PaymentOption,
  type PriceRule,
  type PriceRuleInput,
  type PriceRuleSet,
  type RulePayTo,
  type RulePrice,
} from "./price-rule.js";
import { resolveOffers } from "./resolve-offers.js";
import type { RuleMemo } from "./rule-memo.js";
import { parseUsd, usdToAtomicExact } from "./usd.js";
import { FacilitatorConfigSchema, SHORTHAND_FACILITATOR_ID, type FacilitatorConfig } from "../facilitator/facilitator-config.js";
import { applyPreferences, mergePreferences, type Preferences } from "./preferences.js";
import { buildDelegatedPlugin } from "../schemes/delegated.js";
import { shadowedReservedPath } from "../gateway-paths.js";

export type CompiledPriceRules =
  | { ok: true; ruleSet: PriceRuleSet }
  /**
   * `blocked` lists the paths of rules that could be read: while no good config exists they answer 503
   * and everything else passes through. `"all"` when the document is too broken to tell.
   */
  | { ok: false; problems: string[]; blocked: PathPattern[] | "all" };

/** `memo`: the rules of this document's previous compile, reused where unchanged (pricing/rule-memo.ts). */
export function compilePriceRules(raw: unknown, schemes: SchemeRegistry, memo?: RuleMemo): CompiledPriceRules {
  const parsed = PriceRulesDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    return { ok: false, problems, blocked: recoverBlockedPatterns(raw) };
  }
  const document = parsed.data;
  const problems: string[] = [];
  const assets = new AssetRegistry(BUILTIN_ASSETS);
  for (const asset of document.assets) assets.add(asset, asset.default ?? false);

  const facilitators = compileFacilitators(document.facilitators ?? [], problems);
  const facilitatorIds = new Set(facilitators.length > 0 ? facilitators.map((f) => f.id) : [SHORTHAND_FACILITATOR_ID]);
  checkPreferredFacilitators(document.preferences, facilitatorIds, "preferences", problems);

  const rules: PriceRule[] = [];
  const context: RuleContext = {
    assets,
    schemes,
    facilitatorIds,
    preferences: document.preferences,
    sharedOffers: new Map(),
    sharedAccepts: new Map(),
  };
  const skeletons = new Map<string, PriceRule>();
  memo?.begin(JSON.stringify([document.assets, document.preferences ?? null, [...facilitatorIds]]), schemes);
  for (const [index, rawRule] of document.rules.entries()) {
    const split = splitEndpoint(rawRule);
    const source = split ? `${split.endpointKey}\0${split.restKey}` : JSON.stringify(rawRule);
    const reused = memo?.reuse(source, index);
    if (reused) {
      rules.push(reused);
      continue;
    }
    const before = problems.length;
    const skeleton = split && skeletons.get(split.restKey);
    const rule = skeleton
      ? compileFromSkeleton(skeleton, split.endpoint, index, problems)
      : compileRuleInput(rawRule, index, context, problems);
    if (!rule) continue;
    rules.push(rule);
    if (problems.length !== before) continue;
    memo?.keep(source, rule);
    if (split && !skeleton) skeletons.set(split.restKey, rule);
  }
  memo?.finish();
  problems.push(...findConflicts(rules));
  if (problems.length > 0) return { ok: false, problems, blocked: recoverBlockedPatterns(raw) };
  return { ok: true, ruleSet: { rules, facilitators, circuit: document.circuit, preferences: document.preferences } };
}

/**
 * What one endpoint of a generated document says about itself: read by no other part of a rule's compile, so
 * rules that agree on everything else (how they are paid, their session, meter, discovery terms…) are compiled
 * once per document and the rest get that compile with their own id, path and description, each still checked
 * by the rule schema's own fields.
 */
const EndpointSchema = PriceRuleSchema.pick({ id: true, path: true, description: true });

interface SplitRule {
  endpoint: Record<string, unknown>;
  /** The endpoint fields as text, and everything else as text: together, the rule's memo key. */
  endpointKey: string;
  restKey: string;
}

function splitEndpoint(rawRule: unknown): SplitRule | undefined {
  if (typeof rawRule !== "object" || rawRule === null || Array.isArray(rawRule)) return undefined;
  const { id, path, description, ...rest } = rawRule as Record<string, unknown>;
  return { endpoint: { id, path, description }, endpointKey: JSON.stringify([id, path, description]), restKey: JSON.stringify(rest) };
}

/** A rule whose fields but the endpoint's match an earlier, problem-free rule of this compile. */
function compileFromSkeleton(
  skeleton: PriceRule,
  rawEndpoint: Record<string, unknown>,
  index: number,
  problems: string[],
): PriceRule | undefined {
  const parsed = EndpointSchema.safeParse(rawEndpoint);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((issue) => `${formatPath(["rules", index, ...issue.path])}: ${issue.message}`));
    return undefined;
  }
  const endpoint = parsed.data;
  const pattern = checkedPattern(endpoint.path, `rules[${index}] (${endpoint.id})`, problems);
  return pattern ? { ...skeleton, id: endpoint.id, description: endpoint.description, pattern, index } : undefined;
}

/** The rule's path as a pattern, unless it is malformed or would price one of the gateway's own paths. */
function checkedPattern(path: string, where: string, problems: string[]): PathPattern | undefined {
  const pattern = parsePathPattern(path);
  if (!pattern.ok) {
    problems.push(`${where}.path: ${pattern.reason}`);
    return undefined;
  }
  const shadowed = shadowedReservedPath(pattern.pattern);
  if (shadowed) problems.push(`${where}.path: ${path} would price ${shadowed}, which the gateway serves itself`);
  return pattern.pattern;
}

interface RuleContext {
  assets: AssetRegistry;
  schemes: SchemeRegistry;
  facilitatorIds: Set<string>;
  preferences: Preferences | undefined;
  /**
   * Within one compile, rules that pay alike (same options, atomic price asset, timeout and preferences) share
   * their offers, and with the same price and payee their static accepts: generated documents repeat a few
   * payment set-ups across thousands of paths. Only problem-free results are shared (a problem names its rule).
   */
  sharedOffers: Map<string, OfferTemplate[]>;
  sharedAccepts: Map<string, PaymentRequirements[]>;
}

/** One rule of the document, checked and with its offers computed; its problems go to `problems`. */
function compileRuleInput(rawRule: unknown, index: number, context: RuleContext, problems: string[]): PriceRule | undefined {
  const parsedRule = PriceRuleSchema.safeParse(rawRule);
  if (!parsedRule.success) {
    problems.push(...parsedRule.error.issues.map((issue) => `${formatPath(["rules", index, ...issue.path])}: ${issue.message}`));
    return undefined;
  }
  const input = parsedRule.data;
  const where = `rules[${index}] (${input.id})`;
  const pattern = checkedPattern(input.path, where, problems);
  const preferences = mergePreferences(context.preferences, input.preferences);
  checkPreferredFacilitators(input.preferences, context.facilitatorIds, `${where}.preferences`, problems);
  const offersKey = JSON.stringify([
    input.accepts,
    typeof input.price === "object" ? input.price.asset : null,
    input.maxTimeoutSeconds,
    preferences,
  ]);
  let offers = context.sharedOffers.get(offersKey);
  if (!offers) {
    const built: OfferTemplate[] = [];
    let buildFailed = false;
    for (const [optionIndex, option] of input.accepts.entries()) {
      const template = buildTemplate(input, option, context.assets, context.schemes);
      if (typeof template === "string") {
        problems.push(`${where}.accepts[${optionIndex}]: ${template}`);
        buildFailed = true;
      } else built.push(template);
    }
    const preferred = applyPreferences(built, preferences);
    // Preferences may narrow the options, never to none: that would be a priced route nobody can pay.
    if (!buildFailed && preferred.kept.length === 0) {
      problems.push(
        `${where}: the preferences leave no payment option (${preferred.dropped.map((d) => `${d.item.network}: ${d.reason}`).join("; ")})`,
      );
    }
    offers = preferred.kept;
    if (!buildFailed && offers.length > 0) context.sharedOffers.set(offersKey, offers);
  }
  const rule = compileRule(input, offers, where, problems, (compute) => {
    const key = `${offersKey}\0${JSON.stringify([input.price, input.payTo])}`;
    const shared = context.sharedAccepts.get(key);
    if (shared) return shared;
    const accepts = compute();
    if (accepts) context.sharedAccepts.set(key, accepts);
    return accepts;
  });
  return pattern && rule ? { ...rule, pattern, preferFacilitators: preferences.preferFacilitators ?? [], index } : undefined;
}

function compileFacilitators(raw: unknown[], problems: string[]): FacilitatorConfig[] {
  const facilitators: FacilitatorConfig[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of raw.entries()) {
    const parsed = FacilitatorConfigSchema.safeParse(entry);
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((issue) => `${formatPath(["facilitators", index, ...issue.path])}: ${issue.message}`));
      continue;
    }
    if (seen.has(parsed.data.id)) problems.push(`facilitators[${index}]: duplicate id "${parsed.data.id}"`);
    seen.add(parsed.data.id);
    facilitators.push(parsed.data);
  }
  return facilitators;
}

function checkPreferredFacilitators(preferences: Preferences | undefined, known: Set<string>, where: string, problems: string[]): void {
  for (const id of preferences?.preferFacilitators ?? []) {
    if (!known.has(id)) problems.push(`${where}.preferFacilitators: no facilitator "${id}" (known: ${[...known].join(", ")})`);
  }
}

type CompiledRule = Omit<PriceRule, "pattern" | "index" | "preferFacilitators">;

/** Checks what can be checked without a request; precomputes the offers of rules that do not depend on one. */
/** `share`: computes the static accepts once per compile for every rule with the same offers, price and payee. */
function compileRule(
  input: PriceRuleInput,
  offers: OfferTemplate[],
  where: string,
  problems: string[],
  share: (compute: () => PaymentRequirements[] | undefined) => PaymentRequirements[] | undefined,
): CompiledRule | undefined {
  const priceKinds = [input.price, input.pricing].filter((kind) => kind !== undefined).length;
  if (priceKinds > 1) problems.push(`${where}: set price or pricing, not both`);
  if (input.mcp && (input.price !== undefined || input.pricing !== undefined || input.quote !== undefined)) {
    problems.push(`${where}: an mcp rule prices each tool in mcp.tools; leave out price, pricing and quote`);
  }
  const price: RulePrice = input.mcp
    ? { kind: "mcp" }
    : input.pricing !== undefined
      ? { kind: "dynamic", pricing: input.pricing }
      : typeof input.price === "string"
        ? { kind: "usd", attodollars: parseUsd(input.price) }
        : input.price
          ? { kind: "atomic", ...input.price }
          : { kind: "none" };
  const payTo: RulePayTo =
    typeof input.payTo === "object" ? { kind: "tenant", route: input.payTo } : { kind: "static", address: input.payTo };
  const problemsBefore = problems.length;
  if (price.kind === "none" && !input.quote) {
    offers.forEach((offer, option) => {
      if (offer.amount === undefined) problems.push(`${where}.accepts[${option}]: no amount: set the rule's price or this option's amount`);
    });
  }
  if (price.kind === "dynamic" || price.kind === "mcp" || (price.kind === "usd" && input.quote)) {
    offers.forEach((offer, option) => {
      if (offer.amount === undefined && offer.decimals === undefined) {
        problems.push(
          `${where}.accepts[${option}]: asset ${offer.asset} on ${offer.network} is not in the asset registry, so a USD price cannot be converted`,
        );
      }
    });
  }
  if (payTo.kind === "tenant" && payTo.route.fallback !== undefined) {
    for (const offer of offers) {
      const parsed = offer.plugin.parseAddress(payTo.route.fallback);
      if (!offer.payTo && !parsed.ok) problems.push(`${where}.payTo.fallback: ${parsed.reason}`);
    }
  }
  const staticRule = !input.quote && price.kind !== "dynamic" && price.kind !== "mcp" && payTo.kind === "static";
  let staticAccepts: PaymentRequirements[] | undefined;
  if (staticRule && problems.length === problemsBefore) {
    staticAccepts = share(() => {
      const resolved = resolveOffers({ offers, payTo }, { price: price.kind === "usd" ? { ...price, exact: true } : price });
      if (resolved.ok) return resolved.accepts;
      problems.push(...resolved.problems.map((p) => `${where}.accepts[${p.option}]: ${p.reason}`));
      return undefined;
    });
  }
  checkMeter(input, offers, price, where, problems);
  const input_ = price.kind === "dynamic" ? price.pricing.input : undefined;
  return {
    id: input.id,
    methods: input.methods,
    description: input.description,
    mimeType: input.mimeType,
    origin: input.origin,
    settlement: input.settlement,
    forwardDuringVerify: input.forwardDuringVerify,
    verifyEveryPayment: input.verifyEveryPayment,
    paymentIdentifierRequired: input.paymentIdentifier.required,
    session: input.session,
    discovery: input.discovery,
    discoverable: input.discoverable,
    paywall: input.paywall,
    mcp: input.mcp,
    meter: input.meter ? compileMeter(input.meter) : undefined,
    maxTimeoutSeconds: input.maxTimeoutSeconds,
    rateLimit: input.rateLimit,
    offerReceipt: input.offerReceipt
      ? { includeTxHash: input.offerReceipt.includeTxHash, offerValiditySeconds: input.offerReceipt.offerValiditySeconds }
      : undefined,
    price,
    payTo,
    quote: input.quote,
    offers,
    staticAccepts,
    needsBody: input.quote !== undefined || (input_ !== undefined && ("json" in input_ || "bodyBytes" in input_)),
  };
}

/** A usage-settled scheme (upto) is settled by a meter, and a meter needs what it charges from: the origin's answer, after it. */
function checkMeter(input: PriceRuleInput, offers: OfferTemplate[], price: RulePrice, where: string, problems: string[]): void {
  const upto = offers.map((offer, option) => ({ offer, option })).filter(({ offer }) => offer.plugin.settles === "usage");
  if (!input.meter) {
    for (const { offer, option } of upto)
      problems.push(`${where}.accepts[${option}]: an ${offer.scheme} option needs the rule's meter (what the call is charged from)`);
    return;
  }
  if (upto.length === 0) problems.push(`${where}.meter: meters upto payments only: add an accepts option with "scheme": "upto"`);
  if (input.settlement === "before-origin")
    problems.push(`${where}.meter: a metered rule settles after the origin answered; leave out "settlement": "before-origin"`);
  if (input.session) problems.push(`${where}.meter: a metered rule charges each call; leave out session`);
  if (input.mcp) problems.push(`${where}.meter: not for mcp rules`);
  // A stream the client leaves after content went out is never free (security review F1).
  if (input.meter.onCancel === "base" && (input.meter.base === undefined || parseUsd(input.meter.base) === 0n)) {
    problems.push(
      `${where}.meter.onCancel: "base" charges the base price for a stream left after content went out; set a base above $0, or use "cap"`,
    );
  }
  if (price.kind === "none" && !input.quote && offers.every((offer) => offer.amount === undefined))
    problems.push(`${where}.meter: the rule's price (or pricing) is the most a call may cost; set it`);
  for (const { offer, option } of upto) {
    if (offer.decimals === undefined)
      problems.push(
        `${where}.accepts[${option}]: asset ${offer.asset} on ${offer.network} is not in the asset registry, so the meter's USD prices cannot be converted`,
      );
  }
}

function buildTemplate(
  rule: PriceRuleInput,
  option: PaymentOption,
  assets: AssetRegistry,
  schemes: SchemeRegistry,
): OfferTemplate | string {
  const local = schemes.find(option.scheme, option.network);
  if (local && option.delegate)
    return `"${option.scheme}" on ${option.network} is checked by a local plugin; delegate is for kinds the gateway has none for`;
  if (!local && !option.delegate)
    return `no scheme plugin for "${option.scheme}" on ${option.network} (set "delegate": true to leave it wholly to a facilitator)`;
  const plugin = local ?? buildDelegatedPlugin(option.scheme, option.network.split(":")[0]!);

  const atomicPrice = typeof rule.price === "object" ? rule.price : undefined;
  // An atomic price names its asset, which lives on one network: options elsewhere fall back to their default.
  const priceAssetHere = atomicPrice && assets.find(option.network, atomicPrice.asset) ? atomicPrice.asset : undefined;
  const assetAddress = option.asset ?? priceAssetHere ?? assets.defaultFor(option.network)?.address ?? atomicPrice?.asset;
  if (!assetAddress) return `no asset given and no default asset known for ${option.network}`;
  const asset = plugin.parseAddress(assetAddress);
  if (!asset.ok) return `asset: ${asset.reason}`;
  const assetInfo = assets.find(option.network, asset.value);

  let payTo: string | undefined;
  if (option.payTo !== undefined) {
    const parsed = plugin.parseAddress(option.payTo);
    if (!parsed.ok) return `payTo: ${parsed.reason}`;
    payTo = parsed.value;
  }
  const extra = plugin.buildExtra(assetInfo, option.extra);
  if (!extra.ok) return extra.reason;
  return {
    plugin,
    scheme: option.scheme,
    network: option.network,
    asset: asset.value,
    decimals: assetInfo?.decimals,
    symbol: assetInfo?.symbol,
    amount: option.amount,
    payTo,
    extra: extra.value,
    maxTimeoutSeconds: rule.maxTimeoutSeconds,
  };
}

/** `"$0.01"` with 6 decimals → `"10000"`; refuses prices finer than the asset's smallest unit. */
export function convertUsdToAtomic(price: string, decimals: number): string | { error: string } {
  const atomic = usdToAtomicExact(parseUsd(price), decimals);
  return atomic === undefined ? { error: `price ${price} is finer than the asset's ${decimals} decimals` } : atomic.toString();
}

function findConflicts(rules: PriceRule[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  for (const rule of rules) {
    const earlier = seen.get(rule.id);
    if (earlier !== undefined) problems.push(`rules[${rule.index}]: duplicate id "${rule.id}" (also rules[${earlier}])`);
    seen.set(rule.id, rule.index);
  }
  // Grouped by path shape first: comparing every pair of 10,000 rules would take seconds of a Worker's CPU.
  const byShape = new Map<string, PriceRule[]>();
  for (const rule of rules) {
    const key = patternShapeKey(rule.pattern);
    const group = byShape.get(key);
    if (group) group.push(rule);
    else byShape.set(key, [rule]);
  }
  for (const group of byShape.values()) {
    for (const [i, a] of group.entries()) {
      for (let j = i + 1; j < group.length; j++) {
        const b = group[j]!;
        if (methodsOverlap(a.methods, b.methods)) {
          problems.push(
            `rules[${b.index}] (${b.id}): same path and methods as rules[${a.index}] (${a.id}); which one applies would be ambiguous`,
          );
        }
      }
    }
  }
  return problems;
}

/** A named method list next to `"*"` is not ambiguous: the named rule wins for its methods (matchPriceRule). */
function methodsOverlap(a: PriceRule["methods"], b: PriceRule["methods"]): boolean {
  if (a === "*" || b === "*") return a === b;
  return a.some((method) => b.includes(method));
}

const RecoverablePathsSchema = z.object({ rules: z.array(z.object({ path: z.string() }).loose()) }).loose();

function recoverBlockedPatterns(raw: unknown): PathPattern[] | "all" {
  const recovered = RecoverablePathsSchema.safeParse(raw);
  if (!recovered.success) return "all";
  const patterns: PathPattern[] = [];
  for (const { path } of recovered.data.rules) {
    const pattern = parsePathPattern(path);
    if (!pattern.ok) return "all";
    patterns.push(pattern.pattern);
  }
  return patterns;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0
    ? "(document)"
    : path
        .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
        .join("")
        .replace(/^\./, "");
}
