// The gateway against real parts: anvil, TestUSDC (EIP-3009), the official facilitator and the official client.
import { decodePaymentRequiredHeader } from "@x402/core/http";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER, SELLER_TWO } from "../../stack/accounts.js";
import { mintTestUsdc } from "../../stack/chain.js";
import { createPayingFetch, readSettlement } from "../../stack/pay.js";
import { eventually, recordingFetch, startStackFixture, type StackFixture } from "./stack-fixture.js";
import { exactPayment, offerFor } from "../../bench/attack-cost.js";

let stack: StackFixture;
let pay: typeof fetch;

beforeAll(async () => {
  stack = await startStackFixture({ facilitatorAuthToken: "e2e-facilitator-token" });
  pay = stack.payingFetch();
});
afterAll(async () => {
  await stack?.dispose();
});

describe("paying through the gateway on a local chain", () => {
  it("buys a response: origin once, PAYMENT-RESPONSE with a mined transaction, balances moved by the price, one ledger row", async () => {
    const [payerBefore, sellerBefore, originBefore] = await Promise.all([
      stack.balance(PAYER.address),
      stack.balance(SELLER.address),
      stack.originCalls("/api/weather/paris"),
    ]);

    const response = await pay(`${stack.info.gateway}/api/weather/paris`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ city: "paris" });
    const settlement = readSettlement(response)!;
    expect(settlement).toMatchObject({ success: true, network: stack.info.network, payer: PAYER.address });
    expect(settlement.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await stack.receiptStatus(settlement.transaction as `0x${string}`)).toBe("success");
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 10_000n);
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore + 10_000n);
    expect(await stack.originCalls("/api/weather/paris")).toBe(originBefore + 1);
    const rows = await eventually(
      () => stack.ledgerRows("transaction_hash = ?", settlement.transaction),
      (r) => r.length > 0,
    );
    expect(rows).toMatchObject([{ status: "settled", rule_id: "weather", amount: "10000", pay_to: SELLER.address, payer: PAYER.address }]);
    expect(await stack.ledgerRows("resource LIKE ?", "%/api/weather/paris")).toHaveLength(1);
  });

  it("pays a route priced as an atomic amount to another payee", async () => {
    const before = await stack.balance(SELLER_TWO.address);
    const response = await pay(`${stack.info.gateway}/api/premium/report`);
    expect(response.status).toBe(200);
    expect(readSettlement(response)?.success).toBe(true);
    expect(await stack.balance(SELLER_TWO.address)).toBe(before + 250_000n);
  });

  it("refuses a client with no funds with the facilitator's reason, and nothing moves", async () => {
    const broke = privateKeyToAccount(generatePrivateKey());
    const sellerBefore = await stack.balance(SELLER.address);
    const originBefore = await stack.originCalls("/api/weather/oslo");

    const response = await createPayingFetch(broke, { network: stack.info.network, address: stack.info.token.address })(
      `${stack.info.gateway}/api/weather/oslo`,
    );

    expect(response.status).toBe(402);
    const challenge = decodePaymentRequiredHeader(response.headers.get("PAYMENT-REQUIRED")!);
    expect(challenge.error).toBe("invalid_exact_evm_insufficient_balance");
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore);
    expect(await stack.originCalls("/api/weather/oslo")).toBe(originBefore);
  });

  it("refuses a payment signed by another key than its payer's before any facilitator call (payer checked on chain)", async () => {
    const stranger = privateKeyToAccount(generatePrivateKey());
    // Claims PAYER's funds, signs with another key.
    const impostor = { ...stranger, address: PAYER.address } as unknown as typeof PAYER;
    const forgedPay = createPayingFetch(impostor, { network: stack.info.network, address: stack.info.token.address });
    const [statsBefore, payerBefore] = await Promise.all([stack.facilitatorStats(), stack.balance(PAYER.address)]);
    const response = await forgedPay(`${stack.info.gateway}/api/weather/paris`);
    expect(response.status).toBe(402);
    expect(decodePaymentRequiredHeader(response.headers.get("PAYMENT-REQUIRED")!).error).toBe("invalid_exact_evm_payload_signature");
    expect((await stack.facilitatorStats()).verify).toBe(statsBefore.verify);
    expect(await stack.balance(PAYER.address)).toBe(payerBefore);
  });

  it("does not sell a second response for a replayed PAYMENT-SIGNATURE", async () => {
    const sent: string[] = [];
    const client = stack.payingFetch(recordingFetch("PAYMENT-SIGNATURE", sent));
    const first = await client(`${stack.info.gateway}/api/weather/rome`);
    expect(first.status).toBe(200);
    const payerAfterFirst = await stack.balance(PAYER.address);
    const originAfterFirst = await stack.originCalls("/api/weather/rome");

    const replay = await fetch(`${stack.info.gateway}/api/weather/rome`, { headers: { "PAYMENT-SIGNATURE": sent[0]! } });

    expect(replay.status).toBe(402);
    expect(decodePaymentRequiredHeader(replay.headers.get("PAYMENT-REQUIRED")!).error).toMatch(/nonce|used|invalid/);
    expect(await stack.originCalls("/api/weather/rome")).toBe(originAfterFirst);
    expect(await stack.balance(PAYER.address)).toBe(payerAfterFirst);
  });

  it("charges nothing when the origin fails", async () => {
    const payerBefore = await stack.balance(PAYER.address);
    const response = await pay(`${stack.info.gateway}/api/flaky`);

    expect(response.status).toBe(500);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(await stack.balance(PAYER.address)).toBe(payerBefore);
    const rows = await eventually(
      () => stack.ledgerRows("rule_id = 'flaky'"),
      (r) => r.length > 0 && r[0]!.status !== "verified",
    );
    expect(rows).toMatchObject([{ status: "origin_failed", origin_status: 500, transaction_hash: null }]);
  });

  it("leaves verify out for a payer in good standing, and the facilitator's settle still refuses what the payer cannot cover", async () => {
    // A wallet of its own with two calls' worth: the second payment skips verify, the third finds the balance gone.
    const buyer = privateKeyToAccount(generatePrivateKey());
    await mintTestUsdc(stack.info.rpcUrl, stack.info.token.address, buyer.address, 20_000n, stack.info.chainId);
    // The official client pays the local TestUSDC only because allowedAssets lists it (stack/pay.ts).
    const buyerPays = createPayingFetch(buyer, { network: stack.info.network, address: stack.info.token.address });
    const url = `${stack.info.gateway}/api/weather/lima`;

    const first = await buyerPays(url);
    expect(first.status).toBe(200);
    expect(first.headers.get("Server-Timing")).not.toContain("skipped");
    const before = await stack.facilitatorStats();
    const second = await buyerPays(url);
    expect(second.status).toBe(200);
    expect(second.headers.get("Server-Timing")).toContain('x402-verify;desc="skipped: payer in good standing"');
    const settled = readSettlement(second)!;
    expect(await stack.receiptStatus(settled.transaction as `0x${string}`)).toBe("success");
    expect(await stack.balance(buyer.address)).toBe(0n);
    const after = await stack.facilitatorStats();
    expect([after.verify - before.verify, after.settle - before.settle]).toEqual([0, 1]);

    const sellerBefore = await stack.balance(SELLER.address);
    const originBefore = await stack.originCalls("/api/weather/lima");
    const third = await buyerPays(url);
    expect(third.status).toBe(402);
    // The 402's own JSON, not the origin's weather report.
    expect(JSON.parse(await third.text())).not.toHaveProperty("city");
    expect(decodePaymentRequiredHeader(third.headers.get("PAYMENT-REQUIRED")!).error).toBe("invalid_exact_evm_insufficient_balance");
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore);
    // The origin was asked while settle was still to come; its answer was thrown away.
    expect(await stack.originCalls("/api/weather/lima")).toBe(originBefore + 1);
    const rows = await eventually(
      () => stack.ledgerRows("payer = ? ORDER BY created_at", buyer.address),
      (r) => r.length === 3 && r.every((row) => row.status !== "verified"),
    );
    expect(rows.map((row) => row.status)).toEqual(["settled", "settled", "settle_failed"]);
  });

  // Security review F4, on the real chain and facilitator: valid for 7 more seconds, on an origin that takes 2.5 s, the
  // settle would be refused after the origin worked for nothing. Refused before either is asked.
  it("refuses an authorization that would expire before its settle, before the origin or the facilitator is asked", async () => {
    const url = `${stack.info.gateway}/api/slow?ms=2500`;
    const offer = await offerFor(url);
    const before = {
      origin: await stack.originCalls("/api/slow"),
      facilitator: await stack.facilitatorStats(),
      payer: await stack.balance(PAYER.address),
    };
    const response = await fetch(url, {
      headers: { "PAYMENT-SIGNATURE": await exactPayment(offer, { signer: PAYER, validBefore: Math.floor(Date.now() / 1000) + 7 }) },
    });
    expect(response.status).toBe(402);
    expect(decodePaymentRequiredHeader(response.headers.get("PAYMENT-REQUIRED")!).error).toBe(
      "invalid_exact_evm_payload_authorization_valid_before",
    );
    expect(await stack.originCalls("/api/slow")).toBe(before.origin);
    const after = await stack.facilitatorStats();
    expect([after.verify, after.settle]).toEqual([before.facilitator.verify, before.facilitator.settle]);
    expect(await stack.balance(PAYER.address)).toBe(before.payer);
  });

  // Security review F3, on the real chain and facilitator: 20 payments at once from a payer in good standing whose
  // balance is gone cost the origin at most 1 call (the review measured 20) and move nothing.
  it("20 payments at once from a spent payer in good standing cost the origin at most one call", async () => {
    const spent = privateKeyToAccount(generatePrivateKey());
    const url = `${stack.info.gateway}/api/weather/quito`;
    const offer = await offerFor(url);
    await mintTestUsdc(stack.info.rpcUrl, stack.info.token.address, spent.address, BigInt(offer.amount), stack.info.chainId);
    const first = await createPayingFetch(spent, { network: stack.info.network, address: stack.info.token.address })(url);
    expect(first.status).toBe(200);
    const originBefore = await stack.originCalls("/api/weather/quito");
    const sellerBefore = await stack.balance(SELLER.address);
    const headers = await Promise.all(Array.from({ length: 20 }, () => exactPayment(offer, { signer: spent })));
    const answers = await Promise.all(headers.map((header) => fetch(url, { headers: { "PAYMENT-SIGNATURE": header } })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(402));
    expect((await stack.originCalls("/api/weather/quito")) - originBefore).toBeLessThanOrEqual(1);
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore);
  });

  it("serves free routes without payment", async () => {
    const response = await fetch(stack.info.examples.free);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("authenticates to the facilitator, which refuses callers without the token", async () => {
    expect((await fetch(`${stack.info.facilitator}/supported`)).status).toBe(401);
    const ok = await fetch(`${stack.info.facilitator}/supported`, { headers: { authorization: "Bearer e2e-facilitator-token" } });
    expect(await ok.json()).toMatchObject({
      kinds: [
        { x402Version: 2, scheme: "exact", network: stack.info.network },
        { x402Version: 2, scheme: "upto", network: stack.info.network, extra: { facilitatorAddress: expect.stringMatching(/^0x/) } },
        { x402Version: 2, scheme: "batch-settlement", network: stack.info.network },
      ],
    });
  });
});
