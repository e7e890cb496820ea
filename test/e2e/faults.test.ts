// Faults on the local stack: for each, the money that moved on chain matches what was delivered,
// and the ledger says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER } from "../../stack/accounts.js";
import { readSettlement } from "../../stack/pay.js";
import { NETWORK } from "../../stack/chain.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;
let pay: typeof fetch;

beforeAll(async () => {
  // Port 1 (tcpmux): privileged and unused, so nothing listens there; a free port from the OS could be
  // taken by another test's server between the choice and the request.
  const deadOrigin = "http://127.0.0.1:1";
  stack = await startStackFixture({
    gatewayVars: { ORIGIN_TIMEOUT_MS: "1000" },
    extraRules: [
      { id: "dead-origin", path: "/api/dead", price: "$0.01", accepts: [{ network: NETWORK }], payTo: SELLER.address, origin: deadOrigin },
      {
        id: "prepaid-dead",
        path: "/api/prepaid",
        price: "$0.01",
        accepts: [{ network: NETWORK }],
        payTo: SELLER.address,
        origin: deadOrigin,
        settlement: "before-origin",
      },
    ],
  });
  pay = stack.payingFetch();
});
afterAll(async () => {
  await stack?.dispose();
});

async function finalRow(ruleId: string, resourceLike: string) {
  const rows = await eventually(
    () => stack.ledgerRows("rule_id = ? AND resource LIKE ?", ruleId, resourceLike),
    (r) => r.length > 0 && r.every((row) => row.status !== "verified"),
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

describe("faults on the local stack", () => {
  it("origin timeout: 504, nothing moves, ledger origin_failed", async () => {
    const before = await stack.balance(PAYER.address);
    const response = await pay(`${stack.info.gateway}/api/slow?ms=3000`);

    expect(response.status).toBe(504);
    expect(await stack.balance(PAYER.address)).toBe(before);
    expect(await finalRow("slow", "%ms=3000")).toMatchObject({
      status: "origin_failed",
      error_reason: "origin_timeout",
      transaction_hash: null,
    });
  });

  it("origin connection refused: 502, nothing moves, ledger origin_failed", async () => {
    const before = await stack.balance(PAYER.address);
    const response = await pay(`${stack.info.gateway}/api/dead`);

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "origin_unreachable" });
    expect(await stack.balance(PAYER.address)).toBe(before);
    expect(await finalRow("dead-origin", "%/api/dead")).toMatchObject({ status: "origin_failed", error_reason: "origin_unreachable" });
  });

  it("a paid request still works after those faults", async () => {
    const before = await stack.balance(PAYER.address);
    const response = await pay(`${stack.info.gateway}/api/slow?ms=10`);
    expect(response.status).toBe(200);
    expect(readSettlement(response)?.success).toBe(true);
    expect(await stack.balance(PAYER.address)).toBe(before - 10_000n);
  });

  it("before-origin, origin down after settlement: charged on chain, 502 with the receipt, ledger owed_refund for the operator", async () => {
    const [payerBefore, sellerBefore] = await Promise.all([stack.balance(PAYER.address), stack.balance(SELLER.address)]);
    const response = await pay(`${stack.info.gateway}/api/prepaid`);

    expect(response.status).toBe(502);
    const settlement = readSettlement(response)!;
    expect(settlement.success).toBe(true);
    expect(await stack.receiptStatus(settlement.transaction as `0x${string}`)).toBe("success");
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 10_000n);
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore + 10_000n);
    // Everything a refund needs: who paid, how much of what, on which chain, and the transfer to reverse.
    const owed = {
      status: "owed_refund",
      transaction_hash: settlement.transaction,
      payer: PAYER.address,
      amount: "10000",
      asset: stack.info.token.address,
      network: stack.info.network,
      pay_to: SELLER.address,
    };
    expect(await finalRow("prepaid-dead", "%/api/prepaid")).toMatchObject(owed);
    expect(await stack.reconciliationCases()).toContainEqual({ reason: "owed_refund", row: expect.objectContaining(owed) });
  });

  // Issue #34: the settle meets a dead facilitator (a refused connection, which workerd reports as it does one lost
  // mid-request); the chain says the authorization is unused, so it is resubmitted through the other facilitator.
  it("facilitator dies between verify and settle: the chain says nothing was sent, the other settles it, charged once", async () => {
    const before = await stack.balance(PAYER.address);
    const originBefore = await stack.originCalls("/api/slow");
    // The origin takes 800 ms; the facilitator is stopped while it works, after verify.
    const pending = pay(`${stack.info.gateway}/api/slow?ms=800`);
    await eventually(
      () => stack.originCalls("/api/slow"),
      (n) => n > originBefore,
      5000,
    );
    await stack.processes.facilitator.stop();

    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.headers.get("PAYMENT-RESPONSE")).not.toBeNull();
    await response.arrayBuffer();
    const row = await finalRow("slow", "%ms=800");
    expect(row).toMatchObject({ status: "settled", origin_status: 200, facilitator_id: "local-a", settled_by: "local-b" });
    expect(await stack.balance(PAYER.address)).toBe(before - BigInt(String(row.amount)));
  });
});
