// A new payment scheme plugs in from this file alone: no core file knows about it. It gets its own offers in
// the 402 (with its `extra`), its own local payload check before any facilitator call, and its own payer.
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";
import type { SchemePlugin } from "../../src/schemes/scheme-plugin.js";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, challengeFor, decodeHeader, encodePayment } from "../fixtures/builders.js";

/** "voucher" on a made-up `test` namespace: the payload is a signed-looking voucher code naming its holder. */
const voucherScheme: SchemePlugin = {
  scheme: "voucher",
  namespace: "test",
  parseAddress: (address) =>
    /^T[0-9a-f]{8}$/.test(address) ? { ok: true, value: address } : { ok: false, reason: `"${address}" is not a test address` },
  buildExtra: (asset, configured) => ({ ok: true, value: { ...configured, issuer: "test-issuer", symbol: asset?.symbol } }),
  checkPayload(payload, requirements, { nowSeconds }) {
    const voucher = payload.payload as { code?: unknown; holder?: unknown; amount?: unknown; expires?: unknown };
    if (typeof voucher.code !== "string" || !/^V-[0-9]{6}$/.test(voucher.code)) return { ok: false, reason: "invalid_voucher_code" };
    if (voucher.amount !== requirements.amount) return { ok: false, reason: "invalid_voucher_amount" };
    if (typeof voucher.holder !== "string" || typeof voucher.expires !== "number" || voucher.expires < nowSeconds)
      return { ok: false, reason: "invalid_voucher_expired" };
    return {
      ok: true,
      value: { payer: voucher.holder, paymentKey: `${requirements.network}:${voucher.code}`, expiresAtSeconds: voucher.expires },
    };
  },
};

const appWithVoucher = buildApp({
  schemes: buildDefaultSchemeRegistry().register(voucherScheme),
  fetch: (input, init) => fetch(input, init),
  nowMs: () => Date.now(),
});

const rules = {
  assets: [{ network: "test:1", address: "Ta0000001", decimals: 2, symbol: "TUSD" }],
  rules: [
    buildRule({
      price: "$0.50",
      payTo: undefined,
      accepts: [
        { scheme: "voucher", network: "test:1", payTo: "Tb0000002" },
        { network: "eip155:84532", payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" },
      ],
    }),
  ],
};

describe("a scheme plugin added from a test file", () => {
  it("is offered next to the built-in scheme, checked locally, verified, settled and served", async () => {
    const harness = await buildHarness({ rules: JSON.stringify(rules), app: appWithVoucher });
    const challenge = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED"));
    const voucherOffer = challenge.accepts.find((offer) => offer.scheme === "voucher")!;
    expect(voucherOffer).toMatchObject({
      network: "test:1",
      asset: "Ta0000001",
      amount: "50",
      payTo: "Tb0000002",
      extra: { issuer: "test-issuer", symbol: "TUSD" },
    });

    const pay = (voucher: Record<string, unknown>) =>
      harness.fetch("/weather/paris", {
        headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted: voucherOffer, payload: voucher }) },
      });
    const expires = Math.floor(Date.now() / 1000) + 60;
    const refused = await pay({ code: "nope", holder: "Tc0000003", amount: "50", expires });
    expect(decodeHeader<PaymentRequired>(refused.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_voucher_code");
    expect(await harness.facilitatorCalls()).toHaveLength(0);

    const paid = await pay({ code: "V-123456", holder: "Tc0000003", amount: "50", expires });
    expect(paid.status).toBe(200);
    expect((await harness.facilitatorCalls()).map((call) => call.path)).toEqual(["/verify", "/settle"]);
    const rows = await harness.ledgerRows();
    expect(rows).toMatchObject([{ status: "settled", scheme: "voucher", network: "test:1", payer: "Tc0000003", amount: "50" }]);
    // The plugin's payment key feeds the replay lock like any other scheme's.
    expect((await pay({ code: "V-123456", holder: "Tc0000003", amount: "50", expires })).status).toBe(402);
  });

  it("is unknown to the Worker as deployed: its rule is a configuration error there, and its payments a 402", async () => {
    const harness = await buildHarness({ rules: JSON.stringify(rules) });
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
    const builtIn = await buildHarness();
    const offer = (await challengeFor(builtIn, "/weather/paris")).accepts[0]!;
    for (const [accepted, reason] of [
      [{ ...offer, scheme: "voucher" }, "unsupported_scheme"],
      [{ ...offer, network: "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1" }, "invalid_network"],
    ] as const) {
      const response = await builtIn.fetch("/weather/paris", {
        headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted, payload: {} }) },
      });
      expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe(reason);
    }
  });
});
