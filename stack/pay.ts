// Pays one request with the official x402 client (@x402/fetch + the @x402/evm exact scheme).
import { decodePaymentResponseHeader, wrapFetchWithPaymentFromConfig } from "@x402/fetch";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { createPublicClient, erc20Abi, http, type Address, type PrivateKeyAccount } from "viem";
import { localChain } from "./chain.js";

/** The local token is not one of the client's built-in assets, so it is allowed explicitly, capped at 1 USDC a payment. */
export function createPayingFetch(
  account: PrivateKeyAccount,
  token: { network: string; address: Address },
  baseFetch: typeof fetch = fetch,
): typeof fetch {
  return wrapFetchWithPaymentFromConfig(baseFetch, {
    schemes: [{ network: "eip155:*", client: new ExactEvmScheme(account) }],
    spendControls: { allowedAssets: [{ network: token.network as `${string}:${string}`, asset: token.address, maxAmountPerPayment: "1000000" }] },
  });
}

export async function readBalance(rpcUrl: string, token: Address, owner: Address): Promise<bigint> {
  const client = createPublicClient({ chain: localChain(rpcUrl), transport: http(rpcUrl) });
  return client.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [owner] });
}

export function readSettlement(response: Response) {
  const header = response.headers.get("PAYMENT-RESPONSE");
  return header ? decodePaymentResponseHeader(header) : undefined;
}
