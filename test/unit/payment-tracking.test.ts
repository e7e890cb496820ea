// A settle may move money, so it waits until the payment's `verified` row is stored with its lock: a Worker that
// dies mid-settle then leaves that row for the lease's end. The claim here is a stand-in for the PaymentRecord
// RPC surface (its storage is tested in test/bindings/payment-record.test.ts): what is tested is the order.
import { describe, expect, it } from "vitest";
import { GatewayFailure } from "../../src/errors.js";
import { isNotSubmitted } from "../../src/facilitator/facilitator-pool.js";
import type { LedgerEntry } from "../../src/ledger/ledger.js";
import type { PaymentClaim } from "../../src/payment-record/claim-payment.js";
import { LedgerWriter, LockHandle } from "../../src/pipeline/payment-tracking.js";

const entry: LedgerEntry = {
  paymentKey: "eip155:1:0xpayer:0x01", ruleId: "r", method: "GET", resource: "https://g/x", scheme: "exact", network: "eip155:1",
  asset: "0xa", amount: "1", payTo: "0xb", payer: "0xc", facilitator: "http://f", facilitatorId: "f", status: "verified", at: "2026-12-03T00:00:00.000Z",
};

function claimRecording(record: (entry: LedgerEntry) => Promise<void>): { claim: PaymentClaim; recorded: LedgerEntry[] } {
  const recorded: LedgerEntry[] = [];
  return {
    recorded,
    claim: {
      release: async () => {},
      complete: async () => {},
      record: async (written) => {
        await record(written);
        recorded.push(written);
      },
    },
  };
}

const waitUntil = { waitUntil: (promise: Promise<unknown>) => void promise.catch(() => {}) };
const settledWithin = async (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe("LedgerWriter.beforeSettle", () => {
  it("holds the settle until the verified row is stored, then lets it go", async () => {
    let store!: () => void;
    const { claim, recorded } = claimRecording(() => new Promise<void>((resolve) => (store = resolve)));
    const ledger = new LedgerWriter(new LockHandle(claim, waitUntil, entry.paymentKey), { ...entry }, () => 0);
    ledger.verified();
    const settle = ledger.beforeSettle();
    expect(await settledWithin(settle, 50)).toBe(false);
    store();
    await expect(settle).resolves.toBeUndefined();
    expect(recorded.map((row) => row.status)).toEqual(["verified"]);
  });

  it("refuses the settle, as not submitted, when the verified row cannot be stored", async () => {
    const { claim } = claimRecording(async () => {
      throw new Error("Durable Object unreachable");
    });
    const ledger = new LedgerWriter(new LockHandle(claim, waitUntil, entry.paymentKey), { ...entry }, () => 0);
    ledger.verified();
    const refused = await ledger.beforeSettle().then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayFailure);
    expect((refused as GatewayFailure).error.kind).toBe("ledger_unavailable");
    // Not submitted: the payment is released and the payer may present it again.
    expect(isNotSubmitted(refused)).toBe(true);
  });

  it("does not wait when no verified row was written (nothing verified yet)", async () => {
    const { claim } = claimRecording(() => new Promise<void>(() => {}));
    const ledger = new LedgerWriter(new LockHandle(claim, waitUntil, entry.paymentKey), { ...entry }, () => 0);
    expect(await settledWithin(ledger.beforeSettle(), 50)).toBe(true);
  });
});
