// The origin asked while verify runs (src/payment-modes/pay-per-call/origin-call.ts): only for GET/HEAD from a payer whose last
// payment passed verify, after the claim; never a settle or an answer before verify accepts. A refused verify that
// still reached the origin is the proof the origin was asked before verify answered: the sequential path never
// asks it then. Each test signs with a wallet of its own, so standing earned in one test does not leak into another.
// Every payment here is verified (buildRule's `verifyEveryPayment`); leaving verify out is verify-skipped.test.ts.
import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { PaymentRequired, SettleResponse } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, challengeFor, decodeHeader, encodePayment, buildPaymentPayload, payFor } from "../fixtures/builders.js";
import type { FacilitatorMode } from "../fixtures/fake-facilitator.js";

const newPayer = () => privateKeyToAccount(generatePrivateKey());

function harnessWith(rule: Record<string, unknown> = {}, mode: FacilitatorMode = "ok") {
  return buildHarness({
    rules: [buildRule({ methods: ["GET", "POST"], ...rule }), buildRule({ id: "status", path: "/status/:code", ...rule })],
    facilitators: [{ id: "f", mode, priority: 1 }],
  });
}

const facilitatorPaths = async (harness: Awaited<ReturnType<typeof harnessWith>>) =>
  (await harness.facilitatorCalls({ facilitator: "f" })).map((call) => call.path);

describe("origin asked during verify", () => {
  it("a payer in good standing: the origin is asked before verify answers, and a refusal throws its answer away", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    const first = await payFor(harness, "/weather/paris", { signer });
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get("Server-Timing")).not.toContain("asked during verify");

    const second = await payFor(harness, "/weather/paris", { signer });
    expect(second.response.status).toBe(200);
    expect(second.response.headers.get("Server-Timing")).toContain('origin;desc="asked during verify"');
    expect(await harness.originCalls()).toHaveLength(2);

    await harness.setFacilitatorMode("f", "invalid");
    const refused = await payFor(harness, "/weather/paris", { signer });
    expect(refused.response.status).toBe(402);
    expect(refused.response.headers.get("Set-Cookie")).toBeNull();
    expect(decodeHeader<PaymentRequired>(refused.response.headers.get("PAYMENT-REQUIRED")).error).toBe("insufficient_funds");
    expect(await harness.originCalls()).toHaveLength(3);

    // The refusal ended the payer's standing: the next payment waits for verify, and the origin is not asked.
    const again = await payFor(harness, "/weather/paris", { signer });
    expect(again.response.status).toBe(402);
    expect(await harness.originCalls()).toHaveLength(3);
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/verify", "/settle", "/verify", "/verify"]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled" }, { status: "settled" }]);
  });

  it("a payer never seen here: a refused verify never reaches the origin", async () => {
    const harness = await harnessWith({}, "invalid");
    const { response } = await payFor(harness, "/weather/paris", { signer: newPayer() });
    expect(response.status).toBe(402);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("a request that may change something (POST) waits for verify even from a payer in good standing", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    expect((await payFor(harness, "/weather/paris", { signer })).response.status).toBe(200);
    await harness.setFacilitatorMode("f", "invalid");
    const { response } = await payFor(harness, "/weather/paris", { signer }, { method: "POST", body: "{}" });
    expect(response.status).toBe(402);
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it.each<[string, Record<string, unknown>]>([
    ["forwardDuringVerify: false keeps the origin after verify", { forwardDuringVerify: false }],
    ["before-origin settlement never asks the origin early", { settlement: "before-origin" }],
  ])("%s", async (_name, rule) => {
    const harness = await harnessWith(rule);
    const signer = newPayer();
    expect((await payFor(harness, "/weather/paris", { signer })).response.status).toBe(200);
    await harness.setFacilitatorMode("f", "invalid");
    expect((await payFor(harness, "/weather/paris", { signer })).response.status).toBe(402);
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it("a replay from a payer in good standing is held at the lock and never reaches the origin", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    const { response, payload } = await payFor(harness, "/weather/paris", { signer });
    expect(response.status).toBe(200);
    const replay = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(replay.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(replay.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle"]);
  });

  it("an origin failure asked early is not settled: the payer keeps their money", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    expect((await payFor(harness, "/status/200", { signer })).response.status).toBe(200);
    const failed = await payFor(harness, "/status/500", { signer });
    expect(failed.response.status).toBe(500);
    expect(failed.response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/verify"]);
    expect(await harness.ledgerRows()).toMatchObject([
      { status: "settled", origin_status: 200 },
      { status: "origin_failed", origin_status: 500 },
    ]);
  });

  it("a facilitator fault during verify: 502, the early answer dropped, nothing settled", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    expect((await payFor(harness, "/weather/paris", { signer })).response.status).toBe(200);
    await harness.setFacilitatorMode("f", "http500");
    const challenge = await challengeFor(harness, "/weather/paris");
    const payload = await buildPaymentPayload(challenge.accepts[0]!, { signer });
    const response = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(response.status).toBe(502);
    expect(await harness.originCalls()).toHaveLength(2);
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/verify"]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled" }]);
  });

  it("a refused settlement after an early answer returns no body and ends the payer's standing", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    expect((await payFor(harness, "/weather/paris", { signer })).response.status).toBe(200);
    await harness.setFacilitatorMode("f", "settle-fail");
    const refused = await payFor(harness, "/weather/paris", { signer });
    expect(refused.response.status).toBe(402);
    expect(decodeHeader<SettleResponse>(refused.response.headers.get("PAYMENT-RESPONSE")).success).toBe(false);
    expect(await harness.originCalls()).toHaveLength(2);
    await harness.setFacilitatorMode("f", "invalid");
    expect((await payFor(harness, "/weather/paris", { signer })).response.status).toBe(402);
    expect(await harness.originCalls()).toHaveLength(2);
  });
});
