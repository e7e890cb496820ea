// Path patterns of price rules: literal segments, `:name` or `*` for one segment, `**` for the tail. Pure.
import { canonicalizePath } from "./canonical-path.js";

export type PatternSegment = { kind: "literal"; value: string } | { kind: "param"; name: string } | { kind: "tail" };

export interface PathPattern {
  source: string;
  segments: PatternSegment[];
}

export type ParsedPattern = { ok: true; pattern: PathPattern } | { ok: false; reason: string };

/** A segment canonicalizePath would leave as it is (no escapes, capitals, `;`, `\`): most literals. */
const ALREADY_CANONICAL = /^[a-z0-9._~-]+$/;

export function parsePathPattern(source: string): ParsedPattern {
  if (!source.startsWith("/")) return { ok: false, reason: "must start with /" };
  if (/[?#]/.test(source)) return { ok: false, reason: "must not contain a query or fragment" };
  const segments: PatternSegment[] = [];
  const parts = source.split("/").filter((part) => part !== "");
  for (const [index, part] of parts.entries()) {
    if (part === "**") {
      if (index !== parts.length - 1) return { ok: false, reason: "** is only allowed as the last segment" };
      segments.push({ kind: "tail" });
    } else if (part === "*") {
      segments.push({ kind: "param", name: `${index}` });
    } else if (part.startsWith(":")) {
      const name = part.slice(1);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return { ok: false, reason: `invalid parameter name "${part}"` };
      segments.push({ kind: "param", name });
    } else if (ALREADY_CANONICAL.test(part) && part !== "." && part !== "..") {
      segments.push({ kind: "literal", value: part });
    } else {
      if (part.includes("*")) return { ok: false, reason: `"*" must be a whole segment in "${part}"` };
      // Literals get the same canonical form as request paths, so `/Api/%7Euser` matches `/api/~user`.
      const canonical = canonicalizePath(`/${part}`);
      if (!canonical.ok || canonical.segments.length !== 1) return { ok: false, reason: `invalid segment "${part}"` };
      segments.push({ kind: "literal", value: canonical.segments[0]! });
    }
  }
  return { ok: true, pattern: { source, segments } };
}

/** Returns the captured parameters, or undefined when the path does not match. `**` matches zero or more segments. */
export function matchPathPattern(pattern: PathPattern, path: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [index, segment] of pattern.segments.entries()) {
    if (segment.kind === "tail") return params;
    const value = path[index];
    if (value === undefined) return undefined;
    if (segment.kind === "literal" && segment.value !== value) return undefined;
    if (segment.kind === "param") params[segment.name] = value;
  }
  return path.length === pattern.segments.length ? params : undefined;
}

const RANK = { literal: 3, param: 2, tail: 1 } as const;

/**
 * Orders patterns most specific first: compare segment by segment, literal > `:param`/`*` > `**`;
 * when one pattern is a prefix of the other, the longer one is more specific.
 */
export function comparePatternSpecificity(a: PathPattern, b: PathPattern): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const rankA = a.segments[i] ? RANK[a.segments[i]!.kind] : 0;
    const rankB = b.segments[i] ? RANK[b.segments[i]!.kind] : 0;
    if (rankA !== rankB) return rankB - rankA;
  }
  return 0;
}

/** Equal exactly for patterns that match the same paths (differing only in parameter names): duplicates share it. */
export function patternShapeKey(pattern: PathPattern): string {
  // canonicalizePath refuses control characters, so NUL never appears in a segment: the key is unambiguous.
  let key = "";
  for (const s of pattern.segments) key += s.kind === "literal" ? `\0L${s.value}` : s.kind === "param" ? "\0P" : "\0T";
  return key;
}
