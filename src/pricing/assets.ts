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
}

/** USDC deployments; the first entry per network is that network's default asset. */
export const BUILTIN_ASSETS: readonly AssetInfo[] = [
  { network: "eip155:8453", address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", decimals: 6, name: "USD Coin", version: "2", symbol: "USDC" },
  { network: "eip155:84532", address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", decimals: 6, name: "USDC", version: "2", symbol: "USDC" },
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
