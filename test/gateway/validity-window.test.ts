// Security review F4: an authorization that could expire before its settle is refused before the origin or any
// facilitator is asked; a rule whose maxTimeoutSeconds cannot cover its own window is a configuration error.
import { describe, expect, it, vi } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, decodeHeader, payFor } from "../fixtures/builders.js";

const inSeconds = (seconds: number) => BigInt(Math.floor(Date.now() / 1000) + seconds);

describe("payment validity window", () => {
  it("refuses an EIP-3009 authorization that expires within verify + origin + settle + 6 s, asking nobody", async () => {
    // verify 1 s + origin 30 s + settle 1 s + 6 s = 38 s.
    const harness = await buildHarness({ vars: { ORIGIN_TIMEOUT_MS: "30000" } });
    const { response } = await payFor(harness, "/weather/paris", { validBefore: inSeconds(20) });
    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe(
      "invalid_exact_evm_payload_authorization_valid_before",
    );
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.facilitatorCalls()).toEqual([]);

    expect((await payFor(harness, "/weather/paris", { validBefore: inSeconds(40) })).response.status).toBe(200);
  });

  it("holds for a payer in good standing whose verify would be left out", async () => {
    const harness = await buildHarness({ rules: [buildRule({ verifyEveryPayment: false })], vars: { ORIGIN_TIMEOUT_MS: "30000" } });
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    const facilitatorCalls = (await harness.facilitatorCalls()).length;
    const { response } = await payFor(harness, "/weather/paris", { validBefore: inSeconds(7) });
    expect(response.status).toBe(402);
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await harness.facilitatorCalls()).toHaveLength(facilitatorCalls);
  });

  it("a rule whose maxTimeoutSeconds cannot cover its window answers 503 config_invalid, and says by how much", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const harness = await buildHarness({ rules: [buildRule({ maxTimeoutSeconds: 45 })], vars: { ORIGIN_TIMEOUT_MS: "30000" } });
    const response = await harness.fetch("/weather/paris");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "config_invalid" });
    // verify 1 s + origin 30 s + settle 1 s + 6 s = 38 s, and 10 for the client.
    expect(warnings.mock.calls.flat().join("\n")).toContain("maxTimeoutSeconds 45 cannot cover its payments' window");
    warnings.mockRestore();
    expect(await harness.originCalls()).toEqual([]);
  });

  // The attacker review of this change: a body trickled in after the payment's check spends its validity.
  it("a request body trickled in slowly is checked against the window again before verify or the origin", async () => {
    const harness = await buildHarness({ rules: [buildRule({ methods: ["POST"], path: "/echo-body" })] });
    const trickled = (delayMs: number) =>
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          controller.enqueue(new TextEncoder().encode("x"));
          controller.close();
        },
      });
    // verify 1 s + origin 1 s + settle 1 s + 6 s = 9 s; the payment has 11, and the body takes 3 of them.
    const slow = await payFor(harness, "/echo-body", { validBefore: inSeconds(11) }, { method: "POST", body: trickled(3000) });
    expect(slow.response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(slow.response.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_expires_before_settle");
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.facilitatorCalls()).toEqual([]);
    const fast = await payFor(harness, "/echo-body", { validBefore: inSeconds(11) }, { method: "POST", body: trickled(0) });
    expect(fast.response.status).toBe(200);
  });
});
