import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { PaymentRequired, SettleResponse } from "../../src/x402/schemas.js";
import { buildHarness, decodeHeader, encodePayment, newTestId, payFor } from "../fixtures/builders.js";

describe("facilitator failures", () => {
  it.each([
    ["dropping the connection", "drop", 502, "facilitator_unavailable"],
    ["answering 500", "http500", 502, "facilitator_unavailable"],
    ["answering garbage", "garbage", 502, "facilitator_bad_response"],
    ["answering the wrong shape", "wrong-shape", 502, "facilitator_bad_response"],
    ["slow to verify", "slow-verify", 504, "facilitator_timeout"],
  ] as const)("verify %s → %s %s, origin not called, nothing recorded", async (_name, mode, status, error) => {
    const harness = await buildHarness({ facilitator: mode });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error });
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await harness.originCalls()).toEqual([]);
    expect(await harness.ledgerRows()).toEqual([]);
  });

  it.each(["invalid", "status400-invalid"] as const)("a refused verify (%s) is a 402 with the facilitator's reason", async (mode) => {
    const harness = await buildHarness({ facilitator: mode });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(402);
    const challenge = decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED"));
    expect(challenge.error).toBe(mode === "invalid" ? "insufficient_funds" : "invalid_exact_evm_signature");
    expect(await harness.originCalls()).toEqual([]);
  });

  it("a refused settle is a 402 with PAYMENT-RESPONSE, the origin body withheld", async () => {
    const harness = await buildHarness({ facilitator: "settle-fail" });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(402);
    const receipt = decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"));
    expect(receipt).toMatchObject({ success: false, errorReason: "invalid_transaction_state" });
    const body = await response.json();
    expect(body).toMatchObject({ x402Version: 1, error: "invalid_transaction_state" });
    expect(JSON.stringify(body)).not.toContain('"ok":true');
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await harness.ledgerRows()).toMatchObject([
      { status: "settle_failed", error_reason: "invalid_transaction_state", origin_status: 200 },
    ]);
  });

  it("a settle timeout is a 504, the body withheld, the ledger says unknown", async () => {
    const harness = await buildHarness({ facilitator: "slow-settle" });
    const { response } = await payFor(harness, "/weather/paris");

    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: "facilitator_timeout" });
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settle_unknown", error_reason: "facilitator_timeout" }]);
  });

  it("fails closed with 503 when the only facilitator cannot be reached even for /supported", async () => {
    const harness = await buildHarness({ facilitator: "dead" });
    const response = await harness.fetch("/weather/paris");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "no_settleable_offer" });
    expect((await harness.fetch("/free")).status).toBe(200);
  });

  it("answers 503 on a priced route when no facilitator is configured, and free routes still pass", async () => {
    const harness = await buildHarness({ facilitator: "unset" });
    expect((await harness.fetch("/weather/paris")).status).toBe(503);
    expect((await harness.fetch("/free")).status).toBe(200);
  });

  it("sends the configured bearer token", async () => {
    const harness = await buildHarness({ vars: { FACILITATOR_AUTH_TOKEN: "s3cret" } });
    await payFor(harness, "/weather/paris");
    const calls = await harness.facilitatorCalls();
    expect(calls.map((c) => c.headers.authorization)).toEqual(["Bearer s3cret", "Bearer s3cret"]);
  });

  const receiptRpc = (mode: "none" | "reverted") => ({
    RPC_URLS: JSON.stringify({ "eip155:84532": `${env.TEST_ORIGIN_URL}/t/${newTestId()}/rpc/receipt-${mode}` }),
  });

  // Issue #34's live bug: @x402/evm 2.27 answers a broadcast but unconfirmed settle with success false and
  // settlement_pending. That payment is landing: never a refusal that gives the lock back. With an RPC the receipt
  // says more (a mined transfer is served: test/e2e/settlement-pending.test.ts, real chain); a reverted one is held
  // too (the attacker review: its authorization is public in its calldata, and anyone may land it until it expires).
  it.each([
    ["still landing, no RPC to ask", undefined, "settlement_pending"],
    ["mined and reverted", receiptRpc("reverted"), "settlement_reverted"],
  ] as const)("a pending settle %s is unknown: no answer, the payment stays spent", async (_name, vars, reason) => {
    const harness = await buildHarness({ facilitator: "settle-pending", ...(vars ? { vars } : {}) });
    const { response, payload } = await payFor(harness, "/weather/paris");
    expect(response.status).toBe(502);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settle_unknown", error_reason: reason }]);
    const retry = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(decodeHeader<PaymentRequired>(retry.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
  });

  it("a pending settle whose transaction is not mined within the settle budget stays unknown, the lock held", async () => {
    const harness = await buildHarness({ facilitator: "settle-pending", vars: receiptRpc("none") });
    const started = Date.now();
    const { response } = await payFor(harness, "/weather/paris");
    expect(response.status).toBe(502);
    // The harness's settle timeout is 1 s: the receipt is looked for until then, not longer.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settle_unknown", error_reason: "settlement_pending" }]);
  });
});
