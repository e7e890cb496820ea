// The price rules the local stack seeds into KV: the demo origin's routes, paid in the local TestUSDC.
import type { Address } from "viem";
import { SELLER, SELLER_TWO } from "./accounts.js";
import { NETWORK as LOCAL_NETWORK, TOKEN_DECIMALS, TOKEN_NAME, TOKEN_VERSION } from "./chain.js";

/** KV key of the local stack's tenant table: shop → payee. */
export const SHOP_PAYEES_KEY = "shop-payees";

export function buildShopPayees() {
  return { tenants: { acme: SELLER.address, globex: SELLER_TWO.address } };
}

export function buildStackRules(token: Address, extraRules: unknown[] = [], network = LOCAL_NETWORK) {
  return {
    version: 1,
    assets: [{ network, address: token, decimals: TOKEN_DECIMALS, name: TOKEN_NAME, version: TOKEN_VERSION, symbol: "USDC", default: true }],
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
      ...extraRules,
    ],
  };
}
