import { describe, expect, it } from "vitest";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { classifyNetwork } from "../../src/pricing/networks.js";
import { applyPreferences, mergePreferences, type Preferences, type PreferenceSubject } from "../../src/pricing/preferences.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";

const BASE = "eip155:8453";
const BASE_SEPOLIA = "eip155:84532";
const SOLANA = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
const SOLANA_DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const LOCAL = "eip155:31337";

const offer = (network: string, symbol: string | undefined = "USDC", scheme = "exact"): PreferenceSubject => ({ scheme, network, symbol });
const OFFERS = [
  offer(BASE),
  offer(SOLANA),
  offer(BASE_SEPOLIA),
  offer(SOLANA_DEVNET),
  offer(LOCAL, "TUSD"),
  offer("card:visa", "USD", "card"),
];

describe("applyPreferences", () => {
  it.each<[string, Preferences, string[]]>([
    ["no preferences: as configured", {}, [BASE, SOLANA, BASE_SEPOLIA, SOLANA_DEVNET, LOCAL, "card:visa"]],
    [
      "preferNetworks moves Solana first, order kept otherwise",
      { preferNetworks: ["solana:*"] },
      [SOLANA, SOLANA_DEVNET, BASE, BASE_SEPOLIA, LOCAL, "card:visa"],
    ],
    [
      "preferNetworks by namespace and exact id, in list order",
      { preferNetworks: [BASE_SEPOLIA, "solana"] },
      [BASE_SEPOLIA, SOLANA, SOLANA_DEVNET, BASE, LOCAL, "card:visa"],
    ],
    ["avoidMainnet drops known mainnets only", { avoidMainnet: true }, [BASE_SEPOLIA, SOLANA_DEVNET, LOCAL, "card:visa"]],
    ["testnetOnly also drops networks of unknown kind", { testnetOnly: true }, [BASE_SEPOLIA, SOLANA_DEVNET, LOCAL]],
    ["assets by symbol", { assets: ["USDC"] }, [BASE, SOLANA, BASE_SEPOLIA, SOLANA_DEVNET]],
    ["preferSchemes", { preferSchemes: ["card"] }, ["card:visa", BASE, SOLANA, BASE_SEPOLIA, SOLANA_DEVNET, LOCAL]],
    ["filters and order together", { avoidMainnet: true, assets: ["USDC"], preferNetworks: ["solana:*"] }, [SOLANA_DEVNET, BASE_SEPOLIA]],
    ["conflicting: testnets only, in an asset only mainnets carry", { testnetOnly: true, assets: ["EURC"] }, []],
  ])("%s", (_name, preferences, networks) => {
    expect(applyPreferences(OFFERS, preferences).kept.map((o) => o.network)).toEqual(networks);
  });

  it("says why each option was dropped", () => {
    const { dropped } = applyPreferences([offer(BASE), { scheme: "exact", network: LOCAL, symbol: undefined }], {
      avoidMainnet: true,
      assets: ["USDC"],
    });
    expect(dropped.map((d) => d.reason)).toEqual([
      "avoidMainnet: eip155:8453 is a mainnet",
      "assets: an asset with no known symbol is not one of USDC",
    ]);
  });

  it("a rule's own fields win over the gateway's, field by field", () => {
    expect(
      mergePreferences({ avoidMainnet: true, preferNetworks: ["solana"] }, { preferNetworks: [BASE], avoidMainnet: undefined }),
    ).toEqual({ avoidMainnet: true, preferNetworks: [BASE] });
  });

  it.each([
    [BASE, "mainnet"],
    [SOLANA, "mainnet"],
    [BASE_SEPOLIA, "testnet"],
    [LOCAL, "testnet"],
    ["ach:us", "unknown"],
  ])("%s is a %s", (network, kind) => {
    expect(classifyNetwork(network)).toBe(kind);
  });
});

describe("preferences in the rules document", () => {
  const schemes = buildDefaultSchemeRegistry();
  const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
  const rule = (overrides: Record<string, unknown> = {}) => ({
    id: "r",
    path: "/paid",
    price: "$0.01",
    accepts: [{ network: BASE }, { network: BASE_SEPOLIA }],
    payTo: PAY_TO,
    ...overrides,
  });

  it("orders and filters a rule's static offers at load time", () => {
    const compiled = compilePriceRules({ preferences: { preferNetworks: [BASE_SEPOLIA] }, rules: [rule()] }, schemes);
    expect(compiled.ok && compiled.ruleSet.rules[0]!.staticAccepts!.map((o) => o.network)).toEqual([BASE_SEPOLIA, BASE]);
    const avoiding = compilePriceRules({ preferences: { avoidMainnet: true }, rules: [rule()] }, schemes);
    expect(avoiding.ok && avoiding.ruleSet.rules[0]!.staticAccepts!.map((o) => o.network)).toEqual([BASE_SEPOLIA]);
  });

  it("refuses preferences that leave a rule with no option, saying why", () => {
    const compiled = compilePriceRules({ rules: [rule({ preferences: { testnetOnly: true, assets: ["EURC"] } })] }, schemes);
    expect(compiled.ok).toBe(false);
    expect(!compiled.ok && compiled.problems).toEqual([
      "rules[0] (r): the preferences leave no payment option (eip155:8453: testnetOnly: eip155:8453 is not a known testnet; eip155:84532: assets: USDC is not one of EURC)",
    ]);
  });

  it("refuses a preferred facilitator the document does not define", () => {
    const compiled = compilePriceRules(
      { facilitators: [{ id: "a", url: "https://a.example" }], rules: [rule({ preferences: { preferFacilitators: ["b"] } })] },
      schemes,
    );
    expect(!compiled.ok && compiled.problems).toEqual(['rules[0] (r).preferences.preferFacilitators: no facilitator "b" (known: a)']);
  });

  it("lists every facilitator problem at once", () => {
    const compiled = compilePriceRules(
      {
        facilitators: [
          { id: "a", url: "ftp://a.example" },
          { id: "a", url: "https://a.example", auth: { kind: "bearer", tokenSecret: "lower-case" } },
          { id: "c", url: "https://c.example", auth: { kind: "cdp-jwt", keyIdSecret: "K" } },
        ],
        rules: [rule()],
      },
      schemes,
    );
    expect(!compiled.ok && compiled.problems.map((p) => p.split(":")[0])).toEqual([
      "facilitators[0].url",
      "facilitators[1].auth.tokenSecret",
      "facilitators[2].auth.keySecret",
    ]);
  });
});
