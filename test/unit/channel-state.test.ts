// The channel's voucher rules (pure), and the typed data the gateway signs and checks, against the official SDK's.
import { computeChannelId as sdkChannelId } from "@x402/evm/batch-settlement/client";
import { BATCH_SETTLEMENT_ADDRESS, claimBatchTypes, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, refundTypes, voucherTypes } from "@x402/evm";
import { describe, expect, it } from "vitest";
import {
  BELOW_CLAIMED,
  CHANNEL_BUSY,
  channelFreshForMs,
  claimIntervalMs,
  commit,
  commitRefund,
  CUMULATIVE_MISMATCH,
  EXCEEDS_BALANCE,
  REFUND_NO_BALANCE,
  refundableAmount,
  release,
  reserve,
  type ChannelRecord,
  type ReserveInput,
} from "../../src/channels/channel-state.js";
import {
  CLAIM_BATCH_TYPES,
  computeChannelId,
  ERC3009_DEPOSIT_COLLECTOR,
  REFUND_TYPES,
  VOUCHER_TYPES,
  X402_BATCH_SETTLEMENT,
  type ChannelConfig,
} from "../../src/schemes/evm/channel-typed-data.js";

const CONFIG: ChannelConfig = {
  payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  payerAuthorizer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  receiver: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  receiverAuthorizer: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
  token: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  withdrawDelay: 900,
  salt: `0x${"00".repeat(32)}`,
};

const input = (overrides: Partial<ReserveInput> = {}): ReserveInput => ({
  channelId: "0xabc",
  network: "eip155:84532",
  config: CONFIG,
  voucher: { maxClaimableAmount: "1000", signature: "0x01" },
  amount: "1000",
  pendingId: "p1",
  nowMs: 1_000_000,
  leaseMs: 10_000,
  freshForMs: 60_000,
  ...overrides,
});
const SYNCED = { balance: "5000", totalClaimed: "0", withdrawRequestedAt: 0, refundNonce: "0" };

function charged(): ChannelRecord {
  const reserved = reserve(undefined, input({ synced: SYNCED }));
  if (reserved.kind !== "reserved") throw new Error("not reserved");
  const committed = commit(reserved.record, "p1", "1000", 1_000_000);
  if (committed.kind !== "committed") throw new Error("not committed");
  return committed.record;
}

describe("channel typed data", () => {
  it("matches the official SDK: addresses, type layouts and channel ids", () => {
    expect(X402_BATCH_SETTLEMENT).toBe(BATCH_SETTLEMENT_ADDRESS);
    expect(ERC3009_DEPOSIT_COLLECTOR).toBe(ERC3009_DEPOSIT_COLLECTOR_ADDRESS);
    expect(VOUCHER_TYPES).toEqual(voucherTypes);
    expect(CLAIM_BATCH_TYPES).toEqual(claimBatchTypes);
    expect(REFUND_TYPES).toEqual(refundTypes);
    for (const network of ["eip155:84532", "eip155:8453"])
      expect(computeChannelId(CONFIG, network)).toBe(sdkChannelId(CONFIG as never, network).toLowerCase());
    expect(computeChannelId({ ...CONFIG, salt: `0x${"11".repeat(32)}` }, "eip155:8453")).not.toBe(computeChannelId(CONFIG, "eip155:8453"));
  });
});

describe("channel voucher rules", () => {
  it("an unknown channel needs the chain's state first; then the payer's count is the base", () => {
    expect(reserve(undefined, input())).toEqual({ kind: "needs_sync" });
    const reserved = reserve(undefined, input({ voucher: { maxClaimableAmount: "3000", signature: "0x01" }, synced: SYNCED }));
    expect(reserved).toMatchObject({
      kind: "reserved",
      local: false,
      record: { charged: "2000", pending: { signedMaxClaimable: "3000" } },
    });
  });

  it("a known, fresh channel is decided locally; a stale one is read again", () => {
    const record = charged();
    expect(reserve(record, input({ voucher: { maxClaimableAmount: "2000", signature: "0x02" }, nowMs: 1_030_000 }))).toMatchObject({
      kind: "reserved",
      local: true,
    });
    expect(reserve(record, input({ voucher: { maxClaimableAmount: "2000", signature: "0x02" }, nowMs: 1_070_000 }))).toEqual({
      kind: "needs_sync",
    });
  });

  it("the voucher must be exactly the charged total plus the price; a mismatch carries the state to resync from", () => {
    const record = charged();
    for (const max of ["1000", "2500", "3000"]) {
      expect(reserve(record, input({ voucher: { maxClaimableAmount: max, signature: "0x02" } }))).toMatchObject({
        kind: "refused",
        reason: CUMULATIVE_MISMATCH,
        corrective: {
          channelState: { chargedCumulativeAmount: "1000", balance: "5000" },
          voucherState: { signedMaxClaimable: "1000", signature: "0x01" },
        },
      });
    }
  });

  it("never above the balance (a deposit counts), never at or below what was claimed", () => {
    const record = { ...charged(), balance: "1500" };
    expect(reserve(record, input({ voucher: { maxClaimableAmount: "2000", signature: "0x02" } }))).toMatchObject({
      kind: "refused",
      reason: EXCEEDS_BALANCE,
    });
    expect(
      reserve(
        record,
        input({
          voucher: { maxClaimableAmount: "2000", signature: "0x02" },
          depositAmount: "1000",
          synced: { ...SYNCED, balance: "1500" },
        }),
      ),
    ).toMatchObject({ kind: "reserved" });
    expect(
      reserve(
        undefined,
        input({ voucher: { maxClaimableAmount: "2000", signature: "0x02" }, synced: { ...SYNCED, totalClaimed: "2000" } }),
      ),
    ).toMatchObject({ kind: "refused", reason: BELOW_CLAIMED });
  });

  it("one request at a time, until its reservation runs out", () => {
    const reserved = reserve(charged(), input({ voucher: { maxClaimableAmount: "2000", signature: "0x02" }, pendingId: "p2" }));
    if (reserved.kind !== "reserved") throw new Error("not reserved");
    expect(reserve(reserved.record, input({ voucher: { maxClaimableAmount: "2000", signature: "0x02" }, pendingId: "p3" }))).toMatchObject({
      kind: "refused",
      reason: CHANNEL_BUSY,
    });
    expect(
      reserve(reserved.record, input({ voucher: { maxClaimableAmount: "2000", signature: "0x02" }, pendingId: "p3", nowMs: 1_011_000 })),
    ).toMatchObject({ kind: "reserved" });
    // The one that lost its reservation cannot commit any more.
    expect(commit({ ...reserved.record, pending: { ...reserved.record.pending!, id: "p3" } }, "p2", "1000", 1_011_000)).toMatchObject({
      kind: "refused",
    });
  });

  it("commits at most what the voucher signed; a release forgets the voucher (and a never-charged channel)", () => {
    const reserved = reserve(charged(), input({ voucher: { maxClaimableAmount: "2000", signature: "0x02" }, pendingId: "p2" }));
    if (reserved.kind !== "reserved") throw new Error("not reserved");
    expect(commit(reserved.record, "p2", "1001", 1_000_000)).toMatchObject({
      kind: "refused",
      reason: "invalid_batch_settlement_evm_charge_exceeds_signed_cumulative",
    });
    expect(commit(reserved.record, "p2", "1000", 1_000_000)).toMatchObject({
      kind: "committed",
      record: { charged: "2000", signedMaxClaimable: "2000", signature: "0x02" },
    });
    expect(release(reserved.record, "p2")).toMatchObject({ charged: "1000", signature: "0x01", pending: undefined });
    const fresh = reserve(undefined, input({ synced: SYNCED }));
    if (fresh.kind !== "reserved") throw new Error("not reserved");
    expect(release(fresh.record, "p1")).toBeUndefined();
  });
});

describe("channel refund rules", () => {
  const refund = (overrides: Partial<ReserveInput> = {}) =>
    input({ amount: "0", refund: true, voucher: { maxClaimableAmount: "1000", signature: "0x09" }, pendingId: "r1", ...overrides });

  it("always read the chain first; the voucher re-signs the charged total and may equal what was claimed", () => {
    const record = charged();
    expect(reserve(record, refund())).toEqual({ kind: "needs_sync" });
    expect(reserve(record, refund({ voucher: { maxClaimableAmount: "2000", signature: "0x09" }, synced: SYNCED }))).toMatchObject({
      kind: "refused",
      reason: CUMULATIVE_MISMATCH,
    });
    expect(reserve(record, refund({ synced: { ...SYNCED, totalClaimed: "1000" } }))).toMatchObject({
      kind: "reserved",
      record: { pending: { id: "r1" } },
    });
    expect(reserve(record, refund({ synced: { ...SYNCED, totalClaimed: "1001" } }))).toMatchObject({
      kind: "refused",
      reason: BELOW_CLAIMED,
    });
  });

  it("nothing to pay back when the balance is all charged; never more than what is left, less when asked", () => {
    expect(reserve(charged(), refund({ synced: { ...SYNCED, balance: "1000" } }))).toMatchObject({
      kind: "refused",
      reason: REFUND_NO_BALANCE,
    });
    const record = charged();
    expect(refundableAmount(record)).toBe(4000n);
    expect(refundableAmount(record, "500")).toBe(500n);
    expect(refundableAmount(record, "9000")).toBe(4000n);
    expect(refundableAmount({ ...record, balance: "900" })).toBe(0n);
  });

  it("a landed refund takes the chain's state and frees the channel; an unsure failure makes it read the chain again", () => {
    const reserved = reserve(charged(), refund({ synced: SYNCED }));
    if (reserved.kind !== "reserved") throw new Error("not reserved");
    const after = { balance: "1000", totalClaimed: "0", withdrawRequestedAt: 0, refundNonce: "1" };
    expect(commitRefund(reserved.record, "other", after, 2_000_000)).toMatchObject({ kind: "refused" });
    expect(commitRefund(reserved.record, "r1", after, 2_000_000)).toMatchObject({
      kind: "committed",
      record: { balance: "1000", refundNonce: "1", charged: "1000", signature: "0x01", syncedAtMs: 2_000_000, pending: undefined },
    });
    expect(release(reserved.record, "r1", true)).toMatchObject({ balance: "5000", syncedAtMs: 0, pending: undefined });
    expect(release(reserved.record, "r1")).toMatchObject({ syncedAtMs: 1_000_000 });
  });
});

// Security review F23: a claim always lands before a withdrawal requested right after the last sync can complete.
describe("channel claim interval", () => {
  it.each<[number, number, number]>([
    // configured ms, withdrawDelay s → interval ms
    [300_000, 900, 300_000],
    [600_000, 900, 480_000],
    [600_000, 86_400, 600_000],
    [300_000, 60, 1000],
  ])("configured %i ms with a %i s delay: %i ms", (configured, delay, interval) => {
    expect(claimIntervalMs(configured, delay)).toBe(interval);
    if (interval > 1000) expect(interval + channelFreshForMs(delay)).toBeLessThanOrEqual(delay * 1000 - 120_000);
  });
});
