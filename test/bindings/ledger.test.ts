import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { findReconciliationCases, recordOutcome, recordVerified, type LedgerEntry } from "../../src/ledger/ledger.js";
import { newTestId } from "../fixtures/builders.js";

function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    paymentKey: `eip155:84532:0xpayer:${newTestId()}`,
    ruleId: "weather",
    method: "GET",
    resource: "https://gateway.example/weather/paris",
    scheme: "exact",
    network: "eip155:84532",
    asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    amount: "10000",
    payTo: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    facilitator: "http://facilitator",
    facilitatorId: "primary",
    status: "verified",
    at: "2026-11-24T12:00:00.000Z",
    ...overrides,
  };
}

async function rowsFor(paymentKey: string) {
  return (await env.LEDGER.prepare("SELECT * FROM payments WHERE payment_key = ?").bind(paymentKey).all()).results;
}

describe("D1 ledger", () => {
  it("records a payment once however often it is seen", async () => {
    const e = entry();
    await recordVerified(env.LEDGER, e);
    await recordVerified(env.LEDGER, { ...e, resource: "https://gateway.example/other" });
    expect(await rowsFor(e.paymentKey)).toMatchObject([{ status: "verified", resource: e.resource }]);
  });

  it("moves verified → settled and keeps the verify timing", async () => {
    const e = entry({ verifyMs: 12 });
    await recordVerified(env.LEDGER, e);
    await recordOutcome(env.LEDGER, { ...e, status: "settled", transactionHash: "0xabc", settleMs: 800, at: "2026-11-24T12:00:01.000Z" });
    expect(await rowsFor(e.paymentKey)).toMatchObject([
      {
        status: "settled",
        transaction_hash: "0xabc",
        verify_ms: 12,
        settle_ms: 800,
        created_at: e.at,
        updated_at: "2026-11-24T12:00:01.000Z",
      },
    ]);
  });

  it("is order-independent: a late verified write does not undo the outcome", async () => {
    const e = entry();
    await recordOutcome(env.LEDGER, { ...e, status: "origin_failed", originStatus: 500 });
    await recordVerified(env.LEDGER, e);
    expect(await rowsFor(e.paymentKey)).toMatchObject([{ status: "origin_failed", origin_status: 500 }]);
  });

  it("never lets a replay's refusal overwrite a settlement, whichever lands first", async () => {
    const first = entry();
    await recordOutcome(env.LEDGER, { ...first, status: "settled", transactionHash: "0x1" });
    await recordOutcome(env.LEDGER, { ...first, status: "settle_failed", errorReason: "nonce used" });
    expect(await rowsFor(first.paymentKey)).toMatchObject([{ status: "settled", transaction_hash: "0x1" }]);

    const second = entry();
    await recordOutcome(env.LEDGER, { ...second, status: "settle_failed", errorReason: "nonce used" });
    await recordOutcome(env.LEDGER, { ...second, status: "settled", transactionHash: "0x2" });
    expect(await rowsFor(second.paymentKey)).toMatchObject([{ status: "settled", transaction_hash: "0x2" }]);
  });

  // Security review F6: a payment attempted twice (its lock released after the first failed) keeps what matters.
  it.each<[LedgerEntry["status"], LedgerEntry["status"]]>([
    ["settle_failed", "owed_refund"],
    ["origin_failed", "settle_unknown"],
    ["settle_failed", "settle_unknown"],
    ["settle_unknown", "settled"],
    ["owed_refund", "settled"],
  ])("an earlier %s never hides a later %s, in either order", async (earlier, later) => {
    for (const order of [
      [earlier, later],
      [later, earlier],
    ]) {
      const e = entry();
      await recordVerified(env.LEDGER, e);
      for (const status of order)
        await recordOutcome(env.LEDGER, {
          ...e,
          status,
          ...(status === earlier ? { errorReason: "first attempt" } : { transactionHash: "0xabc" }),
        });
      expect(await rowsFor(e.paymentKey)).toMatchObject([{ status: later }]);
    }
  });

  it("a failure read from the chain replaces an unknown settlement; a settlement or refund owed still wins over it", async () => {
    const resolved = { status: "settle_failed" as const, resolution: "chain_expired_unused", resolvedAt: "2026-11-24T12:05:00.000Z" };
    for (const order of [
      ["unknown", "resolved"],
      ["resolved", "unknown"],
    ]) {
      const e = entry();
      for (const step of order)
        await recordOutcome(
          env.LEDGER,
          step === "unknown" ? { ...e, status: "settle_unknown", errorReason: "facilitator_timeout" } : { ...e, ...resolved },
        );
      expect(await rowsFor(e.paymentKey)).toMatchObject([
        { status: "settle_failed", resolution: "chain_expired_unused", resolved_at: resolved.resolvedAt },
      ]);
    }
    const e = entry();
    await recordOutcome(env.LEDGER, {
      ...e,
      status: "owed_refund",
      transactionHash: "0xabc",
      resolution: "chain_transfer",
      resolvedAt: resolved.resolvedAt,
    });
    await recordOutcome(env.LEDGER, { ...e, ...resolved });
    expect(await rowsFor(e.paymentKey)).toMatchObject([{ status: "owed_refund", resolution: "chain_transfer", transaction_hash: "0xabc" }]);
  });

  it("refuses an unknown status", async () => {
    await expect(recordOutcome(env.LEDGER, { ...entry(), status: "paid" as never })).rejects.toThrow(/CHECK constraint/);
  });
});

describe("reconciliation", () => {
  it("finds owed refunds, unknown settlements and payments stuck in verified", async () => {
    const owed = entry({ status: "owed_refund", transactionHash: "0xowed", originStatus: 502 });
    const unknown = entry({ status: "settle_unknown", errorReason: "facilitator_timeout" });
    const stuck = entry({ at: "2020-01-01T00:00:00.000Z" });
    const fresh = entry({ at: new Date().toISOString() });
    const settled = entry({ status: "settled", transactionHash: "0xok" });
    await recordOutcome(env.LEDGER, owed);
    await recordOutcome(env.LEDGER, unknown);
    await recordVerified(env.LEDGER, stuck);
    await recordVerified(env.LEDGER, fresh);
    await recordOutcome(env.LEDGER, settled);

    const cases = await findReconciliationCases(env.LEDGER, Date.now());
    const mine = cases.filter((c) => [owed, unknown, stuck, fresh, settled].some((e) => e.paymentKey === c.row.payment_key));
    expect(mine.map((c) => [c.reason, c.row.payment_key])).toEqual(
      expect.arrayContaining([
        ["owed_refund", owed.paymentKey],
        ["settle_unknown", unknown.paymentKey],
        ["stuck_verified", stuck.paymentKey],
      ]),
    );
    expect(mine).toHaveLength(3);
  });
});
