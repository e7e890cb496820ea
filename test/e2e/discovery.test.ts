// Discovery against the official bazaar helpers: our 402 extension is what `validateDiscoveryExtension` accepts
// and what a facilitator's `extractDiscoveryInfo` reads from a payment the official client made; and
// `/.well-known/x402` follows a KV price edit with no redeploy.
import { extractDiscoveryInfo, validateDiscoveryExtension, type DiscoveryExtension } from "@x402/extensions/bazaar";
import { decodePaymentRequiredHeader, decodePaymentSignatureHeader, HTTPFacilitatorClient } from "@x402/core/http";
import { withBazaar } from "@x402/extensions/bazaar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildStackRules } from "../../stack/stack-rules.js";
import { PAYER } from "../../stack/accounts.js";
import { recordingFetch, startStackFixture, eventually, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;

beforeAll(async () => {
  stack = await startStackFixture();
});
afterAll(async () => {
  await stack?.dispose();
});

interface Listed {
  resource: string;
  routeTemplate?: string;
  methods: string[];
  accepts: { amount?: string }[];
  extensions: { bazaar?: DiscoveryExtension };
}

const wellKnown = async () => (await (await fetch(`${stack.info.gateway}/.well-known/x402`)).json()) as { resources: Listed[] };

describe("an MCP server behind the gateway", () => {
  const rpc = (method: string, params?: unknown) => ({
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params ? { params } : {}) }),
  });

  it("initialize and tools/list are free; a priced tools/call gets a 402, is paid by the official client and returns the tool's result", async () => {
    const url = `${stack.info.gateway}/api/mcp`;
    const initialize = await fetch(
      url,
      rpc("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "e2e", version: "1" } }),
    );
    expect(initialize.status).toBe(200);
    expect(await initialize.json()).toMatchObject({ result: { serverInfo: { name: "demo-mcp" } } });
    const tools = await fetch(url, rpc("tools/list"));
    expect(((await tools.json()) as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name)).toEqual([
      "get_forecast",
      "translate",
    ]);

    const call = rpc("tools/call", { name: "get_forecast", arguments: { city: "lisbon" } });
    const unpaid = await fetch(url, call);
    expect(unpaid.status).toBe(402);
    const challenge = decodePaymentRequiredHeader(unpaid.headers.get("PAYMENT-REQUIRED")!);
    expect(challenge.accepts[0]!.amount).toBe("20000");
    expect(validateDiscoveryExtension(challenge.extensions!.bazaar as DiscoveryExtension)).toEqual({ valid: true });

    const before = await stack.balance(PAYER.address);
    const paid = await stack.payingFetch()(url, call);
    expect(paid.status).toBe(200);
    expect(await paid.json()).toMatchObject({ result: { content: [{ type: "text", text: "Tomorrow in lisbon: sunny, 18°C" }] } });
    expect(await stack.balance(PAYER.address)).toBe(before - 20_000n);
    const catalog = withBazaar(new HTTPFacilitatorClient({ url: stack.info.facilitators[0]!.url }));
    expect((await catalog.extensions.bazaar.listResources({ type: "mcp" })).items).toMatchObject([
      { type: "mcp", resource: url, accepts: [{ amount: "20000" }] },
    ]);
  });
});

describe("discovery with the official bazaar helpers", () => {
  it("every listed resource and every 402 carries an extension validateDiscoveryExtension accepts", async () => {
    const { resources } = await wellKnown();
    expect(resources.length).toBeGreaterThanOrEqual(10);
    for (const listed of resources) {
      expect(validateDiscoveryExtension(listed.extensions.bazaar!), listed.resource).toEqual({ valid: true });
    }
    for (const [method, path] of [
      ["GET", "/api/weather/paris"],
      ["POST", "/api/summarize"],
      ["GET", "/api/fx/eur-usd"],
      ["GET", "/api/forecast/lyon"],
    ] as const) {
      const response = await fetch(`${stack.info.gateway}${path}`, { method });
      expect(response.status).toBe(402);
      const bazaar = decodePaymentRequiredHeader(response.headers.get("PAYMENT-REQUIRED")!).extensions!.bazaar as DiscoveryExtension;
      expect(validateDiscoveryExtension(bazaar), path).toEqual({ valid: true });
    }
  });

  it("a facilitator reads the resource from the official client's payment with extractDiscoveryInfo", async () => {
    const sent: string[] = [];
    const response = await stack.payingFetch(recordingFetch("PAYMENT-SIGNATURE", sent))(`${stack.info.gateway}/api/weather/paris`);
    expect(response.status).toBe(200);
    const payload = decodePaymentSignatureHeader(sent[0]!);
    const discovered = extractDiscoveryInfo(payload, payload.accepted);
    expect(discovered).toMatchObject({
      // Catalogued under the route template: every city is one resource.
      resourceUrl: `${stack.info.gateway}/api/weather/:city`,
      method: "GET",
      routeTemplate: "/api/weather/:city",
      serviceName: "Demo Weather",
      tags: ["weather"],
      discoveryInfo: { input: { type: "http", method: "GET" }, output: { example: { city: "paris" } } },
    });
  });

  it("zero-touch sync: a paid route appears in the facilitator's catalog at its price; a KV price edit reaches /.well-known/x402 and, with the next payment, the catalog", async () => {
    const catalog = withBazaar(new HTTPFacilitatorClient({ url: stack.info.facilitators[0]!.url }));
    const catalogued = async () =>
      (await catalog.extensions.bazaar.listResources({ type: "http" })).items.find(
        (item) => item.resource === `${stack.info.gateway}/api/weather/:city`,
      );
    const weather = () => wellKnown().then(({ resources }) => resources.find((r) => r.routeTemplate === "/api/weather/:city")!);
    expect((await weather()).accepts[0]!.amount).toBe("10000");
    expect((await stack.payingFetch()(`${stack.info.gateway}/api/weather/lyon`)).status).toBe(200);
    expect(await catalogued()).toMatchObject({
      type: "http",
      x402Version: 2,
      accepts: [{ amount: "10000", network: stack.info.network }],
      serviceName: "Demo Weather",
      description: "Current weather for a city",
    });
    expect((await catalog.extensions.bazaar.search({ query: "weather city" })).resources.map((r) => r.resource)).toContain(
      `${stack.info.gateway}/api/weather/:city`,
    );

    const rules = buildStackRules(stack.info.token.address, [], stack.info.network, {
      primaryUrl: stack.info.facilitators[0]!.url,
      secondaryUrl: stack.info.facilitators[1]!.url,
    });
    const edited = {
      ...rules,
      rules: (rules.rules as Record<string, unknown>[]).map((rule) => (rule.id === "weather" ? { ...rule, price: "$0.02" } : rule)),
    };
    await stack.putKv("price-rules", edited);
    const after = await eventually(weather, (listed) => listed.accepts[0]!.amount === "20000", 15_000);
    expect(after.accepts[0]!.amount).toBe("20000");
    expect((await catalogued())!.accepts[0]!.amount).toBe("10000");
    expect((await stack.payingFetch()(`${stack.info.gateway}/api/weather/rome`)).status).toBe(200);
    expect((await catalogued())!.accepts[0]!.amount).toBe("20000");
  });
});
