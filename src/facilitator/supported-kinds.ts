// The facilitator's `GET /supported`: which scheme × network it settles, with per-kind facts such as Solana's
// feePayer. Asked only by plugins that need it, and cached per isolate so the 402 and the payment that follows
// see the same answer.
import { z } from "zod";
import type { FacilitatorFacts, SupportedKind } from "../schemes/scheme-plugin.js";
import { callFacilitator } from "./facilitator-client.js";

const SupportedResponseSchema = z.object({
  kinds: z.array(
    z.object({
      x402Version: z.number().int(),
      scheme: z.string().min(1),
      network: z.string().min(1),
      extra: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

/** Long enough that a client's 402 → payment round trip sees one answer; short enough to follow a rotation. */
export const SUPPORTED_CACHE_MS = 5 * 60_000;

const cache = new Map<string, { expiresAtMs: number; kinds: Promise<SupportedKind[]> }>();

export interface SupportedKindsOptions {
  url: string;
  fetch: typeof fetch;
  timeoutMs: number;
  authToken?: string;
  nowMs: number;
}

export function facilitatorFacts(options: SupportedKindsOptions): FacilitatorFacts {
  return { supportedKinds: () => supportedKinds(options) };
}

/** Concurrent askers share one request; a failure is not cached, so the next request asks again. */
export function supportedKinds(options: SupportedKindsOptions): Promise<SupportedKind[]> {
  const url = options.url.replace(/\/+$/, "");
  const cached = cache.get(url);
  if (cached && cached.expiresAtMs > options.nowMs) return cached.kinds;
  const endpoint = { url, fetch: options.fetch, authToken: options.authToken };
  const kinds = callFacilitator(endpoint, { operation: "supported", schema: SupportedResponseSchema, timeoutMs: options.timeoutMs }).then((reply) => reply.kinds);
  cache.set(url, { expiresAtMs: options.nowMs + SUPPORTED_CACHE_MS, kinds });
  kinds.catch(() => {
    if (cache.get(url)?.kinds === kinds) cache.delete(url);
  });
  return kinds;
}
