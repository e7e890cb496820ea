// Loads the price rules from KV, keeps the last good set per isolate, and fails closed without one.
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";
import { compilePriceRules } from "./compile-price-rules.js";
import { RuleMemo } from "./rule-memo.js";
import type { PathPattern } from "./path-pattern.js";
import type { PriceRuleSet } from "./price-rule.js";

export type LoadedPriceRules =
  | { kind: "ready"; ruleSet: PriceRuleSet; stale: boolean }
  /** No good config has been seen: requests matching `blocked` (or all, when `"all"`) answer 503. */
  | { kind: "unavailable"; blocked: PathPattern[] | "all"; problems: string[] };

interface CacheEntry {
  fetchedAtMs: number;
  /** Raw KV text the entry was compiled from; an unchanged document is not compiled again. */
  raw: string | null;
  loaded: LoadedPriceRules;
}

export interface PriceRuleStoreOptions {
  kv: KVNamespace;
  key: string;
  cacheTtlSeconds: number;
  schemes: SchemeRegistry;
  now?: () => number;
}

// Per isolate. Holds plain data only: workerd forbids sharing I/O objects (promises of fetches) across requests.
const cache = new Map<string, CacheEntry>();
const lastGood = new Map<string, PriceRuleSet>();
/** Per KV key: after an edit only the rules it changed are compiled again. */
const memos = new Map<string, RuleMemo>();

export async function loadPriceRules(options: PriceRuleStoreOptions): Promise<LoadedPriceRules> {
  const now = options.now ?? Date.now;
  const entry = cache.get(options.key);
  if (entry && now() - entry.fetchedAtMs < options.cacheTtlSeconds * 1000) return entry.loaded;

  let raw: string | null;
  try {
    raw = await options.kv.get(options.key, "text");
  } catch (cause) {
    console.error(JSON.stringify({ event: "price_rules_read_failed", key: options.key, cause: String(cause) }));
    return fallback(options.key, [`reading KV key "${options.key}" failed`], "all");
  }
  if (entry && entry.raw === raw) {
    entry.fetchedAtMs = now();
    return entry.loaded;
  }
  const loaded = compile(options.key, raw, options.schemes);
  cache.set(options.key, { fetchedAtMs: now(), raw, loaded });
  return loaded;
}

function compile(key: string, raw: string | null, schemes: SchemeRegistry): LoadedPriceRules {
  if (raw === null) {
    // A deleted document must not turn every paid route free; an empty `{"rules": []}` is how to say "no prices".
    return fallback(key, [`KV key "${key}" is missing`], "all");
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return fallback(key, ["the document is not JSON"], "all");
  }
  let memo = memos.get(key);
  if (!memo) {
    memo = new RuleMemo();
    memos.set(key, memo);
  }
  const compiled = compilePriceRules(json, schemes, memo);
  if (!compiled.ok) return fallback(key, compiled.problems, compiled.blocked);
  lastGood.set(key, compiled.ruleSet);
  return { kind: "ready", ruleSet: compiled.ruleSet, stale: false };
}

function fallback(key: string, problems: string[], blocked: PathPattern[] | "all"): LoadedPriceRules {
  const good = lastGood.get(key);
  console.error(JSON.stringify({ event: "price_rules_invalid", key, servingLastGood: Boolean(good), problems }));
  if (good) return { kind: "ready", ruleSet: good, stale: true };
  return { kind: "unavailable", blocked, problems };
}
