// The batch-settlement contracts written here (contracts/TestX402BatchSettlement.sol and its two deposit collectors,
// placed at the SDK's canonical addresses) against the official client and the official facilitator scheme, with
// no gateway between them: deposits by ERC-3009 and by Permit2, cumulative vouchers claimed in one signed batch,
// settlement to the receiver, a signed refund, and the payer's own withdrawal after the delay.
import { x402Facilitator } from "@x402/core/facilitator";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { BatchSettlementEvmScheme as ClientScheme, computeChannelId, signVoucher } from "@x402/evm/batch-settlement/client";
import { BatchSettlementEvmScheme as FacilitatorScheme } from "@x402/evm/batch-settlement/facilitator";
import { createPublicClient, createTestClient, createWalletClient, http, publicActions, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANNEL_AUTHORIZER, FACILITATOR_SIGNER, PAYER, SELLER } from "../../stack/accounts.js";
import {
  approvePermit2,
  deployContracts,
  localChain,
  NETWORK,
  startChain,
  TOKEN_NAME,
  TOKEN_VERSION,
  X402_BATCH_SETTLEMENT,
} from "../../stack/chain.js";
import { compileContracts } from "../../stack/compile-contracts.js";
import type { ManagedProcess } from "../../stack/process.js";

/** The receiver's authorizer: signs claim batches and refunds (here held by the facilitator). */
const AUTHORIZER = CHANNEL_AUTHORIZER;
const PERMIT2_PAYER = privateKeyToAccount("0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97");

let chain: { process: ManagedProcess; rpcUrl: string };
let token: Address;
let facilitator: x402Facilitator;
let escrow: ReturnType<typeof compileContracts>["TestX402BatchSettlement"]["abi"];
let read: ReturnType<typeof createPublicClient>;

beforeAll(async () => {
  chain = await startChain();
  ({ token } = await deployContracts(chain.rpcUrl, [
    { to: PAYER.address, amount: 10_000_000n },
    { to: PERMIT2_PAYER.address, amount: 10_000_000n },
  ]));
  await approvePermit2(chain.rpcUrl, token, PERMIT2_PAYER);
  escrow = compileContracts().TestX402BatchSettlement.abi;
  const client = createWalletClient({
    account: FACILITATOR_SIGNER,
    chain: localChain(chain.rpcUrl),
    transport: http(chain.rpcUrl),
    pollingInterval: 100,
  }).extend(publicActions);
  read = createPublicClient({ chain: localChain(chain.rpcUrl), transport: http(chain.rpcUrl) });
  const signer = toFacilitatorEvmSigner({ ...client, address: FACILITATOR_SIGNER.address } as unknown as Parameters<
    typeof toFacilitatorEvmSigner
  >[0]);
  facilitator = new x402Facilitator().register(NETWORK, new FacilitatorScheme(signer, AUTHORIZER));
}, 60_000);
afterAll(async () => {
  await chain?.process.stop();
});

function offer(method: "eip3009" | "permit2") {
  return {
    scheme: "batch-settlement",
    network: NETWORK,
    asset: token,
    amount: "1000",
    payTo: SELLER.address,
    maxTimeoutSeconds: 60,
    extra: {
      receiverAuthorizer: AUTHORIZER.address,
      withdrawDelay: 900,
      name: TOKEN_NAME,
      version: TOKEN_VERSION,
      assetTransferMethod: method,
    },
  } as const;
}

const balance = (owner: Address) =>
  read.readContract({ address: token, abi: compileContracts().TestUSDC.abi, functionName: "balanceOf", args: [owner] }) as Promise<bigint>;
const channel = async (id: Hex) =>
  (await read.readContract({ address: X402_BATCH_SETTLEMENT, abi: escrow, functionName: "channels", args: [id] })) as [bigint, bigint];

async function deposit(account: typeof PAYER, method: "eip3009" | "permit2") {
  const requirements = offer(method);
  const created = await new ClientScheme(account).createPaymentPayload(2, requirements as never);
  const payload = { x402Version: 2, accepted: requirements, payload: created.payload } as never;
  const verified = await facilitator.verify(payload, requirements as never);
  expect(verified).toMatchObject({ isValid: true });
  const settled = await facilitator.settle(payload, requirements as never);
  expect(settled).toMatchObject({ success: true, transaction: expect.stringMatching(/^0x/) });
  const config = (created.payload as { channelConfig: Parameters<typeof computeChannelId>[0] }).channelConfig;
  return {
    config,
    id: computeChannelId(config, NETWORK),
    amount: BigInt((created.payload as { deposit: { amount: string } }).deposit.amount),
    settled,
  };
}

describe("batch-settlement contracts with the official client and facilitator", () => {
  it("an ERC-3009 deposit, vouchers claimed in one signed batch, then settled to the receiver", async () => {
    const payerBefore = await balance(PAYER.address);
    const sellerBefore = await balance(SELLER.address);
    const { config, id, amount } = await deposit(PAYER, "eip3009");
    expect(amount).toBeGreaterThan(0n);
    expect(await balance(PAYER.address)).toBe(payerBefore - amount);
    expect(await channel(id)).toEqual([amount, 0n]);
    // The facilitator's id for the channel is the contract's.
    expect(await read.readContract({ address: X402_BATCH_SETTLEMENT, abi: escrow, functionName: "getChannelId", args: [config] })).toBe(id);

    const voucher = await signVoucher(PAYER, id, "3000", NETWORK);
    const requirements = offer("eip3009");
    const verified = await facilitator.verify(
      { x402Version: 2, accepted: requirements, payload: { type: "voucher", channelConfig: config, voucher } } as never,
      requirements as never,
    );
    expect(verified).toMatchObject({ isValid: true, extra: { balance: amount.toString(), totalClaimed: "0" } });

    const synthetic = { ...requirements, amount: "0", maxTimeoutSeconds: 0, extra: {} };
    const claims = [{ voucher: { channel: config, maxClaimableAmount: "3000" }, signature: voucher.signature, totalClaimed: "2500" }];
    const claimed = await facilitator.settle(
      { x402Version: 2, accepted: synthetic, payload: { type: "claim", claims } } as never,
      synthetic as never,
    );
    expect(claimed).toMatchObject({ success: true });
    expect(await channel(id)).toEqual([amount, 2500n]);
    // Resending the same batch changes nothing (a claim at or below the recorded one is skipped).
    expect(
      await facilitator.settle({ x402Version: 2, accepted: synthetic, payload: { type: "claim", claims } } as never, synthetic as never),
    ).toMatchObject({ success: true });
    expect(await channel(id)).toEqual([amount, 2500n]);

    const settled = await facilitator.settle(
      { x402Version: 2, accepted: synthetic, payload: { type: "settle", receiver: SELLER.address, token } } as never,
      synthetic as never,
    );
    expect(settled).toMatchObject({ success: true, amount: "2500" });
    expect(await balance(SELLER.address)).toBe(sellerBefore + 2500n);
    const nothing = await facilitator.settle(
      { x402Version: 2, accepted: synthetic, payload: { type: "settle", receiver: SELLER.address, token } } as never,
      synthetic as never,
    );
    expect(nothing.success).toBe(false);

    // A claim above the voucher's ceiling is refused by the facilitator's simulation; nothing changes.
    const over = [{ voucher: { channel: config, maxClaimableAmount: "3000" }, signature: voucher.signature, totalClaimed: "3001" }];
    expect(
      (
        await facilitator.settle(
          { x402Version: 2, accepted: synthetic, payload: { type: "claim", claims: over } } as never,
          synthetic as never,
        )
      ).success,
    ).toBe(false);
    expect(await channel(id)).toEqual([amount, 2500n]);

    // A signed refund of what is left goes back to the payer.
    const refundVoucher = await signVoucher(PAYER, id, "2500", NETWORK);
    const refund = {
      type: "refund",
      channelConfig: config,
      voucher: refundVoucher,
      amount: (amount - 2500n).toString(),
      refundNonce: "0",
      claims: [{ voucher: { channel: config, maxClaimableAmount: "2500" }, signature: refundVoucher.signature, totalClaimed: "2500" }],
    };
    const payerBeforeRefund = await balance(PAYER.address);
    const refunded = await facilitator.settle({ x402Version: 2, accepted: requirements, payload: refund } as never, requirements as never);
    expect(refunded).toMatchObject({ success: true });
    expect(await balance(PAYER.address)).toBe(payerBeforeRefund + amount - 2500n);
    expect(await channel(id)).toEqual([2500n, 2500n]);
  });

  it("a Permit2 deposit goes straight from the payer to the escrow", async () => {
    const before = await balance(PERMIT2_PAYER.address);
    const escrowBefore = await balance(X402_BATCH_SETTLEMENT);
    const { id, amount } = await deposit(PERMIT2_PAYER, "permit2");
    expect(await balance(PERMIT2_PAYER.address)).toBe(before - amount);
    expect(await balance(X402_BATCH_SETTLEMENT)).toBe(escrowBefore + amount);
    expect(await channel(id)).toEqual([amount, 0n]);
  });

  it("the payer withdraws what was not claimed, only after the delay", async () => {
    // The same payer and salt: the channel of the test before, topped up.
    const { config, id, amount } = await deposit(PERMIT2_PAYER, "eip3009");
    const [held] = await channel(id);
    const wallet = createWalletClient({ account: PERMIT2_PAYER, chain: localChain(chain.rpcUrl), transport: http(chain.rpcUrl) });
    const send = async (functionName: "initiateWithdraw" | "finalizeWithdraw", args: readonly unknown[]) =>
      read.waitForTransactionReceipt({
        hash: await wallet.writeContract({ address: X402_BATCH_SETTLEMENT, abi: escrow, functionName, args } as never),
      });
    await send("initiateWithdraw", [config, amount]);
    await expect(
      read.simulateContract({
        account: PERMIT2_PAYER,
        address: X402_BATCH_SETTLEMENT,
        abi: escrow,
        functionName: "finalizeWithdraw",
        args: [config],
      }),
    ).rejects.toThrow(/WithdrawDelayNotElapsed/);
    await createTestClient({ chain: localChain(chain.rpcUrl), transport: http(chain.rpcUrl), mode: "anvil" }).increaseTime({
      seconds: 901,
    });
    const before = await balance(PERMIT2_PAYER.address);
    await send("finalizeWithdraw", [config]);
    expect(await balance(PERMIT2_PAYER.address)).toBe(before + amount);
    expect(await channel(id)).toEqual([held - amount, 0n]);
  });
});
