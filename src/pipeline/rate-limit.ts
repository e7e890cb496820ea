// Rate limits before any facilitator call (security review F12, issue #33 "Abuse cost"): a payment that passed the
// local checks is counted against its payer and its client's address in the rule's tier, a Workers Rate Limiting
// binding (wrangler.toml `[[ratelimits]]`). What a binding counts is fixed in wrangler.toml and counted per
// Cloudflare location, approximately, in production; so a rule chooses among a few tiers rather than numbers.
// A tier whose binding is missing fails closed (503): a rule asked for a limit the deployment does not have.
import type { GatewayBindings } from "../bindings.js";
import { GatewayFailure } from "../errors.js";
import type { RateLimitTier } from "../pricing/price-rule.js";

const TIERS: Record<
  Exclude<RateLimitTier, "off">,
  { binding: "RATE_LIMIT_STRICT" | "RATE_LIMIT_STANDARD" | "RATE_LIMIT_GENEROUS"; periodSeconds: number }
> = {
  strict: { binding: "RATE_LIMIT_STRICT", periodSeconds: 10 },
  standard: { binding: "RATE_LIMIT_STANDARD", periodSeconds: 60 },
  generous: { binding: "RATE_LIMIT_GENEROUS", periodSeconds: 60 },
};

/**
 * Counts one payment against `payer` (null: no payer proven here, as on a delegated rail or for a signature not
 * recovered to its payer: counting it would let anyone spend a victim's allowance) and, when the runtime names it,
 * the client's address (an IPv6 one by its /64);
 * throws `rate_limited` (429) when either is over the tier's limit. Both are asked at once: independent counters.
 */
export async function enforceRateLimit(
  env: GatewayBindings,
  tier: RateLimitTier,
  ruleId: string,
  keys: { payer: string | null; client: string | null },
): Promise<void> {
  if (tier === "off") return;
  const { binding, periodSeconds } = TIERS[tier];
  const limiter = env[binding];
  if (!limiter)
    throw new GatewayFailure({
      kind: "config_invalid",
      detail: `rule ${ruleId}: rateLimit "${tier}" needs the ${binding} rate-limit binding (wrangler.toml)`,
    });
  const [payer, client] = await Promise.all([
    keys.payer === null ? undefined : limiter.limit({ key: `payer:${keys.payer.toLowerCase()}` }),
    keys.client === null ? undefined : limiter.limit({ key: `client:${clientKey(keys.client)}` }),
  ]);
  if (payer && !payer.success) throw new GatewayFailure({ kind: "rate_limited", by: "payer", retryAfterSeconds: periodSeconds });
  if (client && !client.success) throw new GatewayFailure({ kind: "rate_limited", by: "client", retryAfterSeconds: periodSeconds });
}

/** An IPv4 address as it is; an IPv6 one by its /64, which one host commonly holds whole. */
export function clientKey(address: string): string {
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
