// Prices and payees derived per request: declarative pricing, the quote callback and tenant routing. The 402
// and the payment check come from the same request inputs, so a cheap price never buys an expensive request.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import {
  buildHarness,
  buildPaymentPayload,
  buildRule,
  decodeHeader,
  encodePayment,
  newTestId,
  PAY_TO,
  type GatewayHarness,
} from "../fixtures/builders.js";
import type { RecordedCall } from "../fixtures/recorder.js";

const SELLER_A = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const SELLER_B = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const FALLBACK = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";

async function offerFor(harness: GatewayHarness, path: string, init: RequestInit = {}) {
  const response = await harness.fetch(path, init);
  expect(response.status).toBe(402);
  return decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).accepts[0]!;
}

async function problemOf(response: Response, status: number): Promise<string> {
  expect(response.status).toBe(status);
  return ((await response.json()) as { error: string }).error;
}

/** Pays the offer the 402 of `quotedPath` makes, but sends the payment with `sentPath` / `sentInit`. */
async function payQuotedSendOther(harness: GatewayHarness, quoted: [string, RequestInit?], sent: [string, RequestInit?]) {
  const offer = await offerFor(harness, quoted[0], quoted[1]);
  const headers = new Headers(sent[1]?.headers);
  headers.set("PAYMENT-SIGNATURE", encodePayment(await buildPaymentPayload(offer)));
  return harness.fetch(sent[0], { ...sent[1], headers });
}

describe("declarative pricing", () => {
  const tiered = buildRule({
    price: undefined,
    path: "/weather/:city",
    pricing: {
      input: { query: "days" },
      tiers: [
        { upTo: 1, price: "$0.01" },
        { upTo: 7, price: "$0.05" },
        { upTo: 30, price: "$0.20" },
      ],
    },
  });

  it("prices by tiers of a query parameter", async () => {
    const harness = await buildHarness({ rules: [tiered] });
    expect((await offerFor(harness, "/weather/paris?days=1")).amount).toBe("10000");
    expect((await offerFor(harness, "/weather/paris?days=7")).amount).toBe("50000");
    expect((await offerFor(harness, "/weather/paris?days=8")).amount).toBe("200000");
  });

  it.each([
    ["missing", "/weather/paris"],
    ["not a number", "/weather/paris?days=many"],
    ["negative", "/weather/paris?days=-1"],
    ["above the last tier", "/weather/paris?days=31"],
    // Security review F9: an origin that reads the last (or any-case) copy would serve 30 days for the price of 1.
    ["repeated", "/weather/paris?days=1&days=30"],
    ["beside a copy in another case", "/weather/paris?days=1&DAYS=30"],
    ["beside a copy that folds to it (long s)", "/weather/paris?days=1&day%C5%BF=30"],
  ])("refuses an input that cannot be priced (%s) with 400, nothing called", async (_name, path) => {
    const harness = await buildHarness({ rules: [tiered] });
    expect(await problemOf(await harness.fetch(path), 400)).toBe("pricing_input_invalid");
    expect(await harness.originCalls()).toHaveLength(0);
    expect(await harness.facilitatorCalls()).toHaveLength(0);
  });

  it("never sells the expensive request at the cheap price", async () => {
    const harness = await buildHarness({ rules: [tiered] });
    const response = await payQuotedSendOther(harness, ["/weather/paris?days=1"], ["/weather/paris?days=30"]);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_payment_requirements");
    expect(await harness.facilitatorCalls()).toHaveLength(0);
    expect(await harness.originCalls()).toHaveLength(0);
    // The right price for the same request goes through.
    const paid = await payQuotedSendOther(harness, ["/weather/paris?days=30"], ["/weather/paris?days=30"]);
    expect(paid.status).toBe(200);
  });

  it("prices per unit of a JSON body field, with base, floor and cap, and forwards the body intact", async () => {
    const rule = buildRule({
      methods: ["POST"],
      path: "/echo-body",
      price: undefined,
      pricing: { input: { json: "options.max_tokens" }, perUnit: "$0.00001", base: "$0.001", floor: "$0.002", cap: "$0.05", default: 100 },
    });
    const harness = await buildHarness({ rules: [rule] });
    const post = (body: unknown): RequestInit => ({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect((await offerFor(harness, "/echo-body", post({ options: { max_tokens: 1000 } }))).amount).toBe("11000");
    expect((await offerFor(harness, "/echo-body", post({ options: { max_tokens: 10 } }))).amount).toBe("2000"); // floor
    expect((await offerFor(harness, "/echo-body", post({ options: { max_tokens: 99_999_999 } }))).amount).toBe("50000"); // cap
    expect((await offerFor(harness, "/echo-body", post({ prompt: "no max_tokens" }))).amount).toBe("2000"); // default 100 → $0.002
    expect(await problemOf(await harness.fetch("/echo-body", { method: "POST", body: "{not json" }), 400)).toBe("pricing_input_invalid");
    expect(await problemOf(await harness.fetch("/echo-body", post({ options: { max_tokens: 1.5 } })), 400)).toBe("pricing_input_invalid");
    // Security review F9: bodies another JSON parser reads differently are not priced.
    const raw = (text: string): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: text });
    expect(await problemOf(await harness.fetch("/echo-body", raw('{"options":{"max_tokens":4000,"max_tokens":1}}')), 400)).toBe(
      "pricing_input_invalid",
    );
    expect(await problemOf(await harness.fetch("/echo-body", raw('{"options":{"max_tokens":1,"MAX_TOKENS":4000}}')), 400)).toBe(
      "pricing_input_invalid",
    );
    expect(await problemOf(await harness.fetch("/echo-body", raw('{"Options":{"max_tokens":4000},"options":{"max_tokens":1}}')), 400)).toBe(
      "pricing_input_invalid",
    );
    expect(await harness.originCalls()).toHaveLength(0);

    const body = { options: { max_tokens: 1000 }, prompt: "hello" };
    const cheap = await payQuotedSendOther(harness, ["/echo-body", post({ options: { max_tokens: 10 } })], ["/echo-body", post(body)]);
    expect(cheap.status).toBe(402);
    const paid = await payQuotedSendOther(harness, ["/echo-body", post(body)], ["/echo-body", post(body)]);
    expect(paid.status).toBe(200);
    expect(await paid.json()).toEqual(body);
  });

  it("prices a header by a table of values (e.g. a model name), with a price for the rest", async () => {
    const rule = buildRule({
      price: undefined,
      pricing: { input: { header: "X-Model" }, map: { small: "$0.001", large: "$0.03" }, otherwise: "$0.01" },
    });
    const harness = await buildHarness({ rules: [rule] });
    expect((await offerFor(harness, "/weather/paris", { headers: { "X-Model": "large" } })).amount).toBe("30000");
    expect((await offerFor(harness, "/weather/paris", { headers: { "X-Model": "small" } })).amount).toBe("1000");
    expect((await offerFor(harness, "/weather/paris", { headers: { "X-Model": "other" } })).amount).toBe("10000");
    expect(await problemOf(await harness.fetch("/weather/paris"), 400)).toBe("pricing_input_invalid");
    const swapped = await payQuotedSendOther(
      harness,
      ["/weather/paris", { headers: { "X-Model": "small" } }],
      ["/weather/paris", { headers: { "X-Model": "large" } }],
    );
    expect(decodeHeader<PaymentRequired>(swapped.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_payment_requirements");
  });

  it("prices a path parameter and the body size", async () => {
    const byParam = buildRule({ path: "/files/:size", price: undefined, pricing: { input: { param: "size" }, perUnit: "$0.001" } });
    const bySize = buildRule({
      id: "upload",
      methods: ["POST"],
      path: "/upload",
      price: undefined,
      pricing: { input: { bodyBytes: true }, tiers: [{ upTo: 1024, price: "$0.01" }, { price: "$0.10" }] },
    });
    const harness = await buildHarness({ rules: [byParam, bySize] });
    expect((await offerFor(harness, "/files/25")).amount).toBe("25000");
    expect((await offerFor(harness, "/upload", { method: "POST", body: "x".repeat(100) })).amount).toBe("10000");
    expect((await offerFor(harness, "/upload", { method: "POST", body: "x".repeat(2000) })).amount).toBe("100000");
    // A body without a declared length is counted too.
    const stream = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode("y".repeat(3000))), c.close()) });
    expect((await offerFor(harness, "/upload", { method: "POST", body: stream, duplex: "half" } as RequestInit)).amount).toBe("100000");
  });
});

describe("quote callback", () => {
  const quoteRule = (endpoint: string, quote: Record<string, unknown> = {}) => {
    const quoteId = newTestId();
    const rule = buildRule({ price: undefined, quote: { url: `${env.TEST_ORIGIN_URL}/t/${quoteId}${endpoint}`, ...quote } });
    const quoteCalls = async () => (await (await fetch(`${env.TEST_ORIGIN_URL}/__calls/${quoteId}`)).json()) as RecordedCall[];
    return { rule, quoteCalls };
  };

  it("asks the quote for the price and payee of each request, and checks the payment against that answer", async () => {
    const { rule, quoteCalls } = quoteRule("/quote");
    const harness = await buildHarness({ rules: [rule] });
    const offer = await offerFor(harness, "/weather/paris?units=3", {
      headers: { "X-Quote-Price": "$0.07", "X-Quote-PayTo": SELLER_A, Cookie: "c=1" },
    });
    expect(offer).toMatchObject({ amount: "70000", payTo: SELLER_A });
    const [call] = await quoteCalls();
    const sent = JSON.parse(call!.body) as { method: string; path: string; query: string; headers: Record<string, string> };
    expect(sent).toMatchObject({ method: "GET", path: "/weather/paris", query: "?units=3" });
    expect(sent.headers["x-quote-price"]).toBe("$0.07");

    const cheap = await payQuotedSendOther(
      harness,
      ["/weather/paris", { headers: { "X-Quote-Price": "$0.01" } }],
      ["/weather/paris", { headers: { "X-Quote-Price": "$0.07" } }],
    );
    expect(decodeHeader<PaymentRequired>(cheap.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_payment_requirements");
    const paid = await payQuotedSendOther(
      harness,
      ["/weather/paris", { headers: { "X-Quote-Price": "$0.07" } }],
      ["/weather/paris", { headers: { "X-Quote-Price": "$0.07" } }],
    );
    expect(paid.status).toBe(200);
    // The payment header is never shown to the quote.
    expect((await quoteCalls()).every((c) => !JSON.parse(c.body).headers["payment-signature"])).toBe(true);
  });

  it("reuses a cached answer for identical requests (varying on the listed headers)", async () => {
    const { rule, quoteCalls } = quoteRule("/quote", { cacheSeconds: 60, vary: ["X-Quote-Price"] });
    const harness = await buildHarness({ rules: [rule] });
    await offerFor(harness, "/weather/paris", { headers: { "X-Quote-Price": "$0.02" } });
    await offerFor(harness, "/weather/paris", { headers: { "X-Quote-Price": "$0.02" } });
    expect(await quoteCalls()).toHaveLength(1);
    expect((await offerFor(harness, "/weather/paris", { headers: { "X-Quote-Price": "$0.03" } })).amount).toBe("30000");
    expect(await quoteCalls()).toHaveLength(2);
  });

  it.each([
    ["slow", "/quote-slow", { timeoutMs: 200 }, 504, "quote_timeout"],
    ["answering garbage", "/quote-garbage", {}, 502, "quote_failed"],
    ["failing", "/status/500", {}, 502, "quote_failed"],
  ])("fails closed when the quote is %s: no 402, no origin, no facilitator", async (_name, endpoint, quote, status, error) => {
    const { rule } = quoteRule(endpoint, quote);
    const harness = await buildHarness({ rules: [rule] });
    expect(await problemOf(await harness.fetch("/weather/paris"), status)).toBe(error);
    const paid = await harness.fetch("/weather/paris", {
      headers: {
        "PAYMENT-SIGNATURE": encodePayment(
          await buildPaymentPayload({
            scheme: "exact",
            network: "eip155:84532",
            amount: "1",
            asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            payTo: PAY_TO,
            maxTimeoutSeconds: 60,
            extra: { name: "USDC", version: "2" },
          }),
        ),
      },
    });
    expect(paid.status).toBe(status);
    expect(await harness.facilitatorCalls()).toHaveLength(0);
  });

  it("fails closed when the quote service is unreachable", async () => {
    const rule = buildRule({ price: undefined, quote: { url: `${env.TEST_DEAD_URL}/quote` } });
    const harness = await buildHarness({ rules: [rule] });
    expect(await problemOf(await harness.fetch("/weather/paris"), 502)).toBe("quote_failed");
  });
});

describe("payTo routing by tenant", () => {
  async function tenantHarness(tenant: Record<string, unknown>, fallback?: string, path = "/weather/:city") {
    const table = `tenants-${newTestId()}`;
    await env.PRICE_RULES.put(table, JSON.stringify({ tenants: { Acme: SELLER_A, globex: { eip155: SELLER_B } } }));
    const rule = buildRule({ path, payTo: { tenant, table, ...(fallback ? { fallback } : {}) } });
    return { harness: await buildHarness({ rules: [rule] }), table };
  }

  it("routes by header through the KV table; the payee checked at payment time is this request's", async () => {
    const { harness } = await tenantHarness({ header: "X-Tenant" });
    expect((await offerFor(harness, "/weather/paris", { headers: { "X-Tenant": "acme" } })).payTo).toBe(SELLER_A);
    expect((await offerFor(harness, "/weather/paris", { headers: { "X-Tenant": "GLOBEX" } })).payTo).toBe(SELLER_B);
    expect(await problemOf(await harness.fetch("/weather/paris", { headers: { "X-Tenant": "initech" } }), 404)).toBe("unknown_tenant");
    expect(await problemOf(await harness.fetch("/weather/paris"), 404)).toBe("unknown_tenant");

    const misrouted = await payQuotedSendOther(
      harness,
      ["/weather/paris", { headers: { "X-Tenant": "acme" } }],
      ["/weather/paris", { headers: { "X-Tenant": "globex" } }],
    );
    expect(decodeHeader<PaymentRequired>(misrouted.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_payment_requirements");
    const paid = await payQuotedSendOther(
      harness,
      ["/weather/paris", { headers: { "X-Tenant": "acme" } }],
      ["/weather/paris", { headers: { "X-Tenant": "acme" } }],
    );
    expect(paid.status).toBe(200);
    const [verify] = await harness.facilitatorCalls();
    expect(JSON.parse(verify!.body).paymentRequirements.payTo).toBe(SELLER_A);
  });

  it("routes by host and by path parameter, with a fallback payee", async () => {
    const byHost = (await tenantHarness({ host: true }, FALLBACK)).harness;
    expect((await offerFor(byHost, "https://acme/weather/paris")).payTo).toBe(SELLER_A);
    expect((await offerFor(byHost, "https://unknown.example/weather/paris")).payTo).toBe(FALLBACK);
    const byParam = (await tenantHarness({ param: "tenant" }, undefined, "/shops/:tenant/report")).harness;
    expect((await offerFor(byParam, "/shops/globex/report")).payTo).toBe(SELLER_B);
  });

  it("fails closed (503) when the routing table is missing or invalid", async () => {
    const missing = await buildHarness({
      rules: [buildRule({ payTo: { tenant: { header: "X-Tenant" }, table: `missing-${newTestId()}` } })],
    });
    expect(await problemOf(await missing.fetch("/weather/paris", { headers: { "X-Tenant": "acme" } }), 503)).toBe("config_invalid");
    const { harness, table } = await tenantHarness({ header: "X-Tenant" });
    await env.PRICE_RULES.put(table, JSON.stringify({ tenants: { acme: 42 } }));
    expect(await problemOf(await harness.fetch("/weather/paris", { headers: { "X-Tenant": "acme" } }), 503)).toBe("config_invalid");
    // An address the table gives that is not one (for this network) is a configuration fault too.
    await env.PRICE_RULES.put(table, JSON.stringify({ tenants: { acme: "not-an-address" } }));
    expect(await problemOf(await harness.fetch("/weather/paris", { headers: { "X-Tenant": "acme" } }), 503)).toBe("config_invalid");
  });
});
