// `upto` on the local stack: the official upto client authorizes the rule's maximum (a Permit2 witness transfer
// to x402's upto proxy, placed at its canonical address), the gateway meters the origin's answer, and the payer
// is charged exactly the metered amount on chain; nothing used, nothing sent.
import { wrapFetchWithPaymentFromConfig } from "@x402/fetch";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER } from "../../stack/accounts.js";
import { readSettlement } from "../../stack/pay.js";
import { eventually, recordingFetch, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;
let pay: typeof fetch;
const sent: string[] = [];

beforeAll(async () => {
  stack = await startStackFixture();
  // TestUSDC is not one of the client's built-in assets: spendControls.allowedAssets names it.
  pay = wrapFetchWithPaymentFromConfig(recordingFetch("PAYMENT-SIGNATURE", sent), {
    schemes: [{ network: "eip155:*", client: new UptoEvmScheme(PAYER) }],
    spendControls: {
      allowedAssets: [
        { network: stack.info.network as `${string}:${string}`, asset: stack.info.token.address, maxAmountPerPayment: "1000000" },
      ],
    },
  });
});
afterAll(async () => {
  await stack?.dispose();
});

async function row(transactionOrPath: { tx?: string; resource?: string }) {
  const [where, value] = transactionOrPath.tx
    ? ["transaction_hash = ?", transactionOrPath.tx]
    : ["resource LIKE ?", `%${transactionOrPath.resource}`];
  const rows = await eventually(
    () => stack.ledgerRows(`${where} AND status <> 'verified'`, value),
    (r) => r.length === 1,
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function payAndMeasure(path: string) {
  const before = { payer: await stack.balance(PAYER.address), seller: await stack.balance(SELLER.address) };
  const response = await pay(`${stack.info.gateway}${path}`);
  const after = { payer: await stack.balance(PAYER.address), seller: await stack.balance(SELLER.address) };
  return { response, paid: before.payer - after.payer, received: after.seller - before.seller };
}

describe("upto metered by the origin's header", () => {
  it("charges exactly the metered amount, reports it, and hides the usage header", async () => {
    const challenge = await fetch(`${stack.info.gateway}/api/metered/header?tokens=25`);
    expect(challenge.status).toBe(402);
    const offer = JSON.parse(Buffer.from(challenge.headers.get("PAYMENT-REQUIRED")!, "base64").toString()).accepts[0];
    expect(offer).toMatchObject({
      scheme: "upto",
      amount: "100000",
      extra: { assetTransferMethod: "permit2", facilitatorAddress: expect.stringMatching(/^0x/) },
    });

    const { response, paid, received } = await payAndMeasure("/api/metered/header?tokens=25");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ completion: "metered by header" });
    expect(response.headers.get("x-usage-units")).toBeNull();
    // 25 tokens × $0.001 = $0.025 = 25000 atomic, of the 100000 authorized.
    expect(paid).toBe(25_000n);
    expect(received).toBe(25_000n);
    const settlement = readSettlement(response)!;
    expect(settlement).toMatchObject({ success: true, amount: "25000", transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(await stack.receiptStatus(settlement.transaction as `0x${string}`)).toBe("success");
    expect(await row({ tx: settlement.transaction })).toMatchObject({
      scheme: "upto",
      status: "settled",
      amount: "25000",
      max_amount: "100000",
      metered_units: "25",
    });
  });

  it("zero usage settles nothing and sends no transaction", async () => {
    const settlesBefore = (await stack.facilitatorStats()).settle;
    const { response, paid } = await payAndMeasure("/api/metered/header?tokens=0");
    expect(response.status).toBe(200);
    expect(paid).toBe(0n);
    expect(readSettlement(response)).toMatchObject({ success: true, amount: "0", transaction: "" });
    expect((await stack.facilitatorStats()).settle).toBe(settlesBefore);
    expect(await row({ resource: "/api/metered/header?tokens=0" })).toMatchObject({
      status: "settled",
      amount: "0",
      max_amount: "100000",
      metered_units: "0",
    });
  });

  it("a usage above the cap is charged by the rule's policy (base: $0), never above the maximum", async () => {
    const { response, paid } = await payAndMeasure("/api/metered/header?tokens=5000");
    expect(response.status).toBe(200);
    expect(paid).toBe(0n);
    expect(await row({ resource: "/api/metered/header?tokens=5000" })).toMatchObject({ amount: "0", metered_units: "5000" });
  });

  it("a settled payment cannot be replayed", async () => {
    const last = sent.at(-1)!;
    const replay = await fetch(`${stack.info.gateway}/api/metered/header?tokens=5000`, { headers: { "PAYMENT-SIGNATURE": last } });
    expect(replay.status).toBe(402);
    expect(JSON.parse(Buffer.from(replay.headers.get("PAYMENT-REQUIRED")!, "base64").toString()).error).toBe("payment_already_used");
  });
});

describe("upto metered by a JSON field of the answer", () => {
  it("charges base + tokens × unit price", async () => {
    const { response, paid } = await payAndMeasure("/api/metered/json?tokens=120");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ completion: "metered by body", usage: { total_tokens: 120 } });
    // $0.001 + 120 × $0.0002 = $0.025.
    expect(paid).toBe(25_000n);
    expect(readSettlement(response)).toMatchObject({ amount: "25000" });
  });

  it("a missing usage is charged by the rule's policy (cap: the maximum)", async () => {
    const { response, paid } = await payAndMeasure("/api/metered/json");
    expect(response.status).toBe(200);
    expect(paid).toBe(50_000n);
    expect(await row({ resource: "/api/metered/json" })).toMatchObject({ amount: "50000", max_amount: "50000", metered_units: null });
  });
});

describe("upto metered from a streamed (SSE) answer's last event", () => {
  it("streams the events as they arrive, then settles exactly the usage and sends the receipt as a last event", async () => {
    const before = await stack.balance(PAYER.address);
    const started = Date.now();
    const response = await pay(`${stack.info.gateway}/api/metered/stream?tokens=300`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    const firstAt = Date.now() - started;
    let text = decoder.decode(first.value);
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      text += decoder.decode(next.value, { stream: true });
    }
    const totalMs = Date.now() - started;
    // Not buffered: the first event came well before the origin's last (3 × 150 ms apart).
    expect(text.startsWith('data: {"text":"metered"}')).toBe(true);
    expect(totalMs - firstAt).toBeGreaterThan(250);
    const receipt = /event: payment-response\ndata: (\S+)\n\n$/.exec(text);
    expect(receipt, text).not.toBeNull();
    const settled = JSON.parse(Buffer.from(receipt![1]!, "base64").toString()) as { success: boolean; amount: string; transaction: string };
    // 300 tokens × $0.0001 = $0.03 = 30000 atomic, of the 50000 authorized.
    expect(settled).toMatchObject({ success: true, amount: "30000" });
    expect(before - (await stack.balance(PAYER.address))).toBe(30_000n);
    expect(await row({ tx: settled.transaction })).toMatchObject({
      status: "settled",
      amount: "30000",
      max_amount: "50000",
      metered_units: "300",
    });
  });

  // Security review F1: content went out, so leaving early is charged (meter.onCancel, default the cap's price),
  // and the same authorization buys no second stream.
  it("a client that leaves after content went out pays the cap's price, and its signature buys nothing more", {
    timeout: 30_000,
  }, async () => {
    const before = await stack.balance(PAYER.address);
    sent.length = 0;
    const response = await pay(`${stack.info.gateway}/api/metered/stream?tokens=300&gapMs=400`);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    // 400 tokens (the cap) × $0.0001 = $0.04 = 40000 atomic, of the 50000 authorized; should the runtime not pass the
    // disconnect on, the stream, no longer read, is ended at the rule's maxStreamSeconds (5 s) and charged the same.
    const after = await eventually(
      () => stack.balance(PAYER.address),
      (balance) => before - balance === 40_000n,
      10_000,
    );
    expect(before - after).toBe(40_000n);
    expect(await row({ resource: "gapMs=400" })).toMatchObject({
      status: "settled",
      amount: "40000",
      error_reason: expect.stringMatching(/^(client_disconnected|stream_time_limit)$/),
    });
    const again = await fetch(`${stack.info.gateway}/api/metered/stream?tokens=300&gapMs=400`, {
      headers: { "PAYMENT-SIGNATURE": sent.at(-1)! },
    });
    expect(again.status).toBe(402);
    await again.body?.cancel();
  });
});
