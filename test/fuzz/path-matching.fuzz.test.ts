// Property tests: however a paid path is spelled, it still matches its rule (or is refused as malformed).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalizePath } from "../../src/pricing/canonical-path.js";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { matchPriceRule } from "../../src/pricing/match-price-rule.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";

const RUNS = 10_000;
const compiled = compilePriceRules(
  {
    rules: [
      { id: "weather", methods: ["GET"], path: "/weather/:city", price: "$0.01", accepts: [{ network: "eip155:8453" }], payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" },
      { id: "admin", path: "/admin/**", price: "$1", accepts: [{ network: "eip155:8453" }], payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" },
    ],
  },
  buildDefaultSchemeRegistry(),
);
if (!compiled.ok) throw new Error(compiled.problems.join("\n"));
const rules = compiled.ruleSet.rules;

function encodeChar(ch: string, how: number): string {
  const hex = `%${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
  switch (how) {
    case 1: return hex.toUpperCase();
    case 2: return hex;
    case 3: return `%25${hex.slice(1)}`; // double-encoded
    case 4: return ch.toUpperCase();
    default: return ch;
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
