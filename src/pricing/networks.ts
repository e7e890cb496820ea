// Which CAIP-2 networks are mainnets and which are testnets, for the `avoidMainnet` / `testnetOnly`
// preferences. Networks not listed are neither (a private chain, a card or bank rail). Pure.
import { SOLANA_DEVNET, SOLANA_MAINNET } from "./assets.js";

const MAINNETS = new Set([
  "eip155:1",
  "eip155:8453",
  "eip155:10",
  "eip155:137",
  "eip155:42161",
  "eip155:43114",
  "eip155:56",
  "eip155:324",
  "eip155:59144",
  "eip155:534352",
  "eip155:1329",
  "eip155:4689",
  "eip155:3338",
  "eip155:2741",
  "eip155:130",
  "eip155:480",
  "eip155:146",
  SOLANA_MAINNET,
]);

const TESTNETS = new Set([
  "eip155:84532",
  "eip155:11155111",
  "eip155:11155420",
  "eip155:80002",
  "eip155:421614",
  "eip155:43113",
  "eip155:97",
  "eip155:300",
  "eip155:59141",
  "eip155:534351",
  "eip155:1328",
  "eip155:4690",
  "eip155:1301",
  "eip155:4801",
  "eip155:57054",
  // Local development chains (anvil, hardhat, ganache).
  "eip155:31337",
  "eip155:1337",
  SOLANA_DEVNET,
  "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z",
]);

export type NetworkClass = "mainnet" | "testnet" | "unknown";

export function classifyNetwork(network: string): NetworkClass {
  if (MAINNETS.has(network)) return "mainnet";
  if (TESTNETS.has(network)) return "testnet";
  return "unknown";
}

/** `eip155:8453` matches itself, `eip155:*` and `eip155`. */
export function matchesNetwork(pattern: string, network: string): boolean {
  if (pattern === network) return true;
  const namespace = network.split(":")[0];
  return pattern === `${namespace}:*` || pattern === namespace;
}
