// Verify left out for a payer in good standing (src/payment-modes/pay-per-call/payer-standing.ts): a GET whose payment was checked
// here in full goes from its claim to the origin and then to settle, the facilitator's one call; settle checks
// the payment again, and a refusal there withholds the answer and ends the standing. Each test signs with a
// wallet of its own, so standing earned in one test does not leak into another.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { PaymentRequired, SettleResponse } from "../../src/x402/schemas.js";
import {
  buildHarness,
  buildPaymentPayload,
  buildRule,
  challengeFor,
  decodeHeader,
  encodePayment,
  newTestId,
  payFor,
} from "../fixtures/builders.js";
import type { FacilitatorMode } from "../fixtures/fake-facilitator.js";

const newPayer = () => privateKeyToAccount(generatePrivateKey());

function harnessWith(rule: Record<string, unknown> = {}, mode: FacilitatorMode = "ok") {
  return buildHarness({
    rules: [buildRule({ methods: ["GET", "POST"], verifyEveryPayment: false, ...rule })],
    facilitators: [{ id: "f", mode, priority: 1 }],
  });
}

type Harness = Awaited<ReturnType<typeof harnessWith>>;
const facilitatorPaths = async (harness: Harness) => (await harness.facilitatorCalls({ facilitator: "f" })).map((call) => call.path);

/** Earns `signer` good standing: one payment, verified and settled. */
async function earnStanding(harness: Harness, signer: ReturnType<typeof newPayer>) {
  const first = await payFor(harness, "/weather/paris", { signer });
  expect(first.response.status).toBe(200);
  expect(first.response.headers.get("Server-Timing")).not.toContain("skipped");
}

/** Two facilitators; a payer earns standing through the primary, which then turns to `mode`. */
async function primaryInStandingThen(mode: FacilitatorMode) {
  const harness = await buildHarness({
    rules: [buildRule({ verifyEveryPayment: false })],
    facilitators: [
      { id: "primary", mode: "ok", priority: 1 },
      { id: "backup", mode: "ok", priority: 2 },
    ],
  });
  const signer = newPayer();
  await earnStanding(harness, signer);
  await harness.setFacilitatorMode("primary", mode);
  const paths = async (facilitator: string) => (await harness.facilitatorCalls({ facilitator })).map((call) => call.path);
  return { harness, signer, paths };
}

describe("verify skipped for a payer in good standing", () => {
  it("settle is the one facilitator call, the answer carries the receipt, and the ledger says verify was not timed", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    await earnStanding(harness, signer);
    const second = await payFor(harness, "/weather/paris", { signer });
    expect(second.response.status).toBe(200);
    expect(decodeHeader<SettleResponse>(second.response.headers.get("PAYMENT-RESPONSE")).success).toBe(true);
    const timing = second.response.headers.get("Server-Timing");
    expect(timing).toContain('x402-verify;desc="skipped: payer in good standing";dur=0');
    expect(timing).toContain('origin;desc="asked with the claim"');
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/settle"]);
    expect(await harness.originCalls()).toHaveLength(2);
    const rows = await harness.ledgerRows();
    expect(rows).toMatchObject([{ status: "settled" }, { status: "settled", payer: signer.address }]);
    expect(rows.map((row) => row.verify_ms === null)).toEqual([false, true]);
  });

  it("Server-Timing counts the claim, run beside a slower origin, as the origin's wait, not the gateway's own time", async () => {
    const harness = await buildHarness({
      rules: [buildRule({ id: "slow", path: "/slow/:ms", verifyEveryPayment: false })],
      facilitators: [{ id: "f", mode: "ok", priority: 1 }],
    });
    const signer = newPayer();
    expect((await payFor(harness, "/slow/300", { signer })).response.status).toBe(200);
    const { response } = await payFor(harness, "/slow/300", { signer });
    expect(response.status).toBe(200);
    const timing = Object.fromEntries(
      response.headers
        .get("Server-Timing")!
        .split(",")
        .map((part) => [part.trim().split(";")[0], Number(/dur=(\d+)/.exec(part)![1])]),
    );
    expect(timing["x402-verify"]).toBe(0);
    expect(timing.origin).toBeGreaterThanOrEqual(300);
    // The claim ran within the origin's 300 ms: what is left is the gateway's own work, far below the origin's.
    expect(timing["x402-total"]! - timing.origin! - timing["x402-settle"]!).toBeLessThan(150);
  });

  it("a payment settle refuses: no body, no charge, the origin's answer dropped, and the payer's next payment is verified", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    await earnStanding(harness, signer);
    await harness.setFacilitatorMode("f", "settle-fail");
    const refused = await payFor(harness, "/weather/paris", { signer });
    expect(refused.response.status).toBe(402);
    expect(refused.response.headers.get("Set-Cookie")).toBeNull();
    expect(decodeHeader<PaymentRequired>(refused.response.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_transaction_state");
    expect(decodeHeader<SettleResponse>(refused.response.headers.get("PAYMENT-RESPONSE")).success).toBe(false);
    expect(await harness.originCalls()).toHaveLength(2);

    await harness.setFacilitatorMode("f", "invalid");
    const next = await payFor(harness, "/weather/paris", { signer });
    expect(next.response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(next.response.headers.get("PAYMENT-REQUIRED")).error).toBe("insufficient_funds");
    expect(await harness.originCalls()).toHaveLength(2);
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/settle", "/verify"]);
    expect(await harness.ledgerRows()).toMatchObject([
      { status: "settled" },
      { status: "settle_failed", error_reason: "invalid_transaction_state" },
    ]);
  });

  it("a settle that faults answers 502 with no body, and the payment stays unknown rather than free", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    await earnStanding(harness, signer);
    await harness.setFacilitatorMode("f", "settle-500");
    const { response } = await payFor(harness, "/weather/paris", { signer });
    expect(response.status).toBe(502);
    expect(response.headers.get("Set-Cookie")).toBeNull();
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/settle"]);
    expect(await harness.ledgerRows()).toMatchObject([{ status: "settled" }, { status: "settle_unknown" }]);
  });

  it("a replay from a payer in good standing is held at the lock: no facilitator call, no origin call", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    await earnStanding(harness, signer);
    const { payload } = await payFor(harness, "/weather/paris", { signer });
    const replay = await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } });
    expect(replay.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(replay.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/settle"]);
    expect(await harness.originCalls()).toHaveLength(2);
  });

  it("100 copies of one payment from a payer in good standing, sent at once: one origin call, one settle, one answer", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    await earnStanding(harness, signer);
    const challenge = await challengeFor(harness, "/weather/paris");
    const header = encodePayment(await buildPaymentPayload(challenge.accepts[0]!, { signer }));
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": header } })),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    const refused = responses
      .filter((r) => r.status === 402)
      .map((r) => decodeHeader<PaymentRequired>(r.headers.get("PAYMENT-REQUIRED")).error);
    expect(new Set(refused)).toEqual(new Set(["payment_already_used"]));
    expect(refused).toHaveLength(99);
    expect(await harness.originCalls()).toHaveLength(2);
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/settle"]);
  });

  it("a signature not recovered here (perhaps a contract wallet's) is verified even from a payer in good standing", async () => {
    const harness = await harnessWith();
    const payer = newPayer();
    await earnStanding(harness, payer);
    // Signed by another key in the payer's name: no RPC is configured, so whether the payer is a contract wallet
    // is unknown here and the facilitator decides.
    const { response } = await payFor(harness, "/weather/paris", { signer: newPayer(), from: payer.address });
    expect(response.status).toBe(200);
    expect(response.headers.get("Server-Timing")).not.toContain("skipped");
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/verify", "/settle"]);
  });

  it("a forgery in a payer's name is refused here without ending their standing: no facilitator or origin call", async () => {
    const harness = await buildHarness({
      rules: [buildRule({ verifyEveryPayment: false })],
      facilitators: [{ id: "f", mode: "ok", priority: 1 }],
      // The chain says the payer is a plain account, so a signature by another key is a forgery.
      vars: { RPC_URLS: JSON.stringify({ "eip155:84532": `${env.TEST_ORIGIN_URL}/t/${newTestId()}/rpc/eoa` }) },
    });
    const payer = newPayer();
    await earnStanding(harness, payer);
    const forged = await payFor(harness, "/weather/paris", { signer: newPayer(), from: payer.address });
    expect(decodeHeader<PaymentRequired>(forged.response.headers.get("PAYMENT-REQUIRED")).error).toBe(
      "invalid_exact_evm_payload_signature",
    );
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle"]);
    expect(await harness.originCalls()).toHaveLength(1);

    const next = await payFor(harness, "/weather/paris", { signer: payer });
    expect(next.response.status).toBe(200);
    expect(next.response.headers.get("Server-Timing")).toContain("skipped: payer in good standing");
  });

  // Security review F3: the bound docs/x402.md states. A payer in standing whose balance is gone sends 20 payments at
  // once: one takes the shortcut (its origin answer is thrown away when settle refuses), the other 19 wait for
  // verify's verdict, which refuses them before the origin is asked.
  it("20 payments at once from a payer in standing whose settles are refused cost the origin 1 call beyond the paid ones", async () => {
    const harness = await harnessWith();
    const signer = newPayer();
    await earnStanding(harness, signer);
    await harness.setFacilitatorMode("f", "spent");
    const challenge = await challengeFor(harness, "/weather/paris");
    const payloads = await Promise.all(Array.from({ length: 20 }, () => buildPaymentPayload(challenge.accepts[0]!, { signer })));
    const answers = await Promise.all(
      payloads.map((payload) => harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(402));
    // 1 paid call to earn standing, and at most 1 shortcut.
    expect((await harness.originCalls()).length).toBeLessThanOrEqual(2);
    const paths = await facilitatorPaths(harness);
    expect(paths.filter((path) => path === "/settle").length).toBeLessThanOrEqual(2);
  });

  it("standing is earned by money that moved, never by a verify alone: an origin failure after verify earns none", async () => {
    const harness = await harnessWith({ id: "status", path: "/status/:code" });
    const signer = newPayer();
    expect((await payFor(harness, "/status/404", { signer })).response.status).toBe(404);
    const next = await payFor(harness, "/status/200", { signer });
    expect(next.response.status).toBe(200);
    expect(next.response.headers.get("Server-Timing")).not.toContain("skipped");
    expect(next.response.headers.get("Server-Timing")).not.toContain("asked with the claim");
  });

  // Security review F5: the early origin call needs the payer's own signature, not only its address.
  it("a garbage signature naming a payer in standing never reaches the origin, and leaves the payer's standing alone", async () => {
    const harness = await harnessWith();
    const payer = newPayer();
    await earnStanding(harness, payer);
    await harness.setFacilitatorMode("f", "invalid");
    const forged = await payFor(harness, "/weather/paris", { signer: newPayer(), from: payer.address });
    expect(forged.response.status).toBe(402);
    expect(await harness.originCalls()).toHaveLength(1);

    await harness.setFacilitatorMode("f", "ok");
    const next = await payFor(harness, "/weather/paris", { signer: payer });
    expect(next.response.status).toBe(200);
    expect(next.response.headers.get("Server-Timing")).toContain("skipped: payer in good standing");
  });

  it("with no verifier to go back to, a settle turned away at the door (401) moves on to the next facilitator", async () => {
    const { harness, signer, paths } = await primaryInStandingThen("settle-401");
    const { response } = await payFor(harness, "/weather/paris", { signer });
    expect(response.status).toBe(200);
    expect(await paths("primary")).toEqual(["/verify", "/settle", "/settle"]);
    expect(await paths("backup")).toEqual(["/settle"]);
    expect(await harness.ledgerRows()).toMatchObject([
      { status: "settled" },
      { status: "settled", facilitator_id: "primary", settled_by: "backup" },
    ]);
  });

  it("a facilitator that just died costs the request that finds it a 502 (nothing charged, unknown); the next one verifies and fails over", async () => {
    const { harness, signer, paths } = await primaryInStandingThen("drop");
    const lost = await payFor(harness, "/weather/paris", { signer });
    expect(lost.response.status).toBe(502);
    expect(lost.response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    const next = await payFor(harness, "/weather/paris", { signer });
    expect(next.response.status).toBe(200);
    expect(next.response.headers.get("Server-Timing")).not.toContain("skipped");
    expect(await paths("primary")).toEqual(["/verify", "/settle", "/settle", "/verify"]);
    expect(await paths("backup")).toEqual(["/verify", "/settle"]);
    expect(await harness.ledgerRows()).toMatchObject([
      { status: "settled" },
      { status: "settle_unknown" },
      { status: "settled", settled_by: "backup" },
    ]);
  });

  it.each<[string, Record<string, unknown>, RequestInit]>([
    ["verifyEveryPayment: true verifies every payment", { verifyEveryPayment: true }, {}],
    ["forwardDuringVerify: false keeps verify before the origin", { forwardDuringVerify: false }, {}],
    ["before-origin settlement verifies every payment", { settlement: "before-origin" }, {}],
    ["a request that may change something (POST) is verified", {}, { method: "POST", body: "{}" }],
  ])("%s", async (_name, rule, init) => {
    const harness = await harnessWith(rule);
    const signer = newPayer();
    await earnStanding(harness, signer);
    const { response } = await payFor(harness, "/weather/paris", { signer }, init);
    expect(response.status).toBe(200);
    expect(await facilitatorPaths(harness)).toEqual(["/verify", "/settle", "/verify", "/settle"]);
  });
});
