// Discovery: the bazaar extension in each 402, and `/.well-known/x402` built from the live rules.
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { BASE_SEPOLIA, buildHarness, buildRule, decodeHeader, PAY_TO } from "../fixtures/builders.js";

const weatherDiscovery = {
  input: {
    queryParams: { units: "metric" },
    queryParamsSchema: { properties: { units: { type: "string", enum: ["metric", "imperial"] } } },
  },
  output: {
    example: { city: "paris", temperatureC: 13 },
    schema: { properties: { city: { type: "string" }, temperatureC: { type: "number" } } },
  },
  service: { name: "Weather API", tags: ["weather", "forecast"], iconUrl: "https://weather.example/icon.png", category: "data" },
};

async function wellKnown(harness: Awaited<ReturnType<typeof buildHarness>>, init?: RequestInit) {
  const response = await harness.fetch("/.well-known/x402", init);
  return {
    response,
    body:
      response.status === 200 && init?.method !== "HEAD"
        ? ((await response.json()) as { x402Version: number; resources: Record<string, unknown>[] })
        : undefined,
  };
}

describe("the bazaar extension in the 402", () => {
  it("describes the call from the rule's discovery block: method, path parameters, route template, output, service", async () => {
    const harness = await buildHarness({ rules: [buildRule({ discovery: weatherDiscovery })] });
    const challenge = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris?units=metric")).headers.get("PAYMENT-REQUIRED"));
    expect(challenge.resource).toMatchObject({
      serviceName: "Weather API",
      tags: ["weather", "forecast"],
      iconUrl: "https://weather.example/icon.png",
    });
    expect(challenge.extensions!.bazaar).toMatchObject({
      routeTemplate: "/weather/:city",
      info: {
        input: { type: "http", method: "GET", queryParams: { units: "metric" }, pathParams: { city: "paris" } },
        output: { type: "json", example: { city: "paris" } },
      },
      schema: { properties: { input: { properties: { method: { enum: ["GET"] } }, additionalProperties: false } } },
    });
  });

  it("has a minimal entry without a discovery block, a body form for POST, and none with discoverable: false", async () => {
    const harness = await buildHarness({
      rules: [
        buildRule(),
        buildRule({ id: "post", methods: ["POST"], path: "/summarize" }),
        buildRule({ id: "hidden", path: "/hidden", discoverable: false }),
      ],
    });
    const bazaarOf = async (path: string, method = "GET") =>
      decodeHeader<PaymentRequired>((await harness.fetch(path, { method })).headers.get("PAYMENT-REQUIRED")).extensions?.bazaar as
        | Record<string, unknown>
        | undefined;
    expect(await bazaarOf("/weather/paris")).toMatchObject({
      routeTemplate: "/weather/:city",
      info: { input: { type: "http", method: "GET", pathParams: { city: "paris" } } },
    });
    expect(await bazaarOf("/summarize", "POST")).toMatchObject({ info: { input: { method: "POST", bodyType: "json", body: {} } } });
    expect(await bazaarOf("/hidden")).toBeUndefined();
  });

  it("a malformed discovery block is a configuration error listed with the others", async () => {
    const harness = await buildHarness({
      rules: [buildRule({ discovery: { service: { name: "x".repeat(40), iconUrl: "http://127.0.0.1/i.png" }, extra: 1 } })],
    });
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
  });
});

describe("GET /.well-known/x402", () => {
  it("lists every discoverable priced resource with its offers, session terms and bazaar entry; never forwarded", async () => {
    const harness = await buildHarness({
      rules: [
        buildRule({ discovery: weatherDiscovery }),
        buildRule({ id: "pass", path: "/forecast/:city", price: "$0.10", session: { ttlSeconds: 3600, maxRequests: 21 } }),
        buildRule({
          id: "complete",
          methods: ["POST"],
          path: "/complete",
          price: undefined,
          pricing: { input: { json: "max_tokens" }, perUnit: "$0.00001", base: "$0.001", cap: "$0.10" },
        }),
        buildRule({ id: "hidden", path: "/hidden", discoverable: false }),
      ],
    });
    const { response, body } = await wellKnown(harness);
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toMatch(/^W\/"/);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(body!.x402Version).toBe(2);
    const byPath = Object.fromEntries(body!.resources.map((r) => [r.routeTemplate, r]));
    expect(Object.keys(byPath)).toEqual(["/weather/:city", "/forecast/:city", "/complete"]);
    expect(byPath["/weather/:city"]).toMatchObject({
      resource: "https://gateway.example/weather/:city",
      methods: ["GET"],
      price: { kind: "fixed" },
      accepts: [{ scheme: "exact", network: BASE_SEPOLIA, amount: "10000", payTo: PAY_TO }],
      serviceName: "Weather API",
      category: "data",
      extensions: { bazaar: { info: { input: { method: "GET", queryParams: { units: "metric" } } } } },
    });
    expect(byPath["/forecast/:city"]).toMatchObject({
      session: { ttlSeconds: 3600, maxRequests: 21, scope: "rule" },
      accepts: [{ amount: "100000" }],
    });
    expect(byPath["/complete"]).toMatchObject({
      price: { kind: "dynamic", input: "JSON body field max_tokens", min: "$0.001", max: "$0.1" },
      accepts: [{ amount: "1000", maxAmount: "100000" }],
      extensions: { bazaar: { info: { input: { method: "POST", bodyType: "json" } } } },
    });
    expect(await harness.originCalls()).toEqual([]);
  });

  it("answers If-None-Match with 304, HEAD without a body, and other methods with 405", async () => {
    const harness = await buildHarness();
    const { response } = await wellKnown(harness);
    const etag = response.headers.get("etag")!;
    expect((await harness.fetch("/.well-known/x402", { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect((await harness.fetch("/.well-known/x402", { headers: { "If-None-Match": 'W/"other"' } })).status).toBe(200);
    const head = await harness.fetch("/.well-known/x402", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await harness.fetch("/.well-known/x402", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect(await harness.originCalls()).toEqual([]);
  });

  it("follows a KV edit of the rules with no redeploy, with a new ETag", async () => {
    const harness = await buildHarness();
    const first = await wellKnown(harness);
    await harness.env.PRICE_RULES.put(harness.env.PRICE_RULES_KEY as string, JSON.stringify({ rules: [buildRule({ price: "$0.02" })] }));
    const second = await wellKnown(harness);
    expect((second.body!.resources[0]!.accepts as { amount: string }[])[0]!.amount).toBe("20000");
    expect(second.response.headers.get("etag")).not.toBe(first.response.headers.get("etag"));
  });

  it("never shows tenant tables, quote URLs or facilitator credentials", async () => {
    const harness = await buildHarness({
      facilitators: [{ id: "cdp", mode: "ok", auth: { kind: "bearer", tokenSecret: "SECRET_TOKEN_NAME" } }],
      vars: { SECRET_TOKEN_NAME: "super-secret-value" },
      rules: [
        buildRule({ id: "tenant", path: "/shops/:shop", payTo: { tenant: { param: "shop" }, table: "private-tenant-table" } }),
        buildRule({ id: "quoted", path: "/quoted", price: undefined, quote: { url: "https://quotes.internal.example/secret-path" } }),
      ],
    });
    const { body } = await wellKnown(harness);
    const text = JSON.stringify(body);
    for (const secret of [
      "private-tenant-table",
      "quotes.internal.example",
      "secret-path",
      "SECRET_TOKEN_NAME",
      "super-secret-value",
      "facilitator",
    ])
      expect(text).not.toContain(secret);
    expect(body!.resources.map((r) => [r.payTo, (r.price as { kind: string }).kind])).toEqual([
      ["tenant", "fixed"],
      ["quote", "quoted"],
    ]);
  });

  it("refuses a rule that would price the gateway's own path, and answers 503 while no good rules exist", async () => {
    const harness = await buildHarness({ rules: [buildRule({ path: "/.well-known/:name" })] });
    expect((await harness.fetch("/.well-known/x402")).status).toBe(503);
    // A catch-all rule does not claim it: the gateway's own paths are not part of "everything".
    const catchAll = await buildHarness({ rules: [buildRule({ path: "/**", methods: "*" })] });
    expect((await catchAll.fetch("/.well-known/x402")).status).toBe(200);
    expect((await catchAll.fetch("/anything")).status).toBe(402);
  });
});
