// The price rules the local stack seeds into KV: the demo origin's routes, paid in the local TestUSDC.
import type { Address } from "viem";
import { SELLER, SELLER_TWO } from "./accounts.js";
import { NETWORK as LOCAL_NETWORK, TOKEN_DECIMALS, TOKEN_NAME, TOKEN_VERSION } from "./chain.js";
import { CARD_ASSET, CARD_NETWORK } from "./test-card-rail.js";

/** The merchant account the demo's card-paid route credits on the test card rail. */
export const CARD_MERCHANT = "merchant-demo";

/** KV key of the local stack's tenant table: shop → payee. */
export const SHOP_PAYEES_KEY = "shop-payees";

export function buildShopPayees() {
  return { tenants: { acme: SELLER.address, globex: SELLER_TWO.address } };
}

/** The facilitators the stack's rules name, in preference order (docs/facilitators.md). */
export interface StackFacilitators {
  primaryUrl: string;
  secondaryUrl: string;
  /** Bearer token the primary requires, when set. */
  primaryToken?: string;
  /** The primary's settle timeout (default the gateway's): shorter leaves the phase room to resubmit elsewhere. */
  primarySettleTimeoutMs?: number;
  circuit?: { failureThreshold?: number; openSeconds?: number };
}

/** Worker secrets (vars under `wrangler dev`) the stack's facilitator `auth` entries name. */
export const STACK_SECRET_NAMES = {
  primaryToken: "STACK_FACILITATOR_TOKEN",
  cdpKeyId: "STACK_CDP_KEY_ID",
  cdpKeySecret: "STACK_CDP_KEY_SECRET",
} as const;

export function buildStackRules(token: Address, extraRules: unknown[] = [], network = LOCAL_NETWORK, facilitators?: StackFacilitators) {
  return {
    version: 1,
    ...(facilitators
      ? {
          facilitators: [
            {
              id: "local-a",
              url: facilitators.primaryUrl,
              auth: facilitators.primaryToken ? { kind: "bearer", tokenSecret: STACK_SECRET_NAMES.primaryToken } : { kind: "none" },
              priority: 1,
              ...(facilitators.primarySettleTimeoutMs ? { settleTimeoutMs: facilitators.primarySettleTimeoutMs } : {}),
            },
            // The second one checks a CDP API-key JWT on every call, as Coinbase's hosted facilitator does.
            {
              id: "local-b",
              url: facilitators.secondaryUrl,
              auth: { kind: "cdp-jwt", keyIdSecret: STACK_SECRET_NAMES.cdpKeyId, keySecret: STACK_SECRET_NAMES.cdpKeySecret },
              priority: 2,
            },
          ],
          ...(facilitators.circuit ? { circuit: facilitators.circuit } : {}),
        }
      : {}),
    assets: [
      { network, address: token, decimals: TOKEN_DECIMALS, name: TOKEN_NAME, version: TOKEN_VERSION, symbol: "USDC", default: true },
      { network: CARD_NETWORK, address: CARD_ASSET, decimals: 2, symbol: CARD_ASSET, default: true },
    ],
    rules: [
      {
        id: "weather",
        methods: ["GET"],
        path: "/api/weather/:city",
        price: "$0.01",
        accepts: [{ network }],
        payTo: SELLER.address,
        description: "Current weather for a city",
        mimeType: "application/json",
        discovery: {
          output: {
            example: { city: "paris", temperatureC: 13, conditions: "snow" },
            schema: { properties: { city: { type: "string" }, temperatureC: { type: "number" }, conditions: { type: "string" } } },
          },
          service: { name: "Demo Weather", tags: ["weather"], category: "data" },
        },
      },
      // The same answer from another seller, sold as a session: cheaper per call for a buyer who makes many
      // (an agent planning 20 calls or more picks it; one call is cheaper above).
      {
        id: "weather-pass",
        methods: ["GET"],
        path: "/api/weather-pass/:city",
        price: "$0.05",
        accepts: [{ network }],
        payTo: SELLER_TWO.address,
        description: "Current weather for a city: one payment buys 20 requests within an hour",
        mimeType: "application/json",
        session: { ttlSeconds: 3600, maxRequests: 20, scope: "rule" },
        discovery: { service: { name: "Weather Pass", tags: ["weather"], category: "data" } },
      },
      {
        id: "report",
        methods: ["GET"],
        path: "/api/premium/report",
        price: { amount: "250000", asset: token },
        accepts: [{ network }],
        payTo: SELLER_TWO.address,
        description: "Quarterly market report",
      },
      {
        id: "summarize",
        methods: ["POST"],
        path: "/api/summarize",
        price: "$0.05",
        accepts: [{ network }],
        payTo: SELLER.address,
        description: "Summarize a text",
        discovery: {
          input: {
            bodyType: "json",
            body: { text: "A long text to summarize." },
            bodySchema: { properties: { text: { type: "string" } }, required: ["text"] },
          },
          output: { example: { words: 5, summary: "A long text to summarize." } },
        },
      },
      // upto: the payer authorizes the price; the meter settles what the origin says was used (docs/metering.md).
      {
        id: "metered-header",
        methods: ["GET"],
        path: "/api/metered/header",
        price: "$0.10",
        accepts: [{ network, scheme: "upto" }],
        payTo: SELLER.address,
        description: "Completion metered by the origin's X-Usage-Units header: $0.001 per token, $0.10 at most",
        meter: { from: { header: "X-Usage-Units" }, unitPrice: "$0.001", cap: 100 },
      },
      {
        id: "metered-json",
        methods: ["GET"],
        path: "/api/metered/json",
        price: "$0.05",
        accepts: [{ network, scheme: "upto" }],
        payTo: SELLER.address,
        description: "Completion metered by usage.total_tokens in the answer: $0.0002 per token plus $0.001",
        meter: { from: { json: "usage.total_tokens" }, unitPrice: "$0.0002", base: "$0.001", onInvalidUsage: "cap" },
      },
      {
        id: "metered-stream",
        methods: ["GET"],
        path: "/api/metered/stream",
        price: "$0.05",
        accepts: [{ network, scheme: "upto" }],
        payTo: SELLER.address,
        description:
          "A streamed (SSE) completion metered by the usage in its last event: $0.0001 per token, 400 at most; a stream left early, or longer than 5 s, pays for 400",
        mimeType: "text/event-stream",
        // A stream ends within 5 s: the demo's take ~1 s.
        meter: { from: { sse: "usage.total_tokens" }, unitPrice: "$0.0001", cap: 400, maxStreamSeconds: 5 },
      },
      // batch-settlement: one deposit opens a channel, then each call is a voucher checked here (docs/batch-settlement.md).
      {
        id: "batch",
        methods: ["GET"],
        path: "/api/batch/:item",
        price: "$0.001",
        accepts: [{ network, scheme: "batch-settlement", extra: { minDeposit: "100000" } }],
        payTo: SELLER.address,
        description: "High-frequency calls paid from a payment channel: $0.001 each, claimed on chain in batches",
      },
      {
        id: "flaky",
        path: "/api/flaky",
        price: "$0.01",
        accepts: [{ network }],
        payTo: SELLER.address,
        description: "A priced route whose origin always fails",
      },
      {
        id: "slow",
        methods: ["GET"],
        path: "/api/slow",
        price: "$0.01",
        accepts: [{ network }],
        payTo: SELLER.address,
        description: "Answers after ?ms= milliseconds",
      },
      {
        id: "forecast-pass",
        methods: ["GET"],
        path: "/api/forecast/:city",
        price: "$0.10",
        accepts: [{ network }],
        payTo: SELLER.address,
        description: "Forecasts: one payment buys a one-hour session of 21 requests (sign in with your wallet)",
        session: { ttlSeconds: 3600, maxRequests: 21, scope: "rule", statement: "Sign in to use your forecast pass." },
      },
      {
        id: "complete",
        methods: ["POST"],
        path: "/api/complete",
        pricing: { input: { json: "max_tokens" }, perUnit: "$0.00001", base: "$0.001", cap: "$0.10", default: 256 },
        accepts: [{ network }],
        payTo: SELLER.address,
        description: "Text completion, priced per max_tokens",
      },
      {
        id: "shop-catalog",
        methods: ["GET"],
        path: "/api/shops/:shop/catalog",
        price: "$0.02",
        accepts: [{ network }],
        payTo: { tenant: { param: "shop" }, table: SHOP_PAYEES_KEY },
        description: "A shop's catalog; each shop is paid directly",
      },
      {
        id: "fx",
        methods: ["GET"],
        path: "/api/fx/:pair",
        price: "$0.01",
        // Paid through Permit2 rather than EIP-3009 (as for tokens without EIP-3009); the payer approved Permit2 once.
        accepts: [{ network, extra: { assetTransferMethod: "permit2" } }],
        payTo: SELLER.address,
        description: "An exchange rate, paid with a Permit2 signature",
      },
      {
        id: "mcp",
        path: "/api/mcp",
        accepts: [{ network }],
        payTo: SELLER.address,
        description: "A demo MCP server: tools/call is paid per tool, initialize and tools/list are free",
        mcp: {
          tools: {
            get_forecast: {
              price: "$0.02",
              description: "Tomorrow's forecast for a city",
              inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            },
            translate: {
              price: "$0.01",
              description: "Translate a short text",
              inputSchema: { type: "object", properties: { text: { type: "string" }, to: { type: "string" } } },
            },
          },
        },
      },
      ...(facilitators
        ? [
            {
              id: "headlines",
              methods: ["GET"],
              path: "/api/headlines",
              price: "$0.05",
              // The card option has no local plugin: local-b settles it on its test card rail (docs/facilitators.md).
              accepts: [{ network }, { scheme: "card", network: CARD_NETWORK, payTo: CARD_MERCHANT, delegate: true }],
              payTo: SELLER.address,
              description: "Today's headlines, paid in USDC or with a (test) card",
            },
          ]
        : []),
      ...extraRules,
    ],
  };
}
