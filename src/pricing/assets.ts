// Built-in stablecoin registry: network → token facts the 402 needs. Config may add or override entries.

export interface AssetInfo {
  network: string;
  /** Token contract address (EVM) or mint (Solana). */
  address: string;
  decimals: number;
  /** EIP-712 domain `name` and `version` of the token (EVM `exact` puts them in `extra`). */
  name?: string;
  version?: string;
  symbol?: string;
  /** How EVM `exact` moves it: EIP-3009 (default) or Permit2 (tokens without EIP-3009). */
  assetTransferMethod?: "eip3009" | "permit2";
}

/** Solana clusters as CAIP-2 ids (the genesis hash, truncated). */
export const SOLANA_MAINNET = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp";
export const SOLANA_DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";

const usdc = (network: string, address: string, name: string) => ({ network, address, decimals: 6, name, version: "2", symbol: "USDC" });

/** Circle's USDC per network; the first entry per network is that network's default asset. Config can add more. */
export const BUILTIN_ASSETS: readonly AssetInfo[] = [
  usdc("eip155:8453", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin"), // Base
  usdc("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC"), // Base Sepolia
  usdc("eip155:1", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD Coin"), // Ethereum
  usdc("eip155:137", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin"), // Polygon PoS
  usdc("eip155:80002", "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", "USDC"), // Polygon Amoy
  usdc("eip155:43114", "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USD Coin"), // Avalanche C-Chain
  usdc("eip155:43113", "0x5425890298aed601595a70AB815c96711a31Bc65", "USD Coin"), // Avalanche Fuji
  usdc("eip155:42161", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USD Coin"), // Arbitrum One
  usdc("eip155:421614", "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", "USD Coin"), // Arbitrum Sepolia
  // SPL mints: no EIP-712 domain.
  { network: SOLANA_MAINNET, address: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals: 6, symbol: "USDC" },
  { network: SOLANA_DEVNET, address: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", decimals: 6, symbol: "USDC" },
];

export class AssetRegistry {
  readonly #byKey = new Map<string, AssetInfo>();
  readonly #defaults = new Map<string, AssetInfo>();

  constructor(assets: readonly AssetInfo[]) {
    for (const asset of assets) this.add(asset);
  }

  /** A later entry overrides an earlier one with the same network and address; the first per network is its default. */
  add(asset: AssetInfo, makeDefault = false): void {
    this.#byKey.set(assetKey(asset.network, asset.address), asset);
    const current = this.#defaults.get(asset.network);
    if (makeDefault || !current || assetKey(current.network, current.address) === assetKey(asset.network, asset.address)) {
      this.#defaults.set(asset.network, asset);
    }
  }

  find(network: string, address: string): AssetInfo | undefined {
    return this.#byKey.get(assetKey(network, address));
  }

  defaultFor(network: string): AssetInfo | undefined {
    return this.#defaults.get(network);
  }
}

/** EVM addresses compare case-insensitively; other namespaces (Solana base58) are case-sensitive. */
export function sameAddress(a: string, b: string): boolean {
  return a.startsWith("0x") ? a.toLowerCase() === b.toLowerCase() : a === b;
}

function assetKey(network: string, address: string): string {
  // EVM addresses compare case-insensitively; Solana mints are case-sensitive base58.
  return `${network}|${network.startsWith("eip155:") ? address.toLowerCase() : address}`;
}
