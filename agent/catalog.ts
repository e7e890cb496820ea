// What is for sale: read from gateways' `GET /.well-known/x402` (docs/discovery.md) and from facilitators'
// catalogs (the official `withBazaar` client, `/discovery/resources`). Both are outside input, parsed here once;
// a listing this agent cannot use (no offer, no price) is kept out.
import { HTTPFacilitatorClient } from "@x402/core/http";
import { withBazaar } from "@x402/extensions/bazaar";
import * as z from "zod";

const Atomic = z.string().regex(/^\d+$/);

const OfferSchema = z.looseObject({
  scheme: z.string(),
  network: z.string(),
  asset: z.string(),
  amount: Atomic.optional(),
  maxAmount: Atomic.optional(),
  payTo: z.string().optional(),
  maxTimeoutSeconds: z.number().optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type ListedOffer = z.infer<typeof OfferSchema>;

const SessionSchema = z.object({
  ttlSeconds: z.number().int().positive(),
  maxRequests: z.number().int().positive(),
  scope: z.unknown().optional(),
});

const ResourceSchema = z.object({
  resource: z.string().url(),
  type: z.enum(["http", "mcp"]).default("http"),
  toolName: z.string().optional(),
  methods: z.array(z.string()).default(["GET"]),
  routeTemplate: z.string().optional(),
  description: z.string().default(""),
  price: z.looseObject({ kind: z.string() }).optional(),
  accepts: z.array(OfferSchema),
  session: SessionSchema.optional(),
  serviceName: z.string().optional(),
  tags: z.array(z.string()).optional(),
  category: z.string().optional(),
});

const WellKnownSchema = z.object({ x402Version: z.number(), resources: z.array(z.unknown()) });

/** One priced resource as the agent sees it, wherever it was listed. */
export interface Listing {
  /** Where it was read: a gateway's /.well-known/x402 or a facilitator's catalog. */
  source: string;
  /** The resource URL; a route template (`https://gw/api/weather/:city`) when the route has parameters. */
  resource: string;
  type: "http" | "mcp";
  toolName?: string | undefined;
  methods: string[];
  description: string;
  /** `fixed` offers are exactly what the 402 asks; `dynamic` ones list the lowest and highest price; `quoted` ones a base at most. */
  priceKind: string;
  accepts: ListedOffer[];
  session?: { ttlSeconds: number; maxRequests: number; scope?: unknown } | undefined;
  serviceName?: string | undefined;
  tags: string[];
  category?: string | undefined;
}

export class CatalogError extends Error {
  override readonly name = "CatalogError";
}

/** A gateway's listing of every discoverable priced resource. */
export async function readGatewayListing(gateway: string, fetchImpl: typeof fetch = fetch): Promise<Listing[]> {
  const url = `${gateway.replace(/\/+$/, "")}/.well-known/x402`;
  let response: Response;
  try {
    response = await fetchImpl(url, { headers: { accept: "application/json" } });
  } catch (cause) {
    throw new CatalogError(`${url}: unreachable (${String(cause)})`);
  }
  if (!response.ok) throw new CatalogError(`${url}: HTTP ${response.status}`);
  const document = WellKnownSchema.safeParse(await response.json().catch(() => undefined));
  if (!document.success) throw new CatalogError(`${url}: not an x402 listing`);
  const listings: Listing[] = [];
  for (const raw of document.data.resources) {
    // One malformed entry does not hide the others.
    const parsed = ResourceSchema.safeParse(raw);
    if (!parsed.success) continue;
    const r = parsed.data;
    listings.push({
      source: url,
      resource: r.resource,
      type: r.type,
      toolName: r.toolName,
      methods: r.methods,
      description: r.description,
      priceKind: r.price?.kind ?? "fixed",
      accepts: r.accepts,
      session: r.session,
      serviceName: r.serviceName,
      tags: r.tags ?? [],
      category: r.category,
    });
  }
  return listings;
}

const CatalogItemSchema = z.object({
  resource: z.string().url(),
  type: z.string().default("http"),
  accepts: z.array(OfferSchema),
  description: z.string().optional(),
  serviceName: z.string().optional(),
  tags: z.array(z.string()).optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});

/** A facilitator's catalog of what it was paid for (the official bazaar client). Sessions are not listed there. */
export async function readFacilitatorCatalog(facilitatorUrl: string): Promise<Listing[]> {
  const client = withBazaar(new HTTPFacilitatorClient({ url: facilitatorUrl }));
  let items: unknown[];
  try {
    items = (await client.extensions.bazaar.listResources({})).items as unknown[];
  } catch (cause) {
    throw new CatalogError(`${facilitatorUrl}: catalog unreadable (${String(cause)})`);
  }
  const listings: Listing[] = [];
  for (const raw of items) {
    const parsed = CatalogItemSchema.safeParse(raw);
    if (!parsed.success) continue;
    const item = parsed.data;
    const toolName = mcpToolName(item.extensions);
    listings.push({
      source: `${facilitatorUrl.replace(/\/+$/, "")}/discovery/resources`,
      resource: item.resource,
      type: item.type === "mcp" ? "mcp" : "http",
      toolName,
      methods: [bazaarMethod(item.extensions) ?? (item.type === "mcp" ? "POST" : "GET")],
      description: item.description ?? "",
      priceKind: "fixed",
      accepts: item.accepts,
      serviceName: item.serviceName,
      tags: item.tags ?? [],
    });
  }
  return listings;
}

function bazaarInfo(extensions: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const bazaar = extensions?.bazaar as { info?: { input?: Record<string, unknown> } } | undefined;
  return bazaar?.info?.input;
}

function bazaarMethod(extensions: Record<string, unknown> | undefined): string | undefined {
  const method = bazaarInfo(extensions)?.method;
  return typeof method === "string" ? method : undefined;
}

function mcpToolName(extensions: Record<string, unknown> | undefined): string | undefined {
  const tool = bazaarInfo(extensions)?.toolName;
  return typeof tool === "string" ? tool : undefined;
}

/**
 * Listings read from every source; a resource listed by a gateway and by a facilitator is kept once (the
 * gateway's: it knows sessions and price kinds). Sources that fail are reported, not fatal, unless all fail.
 */
export async function discover(
  sources: { gateways: string[]; facilitators: string[] },
  fetchImpl: typeof fetch = fetch,
): Promise<{ listings: Listing[]; problems: string[] }> {
  const reads = [
    ...sources.gateways.map((g) => readGatewayListing(g, fetchImpl)),
    ...sources.facilitators.map((f) => readFacilitatorCatalog(f)),
  ];
  const settled = await Promise.allSettled(reads);
  const problems = settled.flatMap((s) =>
    s.status === "rejected" ? [String(s.reason instanceof Error ? s.reason.message : s.reason)] : [],
  );
  if (settled.length > 0 && problems.length === settled.length) throw new CatalogError(`no catalog could be read: ${problems.join("; ")}`);
  const seen = new Set<string>();
  const listings: Listing[] = [];
  for (const s of settled) {
    if (s.status !== "fulfilled") continue;
    for (const listing of s.value) {
      const key = `${listing.resource} ${listing.toolName ?? ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      listings.push(listing);
    }
  }
  return { listings, problems };
}
