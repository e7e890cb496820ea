// Compiles contracts/*.sol with solc-js (bundled compiler, works offline). ~1 s.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Abi, Hex } from "viem";

export interface CompiledContract {
  abi: Abi;
  bytecode: Hex;
  deployedBytecode: Hex;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
}

const CONTRACTS = [
  "TestUSDC",
  "Multicall3Lite",
  "TestSmartWallet",
  "TestSmartWalletFactory",
  "TestPermit2",
  "TestX402ExactPermit2Proxy",
  "TestX402UptoPermit2Proxy",
  "TestX402BatchSettlement",
  "TestERC3009DepositCollector",
  "TestPermit2DepositCollector",
  "Erc6492SigValidator",
] as const;
export type ContractName = (typeof CONTRACTS)[number];

export function compileContracts(): Record<ContractName, CompiledContract> {
  const solc = createRequire(import.meta.url)("solc") as { compile(input: string): string };
  const sources = Object.fromEntries(
    CONTRACTS.map((name) => [`${name}.sol`, { content: readFileSync(new URL(`../contracts/${name}.sol`, import.meta.url), "utf8") }]),
  );
  const input = {
    language: "Solidity",
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  return Object.fromEntries(
    CONTRACTS.map((name) => {
      const contract = output.contracts[`${name}.sol`]![name]!;
      return [
        name,
        { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}`, deployedBytecode: `0x${contract.evm.deployedBytecode.object}` },
      ];
    }),
  ) as Record<ContractName, CompiledContract>;
}
