// The quote callback (docs/price-rules.md "Quote callback"): a URL, usually on the origin, that prices one
// request and/or names its payee. Bounded in time and size, cached per isolate, and failing closed: no answer
// means no 402 at a guessed price.
import { encodeBase64 } from "../encoding/base64.js";
import * as z from "zod";
import { GatewayFailure } from "../errors.js";
import { AtomicAmountSchema } from "../x402/schemas.js";
import { UsdPriceSchema } from "./usd.js";

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

export const QuoteConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** Default 2000. A slower quote answers 504 and nothing is charged. */
  timeoutMs: z.number().int().min(1).max(30_000).default(2000),
  /** Default 0 (no cache). Answers are reused for identical requests (method, path, query, body, `vary` headers). */
  cacheSeconds: z.number().int().min(0).max(3600).default(0),
  /** Request headers the quote depends on: part of the cache key. */
  vary: z.array(z.string().regex(HEADER_NAME)).max(16).default([]),
  /** Default 65536. Larger bodies are sent cut to this size, with `bodyTruncated: true`. */
  maxBodyBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 * 1024)
    .default(64 * 1024),
});
export type QuoteConfig = z.infer<typeof QuoteConfigSchema>;

const QuoteReplySchema = z.object({
  price: z.union([UsdPriceSchema, z.strictObject({ amount: AtomicAmountSchema, asset: z.string().min(1) })]).optional(),
  /** One address for every option, or per CAIP-2 network / namespace (`{"eip155": "0x…", "solana": "…"}`). */
  payTo: z.union([z.string().min(1).max(128), z.record(z.string().min(1).max(64), z.string().min(1).max(128))]).optional(),
});
export type QuoteReply = z.infer<typeof QuoteReplySchema>;

/** Headers never shown to the quote: they prove payment or identity to the gateway. */
const PRIVATE_HEADERS = new Set(["payment-signature", "x-payment", "sign-in-with-x", "x402-session"]);
const CACHE_LIMIT = 1000;
const cache = new Map<string, { expiresAtMs: number; reply: QuoteReply }>();

export interface QuoteRequest {
  ruleId: string;
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array | null;
}

export async function fetchQuote(config: QuoteConfig, request: QuoteRequest, fetcher: typeof fetch, nowMs: number): Promise<QuoteReply> {
  const body = request.body ?? new Uint8Array();
  const sentBody = body.subarray(0, config.maxBodyBytes);
  const key = config.cacheSeconds > 0 ? await cacheKey(config, request, body) : undefined;
  const cached = key === undefined ? undefined : cache.get(key);
  if (cached && cached.expiresAtMs > nowMs) return cached.reply;

  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    if (!PRIVATE_HEADERS.has(name)) headers[name] = value;
  });
  let response: Response;
  try {
    response = await fetcher(config.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        method: request.method,
        url: request.url.href,
        path: request.url.pathname,
        query: request.url.search,
        headers,
        body: sentBody.length > 0 ? encodeBase64(sentBody) : null,
        bodyTruncated: sentBody.length < body.length,
      }),
      signal: AbortSignal.timeout(config.timeoutMs),
    });
  } catch (cause) {
    if (cause instanceof DOMException && (cause.name === "TimeoutError" || cause.name === "AbortError"))
      throw new GatewayFailure({ kind: "quote_timeout" }, { cause });
    throw new GatewayFailure({ kind: "quote_failed", detail: `unreachable: ${String(cause)}` }, { cause });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new GatewayFailure({ kind: "quote_failed", detail: `status ${response.status}` });
  }
  let reply: QuoteReply;
  try {
    const parsed = QuoteReplySchema.safeParse(await response.json());
    if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
    reply = parsed.data;
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "TimeoutError") throw new GatewayFailure({ kind: "quote_timeout" }, { cause });
    throw new GatewayFailure({ kind: "quote_failed", detail: `bad reply: ${String(cause).slice(0, 300)}` }, { cause });
  }
  if (key !== undefined) remember(key, { expiresAtMs: nowMs + config.cacheSeconds * 1000, reply });
  return reply;
}

async function cacheKey(config: QuoteConfig, request: QuoteRequest, body: Uint8Array): Promise<string> {
  const bodyHash = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const varied = config.vary.map((name) => `${name.toLowerCase()}=${request.headers.get(name) ?? ""}`);
  return JSON.stringify([
    request.ruleId,
    config.url,
    request.method,
    request.url.pathname,
    request.url.search,
    varied,
    encodeBase64(bodyHash),
  ]);
}

function remember(key: string, entry: { expiresAtMs: number; reply: QuoteReply }): void {
  cache.delete(key);
  cache.set(key, entry);
  // Oldest first in a Map: drop from the front.
  while (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
}
