// Dynamic prices and tenant-routed payees, paid on the local chain with the official client.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER, SELLER_TWO } from "../../stack/accounts.js";
import { readSettlement } from "../../stack/pay.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;
let pay: typeof fetch;

beforeAll(async () => {
  stack = await startStackFixture();
  pay = stack.payingFetch();
});
afterAll(async () => {
  await stack?.dispose();
});

describe("paying a per-request price and a per-tenant payee on chain", () => {
  it("charges the price computed from the request body: $0.001 + 2000 × $0.00001", async () => {
    const [payerBefore, sellerBefore] = await Promise.all([stack.balance(PAYER.address), stack.balance(SELLER.address)]);
    const response = await pay(`${stack.info.gateway}/api/complete`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Once upon a time", max_tokens: 2000 }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ max_tokens: 2000 });
    expect(readSettlement(response)?.success).toBe(true);
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 21_000n);
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore + 21_000n);
    const rows = await eventually(
      () => stack.ledgerRows("rule_id = ?", "complete"),
      (r) => r.some((row) => row.status === "settled"),
    );
    expect(rows).toMatchObject([{ status: "settled", amount: "21000", pay_to: SELLER.address }]);
  });

  it("pays each shop's own payee, taken from the KV tenant table", async () => {
    const before = await Promise.all([stack.balance(SELLER.address), stack.balance(SELLER_TWO.address)]);
    const globex = await pay(`${stack.info.gateway}/api/shops/globex/catalog`);
    expect(globex.status).toBe(200);
    expect(await stack.balance(SELLER_TWO.address)).toBe(before[1] + 20_000n);
    const acme = await pay(`${stack.info.gateway}/api/shops/acme/catalog`);
    expect(acme.status).toBe(200);
    expect(await stack.balance(SELLER.address)).toBe(before[0] + 20_000n);
    expect(await stack.balance(SELLER_TWO.address)).toBe(before[1] + 20_000n);

    const unknown = await fetch(`${stack.info.gateway}/api/shops/initech/catalog`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "unknown_tenant" });
  });
});
