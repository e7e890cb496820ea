// A kind the gateway has no plugin for (a card rail), opted into with `delegate: true`: offered when a
// facilitator lists it, verified and settled wholly by the facilitator, replay-locked on the payload's hash.
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, decodeHeader, encodePayment } from "../fixtures/builders.js";
import type { FacilitatorMode } from "../fixtures/fake-facilitator.js";

const CARD = "card:visa";
const document = { assets: [{ network: CARD, address: "USD", decimals: 2, symbol: "USD" }] };
const cardRule = (option: Record<string, unknown> = {}) =>
  buildRule({
    price: "$0.50",
    payTo: undefined,
    accepts: [{ scheme: "card", network: CARD, payTo: "merchant-42", delegate: true, ...option }],
  });

async function cardHarness(mode: FacilitatorMode = "ok", rules = [cardRule()]) {
  return buildHarness({ facilitator: mode, rules, document });
}

describe("a delegated rail", () => {
  it("is offered, then verified and settled by the facilitator alone; the ledger names the payer it reported", async () => {
    const harness = await cardHarness();
    const challenge = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED"));
    expect(challenge.accepts).toEqual([
      { scheme: "card", network: CARD, amount: "50", asset: "USD", payTo: "merchant-42", maxTimeoutSeconds: 60 },
    ]);

    const header = encodePayment({
      x402Version: 2,
      accepted: challenge.accepts[0],
      payload: { payer: "cardholder-7", token: "tok_visa_1", nonce: "n-1" },
    });
    const paid = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": header } });
    expect(paid.status).toBe(200);
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/settle"]);
    const rows = await harness.ledgerRows();
    expect(rows).toMatchObject([
      { status: "settled", scheme: "card", network: CARD, asset: "USD", amount: "50", pay_to: "merchant-42", payer: "cardholder-7" },
    ]);
    expect(String(rows[0]!.payment_key)).toMatch(/^card:visa:card:[0-9a-f]{64}$/);

    // The same payload again (its keys in another order): refused before the facilitator, as for any scheme.
    const replay = encodePayment({
      x402Version: 2,
      accepted: challenge.accepts[0],
      payload: { nonce: "n-1", token: "tok_visa_1", payer: "cardholder-7" },
    });
    const again = await harness.fetch("/weather/lyon", { headers: { "PAYMENT-SIGNATURE": replay } });
    expect(again.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(again.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await harness.facilitatorCalls()).toHaveLength(2);
  });

  // Security review F10: a card rail answers a token charged twice with the same transaction; a payload made "new" by
  // an extra field must not buy a second answer with it.
  it("a second payload settling as an already-settled transaction gets no answer (402 payment_already_used)", async () => {
    const harness = await cardHarness();
    const challenge = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED"));
    const pay = (payload: Record<string, unknown>) =>
      harness.fetch("/weather/paris", {
        headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted: challenge.accepts[0], payload }) },
      });
    expect((await pay({ payer: "cardholder-8", token: "tok_visa_reused", nonce: "n-1" })).status).toBe(200);
    const cosmetic = await pay({ payer: "cardholder-8", token: "tok_visa_reused", nonce: "n-1", extra: 1 });
    expect(cosmetic.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(cosmetic.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect((await harness.ledgerRows()).map((row) => row.status).sort()).toEqual(["settle_failed", "settled"]);
    expect(await harness.originCalls()).toHaveLength(2);
  });

  it("is not offered when no facilitator lists it", async () => {
    const harness = await cardHarness("evm-only");
    const response = await harness.fetch("/weather/paris");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "no_settleable_offer" });
  });

  it("still refuses an offer the client altered (amount, payee) before the facilitator", async () => {
    const harness = await cardHarness();
    const [offer] = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED")).accepts;
    const cheaper = await harness.fetch("/weather/paris", {
      headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted: { ...offer, amount: "1" }, payload: { token: "t" } }) },
    });
    expect(decodeHeader<PaymentRequired>(cheaper.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_payment_requirements");
    const empty = await harness.fetch("/weather/paris", {
      headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted: offer, payload: {} }) },
    });
    expect(decodeHeader<PaymentRequired>(empty.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_payload");
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it.each([
    ["a kind without a plugin and without delegate", { delegate: undefined }],
    [
      "delegate on a kind a local plugin checks",
      { scheme: "exact", network: "eip155:84532", payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906", asset: undefined },
    ],
  ])("is a configuration error: %s", async (_name, option) => {
    const harness = await cardHarness("ok", [cardRule(option)]);
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
  });
});
