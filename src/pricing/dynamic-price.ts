// Declarative per-request prices (docs/price-rules.md "Dynamic prices"): one request input, priced by tiers,
// per unit, or a table of values; then a floor and a cap. Pure.
import * as z from "zod";
import { parseUsd, UsdPriceSchema } from "./usd.js";

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

const PricingInputSchema = z.union([
  z.strictObject({ query: z.string().min(1).max(128) }),
  z.strictObject({ header: z.string().regex(HEADER_NAME, "expected a header name") }),
  z.strictObject({ param: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "expected a path parameter name") }),
  z.strictObject({ bodyBytes: z.literal(true) }),
  /** A field of a JSON request body; dots walk into objects (`options.max_tokens`). */
  z.strictObject({ json: z.string().regex(/^[^.\s]+(\.[^.\s]+){0,7}$/, "expected a field name or dotted path") }),
]);
export type PricingInput = z.infer<typeof PricingInputSchema>;

const TierSchema = z.strictObject({ upTo: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(), price: UsdPriceSchema });

export const PricingSchema = z
  .strictObject({
    input: PricingInputSchema,
    /** Ascending `upTo` (inclusive); the last tier may leave it out to take every larger value. */
    tiers: z.array(TierSchema).min(1).max(64).optional(),
    /** Price per unit of the input (a non-negative integer), plus `base`. */
    perUnit: UsdPriceSchema.optional(),
    base: UsdPriceSchema.optional(),
    /** A price per input value (e.g. per `model`), and `otherwise` for values not listed. */
    map: z.record(z.string().max(256), UsdPriceSchema).optional(),
    otherwise: UsdPriceSchema.optional(),
    /** The input's value when the request does not carry it; without it such a request is a 400. */
    default: z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(256)]).optional(),
    floor: UsdPriceSchema.optional(),
    cap: UsdPriceSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    const kinds = [spec.tiers, spec.perUnit, spec.map].filter((kind) => kind !== undefined).length;
    if (kinds !== 1) ctx.addIssue({ code: "custom", message: "set exactly one of tiers, perUnit, map" });
    if (spec.base !== undefined && spec.perUnit === undefined)
      ctx.addIssue({ code: "custom", path: ["base"], message: "base goes with perUnit" });
    if (spec.otherwise !== undefined && spec.map === undefined)
      ctx.addIssue({ code: "custom", path: ["otherwise"], message: "otherwise goes with map" });
    spec.tiers?.forEach((tier, i) => {
      const next = spec.tiers![i + 1];
      if (tier.upTo === undefined && next)
        ctx.addIssue({ code: "custom", path: ["tiers", i], message: "only the last tier may leave out upTo" });
      if (tier.upTo !== undefined && next?.upTo !== undefined && next.upTo <= tier.upTo) {
        ctx.addIssue({ code: "custom", path: ["tiers", i + 1], message: "upTo must increase" });
      }
    });
    if (spec.floor !== undefined && spec.cap !== undefined && parseUsd(spec.floor) > parseUsd(spec.cap)) {
      ctx.addIssue({ code: "custom", path: ["floor"], message: "floor is above cap" });
    }
  });
export type Pricing = z.infer<typeof PricingSchema>;

export type PriceResult = { ok: true; attodollars: bigint } | { ok: false; reason: string };

/** The USD price for one request whose input read `raw` (undefined: the request does not carry it). */
export function computeDynamicPrice(spec: Pricing, raw: string | undefined): PriceResult {
  const value = raw ?? (spec.default === undefined ? undefined : String(spec.default));
  if (value === undefined) return { ok: false, reason: `the request does not carry the priced input (${describeInput(spec.input)})` };
  let price: bigint;
  if (spec.map) {
    const listed = Object.hasOwn(spec.map, value) ? spec.map[value] : spec.otherwise;
    if (listed === undefined) return { ok: false, reason: `${describeInput(spec.input)} "${value.slice(0, 64)}" has no price` };
    price = parseUsd(listed);
  } else {
    if (!/^\d{1,15}$/.test(value)) return { ok: false, reason: `${describeInput(spec.input)} must be a non-negative integer` };
    const units = BigInt(value);
    if (spec.tiers) {
      const tier = spec.tiers.find((t) => t.upTo === undefined || units <= BigInt(t.upTo));
      if (!tier) return { ok: false, reason: `${describeInput(spec.input)} ${value} is above the largest priced tier` };
      price = parseUsd(tier.price);
    } else {
      price = (spec.base ? parseUsd(spec.base) : 0n) + parseUsd(spec.perUnit!) * units;
    }
  }
  if (spec.floor !== undefined && price < parseUsd(spec.floor)) price = parseUsd(spec.floor);
  if (spec.cap !== undefined && price > parseUsd(spec.cap)) price = parseUsd(spec.cap);
  if (price === 0n) return { ok: false, reason: "the computed price is zero (set a floor)" };
  return { ok: true, attodollars: price };
}

export function describeInput(input: PricingInput): string {
  if ("query" in input) return `query parameter ${input.query}`;
  if ("header" in input) return `header ${input.header}`;
  if ("param" in input) return `path parameter ${input.param}`;
  if ("json" in input) return `JSON body field ${input.json}`;
  return "body size";
}
