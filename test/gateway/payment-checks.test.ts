// Invalid payments are refused before any facilitator round trip.
import { env } from "cloudflare:workers";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import {
  buildHarness,
  buildPaymentPayload,
  challengeFor,
  decodeHeader,
  encodePayment,
  newTestId,
  PAYER,
  payFor,
  type PaymentOverrides,
} from "../fixtures/builders.js";

const now = BigInt(Math.floor(Date.now() / 1000));

describe("payment checks before the facilitator", () => {
  it.each<[string, string, number, string]>([
    ["not base64", "%%%", 400, "invalid_payload"],
    ["base64 of text", btoa("hello"), 400, "invalid_payload"],
    ["base64 of an unrelated object", btoa(JSON.stringify({ hello: 1 })), 400, "invalid_payload"],
  ])("answers 400 for a header that is %s", async (_name, header, status, error) => {
    const harness = await buildHarness();
    const response = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": header } });

    expect(response.status).toBe(status);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toMatchObject({ error });
    expect(await harness.facilitatorCalls()).toEqual([]);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("answers 431 for an oversized header", async () => {
    const harness = await buildHarness();
    const response = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": "A".repeat(20_000) } });
    expect(response.status).toBe(431);
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it.each<[string, PaymentOverrides, string]>([
    ["an old x402Version", { x402Version: 1 }, "invalid_x402_version"],
    ["another scheme", { accepted: { scheme: "upto" } }, "unsupported_scheme"],
    ["another network", { accepted: { network: "eip155:8453" } }, "invalid_network"],
    ["a lower amount in accepted", { accepted: { amount: "1" }, value: "1" }, "invalid_payment_requirements"],
    ["another payTo in accepted", { accepted: { payTo: PAYER.address }, to: PAYER.address }, "invalid_payment_requirements"],
    ["another asset in accepted", { accepted: { asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913" } }, "invalid_payment_requirements"],
    ["an authorization to someone else", { to: PAYER.address }, "invalid_exact_evm_recipient_mismatch"],
    ["an authorization for less", { value: "9999" }, "invalid_exact_evm_payload_authorization_value_mismatch"],
    ["an authorization valid only later", { validAfter: now + 120n }, "invalid_exact_evm_payload_authorization_valid_after"],
    ["an expired authorization", { validBefore: now - 1n }, "invalid_exact_evm_payload_authorization_valid_before"],
    ["an authorization about to expire", { validBefore: now + 3n }, "invalid_exact_evm_payload_authorization_valid_before"],
  ])("answers 402 with a reason for %s", async (_name, overrides, reason) => {
    const harness = await buildHarness();
    const { response } = await payFor(harness, "/weather/paris", overrides);

    expect(response.status).toBe(402);
    const challenge = decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED"));
    expect(challenge.error).toBe(reason);
    expect(challenge.accepts).toHaveLength(1);
    expect(await harness.facilitatorCalls()).toEqual([]);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("answers 402 invalid_payload for an EVM payload without an authorization", async () => {
    const harness = await buildHarness();
    const challenge = await challengeFor(harness, "/weather/paris");
    const payload = { ...(await buildPaymentPayload(challenge.accepts[0]!)), payload: { signature: "0x1234" } };
    const response = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });

    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_payload");
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it("sends the facilitator our offer, not the client's copy of it", async () => {
    const harness = await buildHarness();
    await payFor(harness, "/weather/paris", { accepted: { extra: { name: "Fake", version: "9" }, maxTimeoutSeconds: 99999 } });
    const [verify] = await harness.facilitatorCalls();
    expect(JSON.parse(verify!.body).paymentRequirements).toMatchObject({ extra: { name: "USDC", version: "2" }, maxTimeoutSeconds: 60 });
  });
});

describe("EIP-712 signature recovered locally", () => {
  const forged = { signer: privateKeyToAccount(generatePrivateKey()), from: PAYER.address };
  const rpcVars = (kind: "eoa" | "contract", id = newTestId()) => ({
    RPC_URLS: JSON.stringify({ "eip155:84532": `${env.TEST_ORIGIN_URL}/t/${id}/rpc/${kind}` }),
  });
  const rpcCalls = async (id: string) => ((await (await fetch(`${env.TEST_ORIGIN_URL}/__calls/${id}`)).json()) as unknown[]).length;

  it("refuses a signature by another key when the chain says the payer is a plain account: no facilitator call", async () => {
    const id = newTestId();
    const harness = await buildHarness({ vars: rpcVars("eoa", id) });
    const { response } = await payFor(harness, "/weather/paris", forged);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_exact_evm_payload_signature");
    expect(await harness.facilitatorCalls()).toEqual([]);
    expect(await rpcCalls(id)).toBe(1);
  });

  it("a forgery does not use up the nonce it names: the payer's own payment with that nonce goes through", async () => {
    const harness = await buildHarness({ vars: rpcVars("eoa") });
    const nonce = `0x${"5a".repeat(32)}` as const;
    const { response: refused } = await payFor(harness, "/weather/paris", { ...forged, nonce });
    expect(decodeHeader<PaymentRequired>(refused.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_exact_evm_payload_signature");

    const { response } = await payFor(harness, "/weather/paris", { nonce });
    expect(response.status).toBe(200);
    expect((await harness.facilitatorCalls()).map((call) => call.path)).toEqual(["/verify", "/settle"]);
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled", payer: PAYER.address }]);
  });

  it("leaves it to the facilitator when the payer is a contract wallet, or when no RPC can tell", async () => {
    for (const vars of [rpcVars("contract"), {}]) {
      const harness = await buildHarness({ vars });
      const { response } = await payFor(harness, "/weather/paris", forged);
      expect(response.status).toBe(200);
      expect((await harness.facilitatorCalls()).map((call) => call.path)).toEqual(["/verify", "/settle"]);
    }
  });

  it("never asks the chain about a signature that recovers to the payer", async () => {
    const id = newTestId();
    const harness = await buildHarness({ vars: rpcVars("eoa", id) });
    expect((await payFor(harness, "/weather/paris")).response.status).toBe(200);
    expect(await rpcCalls(id)).toBe(0);
  });
});
