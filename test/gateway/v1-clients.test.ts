// x402 V1 clients (X-PAYMENT / X-PAYMENT-RESPONSE, body-based 402) against the real Worker.
import { describe, expect, it } from "vitest";
import type { PaymentRequirements, SettleResponse } from "../../src/x402/schemas.js";
import {
  BASE_SEPOLIA,
  buildHarness,
  buildPaymentPayload,
  buildRule,
  challengeFor,
  decodeHeader,
  encodePayment,
  PAY_TO,
  PAYER,
  type GatewayHarness,
  type PaymentOverrides,
} from "../fixtures/builders.js";

interface V1Body {
  x402Version: number;
  error: string;
  accepts: { network: string; maxAmountRequired: string; payTo: string }[];
}

/** What x402-fetch 1.x sends: scheme and network by V1 name, the signed authorization, no echoed offer. */
async function v1PaymentFor(
  harness: GatewayHarness,
  path: string,
  overrides: PaymentOverrides = {},
  network = "base-sepolia",
): Promise<string> {
  const offer = (await challengeFor(harness, path)).accepts[0]!;
  const signed = await buildPaymentPayload(offer, overrides);
  return encodePayment({ x402Version: 1, scheme: "exact", network, payload: signed.payload });
}

async function payV1(harness: GatewayHarness, path: string, xPayment: string) {
  const response = await harness.fetch(path, { headers: { "X-PAYMENT": xPayment } });
  return { response, body: response.status === 402 ? ((await response.json()) as V1Body) : undefined };
}

describe("V1 clients", () => {
  it("pays with X-PAYMENT, speaks V1 to the facilitator and answers with X-PAYMENT-RESPONSE", async () => {
    const harness = await buildHarness();
    const { response } = await payV1(harness, "/weather/paris", await v1PaymentFor(harness, "/weather/paris"));

    expect(response.status).toBe(200);
    expect(decodeHeader<SettleResponse>(response.headers.get("X-PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
      network: "base-sepolia",
      payer: PAYER.address,
    });
    expect(decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ success: true, network: BASE_SEPOLIA });
    expect(response.headers.get("Access-Control-Expose-Headers")).toContain("X-PAYMENT-RESPONSE");

    const calls = await harness.facilitatorCalls();
    expect(calls.map((c) => c.path)).toEqual(["/verify", "/settle"]);
    const sent = JSON.parse(calls[0]!.body) as {
      x402Version: number;
      paymentPayload: Record<string, unknown>;
      paymentRequirements: Record<string, unknown>;
    };
    expect(sent.x402Version).toBe(1);
    expect(sent.paymentPayload).toMatchObject({ x402Version: 1, scheme: "exact", network: "base-sepolia" });
    expect(sent.paymentRequirements).toMatchObject({
      scheme: "exact",
      network: "base-sepolia",
      maxAmountRequired: "10000",
      resource: "https://gateway.example/weather/paris",
      payTo: PAY_TO,
    });
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await harness.ledgerRows()).toEqual([
      expect.objectContaining({ status: "settled", network: BASE_SEPOLIA, amount: "10000", payer: PAYER.address }),
    ]);
  });

  it("refuses a second use of one V1 payment", async () => {
    const harness = await buildHarness();
    const xPayment = await v1PaymentFor(harness, "/weather/paris");
    expect((await payV1(harness, "/weather/paris", xPayment)).response.status).toBe(200);
    const replay = await payV1(harness, "/weather/paris", xPayment);
    expect(replay.response.status).toBe(402);
    expect(replay.body).toMatchObject({ x402Version: 1, error: "payment_already_used" });
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it.each<[string, PaymentOverrides, string]>([
    ["pays someone else", { to: "0x000000000000000000000000000000000000dEaD" }, "invalid_exact_evm_recipient_mismatch"],
    ["pays too little", { value: "9999" }, "invalid_exact_evm_payload_authorization_value_mismatch"],
    ["has expired", { validBefore: 1n }, "invalid_exact_evm_payload_authorization_valid_before"],
  ])("refuses a V1 payment that %s before any facilitator call", async (_name, overrides, reason) => {
    const harness = await buildHarness();
    const { response, body } = await payV1(harness, "/weather/paris", await v1PaymentFor(harness, "/weather/paris", overrides));
    expect(response.status).toBe(402);
    expect(body).toMatchObject({ x402Version: 1, error: reason, accepts: [expect.objectContaining({ network: "base-sepolia" })] });
    expect(await harness.facilitatorCalls()).toEqual([]);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("refuses a network the rule does not offer, and an unknown V1 name", async () => {
    const harness = await buildHarness();
    for (const network of ["base", "not-a-chain"]) {
      const { response, body } = await payV1(harness, "/weather/paris", await v1PaymentFor(harness, "/weather/paris", {}, network));
      expect(response.status).toBe(402);
      expect(body?.error).toBe("invalid_network");
    }
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("answers a malformed X-PAYMENT with 400, an oversized one with 431, and a wrong version with a 402", async () => {
    const harness = await buildHarness();
    const malformed = await harness.fetch("/weather/paris", { headers: { "X-PAYMENT": "%%%not-base64" } });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: "invalid_payload" });
    const oversized = await harness.fetch("/weather/paris", { headers: { "X-PAYMENT": "A".repeat(16 * 1024 + 4) } });
    expect(oversized.status).toBe(431);

    const signed = await buildPaymentPayload((await challengeFor(harness, "/weather/paris")).accepts[0]!);
    const v3 = await payV1(
      harness,
      "/weather/paris",
      encodePayment({ x402Version: 3, scheme: "exact", network: "base-sepolia", payload: signed.payload }),
    );
    expect(v3.response.status).toBe(402);
    expect(v3.body?.error).toBe("invalid_x402_version");
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("treats X-PAYMENT as the client's choice on a session rule: paid, and the session opened", async () => {
    const harness = await buildHarness({ rules: [buildRule({ session: { ttlSeconds: 600, maxRequests: 3 } })] });
    const xPayment = await v1PaymentFor(harness, "/weather/paris");
    // A sign-in header beside a payment is not looked at (malformed, it would otherwise be a 400).
    const response = await harness.fetch("/weather/paris", { headers: { "X-PAYMENT": xPayment, "SIGN-IN-WITH-X": "not-a-proof" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("X402-SESSION-REMAINING")).toBe("2");
    const again = await harness.fetch("/weather/lyon", { headers: { "X402-SESSION": response.headers.get("X402-SESSION")! } });
    expect(again.status).toBe(200);
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/settle"]);
    expect(await harness.originCalls()).toHaveLength(2);
  });

  it("prefers PAYMENT-SIGNATURE when a client sends both headers", async () => {
    const harness = await buildHarness();
    const offer = (await challengeFor(harness, "/weather/paris")).accepts[0]!;
    const v2 = encodePayment(await buildPaymentPayload(offer));
    const response = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": v2, "X-PAYMENT": "garbage" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("X-PAYMENT-RESPONSE")).toBeNull();
    expect(JSON.parse((await harness.facilitatorCalls())[0]!.body)).toMatchObject({ x402Version: 2 });
  });

  it("keeps the V2 body when no offer is on a network V1 can name", async () => {
    const local = {
      network: "eip155:31337",
      address: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      decimals: 6,
      name: "USD Coin",
      version: "2",
      default: true,
    };
    const harness = await buildHarness({
      rules: JSON.stringify({ assets: [local], rules: [buildRule({ accepts: [{ network: "eip155:31337" }] })] }),
    });
    const response = await harness.fetch("/weather/paris");
    expect(response.status).toBe(402);
    const body = (await response.json()) as { x402Version: number; accepts: PaymentRequirements[] };
    expect(body.x402Version).toBe(2);
    expect(body.accepts[0]).toMatchObject({ network: "eip155:31337", amount: "10000" });
  });
});
