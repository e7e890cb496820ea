// The catalog a facilitator keeps of the resources it has seen paid (the bazaar's `/discovery/resources`): each
// payment it verifies or settles carries the resource's bazaar extension, read with the official
// `extractDiscoveryInfo`, and the requirements the seller asked. The newest payment wins, so a price change
// reaches the catalog with the next payment and nobody touching the facilitator. In memory: local stack only.
import { extractDiscoveryInfo, type DiscoveryResource, type DiscoveryResourcesResponse } from "@x402/extensions/bazaar";
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";

const READ_CACHE_ENTRIES = 256;

export class ResourceCatalog {
  readonly #items = new Map<string, DiscoveryResource>();
  /** Extensions already read (validating one's schemas takes ~25 ms; a route sends the same one each time), bounded. */
  readonly #read = new Map<string, ReturnType<typeof extractDiscoveryInfo>>();

  /** Indexes one payment's resource; a payment without a valid bazaar extension is not listed. */
  index(payload: PaymentPayload, requirements: PaymentRequirements): void {
    const source = JSON.stringify([
      payload.x402Version,
      payload.resource,
      payload.extensions?.bazaar,
      requirements.scheme,
      requirements.network,
    ]);
    let discovered = this.#read.get(source);
    if (!this.#read.has(source)) {
      try {
        discovered = extractDiscoveryInfo(payload, requirements);
      } catch {
        discovered = null;
      }
      if (this.#read.size >= READ_CACHE_ENTRIES) this.#read.delete(this.#read.keys().next().value!);
      this.#read.set(source, discovered);
    }
    if (!discovered) return;
    const type = discovered.discoveryInfo.input.type;
    // One MCP server offers several tools at one URL: each tool is its own entry.
    const key = "toolName" in discovered ? `${discovered.resourceUrl}#${discovered.toolName}` : discovered.resourceUrl;
    this.#items.set(key, {
      resource: discovered.resourceUrl,
      type,
      x402Version: discovered.x402Version,
      accepts: [requirements],
      lastUpdated: new Date().toISOString(),
      ...(discovered.description ? { description: discovered.description } : {}),
      ...(discovered.mimeType ? { mimeType: discovered.mimeType } : {}),
      ...(discovered.serviceName ? { serviceName: discovered.serviceName } : {}),
      ...(discovered.tags ? { tags: discovered.tags } : {}),
      ...(discovered.iconUrl ? { iconUrl: discovered.iconUrl } : {}),
      extensions: { bazaar: { info: discovered.discoveryInfo } },
    });
  }

  /** `GET /discovery/resources?type=&payTo=&scheme=&network=&limit=&offset=`. */
  list(query: URLSearchParams): DiscoveryResourcesResponse {
    const limit = Math.min(Math.max(Number(query.get("limit") ?? 100) || 100, 1), 1000);
    const offset = Math.max(Number(query.get("offset") ?? 0) || 0, 0);
    const matching = [...this.#items.values()].filter((item) => this.#matches(item, query));
    return { x402Version: 2, items: matching.slice(offset, offset + limit), pagination: { limit, offset, total: matching.length } };
  }

  /** `GET /discovery/search?query=`: every word of the query in the resource, its description, name or tags. */
  search(query: URLSearchParams) {
    const words = (query.get("query") ?? "").toLowerCase().split(/\s+/).filter(Boolean);
    const resources = [...this.#items.values()].filter((item) => {
      if (!this.#matches(item, query)) return false;
      const text = [item.resource, item.description, item.serviceName, ...(item.tags ?? [])].join(" ").toLowerCase();
      return words.every((word) => text.includes(word));
    });
    return { x402Version: 2, resources, partialResults: false };
  }

  #matches(item: DiscoveryResource, query: URLSearchParams): boolean {
    const type = query.get("type");
    const payTo = query.get("payTo");
    const scheme = query.get("scheme");
    const network = query.get("network");
    if (type && item.type !== type) return false;
    return item.accepts.some(
      (offer) => (!payTo || offer.payTo === payTo) && (!scheme || offer.scheme === scheme) && (!network || offer.network === network),
    );
  }
}
