// Picks the price rule for a request. Pure.
import { comparePatternSpecificity, matchPathPattern, type PathPattern } from "./path-pattern.js";
import type { PriceRule } from "./price-rule.js";

export interface RequestShape {
  method: string;
  /** Canonical path segments (canonicalizePath). */
  segments: readonly string[];
  /** A CORS preflight is never priced unless a rule lists OPTIONS explicitly: browsers cannot pay for one. */
  isPreflight: boolean;
}

export interface PriceRuleMatch {
  rule: PriceRule;
  params: Record<string, string>;
}

/**
 * Most specific wins: first the path (see comparePatternSpecificity), then a rule naming the method over
 * `"*"`, then document order. HEAD is matched as GET so headers of a paid GET are never free.
 */
export function matchPriceRule(rules: readonly PriceRule[], request: RequestShape): PriceRuleMatch | undefined {
  let best: PriceRuleMatch | undefined;
  for (const rule of rules) {
    if (!matchesMethod(rule.methods, request)) continue;
    const params = matchPathPattern(rule.pattern, request.segments);
    if (!params) continue;
    if (!best || isMoreSpecific(rule, best.rule)) best = { rule, params };
  }
  return best;
}

export function matchesAnyPattern(patterns: readonly PathPattern[], segments: readonly string[]): boolean {
  return patterns.some((pattern) => matchPathPattern(pattern, segments) !== undefined);
}

function matchesMethod(methods: PriceRule["methods"], request: RequestShape): boolean {
  const method = request.method.toUpperCase();
  if (methods === "*") return !request.isPreflight;
  if (methods.includes(method)) return true;
  return method === "HEAD" && methods.includes("GET");
}

function isMoreSpecific(candidate: PriceRule, current: PriceRule): boolean {
  const byPath = comparePatternSpecificity(candidate.pattern, current.pattern);
  if (byPath !== 0) return byPath < 0;
  const candidateNamed = candidate.methods !== "*";
  const currentNamed = current.methods !== "*";
  if (candidateNamed !== currentNamed) return candidateNamed;
  return candidate.index < current.index;
}
