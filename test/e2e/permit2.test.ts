// The Permit2 variant of `exact` on chain: the official client signs a Permit2 witness transfer for an offer that
// asks for one, the official facilitator settles it through the x402 proxy (TestPermit2 and the proxy sit at
// their canonical addresses on the local chain), and the tokens move by the price.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER } from "../../stack/accounts.js";
import { readSettlement } from "../../stack/pay.js";
import { eventually, recordingFetch, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;
let pay: typeof fetch;

beforeAll(async () => {
  stack = await startStackFixture();
  pay = stack.payingFetch();
});
afterAll(async () => {
  await stack?.dispose();
});

describe("paying with Permit2 on a local chain", () => {
  it("settles a Permit2 payment through the proxy: balances move by the price, one ledger row keyed by the Permit2 nonce", async () => {
    const [payerBefore, sellerBefore] = await Promise.all([stack.balance(PAYER.address), stack.balance(SELLER.address)]);
    const sent: string[] = [];
    const recording = stack.payingFetch(recordingFetch("PAYMENT-SIGNATURE", sent));

    const response = await recording(`${stack.info.gateway}/api/fx/eur-usd`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ base: "EUR", quote: "USD" });
    const settlement = readSettlement(response)!;
    expect(settlement).toMatchObject({ success: true, payer: PAYER.address });
    expect(await stack.receiptStatus(settlement.transaction as `0x${string}`)).toBe("success");
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 10_000n);
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore + 10_000n);
    const payload = JSON.parse(Buffer.from(sent[0]!, "base64").toString("utf8")) as {
      payload: { permit2Authorization: { nonce: string } };
    };
    const rows = await eventually(
      () => stack.ledgerRows("rule_id = ?", "fx"),
      (r) => r.some((row) => row.status === "settled"),
    );
    expect(rows).toMatchObject([
      {
        status: "settled",
        payment_key: `${stack.info.network}:permit2:${PAYER.address.toLowerCase()}:${payload.payload.permit2Authorization.nonce}`,
      },
    ]);
  });

  it("refuses the same permit again, and nothing more moves", async () => {
    const sent: string[] = [];
    const recording = stack.payingFetch(recordingFetch("PAYMENT-SIGNATURE", sent));
    expect((await recording(`${stack.info.gateway}/api/fx/gbp-usd`)).status).toBe(200);
    const payerBefore = await stack.balance(PAYER.address);
    const replay = await fetch(`${stack.info.gateway}/api/fx/jpy-usd`, { headers: { "PAYMENT-SIGNATURE": sent[0]! } });
    expect(replay.status).toBe(402);
    expect(await stack.balance(PAYER.address)).toBe(payerBefore);
  });

  it("keeps EIP-3009 for the other routes on the same chain", async () => {
    const response = await pay(`${stack.info.gateway}/api/weather/oslo`);
    expect(response.status).toBe(200);
    const rows = await eventually(
      () => stack.ledgerRows("resource LIKE ?", "%/api/weather/oslo"),
      (r) => r.length > 0,
    );
    expect(String(rows[0]!.payment_key)).not.toContain(":permit2:");
  });
});
