// One name per wallet across the chains of its family: an EOA's address is the same key on every EVM chain,
// so a payment on one chain opens the session for sign-ins that name another. Pure.

/** `eip155:0xabc…` (lower-cased: EVM addresses are case-insensitive) or `solana:<base58>` (case matters). */
export function walletKey(network: string, address: string): string {
  const namespace = network.split(":")[0] ?? network;
  return namespace === "eip155" ? `eip155:${address.toLowerCase()}` : `${namespace}:${address}`;
}
