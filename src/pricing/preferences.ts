// Declarative preferences (docs/facilitators.md "Preferences"), per gateway and per rule: they filter and
// order a rule's payment options, and order the facilitators tried for a payment. Pure.
import * as z from "zod";
import { classifyNetwork, matchesNetwork } from "./networks.js";

const NetworkPattern = z
  .string()
  .regex(/^[-a-z0-9]{3,8}(:[-_a-zA-Z0-9]{1,32}|:\*)?$/, "expected a CAIP-2 id, `namespace:*` or a namespace");

export const PreferencesSchema = z.strictObject({
  /** Options on these networks first, in this order (`eip155:8453`, `solana:*`, `solana`). */
  preferNetworks: z.array(NetworkPattern).optional(),
  /** Drops options on known mainnets. */
  avoidMainnet: z.boolean().optional(),
  /** Keeps only options on known testnets (stricter: unknown networks go too). */
  testnetOnly: z.boolean().optional(),
  /** Keeps only options whose asset has one of these symbols in the asset registry (e.g. `["USDC"]`). */
  assets: z.array(z.string().min(1)).min(1).optional(),
  /** Options of these schemes first, in this order. */
  preferSchemes: z.array(z.string().min(1)).optional(),
  /** Facilitator ids tried first, in this order (before `priority`). */
  preferFacilitators: z.array(z.string().min(1)).optional(),
});
export type Preferences = z.infer<typeof PreferencesSchema>;

/** The rule's fields win over the gateway's, field by field. */
export function mergePreferences(gateway: Preferences | undefined, rule: Preferences | undefined): Preferences {
  return { ...gateway, ...Object.fromEntries(Object.entries(rule ?? {}).filter(([, value]) => value !== undefined)) };
}

export interface PreferenceSubject {
  scheme: string;
  network: string;
  /** The asset's symbol from the registry, or the asset itself for a fiat code (`USD`). */
  symbol: string | undefined;
}

export interface PreferenceResult<T> {
  kept: T[];
  dropped: { item: T; reason: string }[];
}

/** Filters, then orders stably: preferred networks first, then preferred schemes; the rest keep their order. */
export function applyPreferences<T extends PreferenceSubject>(items: readonly T[], preferences: Preferences): PreferenceResult<T> {
  const kept: T[] = [];
  const dropped: { item: T; reason: string }[] = [];
  for (const item of items) {
    const reason = refusal(item, preferences);
    if (reason) dropped.push({ item, reason });
    else kept.push(item);
  }
  const networkRank = (item: T) => rank(preferences.preferNetworks, (pattern) => matchesNetwork(pattern, item.network));
  const schemeRank = (item: T) => rank(preferences.preferSchemes, (scheme) => scheme === item.scheme);
  const ordered = kept
    .map((item, index) => ({ item, index }))
    .sort((a, b) => networkRank(a.item) - networkRank(b.item) || schemeRank(a.item) - schemeRank(b.item) || a.index - b.index);
  return { kept: ordered.map(({ item }) => item), dropped };
}

function refusal(item: PreferenceSubject, preferences: Preferences): string | undefined {
  const networkClass = classifyNetwork(item.network);
  if (preferences.testnetOnly && networkClass !== "testnet") return `testnetOnly: ${item.network} is not a known testnet`;
  if (preferences.avoidMainnet && networkClass === "mainnet") return `avoidMainnet: ${item.network} is a mainnet`;
  if (preferences.assets && !(item.symbol && preferences.assets.includes(item.symbol))) {
    return `assets: ${item.symbol ?? "an asset with no known symbol"} is not one of ${preferences.assets.join(", ")}`;
  }
  return undefined;
}

function rank(list: readonly string[] | undefined, matches: (entry: string) => boolean): number {
  if (!list) return 0;
  const at = list.findIndex(matches);
  return at === -1 ? list.length : at;
}
