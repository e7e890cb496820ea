// A settle the official facilitator broadcast but did not see confirmed (`settlement_pending` with the transaction,
// @x402/evm 2.27): the gateway reads the receipt from the chain (RPC_URLS) within the settle budget and serves the
// paid answer once the transfer is mined (issue #34). The chain mines a block every 2 s, as Base does; the
// facilitator gives up waiting for a receipt after 300 ms. One not mined within the settle budget (5 s here) is left
// unknown, its answer withheld, and the PaymentRecord's reconciler reads it from the chain once it is mined: a payer
// without a payment-identifier is owed a refund; one with it gets the kept answer on a retry.
import { decodePaymentResponseHeader } from "@x402/fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER } from "../../stack/accounts.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;

/** The official client's payment, with a payment-identifier added to it (the extension is outside the signature). */
function withPaymentIdentifier(id: string, sent: string[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const signature = request.headers.get("PAYMENT-SIGNATURE");
    if (!signature) return fetch(request);
    const payload = JSON.parse(Buffer.from(signature, "base64").toString("utf8")) as { extensions?: Record<string, unknown> };
    payload.extensions = { ...payload.extensions, "payment-identifier": { info: { required: false, id } } };
    const encoded = Buffer.from(JSON.stringify(payload)).toString("base64");
    sent.push(encoded);
    const headers = new Headers(request.headers);
    headers.set("PAYMENT-SIGNATURE", encoded);
    return fetch(new Request(request, { headers }));
  };
}

async function rpc(method: string, params: unknown[]): Promise<void> {
  const reply = (await (
    await fetch(stack.info.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    })
  ).json()) as { error?: { message: string } };
  if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
}

beforeAll(async () => {
  stack = await startStackFixture({ facilitatorConfirmationTimeoutMs: 300, gatewayVars: { FACILITATOR_SETTLE_TIMEOUT_MS: "5000" } });
});
afterAll(async () => {
  await stack?.dispose();
});

describe("a settle broadcast but not confirmed", () => {
  it("is resolved from the transaction's receipt: the answer is served, the payer charged once, the ledger names the transaction", async () => {
    const url = `${stack.info.gateway}/api/weather/pending`;
    const payTo = (JSON.parse(atob((await fetch(url)).headers.get("PAYMENT-REQUIRED")!)) as { accepts: { payTo: `0x${string}` }[] })
      .accepts[0]!.payTo;
    const [payerBefore, payeeBefore] = [await stack.balance(PAYER.address), await stack.balance(payTo)];
    await rpc("evm_setIntervalMining", [2]);
    let response: Response;
    try {
      response = await stack.payingFetch()(url);
    } finally {
      await rpc("evm_setIntervalMining", [0]);
      await rpc("evm_setAutomine", [true]);
    }
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ city: "pending" });
    const settled = decodePaymentResponseHeader(response.headers.get("PAYMENT-RESPONSE")!);
    expect(settled).toMatchObject({ success: true, transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    // The facilitator did answer "pending": its settle count is 1, and no second settle was sent anywhere.
    const stats = (await (await fetch(`${stack.info.facilitators[0]!.url}/__stats`)).json()) as { settle: number };
    expect(stats.settle).toBe(1);

    const [row] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/weather/pending'"),
      (rows) => rows.length === 1 && rows[0]!.status === "settled",
    );
    expect(row).toMatchObject({ status: "settled", transaction_hash: settled.transaction });
    const price = payeeBefore - (await stack.balance(payTo));
    expect(price).toBeLessThan(0n);
    expect(payerBefore - (await stack.balance(PAYER.address))).toBe(-price);
  });

  it("not mined within the budget: the answer is withheld, then the reconciler finds the transfer and records the refund owed", async () => {
    const url = `${stack.info.gateway}/api/weather/mined-late`;
    const payTo = (JSON.parse(atob((await fetch(url)).headers.get("PAYMENT-REQUIRED")!)) as { accepts: { payTo: `0x${string}` }[] })
      .accepts[0]!.payTo;
    const [payerBefore, payeeBefore] = [await stack.balance(PAYER.address), await stack.balance(payTo)];
    // No block is mined while the request runs: the transaction waits in the mempool past the settle budget.
    await rpc("evm_setAutomine", [false]);
    let response: Response;
    try {
      response = await stack.payingFetch()(url);
    } finally {
      await rpc("evm_mine", []);
      await rpc("evm_setAutomine", [true]);
    }
    expect(response.status).toBe(502);
    expect(await response.text()).not.toContain("mined-late");
    const [unknown] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/weather/mined-late'"),
      (rows) => rows[0]?.status === "settle_unknown",
    );
    expect(unknown).toMatchObject({ resolution: null });
    // Mined now; the reconciler's first look is 5 s after the request left it unknown.
    const [row] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/weather/mined-late'"),
      (rows) => rows[0]?.status === "owed_refund",
      20_000,
    );
    expect(row).toMatchObject({
      resolution: "chain_transfer",
      transaction_hash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
      resolved_at: expect.any(String),
    });
    const moved = (await stack.balance(payTo)) - payeeBefore;
    expect(moved).toBeGreaterThan(0n);
    expect(payerBefore - (await stack.balance(PAYER.address))).toBe(moved);
  });

  it("with a payment-identifier: the answer is kept, a retry waits (409), then gets it with its receipt once the chain shows it paid", async () => {
    const url = `${stack.info.gateway}/api/weather/kept-late`;
    const payTo = (JSON.parse(atob((await fetch(url)).headers.get("PAYMENT-REQUIRED")!)) as { accepts: { payTo: `0x${string}` }[] })
      .accepts[0]!.payTo;
    const [payerBefore, payeeBefore] = [await stack.balance(PAYER.address), await stack.balance(payTo)];
    const sent: string[] = [];
    await rpc("evm_setAutomine", [false]);
    try {
      const response = await stack.payingFetch(withPaymentIdentifier(`pay_kept_late_${Date.now()}`, sent))(url);
      expect(response.status).toBe(502);
      expect(await response.text()).not.toContain("kept-late");
      // The outcome is not known yet: told to retry, not charged again, nothing served.
      const early = await fetch(url, { headers: { "PAYMENT-SIGNATURE": sent.at(-1)! } });
      expect(early.status).toBe(409);
      expect(await early.json()).toMatchObject({ error: "payment_in_progress" });
    } finally {
      await rpc("evm_mine", []);
      await rpc("evm_setAutomine", [true]);
    }
    const [row] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/weather/kept-late'"),
      (rows) => rows[0]?.status === "settled",
      20_000,
    );
    expect(row).toMatchObject({ resolution: "chain_transfer", transaction_hash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const retry = await fetch(url, { headers: { "PAYMENT-SIGNATURE": sent.at(-1)! } });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ city: "kept-late" });
    expect(retry.headers.get("X402-Idempotent-Replay")).toBe("true");
    expect(decodePaymentResponseHeader(retry.headers.get("PAYMENT-RESPONSE")!)).toMatchObject({
      success: true,
      transaction: row!.transaction_hash,
    });
    const moved = (await stack.balance(payTo)) - payeeBefore;
    expect(moved).toBeGreaterThan(0n);
    expect(payerBefore - (await stack.balance(PAYER.address))).toBe(moved);
  });

  it("Permit2, not mined within the budget: the reconciler finds its transaction among the payer's like payments", async () => {
    const paid = async (pair: string) => {
      const response = await stack.payingFetch()(`${stack.info.gateway}/api/fx/${pair}`);
      expect(response.status).toBe(200);
      return decodePaymentResponseHeader(response.headers.get("PAYMENT-RESPONSE")!).transaction;
    };
    // Payments just like it (same payer, payee and amount), one before and one after: Permit2 logs no nonce, so only
    // the calldata of the transaction that spent this nonce tells them apart.
    const before = await paid("usd-eur");
    const payerBefore = await stack.balance(PAYER.address);
    await rpc("evm_setAutomine", [false]);
    let response: Response;
    try {
      response = await stack.payingFetch()(`${stack.info.gateway}/api/fx/usd-chf`);
    } finally {
      await rpc("evm_mine", []);
      await rpc("evm_setAutomine", [true]);
    }
    expect(response.status).toBe(502);
    expect(await response.text()).not.toContain("CHF");
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 10_000n);
    const after = await paid("usd-jpy");
    const [row] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/fx/usd-chf'"),
      (rows) => rows[0]?.status === "owed_refund",
      20_000,
    );
    expect(row).toMatchObject({ resolution: "chain_transfer", payment_key: expect.stringContaining(":permit2:") });
    expect([before, after]).not.toContain(row!.transaction_hash);
    expect(await stack.receiptStatus(row!.transaction_hash as `0x${string}`)).toBe("success");
  });
});
