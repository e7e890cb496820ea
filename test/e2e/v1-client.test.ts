// The official x402 V1 client (x402-fetch 1.x, unmodified) and the V2 client paying through one gateway on a
// local chain. V1 names networks (`base-sepolia`), so this stack's chain runs under Base Sepolia's id, 84532.
import { createSigner, decodeXPaymentResponse, wrapFetchWithPayment } from "x402-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, PAYER_PRIVATE_KEY, SELLER, SELLER_TWO } from "../../stack/accounts.js";
import { readSettlement } from "../../stack/pay.js";
import { eventually, recordingFetch, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;
let payV1: typeof fetch;
let payV2: typeof fetch;

beforeAll(async () => {
  stack = await startStackFixture({ chainId: 84532 });
  const wallet = await createSigner("base-sepolia", PAYER_PRIVATE_KEY);
  payV1 = wrapFetchWithPayment(fetch, wallet) as typeof fetch;
  payV2 = stack.payingFetch();
});
afterAll(async () => {
  await stack?.dispose();
});

describe("x402-fetch 1.x through the gateway", () => {
  it("pays with X-PAYMENT: mined transfer, X-PAYMENT-RESPONSE, origin once, ledger row under the CAIP-2 network", async () => {
    const [payerBefore, sellerBefore, originBefore, facilitatorBefore] = await Promise.all([
      stack.balance(PAYER.address),
      stack.balance(SELLER.address),
      stack.originCalls("/api/weather/paris"),
      stack.facilitatorStats(),
    ]);

    const response = await payV1(`${stack.info.gateway}/api/weather/paris`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ city: "paris" });
    const receipt = decodeXPaymentResponse(response.headers.get("X-PAYMENT-RESPONSE")!);
    expect(receipt).toMatchObject({ success: true, network: "base-sepolia", payer: PAYER.address });
    expect(await stack.receiptStatus(receipt.transaction as `0x${string}`)).toBe("success");
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 10_000n);
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore + 10_000n);
    expect(await stack.originCalls("/api/weather/paris")).toBe(originBefore + 1);
    const stats = await stack.facilitatorStats();
    expect([stats.verify - facilitatorBefore.verify, stats.settle - facilitatorBefore.settle]).toEqual([1, 1]);
    const rows = await eventually(
      () => stack.ledgerRows("transaction_hash = ?", receipt.transaction),
      (r) => r.length > 0,
    );
    expect(rows).toMatchObject([
      { status: "settled", network: "eip155:84532", amount: "10000", payer: PAYER.address, pay_to: SELLER.address },
    ]);
  });

  it("pays a price computed from the JSON body, and a shop's own payee", async () => {
    const [payerBefore, sellerTwoBefore] = await Promise.all([stack.balance(PAYER.address), stack.balance(SELLER_TWO.address)]);
    const completion = await payV1(`${stack.info.gateway}/api/complete`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Once upon a time", max_tokens: 500 }),
    });
    expect(completion.status).toBe(200);
    // $0.001 + 500 × $0.00001 = $0.006
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 6_000n);

    const catalog = await payV1(`${stack.info.gateway}/api/shops/globex/catalog`);
    expect(catalog.status).toBe(200);
    expect(await stack.balance(SELLER_TWO.address)).toBe(sellerTwoBefore + 20_000n);
  });

  it("refuses a replayed X-PAYMENT without a second transfer", async () => {
    const sent: string[] = [];
    const paid = await (
      wrapFetchWithPayment(recordingFetch("X-PAYMENT", sent), await createSigner("base-sepolia", PAYER_PRIVATE_KEY)) as typeof fetch
    )(`${stack.info.gateway}/api/weather/lyon`);
    expect(paid.status).toBe(200);
    const payerBefore = await stack.balance(PAYER.address);

    const replay = await fetch(`${stack.info.gateway}/api/weather/lyon`, { headers: { "X-PAYMENT": sent[0]! } });
    expect(replay.status).toBe(402);
    expect(await replay.json()).toMatchObject({ x402Version: 1, error: "payment_already_used" });
    expect(await stack.balance(PAYER.address)).toBe(payerBefore);
  });

  it("serves the V2 client on the same gateway and chain", async () => {
    const before = await stack.balance(SELLER.address);
    const response = await payV2(`${stack.info.gateway}/api/weather/rome`);
    expect(response.status).toBe(200);
    expect(readSettlement(response)).toMatchObject({ success: true, network: "eip155:84532" });
    expect(response.headers.get("X-PAYMENT-RESPONSE")).toBeNull();
    expect(await stack.balance(SELLER.address)).toBe(before + 10_000n);
  });
});
