// Property tests: however a paid path is spelled, it still matches its rule (or is refused as malformed).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalizePath } from "../../src/pricing/canonical-path.js";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { matchPriceRule } from "../../src/pricing/match-price-rule.js";
import { comparePatternSpecificity, matchPathPattern } from "../../src/pricing/path-pattern.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";

const RUNS = 10_000;
const compiled = compilePriceRules(
  {
    rules: [
      {
        id: "weather",
        methods: ["GET"],
        path: "/weather/:city",
        price: "$0.01",
        accepts: [{ network: "eip155:8453" }],
        payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
      },
      {
        id: "admin",
        path: "/admin/**",
        price: "$1",
        accepts: [{ network: "eip155:8453" }],
        payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
      },
    ],
  },
  buildDefaultSchemeRegistry(),
);
if (!compiled.ok) throw new Error(compiled.problems.join("\n"));
const rules = compiled.ruleSet.rules;

function encodeChar(ch: string, how: number): string {
  const hex = `%${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
  switch (how) {
    case 1:
      return hex.toUpperCase();
    case 2:
      return hex;
    case 3:
      return `%25${hex.slice(1)}`; // double-encoded
    case 4:
      return ch.toUpperCase();
    default:
      return ch;
  }
}

/** Respellings of one path that any origin would read as the same resource. */
function respell(segments: string[], choices: { encodings: number[]; separators: number[]; trailing: number }): string {
  let out = "";
  segments.forEach((segment, i) => {
    const sep = choices.separators[i % choices.separators.length]!;
    out += ["/", "//", "/./", "/zz/../", "%2F", "%252F", "\\", "/;x=1/"][sep % 8];
    out += [...segment].map((ch, j) => encodeChar(ch, choices.encodings[(i * 7 + j) % choices.encodings.length]!)).join("");
  });
  return out + ["", "/", "/.", ";jsessionid=1"][choices.trailing % 4];
}

const spelling = fc.record({
  encodings: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 16 }),
  separators: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 8 }),
  trailing: fc.nat(3),
});

describe("paid-route matching under fuzz", () => {
  it.each([
    [["weather", "paris"], "weather"],
    [["admin", "users", "1"], "admin"],
    [["admin"], "admin"],
  ])("every spelling of /%s stays priced", (segments, ruleId) => {
    fc.assert(
      fc.property(spelling, (choices) => {
        const path = respell(segments as string[], choices);
        const canonical = canonicalizePath(path);
        if (!canonical.ok) return; // refused with 400: never a free pass
        const match = matchPriceRule(rules, { method: "GET", segments: canonical.segments, isPreflight: false });
        expect(match?.rule.id, path).toBe(ruleId);
      }),
      { numRuns: RUNS, seed: 7 },
    );
  });

  it("canonicalizePath never throws on any input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webPath(), fc.stringMatching(/^[/%0-9A-Fa-f.;\\a-z]{0,40}$/)), (path) => {
        const result = canonicalizePath(path);
        expect(typeof result.ok).toBe("boolean");
      }),
      { numRuns: RUNS, seed: 11 },
    );
  });
});

/** The definition the trie must agree with: every rule looked at, most specific first. */
function matchByScanning(all: typeof rules, request: Parameters<typeof matchPriceRule>[1]) {
  const candidates = all.filter((rule) => {
    const method = request.method.toUpperCase();
    const methodOk =
      rule.methods === "*" ? !request.isPreflight : rule.methods.includes(method) || (method === "HEAD" && rule.methods.includes("GET"));
    return methodOk && matchPathPattern(rule.pattern, request.segments) !== undefined;
  });
  candidates.sort(
    (a, b) => comparePatternSpecificity(a.pattern, b.pattern) || Number(b.methods !== "*") - Number(a.methods !== "*") || a.index - b.index,
  );
  return candidates[0];
}

describe("rule lookup by trie", () => {
  const segment = fc.constantFrom("a", "b", "c", "d");
  const patternPart = fc.oneof(segment, fc.constant(":p"), fc.constant("*"));
  const ruleArb = fc.record({
    parts: fc.array(patternPart, { maxLength: 4 }),
    tail: fc.boolean(),
    methods: fc.oneof(fc.constant("*" as const), fc.subarray(["GET", "POST", "OPTIONS"], { minLength: 1 })),
  });

  it("picks the same rule as scanning every rule, for any rule set and path", () => {
    let matched = 0;
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 25 }),
        fc.array(segment, { maxLength: 6 }),
        fc.constantFrom("GET", "HEAD", "POST", "OPTIONS"),
        fc.boolean(),
        (specs, path, method, isPreflight) => {
          // One rule per path shape: the compiler refuses ambiguous pairs, so they never reach the matcher.
          const byShape = new Map(
            specs.map((spec, i) => [
              `${spec.parts.map((p) => (p === "a" || p === "b" || p === "c" || p === "d" ? p : "_")).join("/")}${spec.tail ? "/**" : ""}`,
              { spec, i },
            ]),
          );
          const documentRules = [...byShape.values()].map(({ spec, i }) => ({
            id: `r${i}`,
            methods: spec.methods,
            // Under /api: a pattern such as /:p/:p would claim the gateway's own /.well-known/x402.
            path: `/${["api", ...spec.parts, ...(spec.tail ? ["**"] : [])].join("/")}`,
            price: "$0.01",
            accepts: [{ network: "eip155:8453" }],
            payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
          }));
          const built = compilePriceRules({ rules: documentRules }, buildDefaultSchemeRegistry());
          if (!built.ok) throw new Error(built.problems.join("; "));
          const request = { method, segments: ["api", ...path], isPreflight };
          const expected = matchByScanning(built.ruleSet.rules, request);
          if (expected) matched++;
          expect(matchPriceRule(built.ruleSet.rules, request)?.rule.id).toBe(expected?.id);
        },
      ),
      { numRuns: 3000, seed: 7 },
    );
    // Not vacuous: many of the generated requests are priced by some rule.
    expect(matched).toBeGreaterThan(500);
  });
});
