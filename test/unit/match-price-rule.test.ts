import { describe, expect, it } from "vitest";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { matchPriceRule } from "../../src/pricing/match-price-rule.js";
import type { PriceRule } from "../../src/pricing/price-rule.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";

const PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

function rules(specs: [id: string, path: string, methods?: string[] | "*"][]): PriceRule[] {
  const compiled = compilePriceRules(
    {
      rules: specs.map(([id, path, methods]) => ({
        id,
        path,
        methods: methods ?? "*",
        price: "$1",
        accepts: [{ network: "eip155:8453" }],
        payTo: PAY_TO,
      })),
    },
    buildDefaultSchemeRegistry(),
  );
  if (!compiled.ok) throw new Error(compiled.problems.join("\n"));
  return compiled.ruleSet.rules;
}

const set = rules([
  ["tail", "/api/**"],
  ["param", "/api/:resource"],
  ["literal", "/api/special"],
  ["literal-get", "/api/special/x", ["GET"]],
  ["any-method", "/api/special/:y"],
  ["first", "/dup/:a", ["POST"]],
  ["second", "/dup/:b", ["DELETE"]],
  ["options", "/cors", ["OPTIONS"]],
]);

function match(method: string, path: string, isPreflight = false) {
  return matchPriceRule(set, { method, segments: path.split("/").filter(Boolean), isPreflight })?.rule.id;
}

describe("matchPriceRule", () => {
  it.each([
    ["GET", "/api/special", "literal"],
    ["GET", "/api/other", "param"],
    ["GET", "/api/a/b/c", "tail"],
    ["GET", "/api", "tail"],
    ["GET", "/api/special/x", "literal-get"],
    ["HEAD", "/api/special/x", "literal-get"],
    ["POST", "/api/special/x", "any-method"],
    ["POST", "/dup/1", "first"],
    ["DELETE", "/dup/1", "second"],
    ["GET", "/dup/1", undefined],
    ["GET", "/free", undefined],
  ])("%s %s → %s", (method, path, id) => {
    expect(match(method, path)).toBe(id);
  });

  it("never prices a CORS preflight unless the rule lists OPTIONS", () => {
    expect(match("OPTIONS", "/api/special", true)).toBeUndefined();
    expect(match("OPTIONS", "/api/special", false)).toBe("literal");
    expect(match("OPTIONS", "/cors", true)).toBe("options");
  });

  it("prefers a rule naming the method over '*' for the same path", () => {
    const both = rules([
      ["star", "/x/:id", "*"],
      ["get", "/x/:n", ["GET"]],
    ]);
    expect(matchPriceRule(both, { method: "GET", segments: ["x", "1"], isPreflight: false })?.rule.id).toBe("get");
    expect(matchPriceRule(both, { method: "HEAD", segments: ["x", "1"], isPreflight: false })?.rule.id).toBe("get");
    expect(matchPriceRule(both, { method: "POST", segments: ["x", "1"], isPreflight: false })?.rule.id).toBe("star");
  });
});
