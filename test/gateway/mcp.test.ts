// An MCP server behind the gateway: tools/call priced per tool, the rest of the session free, batches and
// parser tricks unable to smuggle a priced call past the price.
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildPaymentPayload, buildRule, decodeHeader, encodePayment, type GatewayHarness } from "../fixtures/builders.js";

const mcpRule = (mcp: Record<string, unknown> = {}) =>
  buildRule({
    id: "mcp",
    methods: "*",
    path: "/mcp",
    price: undefined,
    mcp: {
      tools: {
        get_forecast: {
          price: "$0.02",
          description: "Tomorrow's forecast",
          inputSchema: { type: "object", properties: { city: { type: "string" } } },
        },
        translate: { price: "$0.01" },
      },
      ...mcp,
    },
  });

const rpc = (method: string, params?: unknown, id: number | undefined = 1) => ({
  jsonrpc: "2.0",
  ...(id === undefined ? {} : { id }),
  method,
  ...(params ? { params } : {}),
});
const post = (harness: GatewayHarness, body: unknown, headers: Record<string, string> = {}) =>
  harness.fetch("/mcp", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("MCP tools behind the gateway", () => {
  it.each([
    ["initialize", rpc("initialize", { protocolVersion: "2025-06-18" })],
    ["tools/list", rpc("tools/list")],
    ["a notification", rpc("notifications/initialized", undefined, undefined)],
    ["a batch of free calls", [rpc("tools/list"), rpc("ping", undefined, 2)]],
  ])("%s passes without payment", async (_name, body) => {
    const harness = await buildHarness({ rules: [mcpRule()] });
    const response = await post(harness, body);
    expect(response.status).toBe(200);
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await harness.facilitatorCalls({ supported: true })).toEqual([]);
  });

  it("prices tools/call per tool, with the MCP kind of the bazaar extension", async () => {
    const harness = await buildHarness({ rules: [mcpRule()] });
    const forecast = await post(harness, rpc("tools/call", { name: "get_forecast", arguments: { city: "paris" } }));
    expect(forecast.status).toBe(402);
    const challenge = decodeHeader<PaymentRequired>(forecast.headers.get("PAYMENT-REQUIRED"));
    expect(challenge.accepts[0]!.amount).toBe("20000");
    expect(challenge.extensions!.bazaar).toMatchObject({
      info: { input: { type: "mcp", toolName: "get_forecast", transport: "streamable-http", inputSchema: { properties: { city: {} } } } },
    });
    const translate = decodeHeader<PaymentRequired>(
      (await post(harness, rpc("tools/call", { name: "translate" }))).headers.get("PAYMENT-REQUIRED"),
    );
    expect(translate.accepts[0]!.amount).toBe("10000");
    expect(await harness.originCalls()).toEqual([]);
  });

  it("a paid tools/call reaches the origin once, as the very message that was priced", async () => {
    const harness = await buildHarness({ rules: [mcpRule()] });
    const call = rpc("tools/call", { name: "get_forecast", arguments: { city: "paris" } });
    const challenge = decodeHeader<PaymentRequired>((await post(harness, call)).headers.get("PAYMENT-REQUIRED"));
    const payment = encodePayment(await buildPaymentPayload(challenge.accepts[0]!));
    const paid = await post(harness, call, { "PAYMENT-SIGNATURE": payment });
    expect(paid.status).toBe(200);
    expect(paid.headers.get("PAYMENT-RESPONSE")).not.toBeNull();
    const [origin] = await harness.originCalls();
    expect(JSON.parse(origin!.body)).toEqual(call);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled", amount: "20000", rule_id: "mcp" }]);
  });

  it.each<[string, unknown, number, string]>([
    ["a batch with a priced call", [rpc("initialize"), rpc("tools/call", { name: "get_forecast" }, 2)], 400, "mcp_request_malformed"],
    ["a tool that is not offered", rpc("tools/call", { name: "delete_everything" }), 403, "mcp_tool_not_offered"],
    ["a body that is not JSON", "{not json", 400, "mcp_request_malformed"],
    ["a tools/call without a name", rpc("tools/call", { arguments: {} }), 400, "mcp_request_malformed"],
    ["an empty batch", [], 400, "mcp_request_malformed"],
  ])("refuses %s before the origin", async (_name, body, status, error) => {
    const harness = await buildHarness({ rules: [mcpRule()] });
    const response = await post(harness, body);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error });
    expect(await harness.originCalls()).toEqual([]);
  });

  it("lets a tool not listed through when the rule says unlistedTools: free", async () => {
    const harness = await buildHarness({ rules: [mcpRule({ unlistedTools: "free" })] });
    expect((await post(harness, rpc("tools/call", { name: "other_tool" }))).status).toBe(200);
  });

  it("a duplicate key cannot make the origin run a priced call: it gets the message as the gateway read it", async () => {
    const harness = await buildHarness({ rules: [mcpRule()] });
    // JSON.parse keeps the last "method"; a parser keeping the first would run tools/call unpaid.
    const tricky = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_forecast"},"method":"tools/list"}';
    expect((await post(harness, tricky)).status).toBe(200);
    const [origin] = await harness.originCalls();
    expect(JSON.parse(origin!.body).method).toBe("tools/list");
    expect(origin!.body).not.toContain("tools/call");
  });

  it("a GET (the server's event stream) passes, and /.well-known/x402 lists each tool", async () => {
    const harness = await buildHarness({ rules: [mcpRule()] });
    expect((await harness.fetch("/mcp")).status).toBe(200);
    const listed = (await (await harness.fetch("/.well-known/x402")).json()) as {
      resources: { type: string; toolName: string; accepts: { amount: string }[] }[];
    };
    expect(listed.resources.map((r) => [r.type, r.toolName, r.accepts[0]!.amount])).toEqual([
      ["mcp", "get_forecast", "20000"],
      ["mcp", "translate", "10000"],
    ]);
  });

  it("refuses an mcp rule that also sets a price", async () => {
    const harness = await buildHarness({ rules: [{ ...mcpRule(), price: "$0.01" }] });
    expect((await post(harness, rpc("tools/list"))).status).toBe(503);
  });
});
