// A scheme that settles by usage plugs in from this file alone (issue #35): it declares the capability, and the real
// pipeline meters the origin's answer and settles what was used, at most what was signed. No src file knows it.
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { compilePriceRules } from "../../src/pricing/compile-price-rules.js";
import { buildDefaultSchemeRegistry } from "../../src/schemes/default-schemes.js";
import type { SchemePlugin } from "../../src/schemes/scheme-plugin.js";
import type { PaymentRequired, SettleResponse } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, decodeHeader, encodePayment, type GatewayHarness } from "../fixtures/builders.js";

/** "voucher" on a made-up `test` namespace, signed for a maximum and settled for what the call used. */
const meteredVoucherScheme: SchemePlugin = {
  scheme: "voucher",
  namespace: "test",
  settles: "usage",
  parseAddress: (address) =>
    /^T[0-9a-f]{8}$/.test(address) ? { ok: true, value: address } : { ok: false, reason: `"${address}" is not a test address` },
  buildExtra: (_asset, configured) => ({ ok: true, value: configured }),
  checkPayload(payload, requirements, { nowSeconds }) {
    const voucher = payload.payload as { code?: unknown; payer?: unknown; max?: unknown; expires?: unknown };
    if (typeof voucher.code !== "string" || !/^V-[0-9]{6}$/.test(voucher.code)) return { ok: false, reason: "invalid_voucher_code" };
    if (voucher.max !== requirements.amount) return { ok: false, reason: "invalid_voucher_amount" };
    if (typeof voucher.payer !== "string" || typeof voucher.expires !== "number" || voucher.expires < nowSeconds)
      return { ok: false, reason: "invalid_voucher_expired" };
    return {
      ok: true,
      value: { payer: voucher.payer, paymentKey: `${requirements.network}:${voucher.code}`, expiresAtSeconds: voucher.expires },
    };
  },
};
/** The same scheme settling its whole amount: a meter has nothing to charge it by. */
const wholeVoucherScheme: SchemePlugin = { ...meteredVoucherScheme, settles: "whole" };

const appWith = (plugin: SchemePlugin) =>
  buildApp({ schemes: buildDefaultSchemeRegistry().register(plugin), fetch: (input, init) => fetch(input, init), nowMs: () => Date.now() });

const rules = (meter: Record<string, unknown>) =>
  JSON.stringify({
    assets: [{ network: "test:1", address: "Ta0000001", decimals: 6, symbol: "TUSD" }],
    rules: [
      buildRule({
        id: "metered-voucher",
        path: "/big/:n",
        price: "$0.10",
        payTo: undefined,
        accepts: [{ scheme: "voucher", network: "test:1", payTo: "Tb0000002" }],
        meter: { unitPrice: "$0.000001", ...meter },
      }),
    ],
  });

let codes = 0;
async function payVoucher(harness: GatewayHarness, path: string): Promise<Response> {
  const offer = decodeHeader<PaymentRequired>((await harness.fetch(path)).headers.get("PAYMENT-REQUIRED")).accepts[0]!;
  expect(offer).toMatchObject({ scheme: "voucher", network: "test:1", asset: "Ta0000001", amount: "100000", payTo: "Tb0000002" });
  const voucher = {
    code: `V-${String(100_000 + codes++).slice(-6)}`,
    payer: "Tc0000003",
    max: offer.amount,
    expires: Math.floor(Date.now() / 1000) + 120,
  };
  return harness.fetch(path, { headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted: offer, payload: voucher }) } });
}

async function facilitatorAmounts(harness: GatewayHarness): Promise<{ path: string; amount: string }[]> {
  return (await harness.facilitatorCalls()).map((call) => ({
    path: call.path,
    amount: (JSON.parse(call.body) as { paymentRequirements: { amount: string } }).paymentRequirements.amount,
  }));
}

describe("a scheme plugin that settles by usage, added from a test file", () => {
  it("is verified at its maximum and settled for the bytes the origin sent", async () => {
    const harness = await buildHarness({ rules: rules({ from: "bytes" }), app: appWith(meteredVoucherScheme) });
    const response = await payVoucher(harness, "/big/5000");
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(5000);
    // 5000 bytes × $0.000001 = 5000 atomic of a 6-decimal asset.
    expect(await facilitatorAmounts(harness)).toEqual([
      { path: "/verify", amount: "100000" },
      { path: "/settle", amount: "5000" },
    ]);
    expect(decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({ success: true, amount: "5000" });
    expect(await harness.ledgerRows()).toMatchObject([
      {
        scheme: "voucher",
        network: "test:1",
        payer: "Tc0000003",
        status: "settled",
        amount: "5000",
        max_amount: "100000",
        metered_units: "5000",
      },
    ]);
  });

  it("used nothing: nothing is asked of the facilitator's settle", async () => {
    const harness = await buildHarness({ rules: rules({ from: { header: "X-Usage-Units" } }), app: appWith(meteredVoucherScheme) });
    const response = await payVoucher(harness, "/big/10");
    expect(response.status).toBe(200);
    expect((await facilitatorAmounts(harness)).map((call) => call.path)).toEqual(["/verify"]);
    expect(decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
      amount: "0",
      transaction: "",
    });
  });

  it("settling whole, it cannot be metered: the rule is a configuration error", async () => {
    const compiled = compilePriceRules(JSON.parse(rules({ from: "bytes" })), buildDefaultSchemeRegistry().register(wholeVoucherScheme));
    expect(compiled.ok ? [] : compiled.problems).toEqual([expect.stringMatching(/\.meter: meters upto payments only/)]);
    const harness = await buildHarness({ rules: rules({ from: "bytes" }), app: appWith(wholeVoucherScheme) });
    expect((await harness.fetch("/big/5000")).status).toBe(503);
    // Settling by usage, the same option without a meter is the error.
    const unmetered = JSON.parse(rules({ from: "bytes" })) as { rules: Record<string, unknown>[] };
    delete unmetered.rules[0]!.meter;
    const refused = compilePriceRules(unmetered, buildDefaultSchemeRegistry().register(meteredVoucherScheme));
    expect(refused.ok ? [] : refused.problems).toEqual([expect.stringMatching(/accepts\[0\]: an voucher option needs the rule's meter/)]);
  });
});
