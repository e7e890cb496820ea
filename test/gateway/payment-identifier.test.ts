// Idempotent retries with the payment-identifier extension.
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, decodeHeader, encodePayment, newTestId, payFor } from "../fixtures/builders.js";

const withId = (id: string) => ({ extensions: { "payment-identifier": { info: { required: false, id } } } });
const paymentId = () => `pay_${newTestId()}${newTestId()}`;

describe("payment-identifier", () => {
  it("answers a retry with the same id and payment from the store: same body, same receipt, no second charge", async () => {
    const harness = await buildHarness();
    const { response, payload } = await payFor(harness, "/weather/paris", withId(paymentId()));
    const firstBody = await response.text();
    const receipt = response.headers.get("PAYMENT-RESPONSE");
    expect(response.status).toBe(200);

    const retry = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });

    expect(retry.status).toBe(200);
    expect(await retry.text()).toBe(firstBody);
    expect(retry.headers.get("PAYMENT-RESPONSE")).toBe(receipt);
    expect(retry.headers.get("X402-Idempotent-Replay")).toBe("true");
    expect(await harness.originCalls()).toHaveLength(1);
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/settle"]);
  });

  it("refuses the same id with a different payment with 409", async () => {
    const harness = await buildHarness();
    const id = paymentId();
    await payFor(harness, "/weather/paris", withId(id));
    const { response } = await payFor(harness, "/weather/paris", withId(id));

    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: "payment_identifier_conflict" });
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it("advertises the extension and, when the rule requires it, refuses payments without an id", async () => {
    const harness = await buildHarness({ rules: [buildRule({ paymentIdentifier: { required: true } })] });
    const { response, challenge } = await payFor(harness, "/weather/paris");

    expect(challenge.extensions?.["payment-identifier"]).toMatchObject({ info: { required: true } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "payment_identifier_required" });
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("refuses a malformed id with 400", async () => {
    const harness = await buildHarness();
    const { response } = await payFor(harness, "/weather/paris", withId("short"));
    expect(response.status).toBe(400);
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("runs a retry again when the first attempt charged nothing", async () => {
    const harness = await buildHarness({ rules: [buildRule({ path: "/status/:code" })] });
    const { response, payload } = await payFor(harness, "/status/503", withId(paymentId()));
    expect(response.status).toBe(503);

    const retry = await harness.fetch("/status/503", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(retry.status).toBe(503);
    expect(await harness.originCalls()).toHaveLength(2);
  });

  it("answers a retry whose response was too large to keep with 402 and the original receipt", async () => {
    const harness = await buildHarness({ vars: { PAYMENT_IDENTIFIER_MAX_BODY_BYTES: "10" } });
    const { response, payload } = await payFor(harness, "/weather/paris", withId(paymentId()));
    await response.text();

    const retry = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(retry.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(retry.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(retry.headers.get("PAYMENT-RESPONSE")).toBe(response.headers.get("PAYMENT-RESPONSE"));
    expect(await harness.originCalls()).toHaveLength(1);
  });
});
