// Pays one request with the official x402 client (@x402/fetch + the @x402/evm exact scheme, or another of its
// client schemes).
import { createSIWxClientExtension } from "@x402/extensions/sign-in-with-x";
import { decodePaymentResponseHeader, wrapFetchWithPayment, wrapFetchWithPaymentFromConfig, x402Client } from "@x402/fetch";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import type { SchemeNetworkClient } from "@x402/core/types";
import { createPublicClient, erc20Abi, http, type Address, type PrivateKeyAccount } from "viem";
import { localChain } from "./chain.js";

/** The local token is not one of the client's built-in assets, so it is allowed explicitly, capped at 1 USDC a payment. */
export function createPayingFetch(
  account: PrivateKeyAccount,
  token: { network: string; address: Address },
  baseFetch: typeof fetch = fetch,
  client: SchemeNetworkClient = new ExactEvmScheme(account),
): typeof fetch {
  return wrapFetchWithPaymentFromConfig(baseFetch, {
    schemes: [{ network: "eip155:*", client }],
    spendControls: {
      allowedAssets: [{ network: token.network as `${string}:${string}`, asset: token.address, maxAmountPerPayment: "1000000" }],
    },
  });
}

/**
 * The official client with the official sign-in-with-x client extension: on a 402 that offers sign-in it
 * first signs in (using a session the wallet paid for), and pays only if that is refused.
 */
export function createSessionFetch(
  account: PrivateKeyAccount,
  token: { network: string; address: Address },
  baseFetch: typeof fetch = fetch,
): typeof fetch {
  const client = x402Client.fromConfig({
    schemes: [{ network: "eip155:*", client: new ExactEvmScheme(account) }],
    spendControls: {
      allowedAssets: [{ network: token.network as `${string}:${string}`, asset: token.address, maxAmountPerPayment: "1000000" }],
    },
  });
  client.registerExtension(createSIWxClientExtension({ signers: [account] }));
  return wrapFetchWithPayment(baseFetch, client);
}

export async function readBalance(rpcUrl: string, token: Address, owner: Address): Promise<bigint> {
  const client = createPublicClient({ chain: localChain(rpcUrl), transport: http(rpcUrl) });
  return client.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [owner] });
}

export function readSettlement(response: Response) {
  const header = response.headers.get("PAYMENT-RESPONSE");
  return header ? decodePaymentResponseHeader(header) : undefined;
}
