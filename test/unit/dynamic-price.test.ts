// Price and payTo derivation, table-driven. Pure functions only.
import { describe, expect, it } from "vitest";
import { computeDynamicPrice, PricingSchema } from "../../src/pricing/dynamic-price.js";
import type { OfferTemplate, RulePayTo } from "../../src/pricing/price-rule.js";
import { resolveOffers, type RequestPrice } from "../../src/pricing/resolve-offers.js";
import { TenantRouteSchema, tenantOf, tenantPayTo } from "../../src/pricing/tenant-payto.js";
import { formatUsd, parseUsd, usdToAtomicCeil, usdToAtomicExact } from "../../src/pricing/usd.js";
import { exactEvmScheme } from "../../src/schemes/exact-evm.js";

const A = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const B = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const C = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
const USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

describe("USD arithmetic", () => {
  it.each([
    ["$0.01", 6, 10_000n, 10_000n],
    ["$1", 6, 1_000_000n, 1_000_000n],
    ["$0.0000015", 6, 2n, undefined],
    ["$0.000000000000000001", 18, 1n, 1n],
    ["$2.5", 0, 3n, undefined],
  ])("%s with %i decimals: ceil %s, exact %s", (usd, decimals, ceil, exact) => {
    expect(usdToAtomicCeil(parseUsd(usd), decimals)).toBe(ceil);
    expect(usdToAtomicExact(parseUsd(usd), decimals)).toBe(exact);
  });

  it("formats back", () => {
    expect(formatUsd(parseUsd("$12.0500"))).toBe("$12.05");
    expect(formatUsd(parseUsd("$3"))).toBe("$3");
  });
});

describe("computeDynamicPrice", () => {
  const spec = (fields: Record<string, unknown>) => PricingSchema.parse({ input: { query: "n" }, ...fields });
  const tiers = spec({ tiers: [{ upTo: 10, price: "$0.01" }, { upTo: 100, price: "$0.05" }, { price: "$0.25" }] });
  const perUnit = spec({ perUnit: "$0.001", base: "$0.01", floor: "$0.015", cap: "$0.10" });
  const map = spec({ map: { a: "$1", b: "$2" } });
  const withDefaults = spec({ map: { a: "$1" }, otherwise: "$3", default: "a" });

  it.each<[string, ReturnType<typeof spec>, string | undefined, string | null]>([
    ["tier, lower bound inclusive", tiers, "10", "$0.01"],
    ["tier, next", tiers, "11", "$0.05"],
    ["tier, open-ended last", tiers, "1000000", "$0.25"],
    ["tier, zero", tiers, "0", "$0.01"],
    ["per unit", perUnit, "20", "$0.03"],
    ["per unit under the floor", perUnit, "1", "$0.015"],
    ["per unit over the cap", perUnit, "1000", "$0.1"],
    ["map", map, "b", "$2"],
    ["map, unlisted", map, "c", null],
    ["map, otherwise", withDefaults, "z", "$3"],
    ["map, default when absent", withDefaults, undefined, "$1"],
    ["missing input", tiers, undefined, null],
    ["not an integer", tiers, "1.5", null],
    ["not a number", perUnit, "ten", null],
    ["prototype keys are not prices", map, "constructor", null],
  ])("%s", (_name, pricing, raw, expected) => {
    const result = computeDynamicPrice(pricing, raw);
    if (expected === null) expect(result.ok).toBe(false);
    else expect(result.ok && formatUsd(result.attodollars)).toBe(expected);
  });

  it("refuses inconsistent specs", () => {
    for (const bad of [
      {},
      { tiers: [{ price: "$1" }], perUnit: "$1" },
      { tiers: [{ price: "$1" }, { upTo: 5, price: "$2" }] },
      {
        tiers: [
          { upTo: 5, price: "$1" },
          { upTo: 5, price: "$2" },
        ],
      },
      { map: { a: "$1" }, base: "$1" },
      { perUnit: "$1", floor: "$2", cap: "$1" },
    ]) {
      expect(PricingSchema.safeParse({ input: { query: "n" }, ...bad }).success).toBe(false);
    }
  });
});

describe("payTo derivation", () => {
  const template = (overrides: Partial<OfferTemplate> = {}): OfferTemplate => ({
    plugin: exactEvmScheme,
    scheme: "exact",
    network: "eip155:84532",
    asset: USDC,
    decimals: 6,
    symbol: "USDC",
    amount: undefined,
    payTo: undefined,
    extra: { name: "USDC", version: "2" },
    maxTimeoutSeconds: 60,
    ...overrides,
  });
  const usd: RequestPrice = { kind: "usd", attodollars: parseUsd("$0.01"), exact: true };
  const staticPayTo: RulePayTo = { kind: "static", address: C };

  it.each<[string, Partial<OfferTemplate>, RulePayTo, ((network: string) => string | undefined) | undefined, string | null]>([
    ["the rule's static payee", {}, staticPayTo, undefined, C],
    ["a routed payee beats the rule's", {}, staticPayTo, () => A.toLowerCase(), A],
    ["the option's own payee beats a routed one", { payTo: B }, staticPayTo, () => A, B],
    ["no payee at all", {}, { kind: "static", address: undefined }, () => undefined, null],
    ["a routed value that is not an address", {}, staticPayTo, () => "acme", null],
  ])("%s", (_name, overrides, payTo, payToFor, expected) => {
    const resolved = resolveOffers({ offers: [template(overrides)], payTo }, { price: usd, payToFor });
    if (expected === null) expect(resolved.ok).toBe(false);
    else expect(resolved.ok && resolved.accepts[0]!.payTo).toBe(expected);
  });

  it("converts one USD price per asset and applies an atomic price only to its own asset", () => {
    const other = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
    const offers = [template(), template({ network: "eip155:8453", asset: other, decimals: 18 })];
    const both = resolveOffers({ offers, payTo: staticPayTo }, { price: { kind: "usd", attodollars: parseUsd("$0.01"), exact: false } });
    expect(both.ok && both.accepts.map((o) => o.amount)).toEqual(["10000", "10000000000000000"]);
    const atomic = resolveOffers({ offers, payTo: staticPayTo }, { price: { kind: "atomic", amount: "5", asset: other.toLowerCase() } });
    expect(atomic.ok && atomic.accepts.map((o) => [o.network, o.amount])).toEqual([["eip155:8453", "5"]]);
  });

  const route = TenantRouteSchema.parse({ tenant: { header: "X-Tenant" }, table: "t" });
  const table = new Map<string, string | Record<string, string>>([
    ["acme", A],
    ["globex", { eip155: B, "eip155:8453": C, solana: "So1ana" }],
  ]);
  it.each([
    ["acme", "eip155:84532", A],
    ["globex", "eip155:84532", B],
    ["globex", "eip155:8453", C],
    ["globex", "solana:devnet", "So1ana"],
  ])("tenant %s on %s → %s", (tenant, network, expected) => {
    expect(tenantPayTo(table, route, tenant)(network)).toBe(expected);
  });

  it("reads the tenant from host, parameter or header, lower-cased; an unknown one without fallback throws", () => {
    const source = {
      url: new URL("https://Acme.Example/x"),
      headers: new Headers({ "x-tenant": " GLOBEX " }),
      params: { shop: "initech" },
    };
    expect(tenantOf(TenantRouteSchema.parse({ tenant: { host: true }, table: "t" }), source)).toBe("acme.example");
    expect(tenantOf(route, source)).toBe("globex");
    expect(tenantOf(TenantRouteSchema.parse({ tenant: { param: "shop" }, table: "t" }), source)).toBe("initech");
    expect(() => tenantPayTo(table, route, "initech")).toThrow();
    expect(tenantPayTo(table, { ...route, fallback: C }, "initech")("eip155:1")).toBe(C);
  });
});
