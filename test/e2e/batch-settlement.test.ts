// batch-settlement through the gateway on the local stack: the official batch-settlement client (TestUSDC named in
// spendControls.allowedAssets, as the client refuses tokens it does not know) opens a channel with one deposit,
// then pays each call with a voucher the gateway checks itself; the channel's alarm claims the vouchers on chain
// through the official facilitator and settles them to the seller. Balances add up to the atomic unit.
import { wrapFetchWithPaymentFromConfig } from "@x402/fetch";
import { BatchSettlementEvmScheme, computeChannelId } from "@x402/evm/batch-settlement/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER } from "../../stack/accounts.js";
import { localChain, X402_BATCH_SETTLEMENT } from "../../stack/chain.js";
import { toClientEvmSigner } from "@x402/evm";
import { createPublicClient, http } from "viem";
import { readSettlement } from "../../stack/pay.js";
import { eventually, recordingFetch, startStackFixture, type StackFixture } from "./stack-fixture.js";

const CLAIM_INTERVAL_SECONDS = 4;
const PRICE = 1000n;

let stack: StackFixture;
let pay: typeof fetch;
/** The paying client's scheme: it keeps the channel, and asks for refunds. */
let scheme: BatchSettlementEvmScheme;
const sent: string[] = [];
/** Balances before the channel was opened. */
let initial: { payer: bigint; seller: bigint; escrow: bigint };

beforeAll(async () => {
  stack = await startStackFixture({ gatewayVars: { CHANNEL_CLAIM_INTERVAL_SECONDS: String(CLAIM_INTERVAL_SECONDS) } });
  // A signer that can read the chain: the client can then resync from a corrective 402 (the refund below needs it).
  const reader = createPublicClient({ chain: localChain(stack.info.rpcUrl, stack.info.chainId), transport: http(stack.info.rpcUrl) });
  scheme = new BatchSettlementEvmScheme(toClientEvmSigner(PAYER, reader));
  pay = wrapFetchWithPaymentFromConfig(recordingFetch("PAYMENT-SIGNATURE", sent), {
    schemes: [{ network: "eip155:*", client: scheme }],
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

async function admin(path: string, init: RequestInit = {}) {
  const response = await fetch(`${stack.info.gateway}${stack.info.admin.prefix}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${stack.info.admin.token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

type Channels = {
  channels: { channelId: string; charged: string; totalClaimed: string; balance: string }[];
  claims: { status: string; amount: string; totalClaimed: string; claimTransaction: string; settleTransaction: string | null }[];
  refunds: { channelId: string; status: string; amount: string; refunded: string; refundNonce: string; transactionHash: string }[];
};

describe("batch-settlement with the official client", () => {
  let channelId = "";
  let deposit = 0n;

  it("50 calls: one deposit, vouchers checked without the facilitator, claimed on schedule; balances add up exactly", async () => {
    const offer = JSON.parse(
      Buffer.from((await fetch(`${stack.info.gateway}/api/batch/probe`)).headers.get("PAYMENT-REQUIRED")!, "base64").toString(),
    ).accepts[0];
    expect(offer).toMatchObject({
      scheme: "batch-settlement",
      amount: PRICE.toString(),
      extra: { receiverAuthorizer: expect.stringMatching(/^0x/), withdrawDelay: 900, minDeposit: "100000" },
    });
    const before = {
      payer: await stack.balance(PAYER.address),
      seller: await stack.balance(SELLER.address),
      escrow: await stack.balance(X402_BATCH_SETTLEMENT),
    };
    initial = before;
    const facilitatorBefore = await stack.facilitatorStats();

    const transactions: string[] = [];
    const startedAt = Date.now();
    for (let call = 1; call <= 50; call++) {
      const response = await pay(`${stack.info.gateway}/api/batch/item-${call}`);
      expect(response.status, `call ${call}`).toBe(200);
      expect(await response.json()).toEqual({ item: `item-${call}`, served: true });
      const settlement = readSettlement(response)!;
      expect(settlement).toMatchObject({
        success: true,
        extra: { chargedAmount: PRICE.toString(), channelState: { chargedCumulativeAmount: (PRICE * BigInt(call)).toString() } },
      });
      if (settlement.transaction) transactions.push(settlement.transaction);
      if (call === 1) {
        deposit = BigInt(settlement.amount!);
        channelId = (settlement.extra as { channelState: { channelId: string } }).channelState.channelId;
      }
    }
    const elapsedMs = Date.now() - startedAt;
    // One deposit, on the first call; the other 49 vouchers were checked and charged by the gateway alone.
    expect(transactions).toHaveLength(1);
    expect(deposit).toBe(100_000n);
    const facilitatorAfter = await stack.facilitatorStats();
    expect(facilitatorAfter.verify - facilitatorBefore.verify).toBe(1);
    expect(await stack.receiptStatus(transactions[0] as `0x${string}`)).toBe("success");
    expect(await stack.balance(PAYER.address)).toBe(before.payer - deposit);
    const config = new BatchSettlementEvmScheme(PAYER).buildChannelConfig(offer);
    expect(channelId).toBe(computeChannelId(config, stack.info.network).toLowerCase());

    // The alarm claims within the interval of the first unclaimed charge, then again for what came after.
    const claimed = await eventually(
      () => admin("/channels").then((r) => r.body as unknown as Channels),
      (c) => c.channels.some((ch) => ch.channelId === channelId && ch.totalClaimed === "50000"),
      (CLAIM_INTERVAL_SECONDS * 3 + 10) * 1000,
    );
    const claims = claimed.claims.filter((claim) => claim.status !== "claim_failed");
    expect(claims.length).toBeGreaterThanOrEqual(1);
    expect(claims.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / (CLAIM_INTERVAL_SECONDS * 1000)) + 1);
    expect(claims.reduce((sum, claim) => sum + BigInt(claim.amount), 0n)).toBe(50_000n);
    for (const claim of claims) {
      expect(claim.status).toBe("settled");
      expect(await stack.receiptStatus(claim.claimTransaction as `0x${string}`)).toBe("success");
    }
    // The seller got exactly the 50 calls; the payer paid only the deposit; the escrow holds the rest for the payer.
    expect(await stack.balance(SELLER.address)).toBe(before.seller + 50n * PRICE);
    expect(await stack.balance(PAYER.address)).toBe(before.payer - deposit);
    expect(await stack.balance(X402_BATCH_SETTLEMENT)).toBe(before.escrow + deposit - 50n * PRICE);
    console.log(
      `batch-settlement: 50 calls in ${elapsedMs} ms; on-chain transactions: 1 deposit + ${claims.length} claim + ${claims.filter((c) => c.settleTransaction).length} settle`,
    );

    const rows = await eventually(
      () => stack.ledgerRows("channel_id = ?", channelId),
      (r) => r.length === 50,
    );
    expect(rows).toHaveLength(50);
    expect(rows.every((row) => row.status === "settled" && row.amount === PRICE.toString() && row.scheme === "batch-settlement")).toBe(
      true,
    );
    expect(rows.filter((row) => row.transaction_hash)).toHaveLength(1);
  });

  it("a failed origin answer charges nothing, and the next call pays from where the channel was", async () => {
    const failed = await pay(`${stack.info.gateway}/api/batch/fail`);
    expect(failed.status).toBe(500);
    const next = await pay(`${stack.info.gateway}/api/batch/after-fail`);
    expect(next.status).toBe(200);
    // Charged once: the failed call's voucher (the same cumulative amount) was released, then paid by the next call.
    expect(readSettlement(next)).toMatchObject({ extra: { channelState: { chargedCumulativeAmount: "51000" } } });
    const rows = await eventually(
      () => stack.ledgerRows("channel_id = ? AND resource LIKE ?", channelId, "%/after-fail"),
      (r) => r.length === 1,
    );
    expect(rows[0]).toMatchObject({ status: "settled", amount: "1000" });
    const failedRows = await eventually(
      () => stack.ledgerRows("channel_id = ? AND resource LIKE ?", channelId, "%/fail"),
      (r) => r.length === 1,
    );
    expect(failedRows[0]).toMatchObject({ status: "origin_failed", origin_status: 500 });
  });

  it("a replayed voucher is refused with the channel's state, so an honest client resyncs", async () => {
    const replay = await fetch(`${stack.info.gateway}/api/batch/replay`, { headers: { "PAYMENT-SIGNATURE": sent.at(-1)! } });
    expect(replay.status).toBe(402);
    const body = JSON.parse(Buffer.from(replay.headers.get("PAYMENT-REQUIRED")!, "base64").toString());
    expect(body.error).toBe("invalid_batch_settlement_evm_cumulative_amount_mismatch");
    expect(body.accepts[0].extra).toMatchObject({
      channelState: { channelId, chargedCumulativeAmount: "51000" },
      voucherState: { signedMaxClaimable: "51000" },
    });
  });

  it("a client that lost its state recovers from the chain and the corrective 402, and pays on", async () => {
    // A signer that can read the chain: the client rebuilds its channel from the escrow and the gateway's answer.
    const reader = createPublicClient({ chain: localChain(stack.info.rpcUrl, stack.info.chainId), transport: http(stack.info.rpcUrl) });
    const fresh = wrapFetchWithPaymentFromConfig(fetch, {
      schemes: [{ network: "eip155:*", client: new BatchSettlementEvmScheme(toClientEvmSigner(PAYER, reader)) }],
      spendControls: {
        allowedAssets: [
          { network: stack.info.network as `${string}:${string}`, asset: stack.info.token.address, maxAmountPerPayment: "1000000" },
        ],
      },
    });
    const response = await fresh(`${stack.info.gateway}/api/batch/recovered`);
    expect(response.status).toBe(200);
    expect(readSettlement(response)).toMatchObject({ extra: { channelState: { chargedCumulativeAmount: "52000" } } });
  });

  it("claims on demand through the admin API", async () => {
    const claimed = await admin(`/channels/${channelId}/claim`, { method: "POST" });
    expect(claimed.status).toBe(200);
    const sellerAfter = await stack.balance(SELLER.address);
    if (claimed.body.claimed) expect(claimed.body).toMatchObject({ totalClaimed: "52000", claimTransaction: expect.stringMatching(/^0x/) });
    const channels = (await admin("/channels")).body as unknown as Channels;
    expect(channels.channels.find((c) => c.channelId === channelId)).toMatchObject({ charged: "52000", totalClaimed: "52000" });
    expect(sellerAfter).toBeGreaterThan(0n);
    expect((await admin(`/channels/${channelId}/claim`, { method: "POST" })).body).toMatchObject({ claimed: false });
  });

  it("cooperative refunds with the official client: part, then the rest; the payer ends up paying exactly the calls", async () => {
    const url = `${stack.info.gateway}/api/batch/refund`;
    const before = {
      payer: await stack.balance(PAYER.address),
      escrow: await stack.balance(X402_BATCH_SETTLEMENT),
      seller: await stack.balance(SELLER.address),
    };
    // This client's own count is one call behind (another client paid the last one): the gateway's corrective 402
    // resyncs it, as for a voucher.
    const part = await scheme.refund(url, { amount: "10000" });
    expect(part).toMatchObject({ success: true, amount: "10000", transaction: expect.stringMatching(/^0x/) });
    expect(await stack.receiptStatus(part.transaction as `0x${string}`)).toBe("success");
    expect(await stack.balance(PAYER.address)).toBe(before.payer + 10_000n);

    const next = await pay(`${stack.info.gateway}/api/batch/after-refund`);
    expect(next.status).toBe(200);
    expect(readSettlement(next)).toMatchObject({
      extra: { channelState: { chargedCumulativeAmount: "53000", balance: "90000", refundNonce: "1" } },
    });

    const rest = await scheme.refund(url);
    // The deposit (100000) less the first refund and the 53 calls charged.
    expect(rest).toMatchObject({ success: true, amount: "37000" });
    const refunds = await eventually(
      () => admin("/channels").then((r) => r.body as unknown as Channels),
      (c) => c.refunds.filter((r) => r.channelId === channelId).length === 2,
    );
    expect(
      refunds.refunds.filter((r) => r.channelId === channelId).sort((a, b) => Number(a.refundNonce) - Number(b.refundNonce)),
    ).toMatchObject([
      { status: "refunded", amount: "10000", refunded: "10000", refundNonce: "0", transactionHash: part.transaction },
      { status: "refunded", amount: "37000", refunded: "37000", refundNonce: "1", transactionHash: rest.transaction },
    ]);

    // The charged calls are still the seller's: claimed and paid out. Over the whole channel the payer paid exactly
    // the 53 calls, the seller got exactly them, and the escrow keeps nothing.
    await admin(`/channels/${channelId}/claim`, { method: "POST" });
    const settled = await eventually(
      () => admin("/channels").then((r) => r.body as unknown as Channels),
      (c) => c.channels.some((ch) => ch.channelId === channelId && ch.totalClaimed === "53000"),
    );
    expect(settled.channels.find((ch) => ch.channelId === channelId)).toMatchObject({ balance: "53000", charged: "53000" });
    expect(
      await eventually(
        () => stack.balance(SELLER.address),
        (balance) => balance === initial.seller + 53n * PRICE,
      ),
    ).toBe(initial.seller + 53n * PRICE);
    expect(await stack.balance(PAYER.address)).toBe(initial.payer - 53n * PRICE);
    expect(await stack.balance(X402_BATCH_SETTLEMENT)).toBe(initial.escrow);
    expect(await stack.balance(PAYER.address)).toBe(before.payer + 47_000n);
  });
});
