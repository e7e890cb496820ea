import { describe, expect, it } from "vitest";
import type { PaymentRequired, SettleResponse } from "../../src/x402/schemas.js";
import { BASE_SEPOLIA, BASE_SEPOLIA_USDC, buildHarness, decodeHeader, PAY_TO, PAYER, payFor } from "../fixtures/builders.js";

describe("paid route", () => {
  it("answers an unpaid request with a V2 challenge in the header and its V1 form in the body", async () => {
    const harness = await buildHarness();
    const response = await harness.fetch("/weather/paris?units=metric");

    expect(response.status).toBe(402);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const challenge = decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED"));
    // V2 clients read the header; V1 clients (x402-fetch 1.x) read the body.
    expect(await response.json()).toEqual({
      x402Version: 1,
      error: "PAYMENT-SIGNATURE header is required",
      accepts: [
        {
          scheme: "exact",
          network: "base-sepolia",
          maxAmountRequired: "10000",
          resource: "https://gateway.example/weather/paris?units=metric",
          description: "Weather report",
          mimeType: "application/json",
          payTo: PAY_TO,
          maxTimeoutSeconds: 60,
          asset: BASE_SEPOLIA_USDC,
          extra: { name: "USDC", version: "2" },
        },
      ],
    });
    expect(challenge).toEqual({
      x402Version: 2,
      error: "PAYMENT-SIGNATURE header is required",
      resource: { url: "https://gateway.example/weather/paris?units=metric", description: "Weather report", mimeType: "application/json" },
      accepts: [
        {
          scheme: "exact",
          network: BASE_SEPOLIA,
          amount: "10000",
          asset: BASE_SEPOLIA_USDC,
          payTo: PAY_TO,
          maxTimeoutSeconds: 60,
          extra: { name: "USDC", version: "2" },
        },
      ],
      extensions: {
        "payment-identifier": {
          info: { required: false },
          schema: expect.objectContaining({ type: "object", required: ["required"] }),
        },
        // A minimal discovery entry from what the rule knows (docs/discovery.md).
        bazaar: {
          info: { input: { type: "http", method: "GET", pathParams: { city: "paris" } } },
          schema: expect.objectContaining({ required: ["input"] }),
          routeTemplate: "/weather/:city",
        },
      },
    });
    expect(await harness.originCalls()).toEqual([]);
  });

  it("verifies, forwards once, settles and returns PAYMENT-RESPONSE with one ledger row", async () => {
    const harness = await buildHarness();
    const { response, payload } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, path: "/weather/paris" });
    const receipt = decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"));
    expect(receipt).toMatchObject({ success: true, network: BASE_SEPOLIA, payer: PAYER.address });
    expect(receipt.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    // Where the time went: the total covers verify, origin and settle; what is left is the gateway's own.
    const timing = Object.fromEntries(
      [...response.headers.get("Server-Timing")!.matchAll(/([\w-]+);dur=(\d+)/g)].map((m) => [m[1], Number(m[2])]),
    );
    expect(Object.keys(timing)).toEqual(["x402-verify", "origin", "x402-settle", "x402-total"]);
    expect(timing["x402-total"]).toBeGreaterThanOrEqual(timing["x402-verify"]! + timing.origin! + timing["x402-settle"]!);

    const originCalls = await harness.originCalls();
    expect(originCalls).toHaveLength(1);
    expect(originCalls[0]!.headers["payment-signature"]).toBeUndefined();
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/settle"]);

    const rows = await harness.ledgerRows();
    expect(rows).toHaveLength(1);
    const nonce = (payload.payload.authorization as { nonce: string }).nonce;
    expect(rows[0]).toMatchObject({
      payment_key: `${BASE_SEPOLIA}:${PAYER.address.toLowerCase()}:${nonce}`,
      rule_id: "weather",
      status: "settled",
      transaction_hash: receipt.transaction,
      payer: PAYER.address,
      amount: "10000",
      pay_to: PAY_TO,
      origin_status: 200,
    });
  });
});
