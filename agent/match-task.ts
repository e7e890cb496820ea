// Which listed resources fit a task, and the URL to call for each. Pure. A task is words ("weather in paris"),
// optionally with tags, an MCP tool name, a route template and path parameters. A listing fits when every tag and
// the tool/route asked for match and at least one task word appears in what it says about itself; the words left
// over fill the route's parameters in order (`/api/weather/:city` + "weather in paris" → `/api/weather/paris`).
import type { Listing } from "./catalog.js";

export interface Task {
  /** Free text; its words are matched against the route, description, service name, tags and category. */
  text?: string | undefined;
  /** Every one must be among the listing's tags. */
  tags?: string[] | undefined;
  /** An MCP tool name: only that tool's listing fits. */
  tool?: string | undefined;
  /** A route template (`/api/weather/:city`): only listings with that route fit. */
  route?: string | undefined;
  /** Values for the route's parameters, by name; otherwise taken from the task's leftover words. */
  params?: Record<string, string> | undefined;
  /** Query parameters for the call (`?tokens=3`). */
  query?: Record<string, string> | undefined;
}

export interface Match {
  listing: Listing;
  /** The URL to call (parameters filled). */
  url: string;
  /** How many task words the listing mentions; higher fits better. */
  score: number;
}

const STOP_WORDS = new Set([
  "a",
  "an",
  "the",
  "in",
  "of",
  "for",
  "to",
  "on",
  "at",
  "by",
  "and",
  "or",
  "with",
  "me",
  "get",
  "give",
  "show",
  "what",
  "is",
  "whats",
  "please",
  "some",
  "my",
  "from",
]);

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

export function matchListings(listings: readonly Listing[], task: Task): Match[] {
  const words = tokenize(task.text ?? "").filter((w) => !STOP_WORDS.has(w));
  const matches: Match[] = [];
  for (const listing of listings) {
    if (task.tool !== undefined && listing.toolName !== task.tool) continue;
    const lowerTags = listing.tags.map((t) => t.toLowerCase());
    if (task.tags?.some((tag) => !lowerTags.includes(tag.toLowerCase()))) continue;
    const path = new URL(listing.resource).pathname;
    if (task.route !== undefined && path !== task.route) continue;
    const literal = path.split("/").filter((s) => s && !s.startsWith(":"));
    const said = [
      ...literal.flatMap(tokenize),
      ...tokenize(listing.description),
      ...tokenize(listing.serviceName ?? ""),
      ...lowerTags.flatMap(tokenize),
      ...tokenize(listing.category ?? ""),
      ...tokenize(listing.toolName ?? ""),
    ];
    const vocabulary = new Set(said.flatMap((w) => [w, singular(w)]));
    const used = words.filter((w) => vocabulary.has(w) || vocabulary.has(singular(w)));
    // Words, when given, must fit; a task of only a tool, route or tags is matched by those.
    const asked = task.tool !== undefined || task.route !== undefined || (task.tags?.length ?? 0) > 0;
    if (used.length === 0 && (words.length > 0 || !asked)) continue;
    const leftover = words.filter((w) => !used.includes(w));
    const filled = fillRoute(listing.resource, task.params ?? {}, leftover);
    if (filled === undefined) continue;
    const url = new URL(filled);
    for (const [name, value] of Object.entries(task.query ?? {})) url.searchParams.set(name, value);
    matches.push({ listing, url: url.toString(), score: used.length });
  }
  return matches.sort((a, b) => b.score - a.score);
}

/** The route's `:name` segments filled from `params`, else from `leftover` words in order; undefined when one is left empty. */
export function fillRoute(resource: string, params: Record<string, string>, leftover: readonly string[]): string | undefined {
  const url = new URL(resource);
  const queue = [...leftover];
  const segments = url.pathname.split("/").map((segment) => {
    if (!segment.startsWith(":")) return segment;
    const value = params[segment.slice(1)] ?? queue.shift();
    return value === undefined ? undefined : encodeURIComponent(value);
  });
  if (segments.some((s) => s === undefined)) return undefined;
  url.pathname = segments.join("/");
  return url.toString();
}

function singular(word: string): string {
  return word.length > 3 && word.endsWith("s") ? word.slice(0, -1) : word;
}
