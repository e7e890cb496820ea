// Price rules are edited live in KV; invalid configuration fails closed.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, challengeFor, decodeHeader } from "../fixtures/builders.js";

afterEach(() => vi.restoreAllMocks());

describe("price rules from KV", () => {
  it("picks up an edited document without a redeploy", async () => {
    const harness = await buildHarness();
    expect((await challengeFor(harness, "/weather/paris")).accepts[0]!.amount).toBe("10000");

    await env.PRICE_RULES.put(harness.env.PRICE_RULES_KEY as string, JSON.stringify({ rules: [buildRule({ price: "$0.25" })] }));
    expect((await challengeFor(harness, "/weather/paris")).accepts[0]!.amount).toBe("250000");
  });

  it("reuses the rules within the cache TTL", async () => {
    const harness = await buildHarness({ vars: { PRICE_RULES_CACHE_TTL_SECONDS: "300" } });
    await challengeFor(harness, "/weather/paris");
    await env.PRICE_RULES.put(harness.env.PRICE_RULES_KEY as string, JSON.stringify({ rules: [buildRule({ price: "$0.25" })] }));
    expect((await challengeFor(harness, "/weather/paris")).accepts[0]!.amount).toBe("10000");
  });

  it("with no good document yet: readable priced paths answer 503, the rest passes, all problems are logged", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const harness = await buildHarness({ rules: [buildRule({ price: "ten cents" }), buildRule({ id: "b", path: "/b", payTo: "nobody" })] });

    const priced = await harness.fetch("/weather/paris");
    expect(priced.status).toBe(503);
    expect(await priced.json()).toMatchObject({ error: "config_invalid" });
    expect(priced.headers.get("Cache-Control")).toBe("no-store");
    expect((await harness.fetch("/free")).status).toBe(200);
    expect(await harness.originCalls()).toHaveLength(1);

    const log = JSON.parse(String(logged.mock.calls.find(([line]) => String(line).includes("price_rules_invalid"))![0]));
    expect(log.problems).toHaveLength(2);
  });

  it.each([
    ["not JSON", "{rules: oops"],
    ["missing", null],
    ["without a readable path", JSON.stringify({ rules: [{ id: "x", price: "$1" }] })],
  ])("with no good document and a document %s, every request answers 503", async (_name, document) => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const harness = await buildHarness({ rules: document });
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
    expect((await harness.fetch("/free")).status).toBe(503);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("an empty rule list makes everything free", async () => {
    const harness = await buildHarness({ rules: [] });
    expect((await harness.fetch("/weather/paris")).status).toBe(200);
  });

  it("keeps serving the last good rules when a bad document is stored", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const harness = await buildHarness();
    await challengeFor(harness, "/weather/paris");

    await env.PRICE_RULES.put(harness.env.PRICE_RULES_KEY as string, "not json at all");
    const response = await harness.fetch("/weather/paris");
    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).accepts[0]!.amount).toBe("10000");
    expect((await harness.fetch("/free")).status).toBe(200);
  });

  it.each([
    ["ORIGIN_URL", "not a url"],
    ["FACILITATOR_URL", "ftp://facilitator"],
    ["FACILITATOR_VERIFY_TIMEOUT_MS", "soon"],
    ["PRICE_RULES_CACHE_TTL_SECONDS", "-1"],
  ])("invalid env %s fails closed with 503 everywhere", async (name, value) => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const harness = await buildHarness({ vars: { [name]: value } });
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
    expect((await harness.fetch("/free")).status).toBe(503);
    expect(await harness.originCalls()).toEqual([]);
  });
});
