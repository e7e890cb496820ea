import { describe, expect, it } from "vitest";
import { chargeFor, chargeForCutStream, compileMeter, MeterSchema, readUnits, type MeterInput } from "../../src/metering/meter-terms.js";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";

const spec = (overrides: Partial<MeterInput> = {}) =>
  compileMeter(MeterSchema.parse({ from: { header: "X-Usage-Units" }, unitPrice: "$0.001", ...overrides }));
const MAX = 100_000n; // $0.10 in a 6-decimal token

describe("readUnits", () => {
  it.each([
    [undefined, { ok: false, problem: "missing" }],
    [null, { ok: false, problem: "missing" }],
    ["25", { ok: true, units: "25" }],
    [" 7 ", { ok: true, units: "7" }],
    [12.5, { ok: true, units: "12.5" }],
    ["0.000001", { ok: true, units: "0.000001" }],
    ["-1", { ok: false, problem: "malformed" }],
    ["1e3", { ok: false, problem: "malformed" }],
    ["ten", { ok: false, problem: "malformed" }],
    [-3, { ok: false, problem: "malformed" }],
    [Number.NaN, { ok: false, problem: "malformed" }],
    [1e22, { ok: false, problem: "malformed" }],
    [{ n: 1 }, { ok: false, problem: "malformed" }],
  ])("%j → %j", (value, expected) => {
    expect(readUnits(value)).toEqual(expected);
  });
});

describe("chargeFor", () => {
  it("charges base + units × unit price, rounded up to the asset's unit", () => {
    expect(chargeFor(spec(), { ok: true, units: "25" }, MAX, 6)).toEqual({ amount: 25_000n, units: "25" });
    expect(chargeFor(spec({ base: "$0.001", unitPrice: "$0.0002" }), { ok: true, units: "120" }, MAX, 6).amount).toBe(25_000n);
    // $0.0000001 per unit × 3 units = 0.3 of the smallest unit: charged as 1.
    expect(chargeFor(spec({ unitPrice: "$0.0000001" }), { ok: true, units: "3" }, MAX, 6).amount).toBe(1n);
    expect(chargeFor(spec(), { ok: true, units: "0.5" }, MAX, 6).amount).toBe(500n);
  });

  it("zero usage and no base charges nothing", () => {
    expect(chargeFor(spec(), { ok: true, units: "0" }, MAX, 6)).toEqual({ amount: 0n, units: "0" });
  });

  it("never charges above the authorized maximum: a larger reading is over the cap", () => {
    for (const policy of ["base", "cap", "nothing"] as const) {
      const charge = chargeFor(spec({ base: "$0.002", onInvalidUsage: policy }), { ok: true, units: "1000000" }, MAX, 6);
      expect(charge.amount).toBeLessThanOrEqual(MAX);
      expect(charge.invalid).toEqual({ problem: "over_cap", policy });
      expect(charge.amount).toBe({ base: 2_000n, cap: MAX, nothing: 0n }[policy]);
    }
  });

  it("a reading above the rule's cap: the cap's price, the base, or nothing", () => {
    const reading = { ok: true as const, units: "101" };
    expect(chargeFor(spec({ cap: 100, onInvalidUsage: "cap" }), reading, MAX, 6)).toEqual({
      amount: 100_000n,
      units: "101",
      invalid: { problem: "over_cap", policy: "cap" },
    });
    expect(chargeFor(spec({ cap: 50, onInvalidUsage: "cap" }), reading, MAX, 6).amount).toBe(50_000n);
    expect(chargeFor(spec({ cap: 100 }), reading, MAX, 6).amount).toBe(0n);
    expect(chargeFor(spec({ cap: 100 }), { ok: true, units: "100" }, MAX, 6)).toEqual({ amount: 100_000n, units: "100" });
  });

  it("a missing or malformed reading is charged by the policy", () => {
    expect(chargeFor(spec({ base: "$0.003" }), { ok: false, problem: "missing" }, MAX, 6)).toEqual({
      amount: 3_000n,
      units: undefined,
      invalid: { problem: "missing", policy: "base" },
    });
    expect(chargeFor(spec({ onInvalidUsage: "cap" }), { ok: false, problem: "malformed" }, MAX, 6).amount).toBe(MAX);
    expect(chargeFor(spec({ onInvalidUsage: "nothing", base: "$0.01" }), { ok: false, problem: "malformed" }, MAX, 6).amount).toBe(0n);
  });
});

describe("metered rules in the compiler", () => {
  const schemes = buildDefaultSchemeRegistry();
  const rule = (overrides: Record<string, unknown>) => ({
    id: "m",
    path: "/m",
    price: "$0.10",
    accepts: [{ network: "eip155:84532", scheme: "upto" }],
    payTo: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    meter: { from: { header: "X-Usage-Units" }, unitPrice: "$0.001" },
    ...overrides,
  });
  const problems = (r: Record<string, unknown>) => {
    const compiled = compilePriceRules({ rules: [r] }, schemes);
    return compiled.ok ? [] : compiled.problems;
  };

  it("accepts an upto option with a meter, and builds a Permit2 offer at the maximum", () => {
    const compiled = compilePriceRules({ rules: [rule({})] }, schemes);
    expect(compiled.ok).toBe(true);
    if (compiled.ok)
      expect(compiled.ruleSet.rules[0]!.staticAccepts![0]).toMatchObject({
        scheme: "upto",
        amount: "100000",
        extra: { assetTransferMethod: "permit2" },
      });
  });

  it("refuses upto without a meter, a meter without upto, and meters that cannot work", () => {
    expect(problems(rule({ meter: undefined }))).toEqual([expect.stringContaining("an upto option needs the rule's meter")]);
    expect(problems(rule({ accepts: [{ network: "eip155:84532" }] }))).toEqual([expect.stringContaining("meters upto payments only")]);
    expect(problems(rule({ settlement: "before-origin" }))).toEqual([expect.stringContaining("settles after the origin")]);
    expect(problems(rule({ session: { ttlSeconds: 60, maxRequests: 2 } }))).toEqual([expect.stringContaining("leave out session")]);
    expect(problems(rule({ meter: { from: { header: "bad header" }, unitPrice: "$0.001" } }))[0]).toMatch(/meter\.from/);
    expect(problems(rule({ meter: { from: "bytes", unitPrice: "0.001" } }))[0]).toMatch(/meter\.unitPrice/);
  });

  // Security review F1: a stream left after content went out is never charged nothing.
  it("refuses onCancel: base without a base above $0", () => {
    const sse = { from: { sse: "usage.total_tokens" }, unitPrice: "$0.001" };
    expect(problems(rule({ meter: { ...sse, onCancel: "base" } }))).toEqual([expect.stringContaining("meter.onCancel")]);
    expect(problems(rule({ meter: { ...sse, onCancel: "base", base: "$0" } }))).toEqual([expect.stringContaining("meter.onCancel")]);
    expect(problems(rule({ meter: { ...sse, onCancel: "base", base: "$0.001" } }))).toEqual([]);
    expect(problems(rule({ meter: sse }))).toEqual([]);
  });
});

describe("chargeForCutStream", () => {
  it("cap: the cap's price, or the maximum without a cap; base: the base", () => {
    expect(chargeForCutStream(spec({ cap: 20 }), "cap", MAX, 6)).toBe(20_000n);
    expect(chargeForCutStream(spec(), "cap", MAX, 6)).toBe(MAX);
    expect(chargeForCutStream(spec({ base: "$0.002" }), "base", MAX, 6)).toBe(2_000n);
    expect(chargeForCutStream(spec({ cap: 1_000_000 }), "cap", MAX, 6)).toBe(MAX);
  });
});
