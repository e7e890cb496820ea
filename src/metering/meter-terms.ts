// A rule's `meter` (docs/metering.md): what an `upto` payment is charged once the origin has answered, from
// how much it used. The offer's amount (the rule's price) is the most a call may cost; the meter decides how
// much of it is settled. Pure.
import * as z from "zod";
import { parseUsd, UsdPriceSchema, usdToAtomicCeil } from "../pricing/usd.js";

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const FIELD_PATH = /^[^.\s]+(\.[^.\s]+){0,7}$/;

const MeterSourceSchema = z.union([
  /** A response header the origin sets, e.g. `X-Usage-Units: 1234`. */
  z.strictObject({ header: z.string().regex(HEADER_NAME, "expected a header name") }),
  /** A field of the JSON response body; dots walk into objects (`usage.total_tokens`). */
  z.strictObject({ json: z.string().regex(FIELD_PATH, "expected a field name or dotted path") }),
  /**
   * A field of the last event's JSON data in a streamed (text/event-stream) answer, which passes through as it
   * arrives; the receipt then follows as a last `payment-response` event.
   */
  z.strictObject({ sse: z.string().regex(FIELD_PATH, "expected a field name or dotted path") }),
  /** The response body's size in bytes. */
  z.literal("bytes"),
  /** Milliseconds from forwarding the request until the origin's body ended. */
  z.literal("elapsed-ms"),
]);
export type MeterSource = z.infer<typeof MeterSourceSchema>;

export const MeterSchema = z.strictObject({
  from: MeterSourceSchema,
  /** USD per unit, e.g. `"$0.00002"` per token. */
  unitPrice: UsdPriceSchema,
  /** USD charged on top of the units (default `$0`). */
  base: UsdPriceSchema.optional(),
  /** Most units charged for; a larger reading is invalid usage. Default: as many as the maximum pays for. */
  cap: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /**
   * A reading that is missing, malformed or above `cap`: `base` (default) settles the base only, `cap` settles
   * the cap's price (the maximum without a cap), `nothing` settles nothing. Always logged.
   */
  onInvalidUsage: z.enum(["base", "cap", "nothing"]).default("base"),
  /** Default false: a `header` meter's header is removed from what the client sees. */
  exposeUsageHeader: z.boolean().default(false),
  /**
   * An `sse` meter's longest stream, default 30 s: the gateway ends it there and settles the cap's price (the
   * maximum without a cap). The payment must stay valid through it, so it counts in the rule's validity window.
   */
  maxStreamSeconds: z.number().int().min(1).max(3600).default(30),
  /**
   * A client that leaves an `sse` stream after content went out: `cap` (default) settles the cap's price (the
   * maximum without a cap), `base` the base price, which must then be above $0. Never nothing: it got content.
   */
  onCancel: z.enum(["cap", "base"]).default("cap"),
});
export type MeterInput = z.infer<typeof MeterSchema>;

export interface MeterSpec {
  from: MeterSource;
  unitAttodollars: bigint;
  baseAttodollars: bigint;
  cap: number | undefined;
  onInvalidUsage: MeterInput["onInvalidUsage"];
  exposeUsageHeader: boolean;
  maxStreamSeconds: number;
  onCancel: MeterInput["onCancel"];
}

export function compileMeter(input: MeterInput): MeterSpec {
  return {
    from: input.from,
    unitAttodollars: parseUsd(input.unitPrice),
    baseAttodollars: input.base === undefined ? 0n : parseUsd(input.base),
    cap: input.cap,
    onInvalidUsage: input.onInvalidUsage,
    exposeUsageHeader: input.exposeUsageHeader,
    maxStreamSeconds: input.maxStreamSeconds,
    onCancel: input.onCancel,
  };
}

/** A reading of the origin's usage: a non-negative decimal number of units, or why there is none. */
export type UsageReading = { ok: true; units: string } | { ok: false; problem: "missing" | "malformed" };

const DECIMAL = /^\d{1,15}(\.\d{1,18})?$/;

/** Parses a header value or JSON field as units: non-negative and decimal; anything else is malformed. */
export function readUnits(value: unknown): UsageReading {
  if (value === undefined || value === null) return { ok: false, problem: "missing" };
  const text =
    typeof value === "number"
      ? Number.isFinite(value) && value >= 0
        ? numberText(value)
        : ""
      : typeof value === "string"
        ? value.trim()
        : "";
  return DECIMAL.test(text) ? { ok: true, units: text } : { ok: false, problem: "malformed" };
}

function numberText(value: number): string {
  // JSON numbers above 1e21 print in exponent form; DECIMAL refuses them, as it should.
  return Number.isInteger(value) ? value.toString() : value.toFixed(18).replace(/0+$/, "").replace(/\.$/, "");
}

export interface MeteredCharge {
  /** Atomic units to settle: never above `maxAtomic`. */
  amount: bigint;
  /** The units charged for (after the cap or policy), as a decimal string; `undefined` when none was read. */
  units: string | undefined;
  /** Set when the reading was missing, malformed or above the cap: the policy that decided the amount. */
  invalid?: { problem: "missing" | "malformed" | "over_cap"; policy: MeterInput["onInvalidUsage"] };
}

/**
 * A stream that did not end by itself (the client left, or it reached `maxStreamSeconds`): content went out, so
 * the policy's amount, never nothing. `cap` is the cap's price, or the maximum without a cap.
 */
export function chargeForCutStream(spec: MeterSpec, policy: MeterInput["onCancel"], maxAtomic: bigint, decimals: number): bigint {
  return policyCharge(spec, policy, maxAtomic, decimals);
}

/** What a policy settles, never above the maximum: `cap` is the cap's price (the maximum without a cap). */
function policyCharge(spec: MeterSpec, policy: MeterInput["onInvalidUsage"], maxAtomic: bigint, decimals: number): bigint {
  if (policy === "nothing") return 0n;
  if (policy === "cap" && spec.cap === undefined) return maxAtomic;
  const attodollars = policy === "cap" ? spec.baseAttodollars + spec.unitAttodollars * BigInt(spec.cap!) : spec.baseAttodollars;
  const atomic = usdToAtomicCeil(attodollars, decimals);
  return atomic > maxAtomic ? maxAtomic : atomic;
}

/** The event data field an `sse` meter reads, or undefined for any other meter (or none). */
export function sseUsageField(meter: Pick<MeterSpec, "from"> | undefined): string | undefined {
  const from = meter?.from;
  return typeof from === "object" && "sse" in from ? from.sse : undefined;
}

/** The amount for a reading, in the offer's asset (`decimals`), never above the authorized maximum. */
export function chargeFor(spec: MeterSpec, reading: UsageReading, maxAtomic: bigint, decimals: number): MeteredCharge {
  const byPolicy = (problem: NonNullable<MeteredCharge["invalid"]>["problem"], units: string | undefined): MeteredCharge => ({
    amount: policyCharge(spec, spec.onInvalidUsage, maxAtomic, decimals),
    units,
    invalid: { problem, policy: spec.onInvalidUsage },
  });
  if (!reading.ok) return byPolicy(reading.problem, undefined);
  const [whole, fraction = ""] = reading.units.split(".");
  const scale = 10n ** BigInt(fraction.length);
  const scaledUnits = BigInt(whole!) * scale + BigInt(fraction || "0");
  if (spec.cap !== undefined && scaledUnits > BigInt(spec.cap) * scale) return byPolicy("over_cap", reading.units);
  // Ceil of base + units × unitPrice, in attodollars: a fraction of an attodollar is charged as one.
  const attodollars = spec.baseAttodollars + (spec.unitAttodollars * scaledUnits + scale - 1n) / scale;
  const uncapped = usdToAtomicCeil(attodollars, decimals);
  // Usage the maximum does not cover is over the cap the payer signed, whether or not the rule names one.
  if (uncapped > maxAtomic) return byPolicy("over_cap", reading.units);
  return { amount: uncapped, units: reading.units };
}
