// What the chain says became of a Permit2 `exact` payment (src/facilitator/permit2-settlement.ts, issue #34), read
// from the Permit2 and x402 exact proxy contracts written here, on anvil, with no gateway between: Permit2 logs no use
// of a nonce, so the reader must find the one transaction among the payer's transfers that spent this nonce, and tell
// a settle to the payee from a cancellation, a use of the same nonce elsewhere, and an expiry.
import { createPublicClient, createWalletClient, http, type Address, type Hash } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FACILITATOR_SIGNER, SELLER, SELLER_TWO } from "../../stack/accounts.js";
import { approvePermit2, deployContracts, localChain, PERMIT2_ADDRESS, startChain, X402_EXACT_PERMIT2_PROXY } from "../../stack/chain.js";
import { compileContracts } from "../../stack/compile-contracts.js";
import type { ManagedProcess } from "../../stack/process.js";
import { ChainUnfound } from "../../src/facilitator/chain-settlement.js";
import { readPaymentOutcome, type OnChainPayment } from "../../src/facilitator/payment-on-chain.js";
import { lookAtChain, type ChainWatch } from "../../src/payment-record/chain-watch.js";
import { PERMIT2_WITNESS_TYPES } from "../../src/schemes/evm/permit2.js";
import { RPC_TIMEOUT_MS } from "../../src/schemes/chain-rpc.js";

const PAYER = privateKeyToAccount("0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356");
const AMOUNT = 10_000n;

let chain: { process: ManagedProcess; rpcUrl: string };
let token: Address;
let rpc: { url: string; timeoutMs: number };
let read: ReturnType<typeof createPublicClient>;
let nextNonce = 1000n;
type Abi<K extends keyof ReturnType<typeof compileContracts>> = ReturnType<typeof compileContracts>[K]["abi"];
let abis: { permit2: Abi<"TestPermit2">; proxy: Abi<"TestX402ExactPermit2Proxy">; token: Abi<"TestUSDC"> };

beforeAll(async () => {
  chain = await startChain();
  ({ token } = await deployContracts(chain.rpcUrl, [{ to: PAYER.address, amount: 10_000_000n }]));
  await approvePermit2(chain.rpcUrl, token, PAYER);
  rpc = { url: chain.rpcUrl, timeoutMs: RPC_TIMEOUT_MS };
  // Compiled once: solc-js takes seconds per run.
  const compiled = compileContracts();
  abis = { permit2: compiled.TestPermit2.abi, proxy: compiled.TestX402ExactPermit2Proxy.abi, token: compiled.TestUSDC.abi };
  read = createPublicClient({ chain: localChain(chain.rpcUrl), transport: http(chain.rpcUrl), pollingInterval: 100 });
}, 60_000);
afterAll(async () => {
  await chain?.process.stop();
});

/** A permit the payer signs for the exact proxy: `to` gets AMOUNT. */
async function signPermit(nonce: bigint, to: Address) {
  const permit = { permitted: { token, amount: AMOUNT }, nonce, deadline: BigInt(Math.floor(Date.now() / 1000) + 600) };
  const witness = { to, validAfter: 0n };
  const signature = await PAYER.signTypedData({
    domain: { name: "Permit2", chainId: 31337, verifyingContract: PERMIT2_ADDRESS },
    types: PERMIT2_WITNESS_TYPES,
    primaryType: "PermitWitnessTransferFrom",
    message: { permitted: permit.permitted, spender: X402_EXACT_PERMIT2_PROXY, nonce, deadline: permit.deadline, witness },
  });
  return { permit, witness, signature };
}

/** Submitted as a facilitator does: the proxy's `settle`, from its own key. */
async function settle(signed: Awaited<ReturnType<typeof signPermit>>): Promise<Hash> {
  const wallet = createWalletClient({ account: FACILITATOR_SIGNER, chain: localChain(chain.rpcUrl), transport: http(chain.rpcUrl) });
  const hash = await wallet.writeContract({
    address: X402_EXACT_PERMIT2_PROXY,
    abi: abis.proxy,
    functionName: "settle",
    args: [signed.permit, PAYER.address, signed.witness, signed.signature],
  });
  expect((await read.waitForTransactionReceipt({ hash, pollingInterval: 50 })).status).toBe("success");
  return hash;
}

/** The payer cancels nonces with Permit2's `invalidateUnorderedNonces(word, mask)`. */
async function invalidate(word: bigint, mask: bigint): Promise<void> {
  const wallet = createWalletClient({ account: PAYER, chain: localChain(chain.rpcUrl), transport: http(chain.rpcUrl) });
  const hash = await wallet.writeContract({
    address: PERMIT2_ADDRESS,
    abi: abis.permit2,
    functionName: "invalidateUnorderedNonces",
    args: [word, mask],
  });
  expect((await read.waitForTransactionReceipt({ hash, pollingInterval: 50 })).status).toBe("success");
}

function payment(nonce: bigint): OnChainPayment {
  return {
    method: "permit2",
    permit2Nonce: nonce.toString(),
    asset: token,
    payTo: SELLER.address,
    amount: AMOUNT.toString(),
    payer: PAYER.address,
  };
}

describe("a Permit2 payment, asked of the chain", () => {
  it("unspent: unused, and open to the reconciler while valid", async () => {
    const nonce = nextNonce++;
    expect(await readPaymentOutcome(rpc, payment(nonce))).toEqual({ kind: "unused" });
    const block = await read.getBlock();
    const watch: ChainWatch = { ...payment(nonce), network: "eip155:31337", validBeforeSeconds: Number(block.timestamp) + 60 };
    expect(await lookAtChain(rpc, watch, undefined)).toMatchObject({ kind: "open" });
  });

  it("settled to the payee: the transaction that spent this nonce, not the payer's other payment of the same amount", async () => {
    const nonce = nextNonce++;
    const ours = await settle(await signPermit(nonce, SELLER.address));
    // The same payer pays the same payee the same amount again, later: a transfer just like ours, another nonce.
    const later = await settle(await signPermit(nextNonce++, SELLER.address));
    expect(later).not.toBe(ours);
    expect(await readPaymentOutcome(rpc, payment(nonce))).toEqual({ kind: "settled", transaction: ours });
    const watch: ChainWatch = { ...payment(nonce), network: "eip155:31337", validBeforeSeconds: Math.floor(Date.now() / 1000) + 600 };
    expect(await lookAtChain(rpc, watch, undefined)).toMatchObject({ kind: "settled", transaction: ours });
  });

  it("cancelled by the payer (invalidateUnorderedNonces): nothing moved, the bit's word and mask read from the log", async () => {
    const nonce = 3n * 256n + 17n;
    const wallet = createWalletClient({ account: PAYER, chain: localChain(chain.rpcUrl), transport: http(chain.rpcUrl) });
    const hash = await wallet.writeContract({
      address: PERMIT2_ADDRESS,
      abi: abis.permit2,
      functionName: "invalidateUnorderedNonces",
      args: [3n, (1n << 17n) | (1n << 200n)],
    });
    await read.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    expect(await readPaymentOutcome(rpc, payment(nonce))).toEqual({ kind: "canceled" });
    expect(
      await lookAtChain(
        rpc,
        { ...payment(nonce), network: "eip155:31337", validBeforeSeconds: Math.floor(Date.now() / 1000) + 600 },
        undefined,
      ),
    ).toMatchObject({
      kind: "not_settled",
      resolution: "chain_canceled",
    });
  });

  it("the same nonce signed to someone else and settled there: used elsewhere, not a payment to this payee", async () => {
    const nonce = nextNonce++;
    const elsewhere = await settle(await signPermit(nonce, SELLER_TWO.address));
    expect(await readPaymentOutcome(rpc, payment(nonce))).toEqual({ kind: "used_elsewhere", transaction: elsewhere });
  });

  it("unspent through a block past its deadline: nothing can move any more; at its deadline it still can", async () => {
    const nonce = nextNonce++;
    const { timestamp } = await read.getBlock();
    const at = (validBeforeSeconds: number): ChainWatch => ({ ...payment(nonce), network: "eip155:31337", validBeforeSeconds });
    // Permit2 accepts a block whose time equals the deadline.
    expect(await lookAtChain(rpc, at(Number(timestamp)), undefined)).toMatchObject({ kind: "open" });
    expect(await lookAtChain(rpc, at(Number(timestamp) - 1), undefined)).toEqual({
      kind: "not_settled",
      resolution: "chain_expired_unused",
    });
  });

  it("spent, but its transaction outside the blocks searched: no verdict (thrown), never a guess", async () => {
    const nonce = nextNonce++;
    await settle(await signPermit(nonce, SELLER.address));
    const latest = await read.getBlockNumber({ cacheTime: 0 });
    await read.request({ method: "anvil_mine" as never, params: ["0x3"] as never });
    await expect(readPaymentOutcome(rpc, payment(nonce), { fromBlock: latest + 1n, toBlock: latest + 3n, anchored: true })).rejects.toThrow(
      ChainUnfound,
    );
  });

  it("settled, then the payer invalidates the same nonce: still settled (the settle is looked for first)", async () => {
    const nonce = 5n * 256n + 3n;
    const ours = await settle(await signPermit(nonce, SELLER.address));
    await invalidate(5n, 1n << 3n);
    expect(await readPaymentOutcome(rpc, payment(nonce))).toEqual({ kind: "settled", transaction: ours });
  });

  it("a cancellation is concluded only from blocks that surely hold the spend: not after a lock's failed first looks", async () => {
    const nonce = 11n * 256n + 4n;
    await invalidate(11n, 1n << 4n);
    const watch: ChainWatch = { ...payment(nonce), network: "eip155:31337", validBeforeSeconds: Math.floor(Date.now() / 1000) + 600 };
    // First look at a settle left unknown seconds ago: its lookback surely holds the spend.
    expect(await lookAtChain(rpc, watch, { fromBlock: undefined, spentBlock: undefined, misses: 0, firstLook: true })).toMatchObject({
      kind: "not_settled",
      resolution: "chain_canceled",
    });
    // Its first looks failed (the RPC was down), or a dead request's claim: looked at long after, past its settle's block.
    expect(await lookAtChain(rpc, watch, { fromBlock: undefined, spentBlock: undefined, misses: 2, firstLook: false })).toMatchObject({
      kind: "unfound",
      range: { fromBlock: undefined },
    });
  });

  it("an invalidation beside a transfer to the payee of this amount that no proxy settle of this nonce explains: no verdict", async () => {
    // The payer pays the payee the amount directly (as a settle through another contract would look), then cancels.
    const nonce = 13n * 256n + 9n;
    const wallet = createWalletClient({ account: PAYER, chain: localChain(chain.rpcUrl), transport: http(chain.rpcUrl) });
    const from = await read.getBlockNumber({ cacheTime: 0 });
    const direct = await wallet.writeContract({
      address: token,
      abi: abis.token,
      functionName: "transfer",
      args: [SELLER.address, AMOUNT],
    });
    expect((await read.waitForTransactionReceipt({ hash: direct, pollingInterval: 50 })).status).toBe("success");
    await invalidate(13n, 1n << 9n);
    const to = await read.getBlockNumber({ cacheTime: 0 });
    await expect(readPaymentOutcome(rpc, payment(nonce), { fromBlock: from, toBlock: to, anchored: true })).rejects.toThrow(ChainUnfound);
  });

  it("more like payments than one look reads: later looks page through the same blocks; no cancellation concluded meanwhile", async () => {
    const from = await read.getBlockNumber({ cacheTime: 0 });
    const nonce = nextNonce++;
    const ours = await settle(await signPermit(nonce, SELLER.address));
    // Then 8 newer payments just like it: the first page (8, newest first) holds none of ours.
    for (let i = 0; i < 8; i++) await settle(await signPermit(nextNonce++, SELLER.address));
    const spentBlock = await read.getBlockNumber({ cacheTime: 0 });
    const state = (misses: number) => ({ fromBlock: from, spentBlock, misses, firstLook: false });
    const watch: ChainWatch = { ...payment(nonce), network: "eip155:31337", validBeforeSeconds: Math.floor(Date.now() / 1000) + 600 };
    expect(await lookAtChain(rpc, watch, state(0))).toMatchObject({ kind: "unfound", range: { spentBlock, fromBlock: from } });
    expect(await lookAtChain(rpc, watch, state(1))).toMatchObject({ kind: "settled", transaction: ours });

    // An invalidated nonce among as many transfers (two pages) is never concluded cancelled: a settle may be unread.
    const canceled = 9n * 256n + 1n;
    await invalidate(9n, 1n << 1n);
    const to = await read.getBlockNumber({ cacheTime: 0 });
    await expect(readPaymentOutcome(rpc, payment(canceled), { fromBlock: from, toBlock: to, anchored: true })).rejects.toThrow(
      ChainUnfound,
    );
    await expect(readPaymentOutcome(rpc, payment(canceled), { fromBlock: from, toBlock: to, anchored: true, page: 1 })).rejects.toThrow(
      ChainUnfound,
    );
  });
});
