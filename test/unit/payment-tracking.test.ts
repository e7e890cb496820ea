// A payment's `verified` row is stored with its claim, before verify is asked (test/bindings/payment-record.test.ts
// tests that storage): what verify says is merged in, and the row is rewritten only when verify named another payer
// or facilitator than the claim's row did. A lock released before verify accepted drops the row with it. The claim
// here is a stand-in for the PaymentRecord RPC surface: what is tested is which calls go out.
import { describe, expect, it } from "vitest";
import type { LedgerEntry } from "../../src/ledger/ledger.js";
import type { PaymentClaim } from "../../src/payment-record/claim-payment.js";
import { LedgerWriter, LockHandle } from "../../src/pipeline/payment-tracking.js";

const entry: LedgerEntry = {
  paymentKey: "eip155:1:0xpayer:0x01",
  ruleId: "r",
  method: "GET",
  resource: "https://g/x",
  scheme: "exact",
  network: "eip155:1",
  asset: "0xa",
  amount: "1",
  payTo: "0xb",
  payer: "0xc",
  facilitator: "http://f",
  facilitatorId: "f",
  status: "verified",
  at: "2026-12-03T00:00:00.000Z",
};

function recordingClaim(): { claim: PaymentClaim; calls: { op: string; keepRow?: boolean | undefined; entry?: LedgerEntry }[] } {
  const calls: { op: string; keepRow?: boolean | undefined; entry?: LedgerEntry }[] = [];
  return {
    calls,
    claim: {
      release: async (keepRow) => void calls.push({ op: "release", keepRow }),
      complete: async (_state, written) => void calls.push({ op: "complete", ...(written ? { entry: written } : {}) }),
      record: async (written) => void calls.push({ op: "record", entry: written }),
    },
  };
}

const pending: Promise<unknown>[] = [];
const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) };
const drained = async () => {
  while (pending.length > 0) await pending.shift();
};

describe("LedgerWriter.verified", () => {
  it("writes nothing when verify names the claim's payer and facilitator: the row stored with the claim stands", async () => {
    const { claim, calls } = recordingClaim();
    const ledger = new LedgerWriter(new LockHandle(claim, ctx, entry.paymentKey), { ...entry }, () => 0);
    ledger.verified({ payer: "0xc", facilitator: "http://f", facilitatorId: "f", verifyMs: 7 });
    await drained();
    expect(calls).toEqual([]);
    ledger.completed("settled", { status: "settled", transactionHash: "0x1" });
    await drained();
    expect(calls).toMatchObject([
      { op: "complete", entry: { status: "settled", verifyMs: 7, facilitatorId: "f", transactionHash: "0x1" } },
    ]);
  });

  it("rewrites the row when verify failed over to another facilitator, or named another payer", async () => {
    for (const update of [
      { payer: "0xc", facilitator: "http://backup", facilitatorId: "backup", verifyMs: 9 },
      { payer: "0xd", facilitator: "http://f", facilitatorId: "f", verifyMs: 9 },
    ]) {
      const { claim, calls } = recordingClaim();
      const ledger = new LedgerWriter(new LockHandle(claim, ctx, entry.paymentKey), { ...entry }, () => 0);
      ledger.verified(update);
      await drained();
      expect(calls).toEqual([{ op: "record", entry: { ...entry, ...update } }]);
    }
  });
});

describe("LockHandle.release", () => {
  it("keeps the row after verify accepted, and drops it with a lock released before", async () => {
    const { claim, calls } = recordingClaim();
    const lock = new LockHandle(claim, ctx, entry.paymentKey);
    lock.release();
    lock.releaseUnverified();
    await drained();
    expect(calls).toEqual([
      { op: "release", keepRow: undefined },
      { op: "release", keepRow: false },
    ]);
  });
});
