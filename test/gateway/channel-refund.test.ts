// Cooperative refunds of batch-settlement channels against the fake facilitator (which keeps each channel as an
// escrow would), in workerd with the real PaymentChannel objects: what is refunded, what is refused before any
// facilitator call, a refund racing vouchers, and a refund that fails or whose outcome is unknown.
import { env } from "cloudflare:workers";
import { verifyTypedData } from "viem";
import { describe, expect, it } from "vitest";
import { refundTypedData } from "../../src/schemes/evm/channel-typed-data.js";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { decodeHeader, encodePayment, type GatewayHarness } from "../fixtures/builders.js";
import {
  AUTHORIZER,
  KEY_VARS,
  channelHarness,
  channelPayload,
  openChannel,
  pay,
  paymentCalls,
  reason,
  settlement,
} from "../fixtures/channels.js";

const ADMIN_TOKEN = "admin-test-token-0123456789abcdef0123456789";
const channelObject = (channelId: string) => env.PAYMENT_CHANNELS.get(env.PAYMENT_CHANNELS.idFromName(channelId));

/** The channel's refund rows once `ready` says they are there (the outbox copies them to D1 after the answer). */
async function refundRows(channelId: string, ready: (rows: Record<string, unknown>[]) => boolean = (rows) => rows.length > 0) {
  const read = async () =>
    (await env.LEDGER.prepare("SELECT * FROM channel_refunds WHERE channel_id = ? ORDER BY refund_nonce").bind(channelId).all()).results;
  let rows = await read();
  for (let i = 0; i < 100 && !ready(rows); i++) rows = (await new Promise((r) => setTimeout(r, 20)), await read());
  return rows;
}

/** A channel holding 5000 with 3000 charged (three calls). */
async function chargedChannel(harness: GatewayHarness, offer: Parameters<typeof pay>[1]) {
  const channelId = await openChannel(harness, offer);
  for (const cumulative of ["2000", "3000"]) expect((await pay(harness, offer, { maxClaimable: cumulative })).response.status).toBe(200);
  return channelId;
}

describe("cooperative refunds", () => {
  it("pay back what the channel holds beyond the charges, signed by the gateway's authorizer, without calling the origin", async () => {
    const { harness: h, offer } = await channelHarness({ vars: { ...KEY_VARS, ADMIN_TOKEN } });
    const channelId = await chargedChannel(h, offer);
    const { response } = await pay(h, offer, { maxClaimable: "3000", refund: {} });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ message: "Refund acknowledged", channelId, amount: "2000" });
    expect(settlement(response)).toMatchObject({
      success: true,
      transaction: expect.stringMatching(/^0x/),
      amount: "2000",
      extra: { channelState: { balance: "3000", chargedCumulativeAmount: "3000", refundNonce: "1" } },
    });
    expect((await h.originCalls()).length).toBe(3);
    expect(await paymentCalls(h)).toEqual(["/verify deposit", "/settle deposit", "/verify refund", "/settle refund"]);

    const settle = JSON.parse((await h.facilitatorCalls()).at(-1)!.body) as {
      paymentPayload: { payload: { amount: string; refundNonce: string; claims: unknown[]; refundAuthorizerSignature: `0x${string}` } };
    };
    const sent = settle.paymentPayload.payload;
    expect(sent).toMatchObject({ amount: "2000", refundNonce: "0", claims: [] });
    expect(
      await verifyTypedData({
        address: AUTHORIZER.address,
        ...refundTypedData(channelId, "0", "2000", offer.network),
        signature: sent.refundAuthorizerSignature,
      }),
    ).toBe(true);

    expect(await refundRows(channelId)).toMatchObject([
      { status: "refunded", amount: "2000", refunded: "2000", refund_nonce: "0", transaction_hash: expect.stringMatching(/^0x/) },
    ]);
    // The channel now holds exactly what was charged: the next voucher would over-spend it.
    const over = await pay(h, offer, { maxClaimable: "4000" });
    expect(over.response.status).toBe(402);
    expect(reason(over.response)).toBe("invalid_batch_settlement_evm_cumulative_exceeds_balance");
    expect(await channelObject(channelId).read()).toMatchObject({ balance: "3000", charged: "3000", refundNonce: "1" });
    const listed = await h.fetch("/.well-known/x402/admin/channels", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const body = (await listed.json()) as { channels: unknown[]; refunds: unknown[] };
    expect(body.channels).toContainEqual(expect.objectContaining({ channelId, balance: "3000", charged: "3000" }));
    expect(body.refunds).toContainEqual(expect.objectContaining({ channelId, status: "refunded", refunded: "2000", refundNonce: "0" }));
  });

  it("a partial refund pays back what was asked, and the channel pays on with the rest", async () => {
    const { harness: h, offer } = await channelHarness();
    const channelId = await chargedChannel(h, offer);
    const { response } = await pay(h, offer, { maxClaimable: "3000", refund: { amount: "500" } });
    expect(response.status).toBe(200);
    expect(settlement(response)).toMatchObject({ amount: "500", extra: { channelState: { balance: "4500", refundNonce: "1" } } });
    expect((await pay(h, offer, { maxClaimable: "4000" })).response.status).toBe(200);
    // Asking for more than is left pays back what is left.
    const rest = await pay(h, offer, { maxClaimable: "4000", refund: { amount: "100000" } });
    expect(settlement(rest.response)).toMatchObject({ amount: "500", extra: { channelState: { balance: "4000", refundNonce: "2" } } });
    expect(await refundRows(channelId, (rows) => rows.length === 2)).toMatchObject([{ refunded: "500" }, { refunded: "500" }]);
  });

  it("are refused before any facilitator call when out of step, and for a zero amount", async () => {
    const { harness: h, offer } = await channelHarness();
    const channelId = await chargedChannel(h, offer);
    const before = await paymentCalls(h);
    // The refund's voucher must re-sign the charged total (3000), not an older one.
    const stale = await pay(h, offer, { maxClaimable: "2000", refund: {} });
    expect(stale.response.status).toBe(402);
    const body = decodeHeader<PaymentRequired>(stale.response.headers.get("PAYMENT-REQUIRED"));
    expect(body.error).toBe("invalid_batch_settlement_evm_cumulative_amount_mismatch");
    expect(body.accepts[0]!.extra).toMatchObject({ channelState: { channelId, chargedCumulativeAmount: "3000" } });
    expect(reason((await pay(h, offer, { maxClaimable: "3000", refund: { amount: "0" } })).response)).toBe(
      "invalid_batch_settlement_evm_refund_amount_invalid",
    );
    expect(await paymentCalls(h)).toEqual(before);
  });

  it("are refused when nothing is left beyond the charges", async () => {
    const { harness: h, offer } = await channelHarness();
    await openChannel(h, offer, "2000");
    expect((await pay(h, offer, { maxClaimable: "2000" })).response.status).toBe(200);
    const empty = await pay(h, offer, { maxClaimable: "2000", refund: {} });
    expect(empty.response.status).toBe(402);
    expect(reason(empty.response)).toBe("invalid_batch_settlement_evm_refund_no_balance");
    expect((await paymentCalls(h)).filter((call) => call === "/settle refund")).toEqual([]);
  });

  it("racing vouchers: the channel serves one at a time, and never refunds what it charged", async () => {
    const { harness: h, offer } = await channelHarness();
    const channelId = await chargedChannel(h, offer);
    const refund = encodePayment(await channelPayload(offer, { maxClaimable: "3000", refund: {} }));
    const vouchers = await Promise.all(
      ["4000", "4000", "4000"].map(async (c) => encodePayment(await channelPayload(offer, { maxClaimable: c }))),
    );
    const responses = await Promise.all(
      [refund, ...vouchers].map((header) => h.fetch("/status/200", { headers: { "PAYMENT-SIGNATURE": header } })),
    );
    const [refunded, ...paid] = responses;
    const charged = 3000 + paid.filter((r) => r.status === 200).length * 1000;
    const refundedAmount = refunded!.status === 200 ? Number(settlement(refunded!).amount) : 0;
    expect(paid.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    for (const refused of [...paid, refunded!].filter((r) => r.status !== 200)) expect(refused.status).toBe(402);
    // Whatever won, the charges and the refund together never exceed the deposit.
    expect(charged + refundedAmount).toBeLessThanOrEqual(5000);
    expect(await channelObject(channelId).read()).toMatchObject({ charged: String(charged), balance: String(5000 - refundedAmount) });
  });

  it("a refused refund changes nothing; one whose outcome is unknown makes the next voucher read the chain again", async () => {
    const { harness: h, offer } = await channelHarness({ facilitators: [{ id: "f", mode: "ok" }] });
    const channelId = await chargedChannel(h, offer);
    await h.setFacilitatorMode("f", "settle-fail");
    const refused = await pay(h, offer, { maxClaimable: "3000", refund: {} });
    expect(refused.response.status).toBe(402);
    expect(settlement(refused.response)).toMatchObject({ success: false, errorReason: "invalid_transaction_state" });
    expect(await refundRows(channelId)).toMatchObject([{ status: "refund_failed", error_reason: "invalid_transaction_state" }]);
    expect(await channelObject(channelId).read()).toMatchObject({ balance: "5000", charged: "3000", pending: undefined });

    await h.setFacilitatorMode("f", "settle-500");
    const unknown = await pay(h, offer, { maxClaimable: "3000", refund: {} });
    expect(unknown.response.status).toBe(502);
    // The same refund nonce: one row, now unknown (the escrow would take that nonce once).
    expect(await refundRows(channelId, (rows) => rows[0]?.status === "refund_unknown")).toMatchObject([{ status: "refund_unknown" }]);
    await h.setFacilitatorMode("f", "ok");
    const verifiesBefore = (await paymentCalls(h, "f")).filter((call) => call === "/verify voucher").length;
    expect((await pay(h, offer, { maxClaimable: "4000" })).response.status).toBe(200);
    expect((await paymentCalls(h, "f")).filter((call) => call === "/verify voucher").length).toBe(verifiesBefore + 1);
  });
});
