// The gateway's on-chain signature check for sign-ins (src/siwx/check-siwx-proof.ts): the never-deployed validator
// (contracts/Erc6492SigValidator.sol) run by eth_call on a real local chain, for contract wallets that exist (EIP-1271),
// wallets not deployed yet (EIP-6492, serialized by viem as wallets do) and keys; and the creation code the Worker
// carries is the contract's current compile.
import { readFileSync } from "node:fs";
import { encodeFunctionData, serializeErc6492Signature, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAIN_ID, deployContracts, deploySmartWallet, deploySmartWalletFactory, startChain } from "../../stack/chain.js";
import { compileContracts } from "../../stack/compile-contracts.js";
import type { ManagedProcess } from "../../stack/process.js";
import { PAYER } from "../../stack/accounts.js";
import { VALIDATOR_MODULE, validatorModuleText } from "../../scripts/build-erc6492-validator.js";
import { buildSiweMessage } from "../../src/siwx/siwe-message.js";
import { verifySiwxSignature } from "../../src/siwx/check-siwx-proof.js";
import type { SiwxProof } from "../../src/siwx/siwx-proof.js";
import { GatewayFailure } from "../../src/errors.js";

let chain: { process: ManagedProcess; rpcUrl: string };
let token: Address;

beforeAll(async () => {
  chain = await startChain();
  ({ token } = await deployContracts(chain.rpcUrl, [{ to: PAYER.address, amount: 1_000_000n }]));
}, 60_000);
afterAll(async () => {
  await chain?.process.stop();
});

const CHAIN = `eip155:${CHAIN_ID}`;
const proofFor = (address: string): SiwxProof => ({
  domain: "api.example.com",
  address,
  uri: "https://api.example.com/api/forecast/oslo",
  version: "1",
  chainId: CHAIN,
  type: "eip191",
  nonce: "abcdef0123456789",
  issuedAt: new Date().toISOString(),
  signature: "0x",
});
const messageOf = (proof: SiwxProof) => buildSiweMessage(proof, String(CHAIN_ID));
const check = (proof: SiwxProof, rpcUrl = chain.rpcUrl, contractChains: readonly string[] = [CHAIN]) =>
  verifySiwxSignature(proof, { rpcUrls: { [CHAIN]: rpcUrl }, rpcTimeoutMs: 3000, contractChains });

describe("the validator's creation code", () => {
  it("is what contracts/Erc6492SigValidator.sol compiles to (npm run contracts:validator writes it)", () => {
    expect(readFileSync(VALIDATOR_MODULE, "utf8")).toBe(validatorModuleText(compileContracts().Erc6492SigValidator.bytecode));
  });
});

describe("smart-wallet sign-ins checked on chain", () => {
  it("a deployed contract wallet (EIP-1271): its owner's signature passes, another key's does not", async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const wallet = await deploySmartWallet(chain.rpcUrl, token, owner.address, 0n);
    const proof = proofFor(wallet);
    expect(await check({ ...proof, signature: await owner.signMessage({ message: messageOf(proof) }) })).toEqual({ ok: true });
    const impostor = privateKeyToAccount(generatePrivateKey());
    expect(await check({ ...proof, signature: await impostor.signMessage({ message: messageOf(proof) }) })).toEqual({
      ok: false,
      reason: "invalid_siwx_signature",
    });
    // Security review F14: a contract's say-so counts only on a chain the rule is paid on.
    expect(
      await check({ ...proof, signature: await owner.signMessage({ message: messageOf(proof) }) }, chain.rpcUrl, ["eip155:8453"]),
    ).toEqual({ ok: false, reason: "invalid_siwx_signature" });
  });

  it("a wallet not deployed yet (EIP-6492): valid for its owner, refused for another key, and still not deployed", async () => {
    const { factory, abi } = await deploySmartWalletFactory(chain.rpcUrl);
    const owner = privateKeyToAccount(generatePrivateKey());
    const salt = `0x${"00".repeat(31)}2a` as Hex;
    const predicted = await predictWallet(factory, abi, owner, salt);
    const proof = proofFor(predicted);
    const wrapped = async (key: PrivateKeyAccount) =>
      serializeErc6492Signature({
        address: factory,
        data: encodeFunctionData({ abi, functionName: "deploy", args: [owner.address, salt] }),
        signature: await key.signMessage({ message: messageOf(proof) }),
      });
    expect(await check({ ...proof, signature: await wrapped(owner) })).toEqual({ ok: true });
    expect(await check({ ...proof, signature: await wrapped(privateKeyToAccount(generatePrivateKey())) })).toEqual({
      ok: false,
      reason: "invalid_siwx_signature",
    });
    expect(await rpc("eth_getCode", [predicted, "latest"])).toBe("0x");
  });

  it("a malformed EIP-6492 wrapper is a refused signature, not an outage", async () => {
    const proof = proofFor(privateKeyToAccount(generatePrivateKey()).address);
    const garbage = `0x${"ab".repeat(40)}${"6492".repeat(16)}` as Hex;
    expect(await check({ ...proof, signature: garbage })).toEqual({ ok: false, reason: "invalid_siwx_signature" });
  });

  it("an RPC that does not answer is siwx_verifier_unavailable (502), not a refusal", async () => {
    const proof = proofFor(privateKeyToAccount(generatePrivateKey()).address);
    const error = await check({ ...proof, signature: `0x${"11".repeat(80)}` }, "http://127.0.0.1:9").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayFailure);
    expect((error as GatewayFailure).error.kind).toBe("siwx_verifier_unavailable");
    // The RPC URL (which often carries an API key) is not in what is logged.
    expect(JSON.stringify((error as GatewayFailure).error)).not.toContain("127.0.0.1:9");
  });
});

async function rpc(method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(chain.rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await response.json()) as { result: unknown }).result;
}

async function predictWallet(
  factory: Address,
  abi: ReturnType<typeof compileContracts>["TestSmartWalletFactory"]["abi"],
  owner: PrivateKeyAccount,
  salt: Hex,
): Promise<Address> {
  const data = encodeFunctionData({ abi, functionName: "predict", args: [owner.address, salt] });
  const result = (await rpc("eth_call", [{ to: factory, data }, "latest"])) as Hex;
  return `0x${result.slice(26)}` as Address;
}
