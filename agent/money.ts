// Budgets are kept in micro-dollars (6 decimals, bigint): offers in stablecoins of any decimals convert to it
// exactly or are rounded against the buyer (a cost rounds up), so the budget can never be overspent by rounding.
export const USD_DECIMALS = 6;

export class AgentConfigError extends Error {
  override readonly name = "AgentConfigError";
}

/** "0.50", "$0.50", "1" → micro-dollars. */
export function parseUsd(text: string): bigint {
  const match = /^\$?(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!match) throw new AgentConfigError(`"${text}" is not a dollar amount (like 0.50 or $0.50, at most 6 decimals)`);
  return BigInt(match[1]!) * 10n ** BigInt(USD_DECIMALS) + BigInt((match[2] ?? "").padEnd(USD_DECIMALS, "0"));
}

export function formatUsd(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const whole = abs / 10n ** BigInt(USD_DECIMALS);
  const fraction = (abs % 10n ** BigInt(USD_DECIMALS))
    .toString()
    .padStart(USD_DECIMALS, "0")
    .replace(/0{1,4}$/, "");
  return `${negative ? "-" : ""}$${whole}.${fraction.padEnd(2, "0")}`;
}

/** An atomic amount of a token with `decimals` as micro-dollars (the token is taken at $1), rounded up. */
export function atomicToUsd(atomic: bigint, decimals: number): bigint {
  if (decimals <= USD_DECIMALS) return atomic * 10n ** BigInt(USD_DECIMALS - decimals);
  const divisor = 10n ** BigInt(decimals - USD_DECIMALS);
  return (atomic + divisor - 1n) / divisor;
}

/** The most atomic units of a token worth at most `micros`. */
export function usdToAtomic(micros: bigint, decimals: number): bigint {
  if (decimals >= USD_DECIMALS) return micros * 10n ** BigInt(decimals - USD_DECIMALS);
  return micros / 10n ** BigInt(USD_DECIMALS - decimals);
}
