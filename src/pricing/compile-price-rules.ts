// Validates a price-rules document and computes each rule's 402 offers. Pure; reports every problem at once.
import { z } from "zod";
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import type { PaymentRequirements } from "../x402/schemas.js";
import { AssetRegistry, BUILTIN_ASSETS, sameAddress } from "./assets.js";
import { isSamePattern, parsePathPattern, type PathPattern } from "./path-pattern.js";
import { PriceRuleSchema, PriceRulesDocumentSchema, type PaymentOption, type PriceRule, type PriceRuleInput, type PriceRuleSet } from "./price-rule.js";

export type CompiledPriceRules =
  | { ok: true; ruleSet: PriceRuleSet }
  /**
   * `blocked` lists the paths of rules that could be read: while no good config exists they answer 503
   * and everything else passes through. `"all"` when the document is too broken to tell.
   */
  | { ok: false; problems: string[]; blocked: PathPattern[] | "all" };

export function compilePriceRules(raw: unknown, schemes: SchemeRegistry): CompiledPriceRules {
  const parsed = PriceRulesDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    return { ok: false, problems, blocked: recoverBlockedPatterns(raw) };
  }
  const document = parsed.data;
  const problems: string[] = [];
  const assets = new AssetRegistry(BUILTIN_ASSETS);
  for (const asset of document.assets) assets.add(asset, asset.default ?? false);

  const rules: PriceRule[] = [];
  for (const [index, rawRule] of document.rules.entries()) {
    const parsedRule = PriceRuleSchema.safeParse(rawRule);
    if (!parsedRule.success) {
      problems.push(...parsedRule.error.issues.map((issue) => `${formatPath(["rules", index, ...issue.path])}: ${issue.message}`));
      continue;
    }
    const input = parsedRule.data;
    const where = `rules[${index}] (${input.id})`;
    const pattern = parsePathPattern(input.path);
    if (!pattern.ok) problems.push(`${where}.path: ${pattern.reason}`);
    const accepts: PaymentRequirements[] = [];
    for (const [optionIndex, option] of input.accepts.entries()) {
      const offer = buildOffer(input, option, assets, schemes);
      if (typeof offer === "string") problems.push(`${where}.accepts[${optionIndex}]: ${offer}`);
      else accepts.push(offer);
    }
    if (pattern.ok) {
      rules.push({
        id: input.id,
        methods: input.methods,
        pattern: pattern.pattern,
        description: input.description,
        mimeType: input.mimeType,
        origin: input.origin,
        settlement: input.settlement,
        paymentIdentifierRequired: input.paymentIdentifier.required,
        session: input.session,
        index,
        accepts,
      });
    }
  }
  problems.push(...findConflicts(rules));
  if (problems.length > 0) return { ok: false, problems, blocked: recoverBlockedPatterns(raw) };
  return { ok: true, ruleSet: { rules } };
}

function buildOffer(rule: PriceRuleInput, option: PaymentOption, assets: AssetRegistry, schemes: SchemeRegistry): PaymentRequirements | string {
  const plugin = schemes.find(option.scheme, option.network);
  if (!plugin) return `no scheme plugin for "${option.scheme}" on ${option.network}`;

  const atomicPrice = typeof rule.price === "object" ? rule.price : undefined;
  // An atomic price names its asset, which lives on one network: options elsewhere fall back to their default.
  const priceAssetHere = atomicPrice && assets.find(option.network, atomicPrice.asset) ? atomicPrice.asset : undefined;
  const assetAddress = option.asset ?? priceAssetHere ?? assets.defaultFor(option.network)?.address ?? atomicPrice?.asset;
  if (!assetAddress) return `no asset given and no default asset known for ${option.network}`;
  const asset = plugin.parseAddress(assetAddress);
  if (!asset.ok) return `asset: ${asset.reason}`;
  const assetInfo = assets.find(option.network, asset.value);

  let amount = option.amount;
  if (amount === undefined && atomicPrice && sameAddress(atomicPrice.asset, asset.value)) amount = atomicPrice.amount;
  if (amount === undefined && typeof rule.price === "string") {
    if (!assetInfo) return `asset ${asset.value} on ${option.network} is not in the asset registry, so a USD price cannot be converted`;
    const converted = convertUsdToAtomic(rule.price, assetInfo.decimals);
    if (typeof converted !== "string") return converted.error;
    amount = converted;
  }
  if (amount === undefined) return "no amount: set the rule's price or this option's amount";
  if (BigInt(amount) === 0n) return "amount must be greater than zero (leave free routes out of the rules)";

  const payToInput = option.payTo ?? rule.payTo;
  if (!payToInput) return "no payTo: set it on the rule or on this option";
  const payTo = plugin.parseAddress(payToInput);
  if (!payTo.ok) return `payTo: ${payTo.reason}`;

  const extra = plugin.buildExtra(assetInfo, option.extra);
  if (!extra.ok) return extra.reason;

  return {
    scheme: option.scheme,
    network: option.network,
    amount,
    asset: asset.value,
    payTo: payTo.value,
    maxTimeoutSeconds: rule.maxTimeoutSeconds,
    ...(extra.value ? { extra: extra.value } : {}),
  };
}

/** `"$0.01"` with 6 decimals → `"10000"`; refuses prices finer than the asset's smallest unit. */
export function convertUsdToAtomic(price: string, decimals: number): string | { error: string } {
  const [whole = "0", fraction = ""] = price.slice(1).split(".");
  if (fraction.length > decimals && /[1-9]/.test(fraction.slice(decimals))) {
    return { error: `price ${price} is finer than the asset's ${decimals} decimals` };
  }
  const atomic = BigInt(whole + fraction.slice(0, decimals).padEnd(decimals, "0"));
  return atomic.toString();
}

function findConflicts(rules: PriceRule[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  for (const rule of rules) {
    const earlier = seen.get(rule.id);
    if (earlier !== undefined) problems.push(`rules[${rule.index}]: duplicate id "${rule.id}" (also rules[${earlier}])`);
    seen.set(rule.id, rule.index);
  }
  for (const [i, a] of rules.entries()) {
    for (const b of rules.slice(i + 1)) {
      if (isSamePattern(a.pattern, b.pattern) && methodsOverlap(a.methods, b.methods)) {
        problems.push(`rules[${b.index}] (${b.id}): same path and methods as rules[${a.index}] (${a.id}); which one applies would be ambiguous`);
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
  return path.length === 0 ? "(document)" : path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
}
