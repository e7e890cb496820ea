// Local EVM chain: anvil from the @foundry-rs/anvil npm package, plus the contracts the stack needs on it.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  maxUint256,
  type Address,
  type Chain,
  type PrivateKeyAccount,
} from "viem";
import { compileContracts, type CompiledContract } from "./compile-contracts.js";
import { DEPLOYER } from "./accounts.js";
import { startProcess, type ManagedProcess } from "./process.js";

/** Anvil's own id, which no public chain uses; a stack may run under another id (e.g. 84532 for V1 clients). */
export const CHAIN_ID = 31337;
export const NETWORK = `eip155:${CHAIN_ID}`;
/** Uniswap Permit2 and the x402 exact Permit2 proxy: one address each on every chain (CREATE2). */
export const PERMIT2_ADDRESS: Address = "0x000000000022D473030F116dDEE9F6B43aC78BA3";
export const X402_EXACT_PERMIT2_PROXY: Address = "0x402085c248EeA27D92E8b30b2C58ed07f9E20001";
/** x402's `upto` Permit2 proxy (the permit's spender for `upto`), at its canonical address. */
export const X402_UPTO_PERMIT2_PROXY: Address = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";
/** x402's batch-settlement escrow and its two deposit collectors, at the addresses the SDK hard-codes. */
export const X402_BATCH_SETTLEMENT: Address = "0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003";
export const X402_ERC3009_DEPOSIT_COLLECTOR: Address = "0x4020806089470a89826cB9fB1f4059150b550004";
export const X402_PERMIT2_DEPOSIT_COLLECTOR: Address = "0x4020425FAf3B746C082C2f942b4E5159887B0005";
/** Where public chains have Multicall3; the x402 facilitator reads through it. */
export const MULTICALL3_ADDRESS: Address = "0xcA11bde05977b3631167028862bE2a173976CA11";
export const TOKEN_NAME = "USD Coin";
export const TOKEN_VERSION = "2";
export const TOKEN_DECIMALS = 6;

export function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const require = createRequire(import.meta.url);
  const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
  return join(dirname(pkg), "bin", "anvil");
}

export function localChain(rpcUrl: string, chainId = CHAIN_ID): Chain {
  return defineChain({
    id: chainId,
    name: "Local anvil",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** Port 0: anvil binds a free port itself and prints it, so parallel stacks never race for one. */
export async function startChain(chainId = CHAIN_ID): Promise<{ process: ManagedProcess; rpcUrl: string }> {
  const { process, match } = await startProcess({
    name: "anvil",
    command: anvilBinary(),
    args: ["--host", "127.0.0.1", "--port", "0", "--chain-id", String(chainId), "--accounts", "10", "--balance", "10000"],
    ready: /Listening on (127\.0\.0\.1:\d+)/,
  });
  return { process, rpcUrl: `http://${match[1]}` };
}

export interface DeployedContracts {
  token: Address;
  tokenAbi: CompiledContract["abi"];
}

/** Deploys TestUSDC, mints `mints`, and places Multicall3Lite at the canonical Multicall3 address. */
export async function deployContracts(
  rpcUrl: string,
  mints: { to: Address; amount: bigint }[],
  chainId = CHAIN_ID,
): Promise<DeployedContracts> {
  const compiled = compileContracts();
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl);
  const wallet = createWalletClient({ account: DEPLOYER, chain, transport });
  const client = createPublicClient({ chain, transport });
  await createTestClient({ chain, transport, mode: "anvil" }).setCode({
    address: MULTICALL3_ADDRESS,
    bytecode: compiled.Multicall3Lite.deployedBytecode,
  });
  const hash = await wallet.deployContract({
    abi: compiled.TestUSDC.abi,
    bytecode: compiled.TestUSDC.bytecode,
    args: [TOKEN_NAME, TOKEN_VERSION],
  });
  const receipt = await client.waitForTransactionReceipt({ hash });
  const token = getAddress(receipt.contractAddress!);
  for (const { to, amount } of mints) {
    const mint = await wallet.writeContract({ address: token, abi: compiled.TestUSDC.abi, functionName: "mint", args: [to, amount] });
    await client.waitForTransactionReceipt({ hash: mint });
  }
  const test = createTestClient({ chain, transport, mode: "anvil" });
  await installPermit2(compiled, { wallet, client, test });
  await installBatchSettlement(compiled, { wallet, client, test });
  return { token, tokenAbi: compiled.TestUSDC.abi };
}

/** The clients the installers use: a wallet that deploys, a reader, and anvil's test actions (setCode). */
interface ChainClients {
  wallet: ReturnType<typeof createWalletClient>;
  client: ReturnType<typeof createPublicClient>;
  test: ReturnType<typeof createTestClient>;
}

/**
 * TestPermit2 and the x402 exact and upto proxies at the canonical addresses the facilitator calls: Permit2's code
 * has no immutables, so it is placed as compiled; each proxy is deployed (its immutable is the canonical Permit2
 * address) and its runtime code copied into place.
 */
async function installPermit2(compiled: ReturnType<typeof compileContracts>, { wallet, client, test }: ChainClients): Promise<void> {
  await test.setCode({ address: PERMIT2_ADDRESS, bytecode: compiled.TestPermit2.deployedBytecode });
  for (const [proxy, address] of [
    [compiled.TestX402ExactPermit2Proxy, X402_EXACT_PERMIT2_PROXY],
    [compiled.TestX402UptoPermit2Proxy, X402_UPTO_PERMIT2_PROXY],
  ] as const) {
    const hash = await wallet.deployContract({
      abi: proxy.abi,
      bytecode: proxy.bytecode,
      args: [PERMIT2_ADDRESS],
      account: DEPLOYER,
      chain: wallet.chain,
    });
    const deployed = (await client.waitForTransactionReceipt({ hash })).contractAddress!;
    await test.setCode({ address, bytecode: (await client.getCode({ address: deployed }))! });
  }
}

/**
 * The batch-settlement escrow and its collectors at their canonical addresses: the escrow has no immutables (its
 * EIP-712 domain is computed from where it runs); each collector is deployed naming the escrow (and Permit2) and its
 * runtime code copied into place.
 */
async function installBatchSettlement(
  compiled: ReturnType<typeof compileContracts>,
  { wallet, client, test }: ChainClients,
): Promise<void> {
  await test.setCode({ address: X402_BATCH_SETTLEMENT, bytecode: compiled.TestX402BatchSettlement.deployedBytecode });
  const collectors = [
    [compiled.TestERC3009DepositCollector, [X402_BATCH_SETTLEMENT], X402_ERC3009_DEPOSIT_COLLECTOR],
    [compiled.TestPermit2DepositCollector, [X402_BATCH_SETTLEMENT, PERMIT2_ADDRESS], X402_PERMIT2_DEPOSIT_COLLECTOR],
  ] as const;
  for (const [collector, args, address] of collectors) {
    const hash = await wallet.deployContract({
      abi: collector.abi,
      bytecode: collector.bytecode,
      args: [...args],
      account: DEPLOYER,
      chain: wallet.chain,
    });
    const deployed = (await client.waitForTransactionReceipt({ hash })).contractAddress!;
    await test.setCode({ address, bytecode: (await client.getCode({ address: deployed }))! });
  }
}

/** The one-time ERC-20 approval a Permit2 user gives Permit2 (unlimited, as wallets do). */
export async function approvePermit2(rpcUrl: string, token: Address, owner: PrivateKeyAccount, chainId = CHAIN_ID): Promise<void> {
  const compiled = compileContracts();
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl);
  const wallet = createWalletClient({ account: owner, chain, transport });
  const hash = await wallet.writeContract({
    address: token,
    abi: compiled.TestUSDC.abi,
    functionName: "approve",
    args: [PERMIT2_ADDRESS, maxUint256],
  });
  await createPublicClient({ chain, transport }).waitForTransactionReceipt({ hash });
}

/** Deploys a TestSmartWallet (EIP-1271, one owner key) and funds it with `amount` TestUSDC. */
export async function deploySmartWallet(
  rpcUrl: string,
  token: Address,
  owner: Address,
  amount: bigint,
  chainId = CHAIN_ID,
): Promise<Address> {
  const compiled = compileContracts();
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl);
  const wallet = createWalletClient({ account: DEPLOYER, chain, transport });
  const client = createPublicClient({ chain, transport });
  const hash = await wallet.deployContract({
    abi: compiled.TestSmartWallet.abi,
    bytecode: compiled.TestSmartWallet.bytecode,
    args: [owner],
  });
  const address = getAddress((await client.waitForTransactionReceipt({ hash })).contractAddress!);
  await mintTestUsdc(rpcUrl, token, address, amount, chainId);
  return address;
}

/** Mints `amount` TestUSDC (atomic units) to `to`, as the deployer, and waits for it to be mined. */
export async function mintTestUsdc(rpcUrl: string, token: Address, to: Address, amount: bigint, chainId = CHAIN_ID): Promise<void> {
  const compiled = compileContracts();
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl);
  const wallet = createWalletClient({ account: DEPLOYER, chain, transport });
  const mint = await wallet.writeContract({ address: token, abi: compiled.TestUSDC.abi, functionName: "mint", args: [to, amount] });
  await createPublicClient({ chain, transport }).waitForTransactionReceipt({ hash: mint });
}

/** Deploys a TestSmartWalletFactory, whose wallets have CREATE2 addresses known before they exist (EIP-6492). */
export async function deploySmartWalletFactory(
  rpcUrl: string,
  chainId = CHAIN_ID,
): Promise<{ factory: Address; abi: CompiledContract["abi"] }> {
  const compiled = compileContracts();
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl);
  const wallet = createWalletClient({ account: DEPLOYER, chain, transport });
  const client = createPublicClient({ chain, transport });
  const hash = await wallet.deployContract({
    abi: compiled.TestSmartWalletFactory.abi,
    bytecode: compiled.TestSmartWalletFactory.bytecode,
  });
  return {
    factory: getAddress((await client.waitForTransactionReceipt({ hash })).contractAddress!),
    abi: compiled.TestSmartWalletFactory.abi,
  };
}
