// An EIP-1193 wallet for a Playwright page, backed by a local test key in Node: what a browser extension
// wallet does for the paywall (accounts, chain id, chain switch, eth_signTypedData_v4), minus the prompts.
import type { Page } from "playwright-core";
import type { PrivateKeyAccount } from "viem/accounts";

export interface BrowserWallet {
  /** Every method the page asked for, in order. */
  calls: string[];
  /** The next signature request is declined as a person would (EIP-1193 code 4001). */
  declineNext(): void;
}

interface TypedDataRequest {
  domain: Record<string, unknown>;
  types: Record<string, { name: string; type: string }[]>;
  primaryType: string;
  message: Record<string, unknown>;
}

class ProviderError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function injectWallet(page: Page, account: PrivateKeyAccount, chainId: number): Promise<BrowserWallet> {
  const wallet: BrowserWallet & { declining: boolean } = { calls: [], declining: false, declineNext: () => (wallet.declining = true) };
  const handle = async (method: string, params: unknown[]): Promise<unknown> => {
    wallet.calls.push(method);
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [account.address];
      case "eth_chainId":
        return `0x${chainId.toString(16)}`;
      case "wallet_switchEthereumChain": {
        const wanted = Number((params[0] as { chainId: string }).chainId);
        if (wanted !== chainId) throw new ProviderError(4902, `Unrecognized chain ID ${wanted}`);
        return null;
      }
      case "eth_signTypedData_v4": {
        if (wallet.declining) {
          wallet.declining = false;
          throw new ProviderError(4001, "User rejected the request.");
        }
        const [from, json] = params as [string, string];
        if (from.toLowerCase() !== account.address.toLowerCase()) throw new ProviderError(4100, "Unknown account");
        return signTypedDataV4(account, JSON.parse(json) as TypedDataRequest);
      }
      default:
        throw new ProviderError(4200, `Unsupported method ${method}`);
    }
  };
  await page.exposeFunction("__x402TestWallet", async (method: string, params: string) => {
    try {
      return JSON.stringify({ result: await handle(method, JSON.parse(params) as unknown[]) });
    } catch (error) {
      return JSON.stringify({
        error: {
          code: error instanceof ProviderError ? error.code : -32603,
          message: String(error instanceof Error ? error.message : error),
        },
      });
    }
  });
  await page.addInitScript(`
    window.ethereum = {
      isX402TestWallet: true,
      request: async function (args) {
        var answer = JSON.parse(await window.__x402TestWallet(args.method, JSON.stringify(args.params || [])));
        if (answer.error) { var error = new Error(answer.error.message); error.code = answer.error.code; throw error; }
        return answer.result;
      }
    };`);
  return wallet;
}

/** As wallets do: the domain type is implied, integers arrive as decimal strings. */
function signTypedDataV4(account: PrivateKeyAccount, request: TypedDataRequest) {
  const { EIP712Domain: _domain, ...types } = request.types;
  const fields = types[request.primaryType] ?? [];
  const message = Object.fromEntries(
    Object.entries(request.message).map(([name, value]) => {
      const type = fields.find((f) => f.name === name)?.type ?? "";
      return [name, /^u?int\d*$/.test(type) ? BigInt(value as string) : value];
    }),
  );
  const domain = { ...request.domain, ...(request.domain.chainId !== undefined ? { chainId: Number(request.domain.chainId) } : {}) };
  return account.signTypedData({ domain, types, primaryType: request.primaryType, message } as Parameters<
    PrivateKeyAccount["signTypedData"]
  >[0]);
}
