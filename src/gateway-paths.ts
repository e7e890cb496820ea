// The paths the gateway answers itself, never priced and never forwarded: one list, checked by the rules
// compiler (a rule may not shadow them) and by the request pipeline (they are served before any rule). Pure.
import { canonicalizePath } from "./pricing/canonical-path.js";
import { matchPathPattern, type PathPattern } from "./pricing/path-pattern.js";

/** Discovery: every discoverable priced resource (docs/discovery.md). */
const WELL_KNOWN_X402 = "/.well-known/x402";

/** Health: rules, facilitators, ledger (docs/observability.md). */
export const HEALTH_PATH = "/.well-known/x402/health";

const RESERVED_PATHS = [WELL_KNOWN_X402, HEALTH_PATH] as const;
export type ReservedPath = (typeof RESERVED_PATHS)[number];

const RESERVED_SEGMENTS = RESERVED_PATHS.map((path) => {
  const canonical = canonicalizePath(path);
  if (!canonical.ok) throw new Error(`reserved path ${path} is not canonical`);
  return { path, segments: canonical.segments };
});

export function matchReservedPath(segments: readonly string[]): ReservedPath | undefined {
  return RESERVED_SEGMENTS.find(
    (reserved) => reserved.segments.length === segments.length && reserved.segments.every((s, i) => s === segments[i]),
  )?.path;
}

/**
 * The reserved path a rule's pattern would claim. A pattern that reaches it only through a leading `**`
 * (`/**`: "price everything") claims nothing here: the gateway's own paths are simply not part of "everything".
 */
export function shadowedReservedPath(pattern: PathPattern): ReservedPath | undefined {
  if (pattern.segments[0]?.kind === "tail") return undefined;
  return RESERVED_SEGMENTS.find((reserved) => matchPathPattern(pattern, reserved.segments) !== undefined)?.path;
}

/**
 * The admin API's path below its prefix (`/rules`, `/refunds/<key>/mark`), or undefined when the request is not
 * for it. Matched on the canonical path, so no spelling of the prefix reaches the origin; the subpath is read from
 * the path as sent (payment keys are case-sensitive), and a spelling that differs from the prefix gets "" (404).
 */
export function adminSubpath(pathname: string, segments: readonly string[], prefix: string): string | undefined {
  const prefixSegments = prefix.split("/").filter(Boolean);
  if (segments.length < prefixSegments.length || !prefixSegments.every((s, i) => segments[i] === s)) return undefined;
  if (pathname === prefix) return "";
  return pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : "";
}
