// batch-settlement against the fake facilitator, in workerd with the real PaymentChannel objects: what the gateway
// decides about each voucher without a facilitator, and the cases that must fail cleanly (replay, over-spending,
// racing vouchers, forged signatures, a foreign channel), and how a channel's claim reaches the facilitator.
import { env } from "cloudflare:workers";
import { verifyTypedData } from "viem";
import { describe, expect, it } from "vitest";
import { claimBatchTypedData, type VoucherClaim } from "../../src/schemes/evm/channel-typed-data.js";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { buildHarness, decodeHeader, encodePayment } from "../fixtures/builders.js";
import {
  AUTHORIZER,
  channelHarness,
  channelPayload,
  channelRule,
  openChannel,
  pay,
  paymentCalls,
  reason,
  settlement,
  STRANGER,
} from "../fixtures/channels.js";

const harness = (facilitator?: "settle-fail") => channelHarness(facilitator ? { facilitator } : {});

describe("batch-settlement offers", () => {
  it("name the gateway's authorizer, the withdrawal delay and the token's domain", async () => {
    const { offer } = await harness();
    expect(offer).toMatchObject({
      scheme: "batch-settlement",
      amount: "1000",
      extra: { receiverAuthorizer: AUTHORIZER.address, withdrawDelay: 900, assetTransferMethod: "eip3009", name: "USDC", version: "2" },
    });
  });

  it("fail closed when nobody can sign the channel's claims (no key, and the facilitator offers none)", async () => {
    const built = await buildHarness({ rules: [channelRule()], vars: { CHANNEL_AUTHORIZER_KEY: "" } });
    const response = await built.fetch("/status/200");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: "config_invalid" });
  });
});

describe("paying from a channel", () => {
  it("a deposit is verified and settled; later vouchers need no facilitator at all", async () => {
    const { harness: h, offer } = await harness();
    const first = await pay(h, offer, { maxClaimable: "1000", deposit: "5000" });
    expect(first.response.status).toBe(200);
    expect(settlement(first.response)).toMatchObject({
      success: true,
      transaction: expect.stringMatching(/^0x/),
      amount: "5000",
      extra: { chargedAmount: "1000", channelState: { balance: "5000", chargedCumulativeAmount: "1000" } },
    });
    expect(await paymentCalls(h)).toEqual(["/verify deposit", "/settle deposit"]);
    for (const cumulative of ["2000", "3000", "4000"]) {
      const { response } = await pay(h, offer, { maxClaimable: cumulative });
      expect(response.status).toBe(200);
      expect(settlement(response)).toMatchObject({
        success: true,
        transaction: "",
        amount: "",
        extra: { chargedAmount: "1000", channelState: { chargedCumulativeAmount: cumulative } },
      });
    }
    expect(await paymentCalls(h)).toEqual(["/verify deposit", "/settle deposit"]);
    expect((await h.originCalls()).length).toBe(4);
  });

  it("a voucher on a channel the gateway has not seen is read through the facilitator's verify once", async () => {
    const { harness: h, offer } = await harness();
    // The fake says the channel holds 5000 and nothing is claimed: the payer's own count (2000 before) is the base.
    expect((await pay(h, offer, { maxClaimable: "3000" })).response.status).toBe(200);
    expect((await pay(h, offer, { maxClaimable: "4000" })).response.status).toBe(200);
    expect(await paymentCalls(h)).toEqual(["/verify voucher"]);
  });

  it("a replayed voucher is refused with the channel's state, before any facilitator call", async () => {
    const { harness: h, offer } = await harness();
    const channelId = await openChannel(h, offer);
    const second = await pay(h, offer, { maxClaimable: "2000" });
    expect(second.response.status).toBe(200);
    const replay = await h.fetch("/status/200", { headers: { "PAYMENT-SIGNATURE": encodePayment(second.payload) } });
    expect(replay.status).toBe(402);
    const body = decodeHeader<PaymentRequired>(replay.headers.get("PAYMENT-REQUIRED"));
    expect(body.error).toBe("invalid_batch_settlement_evm_cumulative_amount_mismatch");
    expect(body.accepts[0]!.extra).toMatchObject({
      channelState: { channelId, chargedCumulativeAmount: "2000", balance: "5000" },
      voucherState: { signedMaxClaimable: "2000" },
    });
    expect(await paymentCalls(h)).toEqual(["/verify deposit", "/settle deposit"]);
    expect((await h.originCalls()).length).toBe(2);
  });

  it("over-spending the channel is refused: the voucher may not promise more than the deposit holds", async () => {
    const { harness: h, offer } = await harness();
    await openChannel(h, offer, "2000");
    expect((await pay(h, offer, { maxClaimable: "2000" })).response.status).toBe(200);
    const over = await pay(h, offer, { maxClaimable: "3000" });
    expect(over.response.status).toBe(402);
    expect(reason(over.response)).toBe("invalid_batch_settlement_evm_cumulative_exceeds_balance");
    expect((await h.originCalls()).length).toBe(2);
  });

  it("racing vouchers: of 10 concurrent requests with the next voucher, exactly one is served and charged", async () => {
    const { harness: h, offer } = await harness();
    const channelId = await openChannel(h, offer);
    const payload = encodePayment(await channelPayload(offer, { maxClaimable: "2000" }));
    // Different cumulative amounts race too: only the one that follows the charged total can win. (Not 3000: once
    // 2000 is charged, 3000 is the next voucher and rightly served, which under load can happen within the race.)
    const other = encodePayment(await channelPayload(offer, { maxClaimable: "4000" }));
    const responses = await Promise.all([
      ...Array.from({ length: 10 }, () => h.fetch("/status/200", { headers: { "PAYMENT-SIGNATURE": payload } })),
      h.fetch("/status/200", { headers: { "PAYMENT-SIGNATURE": other } }),
    ]);
    const served = responses.filter((r) => r.status === 200);
    expect(served).toHaveLength(1);
    expect(settlement(served[0]!).extra.channelState.chargedCumulativeAmount).toBe("2000");
    for (const refused of responses.filter((r) => r.status !== 200)) {
      expect(refused.status).toBe(402);
      expect(["invalid_batch_settlement_evm_channel_busy", "invalid_batch_settlement_evm_cumulative_amount_mismatch"]).toContain(
        reason(refused),
      );
    }
    expect((await h.originCalls()).length).toBe(2);
    const record = await env.PAYMENT_CHANNELS.get(env.PAYMENT_CHANNELS.idFromName(channelId)).read();
    expect(record).toMatchObject({ charged: "2000", signedMaxClaimable: "2000" });
  });

  it("refuses a voucher signed by another key, a channel for another receiver, and a wrong channel id, locally", async () => {
    const { harness: h, offer } = await harness();
    expect(reason((await pay(h, offer, { maxClaimable: "1000", voucherSigner: STRANGER })).response)).toBe(
      "invalid_batch_settlement_evm_voucher_signature",
    );
    expect(reason((await pay(h, offer, { maxClaimable: "1000", config: { receiver: STRANGER.address } })).response)).toBe(
      "invalid_batch_settlement_evm_channel_config_mismatch",
    );
    const payload = await channelPayload(offer, { maxClaimable: "1000" });
    (payload.payload as { voucher: { channelId: string } }).voucher.channelId = `0x${"ab".repeat(32)}`;
    expect(reason(await h.fetch("/status/200", { headers: { "PAYMENT-SIGNATURE": encodePayment(payload) } }))).toBe(
      "invalid_batch_settlement_evm_channel_id_mismatch",
    );
    expect(await h.facilitatorCalls()).toEqual([]);
  });

  // Security review F2, F15: a zero-authorizer channel's voucher cannot be recovered here to a contract wallet's key,
  // so it is never trusted locally: the facilitator checks it before the channel is charged or its state shown.
  it("a zero-authorizer channel's voucher signed by anyone goes to the facilitator first: refused there, no origin, no voucher shown", async () => {
    const { harness: h, offer } = await channelHarness({ facilitators: [{ id: "f", mode: "ok" }] });
    const zero = { payerAuthorizer: "0x0000000000000000000000000000000000000000" };
    expect((await pay(h, offer, { maxClaimable: "1000", deposit: "5000", config: zero })).response.status).toBe(200);
    await h.setFacilitatorMode("f", "invalid");
    const forged = await pay(h, offer, { maxClaimable: "2000", config: zero, voucherSigner: STRANGER });
    expect(forged.response.status).toBe(402);
    const body = decodeHeader<PaymentRequired>(forged.response.headers.get("PAYMENT-REQUIRED"));
    expect(body.error).toBe("insufficient_funds");
    expect(body.accepts[0]!.extra).not.toHaveProperty("voucherState");
    expect(await paymentCalls(h, "f")).toEqual(["/verify deposit", "/settle deposit", "/verify voucher"]);
    expect((await h.originCalls()).length).toBe(1);
    // Out of step too: the facilitator's refusal comes first, not the channel's latest voucher.
    const stale = await pay(h, offer, { maxClaimable: "7000", config: zero, voucherSigner: STRANGER });
    expect(decodeHeader<PaymentRequired>(stale.response.headers.get("PAYMENT-REQUIRED")).accepts[0]!.extra).not.toHaveProperty(
      "voucherState",
    );
  });

  it("a zero-authorizer channel's voucher recovered here to its payer needs no facilitator", async () => {
    const { harness: h, offer } = await harness();
    const zero = { payerAuthorizer: "0x0000000000000000000000000000000000000000" };
    expect((await pay(h, offer, { maxClaimable: "1000", deposit: "5000", config: zero })).response.status).toBe(200);
    expect((await pay(h, offer, { maxClaimable: "2000", config: zero })).response.status).toBe(200);
    expect(await paymentCalls(h)).toEqual(["/verify deposit", "/settle deposit"]);
  });

  it("a failed origin answer charges nothing: the same voucher pays the next call", async () => {
    const { harness: h, offer } = await harness();
    await openChannel(h, offer);
    const failed = await pay(h, offer, { maxClaimable: "2000" }, "/status/503");
    expect(failed.response.status).toBe(503);
    const retried = await h.fetch("/status/200", { headers: { "PAYMENT-SIGNATURE": encodePayment(failed.payload) } });
    expect(retried.status).toBe(200);
    expect(settlement(retried).extra.channelState.chargedCumulativeAmount).toBe("2000");
  });

  it("a refused deposit settle charges nothing and withholds the answer", async () => {
    const { harness: built, offer } = await harness("settle-fail");
    const { response, payload } = await pay(built, offer, { maxClaimable: "1000", deposit: "5000" });
    expect(response.status).toBe(402);
    const channelId = (payload.payload as { voucher: { channelId: string } }).voucher.channelId;
    expect(await env.PAYMENT_CHANNELS.get(env.PAYMENT_CHANNELS.idFromName(channelId)).read()).toBeUndefined();
  });
});

describe("claiming a channel", () => {
  it("sends the newest voucher as a claim signed by the gateway's authorizer, then a settle, and records both", async () => {
    const { harness: h, offer } = await harness();
    const channelId = await openChannel(h, offer);
    for (const cumulative of ["2000", "3000"]) expect((await pay(h, offer, { maxClaimable: cumulative })).response.status).toBe(200);
    const outcome = await env.PAYMENT_CHANNELS.get(env.PAYMENT_CHANNELS.idFromName(channelId)).claimNow();
    expect(outcome).toMatchObject({ kind: "claimed", totalClaimed: "3000" });
    const calls = (await h.facilitatorCalls())
      .filter((call) => call.path === "/settle")
      .map((call) => JSON.parse(call.body) as { paymentPayload: { payload: Record<string, unknown> } });
    const [claim, settle] = calls.slice(-2).map((call) => call.paymentPayload.payload) as [
      { type: string; claims: VoucherClaim[]; claimAuthorizerSignature: `0x${string}` },
      Record<string, unknown>,
    ];
    expect(claim).toMatchObject({ type: "claim", claims: [{ voucher: { maxClaimableAmount: "3000" }, totalClaimed: "3000" }] });
    expect(
      await verifyTypedData({
        address: AUTHORIZER.address,
        ...claimBatchTypedData(claim.claims, offer.network),
        signature: claim.claimAuthorizerSignature,
      }),
    ).toBe(true);
    expect(settle).toMatchObject({ type: "settle", receiver: offer.payTo, token: offer.asset });
    // Nothing new: nothing sent.
    expect(await env.PAYMENT_CHANNELS.get(env.PAYMENT_CHANNELS.idFromName(channelId)).claimNow()).toMatchObject({
      kind: "nothing_to_claim",
    });
    const read = async () => (await env.LEDGER.prepare("SELECT * FROM channel_claims WHERE channel_id = ?").bind(channelId).all()).results;
    let rows = await read();
    for (let i = 0; i < 50 && rows.length === 0; i++) rows = (await new Promise((r) => setTimeout(r, 20)), await read());
    expect(rows).toMatchObject([{ status: "settled", amount: "3000", total_claimed: "3000" }]);
    const calls3 = (await env.LEDGER.prepare("SELECT status, amount FROM payments WHERE channel_id = ?").bind(channelId).all()).results;
    expect(calls3).toHaveLength(3);
  });
});
