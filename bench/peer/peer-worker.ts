// The peer for `npm run bench`: the official @x402/hono `paymentMiddleware` (x402ResourceServer + ExactEvmScheme
// server + HTTPFacilitatorClient) in front of the same demo origin, facilitator and chain as the gateway, pricing
// the same route with the same 402 extensions as the gateway's rule (bazaar, payment-identifier). Written as the
// package documents it, with one change workerd forces (BENCHMARKS.md): the facilitator sync is awaited inside a
// request, because an isolate-wide background promise started by one request hangs every later one.
import { HTTPFacilitatorClient, x402HTTPResourceServer, x402ResourceServer } from "@x402/core/server";
import { ExactEvmScheme } from "@x402/evm/exact/server";
import { paymentMiddlewareFromHTTPServer } from "@x402/hono";
import { Hono, type MiddlewareHandler } from "hono";
import { bazaarResourceServerExtension, declareDiscoveryExtension } from "@x402/extensions/bazaar";
import {
  declarePaymentIdentifierExtension,
  PAYMENT_IDENTIFIER,
  paymentIdentifierResourceServerExtension,
} from "@x402/extensions/payment-identifier";

interface PeerEnv {
  ORIGIN_URL: string;
  FACILITATOR_URL: string;
  NETWORK: `${string}:${string}`;
  TOKEN: string;
  TOKEN_NAME: string;
  TOKEN_VERSION: string;
  PAY_TO: string;
}

let payment: { middleware: MiddlewareHandler; ready: Promise<void> } | undefined;

function paymentFor(env: PeerEnv) {
  if (payment) return payment;
  const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: env.FACILITATOR_URL })).register(
    env.NETWORK,
    new ExactEvmScheme(),
  );
  server.registerExtension(bazaarResourceServerExtension);
  server.registerExtension(paymentIdentifierResourceServerExtension);
  const http = new x402HTTPResourceServer(server, {
    "GET /api/weather/*": {
      accepts: {
        scheme: "exact",
        network: env.NETWORK,
        payTo: env.PAY_TO,
        price: { amount: "10000", asset: env.TOKEN, extra: { name: env.TOKEN_NAME, version: env.TOKEN_VERSION } },
      },
      description: "Current weather for a city",
      mimeType: "application/json",
      extensions: {
        ...declareDiscoveryExtension({
          output: {
            example: { city: "paris", temperatureC: 13, conditions: "snow" },
            schema: { properties: { city: { type: "string" }, temperatureC: { type: "number" }, conditions: { type: "string" } } },
          },
        }),
        [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(false),
      },
    },
  });
  payment = { middleware: paymentMiddlewareFromHTTPServer(http, undefined, undefined, false), ready: http.initialize() };
  return payment;
}

const app = new Hono<{ Bindings: PeerEnv }>();
app.use(async (c, next) => {
  const { middleware, ready } = paymentFor(c.env);
  try {
    await ready;
  } catch (error) {
    payment = undefined;
    throw error;
  }
  return middleware(c, next);
});
app.all("*", (c) => {
  const url = new URL(c.req.url);
  return fetch(new Request(new URL(url.pathname + url.search, c.env.ORIGIN_URL), c.req.raw));
});

export default app;
