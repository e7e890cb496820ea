// The network's RPC (RPC_URLS), as every chain read of the gateway's own uses it: a payment's checks, its settle
// (issue #34), and the PaymentRecord's reconciler.

/** One read of a public chain; a slower answer is no answer. */
export const RPC_TIMEOUT_MS = 3000;

export function rpcFor(
  urls: Readonly<Record<string, string>> | undefined,
  network: string,
): { url: string; timeoutMs: number } | undefined {
  const url = urls?.[network];
  return url ? { url, timeoutMs: RPC_TIMEOUT_MS } : undefined;
}
