import { describe, expect, it } from "vitest";
import { compilePriceRules, convertUsdToAtomic } from "../../src/pricing/compile-price-rules.js";
import { RuleMemo } from "../../src/pricing/rule-memo.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";

const schemes = buildDefaultSchemeRegistry();
const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const LOCAL_TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

function rule(overrides: Record<string, unknown> = {}) {
  return { id: "r", path: "/paid", price: "$0.01", accepts: [{ network: "eip155:8453" }], payTo: PAY_TO, ...overrides };
}

function problemsOf(document: unknown): string[] {
  const compiled = compilePriceRules(document, schemes);
  if (compiled.ok) throw new Error("expected problems");
  return compiled.problems;
}

describe("convertUsdToAtomic", () => {
  it.each([
    ["$0.01", 6, "10000"],
    ["$1", 6, "1000000"],
    ["$0.000001", 6, "1"],
    ["$0.0000010", 6, "1"],
    ["$12.5", 18, "12500000000000000000"],
    ["$3", 0, "3"],
  ])("%s with %i decimals → %s", (price, decimals, atomic) => {
    expect(convertUsdToAtomic(price, decimals)).toBe(atomic);
  });

  it("refuses a price finer than the asset's smallest unit", () => {
    expect(convertUsdToAtomic("$0.0000001", 6)).toEqual({ error: "price $0.0000001 is finer than the asset's 6 decimals" });
  });
});

describe("compilePriceRules", () => {
  it("builds the offers with registry facts and defaults", () => {
    const compiled = compilePriceRules({ rules: [rule()] }, schemes);
    expect(compiled.ok && compiled.ruleSet.rules[0]).toMatchObject({
      id: "r",
      methods: "*",
      mimeType: "application/json",
      staticAccepts: [
        {
          scheme: "exact",
          network: "eip155:8453",
          amount: "10000",
          asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
          payTo: PAY_TO,
          maxTimeoutSeconds: 120,
          extra: { name: "USD Coin", version: "2" },
        },
      ],
    });
  });

  it("uses config assets, atomic prices and per-option overrides", () => {
    const compiled = compilePriceRules(
      {
        assets: [{ network: "eip155:31337", address: LOCAL_TOKEN, decimals: 6, name: "USD Coin", version: "2" }],
        rules: [
          rule({
            price: { amount: "2500", asset: LOCAL_TOKEN },
            accepts: [
              { network: "eip155:31337" },
              { network: "eip155:8453", amount: "7", payTo: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc" },
            ],
          }),
        ],
      },
      schemes,
    );
    expect(compiled.ok && compiled.ruleSet.rules[0]!.staticAccepts).toMatchObject([
      { network: "eip155:31337", asset: LOCAL_TOKEN, amount: "2500", extra: { name: "USD Coin", version: "2" } },
      { network: "eip155:8453", amount: "7", payTo: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" },
    ]);
  });

  it("offers one USD price on many networks, converted per asset", () => {
    const SOLANA_PAY_TO = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
    const TOKEN18 = "0x0000000000000000000000000000000000000018";
    const compiled = compilePriceRules(
      {
        assets: [{ network: "eip155:10", address: TOKEN18, decimals: 18, name: "Dollar18", version: "1" }],
        rules: [
          rule({
            price: "$0.25",
            accepts: [
              ...[
                "eip155:8453",
                "eip155:84532",
                "eip155:137",
                "eip155:80002",
                "eip155:43114",
                "eip155:43113",
                "eip155:42161",
                "eip155:1",
                "eip155:10",
              ].map((network) => ({ network })),
              ...["solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"].map((network) => ({
                network,
                payTo: SOLANA_PAY_TO,
              })),
            ],
          }),
        ],
      },
      schemes,
    );
    if (!compiled.ok) throw new Error(compiled.problems.join("\n"));
    expect(compiled.ruleSet.rules[0]!.staticAccepts!.map((o) => [o.network, o.amount, o.extra?.name])).toEqual([
      ["eip155:8453", "250000", "USD Coin"],
      ["eip155:84532", "250000", "USDC"],
      ["eip155:137", "250000", "USD Coin"],
      ["eip155:80002", "250000", "USDC"],
      ["eip155:43114", "250000", "USD Coin"],
      ["eip155:43113", "250000", "USD Coin"],
      ["eip155:42161", "250000", "USD Coin"],
      ["eip155:1", "250000", "USD Coin"],
      ["eip155:10", "250000000000000000", "Dollar18"],
      ["solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "250000", undefined],
      ["solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1", "250000", undefined],
    ]);
    expect(compiled.ruleSet.rules[0]!.staticAccepts!.slice(-2).map((o) => [o.asset, o.payTo])).toEqual([
      ["EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", SOLANA_PAY_TO],
      ["4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", SOLANA_PAY_TO],
    ]);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({
      rules: [
        rule({ id: "a", path: "no-slash" }),
        rule({ id: "b", path: "/b", accepts: [{ network: "eip155:999999" }] }),
        rule({ id: "c", path: "/c", payTo: "not-an-address" }),
        rule({ id: "d", path: "/d", price: "$0.0000001" }),
        rule({ id: "e", path: "/e", accepts: [{ network: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp" }] }),
        rule({ id: "f", path: "/f", price: undefined }),
        rule({ id: "h", path: "/h", accepts: [{ network: "cosmos:cosmoshub-4", asset: "uatom", amount: "5" }] }),
        rule({ id: "g", path: "/g", accepts: [{ network: "eip155:31337", asset: LOCAL_TOKEN, amount: "5" }] }),
      ],
    });
    expect(problems).toEqual([
      "rules[0] (a).path: must start with /",
      "rules[1] (b).accepts[0]: no asset given and no default asset known for eip155:999999",
      'rules[2] (c).accepts[0]: payTo: "not-an-address" is not an EVM address',
      "rules[3] (d).accepts[0]: price $0.0000001 is finer than the asset's 6 decimals",
      // The rule's EVM payee cannot receive on Solana: a Solana option needs its own payTo.
      'rules[4] (e).accepts[0]: payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" is not a Solana address (32 bytes, base58)',
      "rules[5] (f).accepts[0]: no amount: set the rule's price or this option's amount",
      'rules[6] (h).accepts[0]: no scheme plugin for "exact" on cosmos:cosmoshub-4 (set "delegate": true to leave it wholly to a facilitator)',
      "rules[7] (g).accepts[0]: exact on EVM needs the token's EIP-712 name and version (asset registry or extra)",
    ]);
  });

  it("reports schema problems with their paths, including unknown fields", () => {
    const problems = problemsOf({ rules: [{ ...rule(), pric: "$1", methods: ["get"], maxTimeoutSeconds: 0 }] });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^rules\[0\]\.methods\[0\]: expected an upper-case HTTP method/),
        expect.stringMatching(/^rules\[0\]\.maxTimeoutSeconds: /),
        expect.stringMatching(/^rules\[0\]: Unrecognized key: "pric"/),
      ]),
    );
  });

  it("refuses duplicate ids and ambiguous rules", () => {
    expect(
      problemsOf({
        rules: [
          rule({ id: "a", path: "/x/:id", methods: ["GET"] }),
          rule({ id: "a", path: "/y" }),
          rule({ id: "c", path: "/X/:other", methods: ["GET", "POST"] }),
          rule({ id: "d", path: "/x/:id", methods: ["PUT"] }),
          rule({ id: "e", path: "/x/:id" }),
          rule({ id: "f", path: "/z" }),
          rule({ id: "g", path: "/z/" }),
        ],
      }),
    ).toEqual([
      'rules[1]: duplicate id "a" (also rules[0])',
      "rules[2] (c): same path and methods as rules[0] (a); which one applies would be ambiguous",
      "rules[6] (g): same path and methods as rules[5] (f); which one applies would be ambiguous",
    ]);
  });

  it("finds the one ambiguous pair among 10,000 rules (rules are grouped by path shape, not compared pairwise)", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => rule({ id: `r${i}`, path: `/api/${i}/:item`, methods: ["GET"] }));
    expect(compilePriceRules({ rules: many }, schemes).ok).toBe(true);
    many[9_999] = rule({ id: "late", path: "/api/3/:other", methods: ["GET", "HEAD"] });
    expect(problemsOf({ rules: many })).toEqual([
      "rules[9999] (late): same path and methods as rules[3] (r3); which one applies would be ambiguous",
    ]);
  });

  it("refuses a zero price", () => {
    expect(problemsOf({ rules: [rule({ price: "$0" })] })).toEqual([
      "rules[0] (r).accepts[0]: amount must be greater than zero (leave free routes out of the rules)",
    ]);
  });

  it.each([
    ["a document without rules", { nope: 1 }, "all"],
    ["a rule without a readable path", { rules: [rule(), { id: "x" }] }, "all"],
    ["a rule with an invalid path", { rules: [rule({ path: "nope" })] }, "all"],
  ])("blocks everything for %s", (_name, document, blocked) => {
    const compiled = compilePriceRules(document, schemes);
    expect(!compiled.ok && compiled.blocked).toBe(blocked);
  });

  it("blocks only the readable paths when the rest of the document is broken", () => {
    const compiled = compilePriceRules({ rules: [rule({ path: "/a/:x", price: "free" }), rule({ id: "b", path: "/b/**" })] }, schemes);
    expect(!compiled.ok && compiled.blocked !== "all" && compiled.blocked.map((p) => p.source)).toEqual(["/a/:x", "/b/**"]);
  });
});

describe("compiling again after an edit (RuleMemo)", () => {
  const doc = (rules: unknown[], extra: Record<string, unknown> = {}) => ({ rules, ...extra });
  const a = rule({ id: "a", path: "/a" });
  const b = rule({ id: "b", path: "/b", price: "$0.02" });

  it("reuses the rules the edit did not touch, at their new positions, and compiles the changed one", () => {
    const memo = new RuleMemo();
    const first = compilePriceRules(doc([a, b]), schemes, memo);
    if (!first.ok) throw new Error(first.problems.join("; "));
    const edited = compilePriceRules(doc([rule({ id: "c", path: "/c" }), a, { ...b, price: "$0.03" }]), schemes, memo);
    if (!edited.ok) throw new Error(edited.problems.join("; "));
    const [c, a2, b2] = edited.ruleSet.rules;
    expect(a2!.staticAccepts).toBe(first.ruleSet.rules[0]!.staticAccepts);
    expect([c!.index, a2!.index, b2!.index]).toEqual([0, 1, 2]);
    expect(b2!.staticAccepts![0]!.amount).toBe("30000");
    expect(b2!.staticAccepts).not.toBe(first.ruleSet.rules[1]!.staticAccepts);
  });

  it("starts over when what every rule depends on changes (assets, preferences, facilitators)", () => {
    const memo = new RuleMemo();
    const first = compilePriceRules(doc([a]), schemes, memo);
    const withAsset = compilePriceRules(
      doc([a], { assets: [{ network: "eip155:31337", address: LOCAL_TOKEN, decimals: 6, name: "USD Coin", version: "2" }] }),
      schemes,
      memo,
    );
    if (!first.ok || !withAsset.ok) throw new Error("expected both to compile");
    expect(withAsset.ruleSet.rules[0]!.staticAccepts).not.toBe(first.ruleSet.rules[0]!.staticAccepts);
    expect(withAsset.ruleSet.rules[0]!.staticAccepts).toEqual(first.ruleSet.rules[0]!.staticAccepts);
  });

  it("still reports problems of reused rules' neighbours, and a duplicate of a reused rule", () => {
    const memo = new RuleMemo();
    compilePriceRules(doc([a, b]), schemes, memo);
    const again = compilePriceRules(doc([a, b, { ...a }]), schemes, memo);
    expect(again.ok ? [] : again.problems).toEqual([
      'rules[2]: duplicate id "a" (also rules[0])',
      "rules[2] (a): same path and methods as rules[0] (a); which one applies would be ambiguous",
    ]);
    const broken = compilePriceRules(doc([a, rule({ id: "z", path: "/z", price: "$0" })]), schemes, memo);
    expect(broken.ok ? [] : broken.problems).toEqual([
      "rules[1] (z).accepts[0]: amount must be greater than zero (leave free routes out of the rules)",
    ]);
  });
});

describe("rules that pay alike, within one compile", () => {
  const compiled = (rules: unknown[]) => {
    const result = compilePriceRules({ rules }, schemes);
    if (!result.ok) throw new Error(result.problems.join("; "));
    return result.ruleSet.rules;
  };

  it("share their offers and accepts; a different price, payee, timeout or option gets its own", () => {
    const [a, b, price, payee, timeout, option] = compiled([
      rule({ id: "a", path: "/a" }),
      rule({ id: "b", path: "/b/:x", description: "another path, same payment" }),
      rule({ id: "price", path: "/price", price: "$0.02" }),
      rule({ id: "payee", path: "/payee", payTo: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" }),
      rule({ id: "timeout", path: "/timeout", maxTimeoutSeconds: 30 }),
      rule({ id: "option", path: "/option", accepts: [{ network: "eip155:84532" }] }),
    ]);
    expect(b!.offers).toBe(a!.offers);
    expect(b!.staticAccepts).toBe(a!.staticAccepts);
    expect(price!.offers).toBe(a!.offers);
    expect(price!.staticAccepts![0]!.amount).toBe("20000");
    expect(payee!.staticAccepts![0]!.payTo).toBe("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
    expect(a!.staticAccepts![0]!.payTo).toBe(PAY_TO);
    expect(timeout!.staticAccepts![0]!.maxTimeoutSeconds).toBe(30);
    expect(a!.staticAccepts![0]!.maxTimeoutSeconds).not.toBe(30);
    expect(option!.staticAccepts![0]!.network).toBe("eip155:84532");
  });

  it("report a problem on every rule that has it, not only the first", () => {
    const result = compilePriceRules(
      { rules: [rule({ id: "x", path: "/x", price: "$0.0000001" }), rule({ id: "y", path: "/y", price: "$0.0000001" })] },
      schemes,
    );
    expect(result.ok ? [] : result.problems).toEqual([
      "rules[0] (x).accepts[0]: price $0.0000001 is finer than the asset's 6 decimals",
      "rules[1] (y).accepts[0]: price $0.0000001 is finer than the asset's 6 decimals",
    ]);
  });

  it("that differ only in id, path and description are compiled once: each keeps its own id, path, description and position", () => {
    const rules = compiled([
      rule({ id: "a", path: "/a/:x", description: "first", session: { ttlSeconds: 60, maxRequests: 3 } }),
      rule({ id: "b", path: "/B/%7Euser", description: "second", session: { ttlSeconds: 60, maxRequests: 3 } }),
      rule({ id: "c", path: "/c", session: { ttlSeconds: 60, maxRequests: 3 } }),
    ]);
    expect(rules.map((r) => [r.id, r.pattern.source, r.description, r.index])).toEqual([
      ["a", "/a/:x", "first", 0],
      ["b", "/B/%7Euser", "second", 1],
      ["c", "/c", "", 2],
    ]);
    expect(rules[1]!.pattern.segments).toEqual([
      { kind: "literal", value: "b" },
      { kind: "literal", value: "~user" },
    ]);
    expect(rules[1]!.staticAccepts).toBe(rules[0]!.staticAccepts);
    expect(rules[2]!.session).toEqual(rules[0]!.session);
    // The compiled rule is what the full compile gives for that rule alone.
    const alone = compiled([rule({ id: "b", path: "/B/%7Euser", description: "second", session: { ttlSeconds: 60, maxRequests: 3 } })])[0]!;
    expect({ ...rules[1], index: 0 }).toEqual(alone);
  });

  it("that differ only in id, path and description still have those checked, with the problems a full compile reports", () => {
    const bad = [
      rule({ id: "bad id!", path: "/one" }),
      rule({ id: "two", path: "no-slash" }),
      rule({ id: "three", path: "/three", description: 7 }),
      rule({ id: "four", path: "/.well-known/x402" }),
      rule({ id: "five", path: "/five", unknownField: true }),
    ];
    const withSkeleton = problemsOf({ rules: [rule({ id: "good", path: "/good" }), ...bad] });
    const alone = bad.flatMap((r, i) => problemsOf({ rules: [r] }).map((p) => p.replace("rules[0]", `rules[${i + 1}]`)));
    expect(withSkeleton).toEqual(alone);
    expect(withSkeleton).toHaveLength(5);
  });
});
