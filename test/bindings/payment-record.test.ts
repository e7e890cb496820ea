import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newTestId } from "../fixtures/builders.js";

const lock = () => env.PAYMENT_RECORDS.get(env.PAYMENT_RECORDS.idFromName(`eip155:1:0xpayer:${newTestId()}`));

describe("PaymentRecord lock", () => {
  it("first claim wins; others see it held until it is released", async () => {
    const stub = lock();
    expect(await stub.claim("a", 60_000, 1000)).toEqual({ kind: "claimed" });
    expect(await stub.claim("b", 60_000, 1001)).toEqual({ kind: "held", state: "in_flight" });
    await stub.release("b"); // not the owner: no effect
    expect(await stub.claim("c", 60_000, 1002)).toEqual({ kind: "held", state: "in_flight" });
    await stub.release("a");
    expect(await stub.claim("c", 60_000, 1003)).toEqual({ kind: "claimed" });
  });

  it("lets an expired lease be taken over, but never a settled payment", async () => {
    const stub = lock();
    await stub.claim("a", 100, 1000);
    expect(await stub.claim("b", 100, 1200)).toEqual({ kind: "claimed" });
    await stub.complete("b", "settled", Date.now() + 60_000);
    expect(await stub.claim("c", 100, 999_999)).toEqual({ kind: "held", state: "settled" });
    await stub.release("b");
    expect(await stub.claim("c", 100, 999_999)).toEqual({ kind: "held", state: "settled" });
  });

  it("keeps a completed payment until its forget time, then forgets it", async () => {
    const stub = lock();
    await stub.claim("a", 100, 1000);
    await stub.complete("a", "unknown", Date.now() + 60_000);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now() + 50_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // early run: nothing to forget yet
    expect(await stub.claim("b", 100, 2000)).toEqual({ kind: "held", state: "unknown" });

    const expired = lock();
    await expired.claim("a", 100, 1000);
    await expired.complete("a", "settled", Date.now() - 1);
    await runDurableObjectAlarm(expired);
    expect(await expired.claim("b", 100, 2000)).toEqual({ kind: "claimed" });
  });
});

describe("PaymentRecord ledger outbox", () => {
  it("copies each recorded entry to D1 and then forgets the payment", async () => {
    const key = `eip155:1:0xpayer:${newTestId()}`;
    const stub = env.PAYMENT_RECORDS.get(env.PAYMENT_RECORDS.idFromName(key));
    const entry = {
      paymentKey: key, ruleId: "r", method: "GET", resource: "https://g/x", scheme: "exact", network: "eip155:1", asset: "0xa",
      amount: "1", payTo: "0xb", payer: "0xc", facilitator: "http://f", facilitatorId: "f", status: "verified" as const, at: "2026-11-24T00:00:00.000Z",
    };
    await stub.record(entry);
    await stub.record({ ...entry, status: "origin_failed", originStatus: 500 });
    await runDurableObjectAlarm(stub); // the alarm is due now; run it rather than wait for it

    expect(await stub.pendingLedgerWrites()).toBe(0);
    const rows = (await env.LEDGER.prepare("SELECT status, origin_status FROM payments WHERE payment_key = ?").bind(key).all()).results;
    expect(rows).toEqual([{ status: "origin_failed", origin_status: 500 }]);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
  });
});
