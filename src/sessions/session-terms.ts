// Session terms of a price rule (docs/sessions.md) and the scope a request falls in. Pure.
import * as z from "zod";
import { canonicalizePath } from "../pricing/canonical-path.js";

const PrefixSchema = z.strictObject({
  /** A path prefix matched on whole segments, after the same canonicalisation as rule paths. */
  prefix: z
    .string()
    .regex(/^\//, "expected a path starting with /")
    .max(2048)
    .refine((prefix) => canonicalizePath(prefix).ok, "expected a well-formed path"),
});

export const SessionTermsSchema = z.strictObject({
  /** How long one payment keeps the session open. */
  ttlSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 86_400),
  /** Requests one payment buys, the paid request included. */
  maxRequests: z.number().int().min(1).max(1_000_000_000),
  /**
   * What the session covers: `rule` (default: every request this rule prices), `{ prefix }`, `resource`
   * (method + path) or `resource+query` (method + path + query).
   */
  scope: z.union([z.enum(["rule", "resource", "resource+query"]), PrefixSchema]).default("rule"),
  /** Shown by the wallet when signing in. */
  statement: z.string().min(1).max(512).default("Sign in to use the session you paid for."),
});
export type SessionTerms = z.infer<typeof SessionTermsSchema>;

export interface ScopedRequest {
  ruleId: string;
  method: string;
  /** Canonical path segments (pricing/canonical-path.ts). */
  segments: readonly string[];
  search: string;
}

/**
 * The scope key an entitlement is stored and checked under, or null when the request lies outside the
 * session's prefix (it is then paid per call). Keys of different kinds can never collide: each has its own tag.
 */
export function sessionScopeFor(terms: SessionTerms, request: ScopedRequest): string | null {
  const { scope } = terms;
  if (scope === "rule") return `rule:${request.ruleId}`;
  // HEAD is priced as GET, so it also shares GET's session.
  const method = request.method === "HEAD" ? "GET" : request.method;
  const path = `/${request.segments.join("/")}`;
  if (scope === "resource") return `resource:${method} ${path}`;
  if (scope === "resource+query") return `resource:${method} ${path}?${canonicalQuery(request.search)}`;
  const prefix = canonicalizePath(scope.prefix);
  if (!prefix.ok) return null;
  const inside = prefix.segments.every((segment, i) => request.segments[i] === segment);
  return inside ? `prefix:/${prefix.segments.join("/")}` : null;
}

/** Parameter order does not change the resource: `?b=2&a=1` and `?a=1&b=2` share one session. */
function canonicalQuery(search: string): string {
  const params = new URLSearchParams(search);
  params.sort();
  return params.toString();
}
