// Which offer to pay: every fitting listing's offers the agent can pay (a scheme it speaks, a network and asset
// it prefers and knows the decimals of), ranked by effective price per call, cheapest first. Pure.
//
// Effective price per call: a fixed or upto offer costs its amount (upto: the most it may settle); a dynamic price
// its highest; a session's price is spread over the calls it buys that the caller plans to make; a session the
// wallet already holds costs nothing more. Quoted prices are unknown before the 402 and are not chosen.
import type { ListedOffer, Listing } from "./catalog.js";
import type { Match } from "./match-task.js";
import { atomicToUsd } from "./money.js";

/** An asset the agent may pay with: a USD stablecoin with its decimals. */
export interface KnownAsset {
  network: string;
  address: string;
  decimals: number;
}

export interface Preferences {
  /** Networks the agent pays on (CAIP-2); default: any of the known assets' networks. */
  networks?: string[] | undefined;
  /** The most one call may cost (micro-dollars); a session counts as the calls it buys. */
  maxPerCallMicros: bigint;
  /** How many calls the caller plans to make: what a session's price is spread over (default 1). */
  plannedCalls?: number | undefined;
  /** On equal effective price, take the session (default true). */
  preferSessions?: boolean | undefined;
}

/** Schemes the agent pays with (EVM): exact per call, and upto (a maximum, settled as metered). */
export const PAYABLE_SCHEMES = ["exact", "upto"] as const;

export interface Choice {
  listing: Listing;
  url: string;
  offer: ListedOffer;
  asset: KnownAsset;
  /** What the payment may cost at most (atomic units of the asset). */
  payAtomic: bigint;
  /** The same, in micro-dollars (rounded up). */
  payMicros: bigint;
  /** Calls one payment buys: the session's requests, else 1. */
  callsBought: number;
  /** Cost per planned call, in micro-dollars (0 for a session the wallet holds). */
  effectiveMicros: bigint;
  /** The wallet holds a live session for it: the call needs no payment. */
  sessionHeld: boolean;
}

export function rankChoices(
  matches: readonly Match[],
  assets: readonly KnownAsset[],
  preferences: Preferences,
  holdsSession: (listing: Listing, url: string) => boolean = () => false,
): Choice[] {
  const planned = Math.max(1, preferences.plannedCalls ?? 1);
  const choices: Choice[] = [];
  for (const { listing, url } of matches) {
    if (listing.priceKind === "quoted") continue;
    for (const offer of listing.accepts) {
      if (!(PAYABLE_SCHEMES as readonly string[]).includes(offer.scheme)) continue;
      if (preferences.networks && !preferences.networks.includes(offer.network)) continue;
      const asset = assets.find((a) => a.network === offer.network && a.address.toLowerCase() === offer.asset.toLowerCase());
      if (!asset) continue;
      const most = offer.maxAmount ?? offer.amount;
      if (most === undefined) continue;
      const payAtomic = BigInt(most);
      const payMicros = atomicToUsd(payAtomic, asset.decimals);
      const callsBought = listing.session?.maxRequests ?? 1;
      if (payMicros > preferences.maxPerCallMicros * BigInt(callsBought)) continue;
      const sessionHeld = listing.session !== undefined && holdsSession(listing, url);
      const spread = BigInt(Math.min(callsBought, planned));
      const effectiveMicros = sessionHeld ? 0n : (payMicros + spread - 1n) / spread;
      choices.push({ listing, url, offer, asset, payAtomic, payMicros, callsBought, effectiveMicros, sessionHeld });
    }
  }
  const preferSessions = preferences.preferSessions ?? true;
  return choices.sort((a, b) => {
    if (a.effectiveMicros !== b.effectiveMicros) return a.effectiveMicros < b.effectiveMicros ? -1 : 1;
    if (preferSessions && a.callsBought > 1 !== b.callsBought > 1) return a.callsBought > 1 ? -1 : 1;
    return 0;
  });
}

/** The effective price per call of `choice` if its payment asked `askedAtomic` instead (a 402's price drift). */
export function effectiveAt(choice: Choice, askedAtomic: bigint, plannedCalls = 1): bigint {
  const micros = atomicToUsd(askedAtomic, choice.asset.decimals);
  const spread = BigInt(Math.min(choice.callsBought, Math.max(1, plannedCalls)));
  return (micros + spread - 1n) / spread;
}
