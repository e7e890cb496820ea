// US-dollar amounts as exact integers of 10⁻¹⁸ USD, so prices computed per request (per-unit × units, floors,
// caps) never meet floating point. Pure.
import * as z from "zod";

const SCALE_DIGITS = 18;
const SCALE = 10n ** BigInt(SCALE_DIGITS);

export const UsdPriceSchema = z.string().regex(/^\$\d{1,12}(\.\d{1,18})?$/, 'expected a USD price such as "$0.01"');

/** `"$0.01"` → 10¹⁶ (attodollars). The text must match UsdPriceSchema. */
export function parseUsd(price: string): bigint {
  const [whole = "0", fraction = ""] = price.slice(1).split(".");
  return BigInt(whole) * SCALE + BigInt(fraction.padEnd(SCALE_DIGITS, "0"));
}

export function formatUsd(attodollars: bigint): string {
  const whole = attodollars / SCALE;
  const fraction = (attodollars % SCALE).toString().padStart(SCALE_DIGITS, "0").replace(/0+$/, "");
  return fraction ? `$${whole}.${fraction}` : `$${whole}`;
}

/** Atomic units of a token with `decimals`, rounded up: a computed price never undercharges by a rounding step. */
export function usdToAtomicCeil(attodollars: bigint, decimals: number): bigint {
  if (decimals >= SCALE_DIGITS) return attodollars * 10n ** BigInt(decimals - SCALE_DIGITS);
  const step = 10n ** BigInt(SCALE_DIGITS - decimals);
  return (attodollars + step - 1n) / step;
}

/** Exact conversion for configured prices: refuses a price finer than the asset's smallest unit. */
export function usdToAtomicExact(attodollars: bigint, decimals: number): bigint | undefined {
  const atomic = usdToAtomicCeil(attodollars, decimals);
  const back = decimals >= SCALE_DIGITS ? atomic / 10n ** BigInt(decimals - SCALE_DIGITS) : atomic * 10n ** BigInt(SCALE_DIGITS - decimals);
  return back === attodollars ? atomic : undefined;
}
