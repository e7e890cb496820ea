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
 * Only the rules whose pattern can match the path are looked at (a segment trie, built once per rule list).
 */
export function matchPriceRule(rules: readonly PriceRule[], request: RequestShape): PriceRuleMatch | undefined {
  let best: PriceRuleMatch | undefined;
  for (const rule of candidatesFor(rules, request.segments)) {
    if (!matchesMethod(rule.methods, request)) continue;
    const params = matchPathPattern(rule.pattern, request.segments);
    if (!params) continue;
    if (!best || isMoreSpecific(rule, best.rule)) best = { rule, params };
  }
  return best;
}

interface TrieNode {
  literals: Map<string, TrieNode>;
  param: TrieNode | undefined;
  /** Rules whose pattern ends at this node. */
  ends: PriceRule[];
  /** Rules whose pattern has `**` here: they match this node's path and everything below it. */
  tails: PriceRule[];
}

const tries = new WeakMap<readonly PriceRule[], TrieNode>();

const newNode = (): TrieNode => ({ literals: new Map(), param: undefined, ends: [], tails: [] });

function trieOf(rules: readonly PriceRule[]): TrieNode {
  let root = tries.get(rules);
  if (root) return root;
  root = newNode();
  for (const rule of rules) {
    let node = root;
    let tail = false;
    for (const segment of rule.pattern.segments) {
      if (segment.kind === "tail") {
        tail = true;
        break;
      }
      if (segment.kind === "param") node = node.param ??= newNode();
      else {
        let next = node.literals.get(segment.value);
        if (!next) {
          next = newNode();
          node.literals.set(segment.value, next);
        }
        node = next;
      }
    }
    (tail ? node.tails : node.ends).push(rule);
  }
  tries.set(rules, root);
  return root;
}

function candidatesFor(rules: readonly PriceRule[], segments: readonly string[]): PriceRule[] {
  const found: PriceRule[] = [];
  const walk = (node: TrieNode, depth: number): void => {
    for (const rule of node.tails) found.push(rule);
    if (depth === segments.length) {
      for (const rule of node.ends) found.push(rule);
      return;
    }
    const literal = node.literals.get(segments[depth]!);
    if (literal) walk(literal, depth + 1);
    if (node.param) walk(node.param, depth + 1);
  };
  walk(trieOf(rules), 0);
  return found;
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
