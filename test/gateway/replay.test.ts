// One payment buys one response: replays, sequential or concurrent, never reach the origin twice.
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildPaymentPayload, buildRule, challengeFor, decodeHeader, encodePayment, payFor } from "../fixtures/builders.js";

const reasonOf = (response: Response) => decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error;

describe("replay and double-spend lock", () => {
  it("refuses a second use of a settled payment without calling the facilitator or the origin", async () => {
    const harness = await buildHarness();
    const { response, payload } = await payFor(harness, "/weather/paris");
    expect(response.status).toBe(200);

    const replay = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    const elsewhere = await harness.fetch("/weather/rome", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });

    for (const r of [replay, elsewhere]) {
      expect(r.status).toBe(402);
      expect(reasonOf(r)).toBe("payment_already_used");
    }
    expect(await harness.originCalls()).toHaveLength(1);
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/settle"]);
  });

  it("lets exactly one of 100 concurrent requests with the same payment through", async () => {
    const harness = await buildHarness();
    const challenge = await challengeFor(harness, "/weather/paris");
    const header = encodePayment(await buildPaymentPayload(challenge.accepts[0]!));

    const responses = await Promise.all(
      Array.from({ length: 100 }, () => harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": header } })),
    );

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 402)).toHaveLength(99);
    expect(new Set(responses.filter((r) => r.status === 402).map(reasonOf))).toEqual(new Set(["payment_already_used"]));
    expect(await harness.originCalls()).toHaveLength(1);
    const calls = (await harness.facilitatorCalls()).map((c) => c.path);
    expect(calls.filter((p) => p === "/settle")).toHaveLength(1);
    // The first copy sends verify alongside its claim; the others wait for that claim, or find the lock held.
    expect(calls.filter((p) => p === "/verify")).toHaveLength(1);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled" }]);
  });

  it("gives the payment back when the facilitator refuses it, so it can be presented again", async () => {
    const harness = await buildHarness({ facilitator: "invalid" });
    const { payload } = await payFor(harness, "/weather/paris");
    const again = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });

    expect(reasonOf(again)).toBe("insufficient_funds");
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/verify"]);
  });

  it("gives the payment back when the origin fails (nothing was settled)", async () => {
    const harness = await buildHarness({ rules: [buildRule({ path: "/status/:code" })] });
    const { response, payload } = await payFor(harness, "/status/500");
    expect(response.status).toBe(500);

    const retry = await harness.fetch("/status/500", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(retry.status).toBe(500);
    expect(await harness.originCalls()).toHaveLength(2);
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/verify"]);
  });

  it("keeps a payment whose settlement outcome is unknown locked", async () => {
    const harness = await buildHarness({ facilitator: "slow-settle" });
    const { response, payload } = await payFor(harness, "/weather/paris");
    expect(response.status).toBe(504);

    const retry = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(retry.status).toBe(402);
    expect(reasonOf(retry)).toBe("payment_already_used");
    expect(await harness.originCalls()).toHaveLength(1);
  });
});
