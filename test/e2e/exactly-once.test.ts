// Exactly-once settlement on the real chain (issue #34): a settle whose outcome the gateway cannot know is asked of
// the chain, within the settle budget. The preferred facilitator (official @x402 packages) is made to fail after it
// broadcast (landed: served with its transaction) or before (not landed: resubmitted through the other one). Either
// way the payer is charged exactly once.
import { decodePaymentResponseHeader } from "@x402/fetch";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PAYER } from "../../stack/accounts.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;

const facilitatorUrl = (index: number) => stack.info.facilitators[index]!.url;
const settles = async (index: number) => ((await (await fetch(`${facilitatorUrl(index)}/__stats`)).json()) as { settle: number }).settle;
const setFault = (settle: "drop-after-broadcast" | "hang" | null) =>
  fetch(`${facilitatorUrl(0)}/__fault`, { method: "POST", body: JSON.stringify({ settle }) });

beforeAll(async () => {
  // local-a gives up after 2 s; the phase lasts local-b's 30 s, so there is room to ask the chain and resubmit.
  stack = await startStackFixture({ primarySettleTimeoutMs: 2000 });
});
afterEach(async () => {
  await setFault(null);
});
afterAll(async () => {
  await stack?.dispose();
});

async function paidOnce(path: string) {
  const url = `${stack.info.gateway}${path}`;
  const payTo = (JSON.parse(atob((await fetch(url)).headers.get("PAYMENT-REQUIRED")!)) as { accepts: { payTo: `0x${string}` }[] })
    .accepts[0]!.payTo;
  const before = { payer: await stack.balance(PAYER.address), payee: await stack.balance(payTo), a: await settles(0), b: await settles(1) };
  const response = await stack.payingFetch()(url);
  const body = await response.text();
  const after = { payer: await stack.balance(PAYER.address), payee: await stack.balance(payTo), a: await settles(0), b: await settles(1) };
  return {
    response,
    body,
    moved: after.payee - before.payee,
    paid: before.payer - after.payer,
    settlesA: after.a - before.a,
    settlesB: after.b - before.b,
  };
}

describe("a settle whose answer is lost", () => {
  it("landed, then the connection dropped: read from the chain, served with its transaction, charged once", async () => {
    await setFault("drop-after-broadcast");
    const { response, body, moved, paid, settlesA, settlesB } = await paidOnce("/api/weather/dropped");
    expect(response.status).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ city: "dropped" });
    const settled = decodePaymentResponseHeader(response.headers.get("PAYMENT-RESPONSE")!);
    expect(settled).toMatchObject({ success: true, transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect([settlesA, settlesB]).toEqual([1, 0]);
    expect(moved).toBeGreaterThan(0n);
    expect(paid).toBe(moved);
    const [row] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/weather/dropped'"),
      (rows) => rows.length === 1 && rows[0]!.status === "settled",
    );
    expect(row).toMatchObject({ transaction_hash: settled.transaction });
  });

  it("never sent, the facilitator silent: the chain says unused, resubmitted through the other, charged once", async () => {
    await setFault("hang");
    const { response, moved, paid, settlesA, settlesB } = await paidOnce("/api/weather/silent");
    expect(response.status).toBe(200);
    expect([settlesA, settlesB]).toEqual([1, 1]);
    expect(moved).toBeGreaterThan(0n);
    expect(paid).toBe(moved);
    const [row] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/weather/silent'"),
      (rows) => rows.length === 1 && rows[0]!.status === "settled",
    );
    expect(row).toMatchObject({ settled_by: "local-b" });
  });

  // Permit2 logs no use of a nonce: the chain is asked through Permit2's nonce bitmap, and the transaction found as
  // the payer's transfer whose calldata settles this owner's nonce through the exact proxy.
  it("Permit2, landed, then the connection dropped: read from the chain, served with its transaction, charged once", async () => {
    await setFault("drop-after-broadcast");
    const { response, body, moved, paid, settlesA, settlesB } = await paidOnce("/api/fx/eur-chf");
    expect(response.status).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ base: "EUR", quote: "CHF" });
    const settled = decodePaymentResponseHeader(response.headers.get("PAYMENT-RESPONSE")!);
    expect(settled).toMatchObject({ success: true, transaction: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(await stack.receiptStatus(settled.transaction as `0x${string}`)).toBe("success");
    expect([settlesA, settlesB]).toEqual([1, 0]);
    expect(moved).toBe(10_000n);
    expect(paid).toBe(moved);
    const [row] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/fx/eur-chf'"),
      (rows) => rows.length === 1 && rows[0]!.status === "settled",
    );
    expect(row).toMatchObject({ transaction_hash: settled.transaction, payment_key: expect.stringContaining(":permit2:") });
  });

  it("Permit2, never sent, the facilitator silent: the nonce bitmap says unused, resubmitted through the other, charged once", async () => {
    await setFault("hang");
    const { response, moved, paid, settlesA, settlesB } = await paidOnce("/api/fx/eur-sek");
    expect(response.status).toBe(200);
    expect([settlesA, settlesB]).toEqual([1, 1]);
    expect(moved).toBe(10_000n);
    expect(paid).toBe(moved);
    const [row] = await eventually(
      () => stack.ledgerRows("resource LIKE '%/api/fx/eur-sek'"),
      (rows) => rows.length === 1 && rows[0]!.status === "settled",
    );
    expect(row).toMatchObject({ settled_by: "local-b" });
  });
});
