// 100 concurrent requests carrying one PAYMENT-SIGNATURE, on the local chain: one origin call, one settlement.
import { decodePaymentRequiredHeader } from "@x402/core/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER } from "../../stack/accounts.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;

beforeAll(async () => {
  stack = await startStackFixture();
});
afterAll(async () => {
  await stack?.dispose();
});

/** Has the official client sign a payment for `url` and hands back its PAYMENT-SIGNATURE without sending it. */
async function signWithOfficialClient(url: string): Promise<string> {
  let captured: string | undefined;
  const capture: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    captured ??= request.headers.get("PAYMENT-SIGNATURE") ?? undefined;
    return captured ? new Response("captured") : fetch(request);
  };
  await stack.payingFetch(capture)(url);
  if (!captured) throw new Error("the client sent no payment");
  return captured;
}

describe("concurrent replays of one payment", () => {
  it("serves and settles exactly one of 100 concurrent requests", async () => {
    const url = `${stack.info.gateway}/api/weather/concurrency`;
    const header = await signWithOfficialClient(url);
    const [payerBefore, sellerBefore, facilitatorBefore] = await Promise.all([
      stack.balance(PAYER.address),
      stack.balance(SELLER.address),
      stack.facilitatorStats(),
    ]);

    const responses = await Promise.all(Array.from({ length: 100 }, () => fetch(url, { headers: { "PAYMENT-SIGNATURE": header } })));

    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 402);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(99);
    expect(new Set(refused.map((r) => decodePaymentRequiredHeader(r.headers.get("PAYMENT-REQUIRED")!).error))).toEqual(
      new Set(["payment_already_used"]),
    );
    expect(await stack.originCalls("/api/weather/concurrency")).toBe(1);
    const facilitatorAfter = await stack.facilitatorStats();
    expect(facilitatorAfter.settle - facilitatorBefore.settle).toBe(1);
    expect(facilitatorAfter.verify - facilitatorBefore.verify).toBe(1);
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 10_000n);
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore + 10_000n);
    const rows = await eventually(
      () => stack.ledgerRows("resource LIKE ?", "%/concurrency"),
      (r) => r.length > 0 && r[0]!.status === "settled",
    );
    expect(rows).toMatchObject([{ status: "settled" }]);
    console.log(
      `concurrent replay: 100 requests → ${ok.length} served, ${refused.length} refused; origin calls 1, verify ${facilitatorAfter.verify - facilitatorBefore.verify}, settle ${facilitatorAfter.settle - facilitatorBefore.settle}, ledger rows ${rows.length}`,
    );
  });
});
