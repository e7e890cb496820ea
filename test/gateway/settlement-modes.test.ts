import { describe, expect, it } from "vitest";
import type { SettleResponse } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, decodeHeader, payFor } from "../fixtures/builders.js";

const beforeOrigin = (path: string) => [buildRule({ path, settlement: "before-origin" })];

describe("settlement modes", () => {
  it("before-origin settles first, then forwards", async () => {
    const harness = await buildHarness({ rules: beforeOrigin("/weather/:city") });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(200);
    expect(decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE")).success).toBe(true);
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/settle"]);
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled", origin_status: 200 }]);
  });

  it("before-origin: an origin error after settlement keeps the receipt and is recorded owed_refund", async () => {
    const harness = await buildHarness({ rules: beforeOrigin("/status/:code") });
    const { response } = await payFor(harness, "/status/500");

    expect(response.status).toBe(500);
    const receipt = decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"));
    expect(receipt.success).toBe(true);
    expect(await harness.ledgerRows()).toMatchObject([
      { status: "owed_refund", origin_status: 500, transaction_hash: receipt.transaction, amount: "10000" },
    ]);
  });

  it("before-origin: an unreachable origin after settlement answers 502 with the receipt, owed_refund", async () => {
    const harness = await buildHarness({ rules: beforeOrigin("/weather/:city"), origin: "dead" });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "origin_unreachable" });
    expect(decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE")).success).toBe(true);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "owed_refund", error_reason: "origin_unreachable" }]);
  });

  it("before-origin: a refused settlement never reaches the origin", async () => {
    const harness = await buildHarness({ rules: beforeOrigin("/weather/:city"), facilitator: "settle-fail" });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(402);
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settle_failed" }]);
  });

  // Security review F7: a payment owed back opens no session; refund and session would both be the payer's.
  it("before-origin with a session: an origin failure after settlement is owed back and opens no session", async () => {
    const harness = await buildHarness({
      rules: [buildRule({ path: "/status/:code", settlement: "before-origin", session: { ttlSeconds: 600, maxRequests: 10 } })],
    });
    const failed = await payFor(harness, "/status/500");
    expect(failed.response.status).toBe(500);
    expect(failed.response.headers.get("X402-SESSION")).toBeNull();
    expect(await harness.ledgerRows()).toMatchObject([{ status: "owed_refund" }]);

    const served = await payFor(harness, "/status/200");
    expect(served.response.status).toBe(200);
    expect(served.response.headers.get("X402-SESSION")).not.toBeNull();
  });

  it.each(["after-origin", "before-origin"])("%s streams an event-stream body after settling", async (settlement) => {
    const harness = await buildHarness({ rules: [buildRule({ path: "/sse", settlement })] });
    const { response } = await payFor(harness, "/sse");

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE")).success).toBe(true);
    expect(await response.text()).toBe("data: event 1\n\ndata: event 2\n\ndata: event 3\n\n");
  });
});
