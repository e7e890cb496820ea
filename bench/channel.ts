// batch-settlement cases for `npm run bench`: a call paid from a channel, as the official client makes it (the
// unpaid 402, then the voucher), and the voucher request alone (vouchers signed before the timed loop, as SIWX
// proofs are): what the gateway itself costs per channel call, next to exact pay-per-call and the session path.
import { BatchSettlementEvmScheme, signVoucher } from "@x402/evm/batch-settlement/client";
import { wrapFetchWithPaymentFromConfig } from "@x402/fetch";
import type { PrivateKeyAccount } from "viem";
import { encodeBase64Json } from "../src/x402/headers.js";
import type { BenchCase } from "./measure.js";

export const BENCH_CHANNEL_PATH = "/api/batch/bench";

/**
 * A rule whose deposit covers every benchmark call (its channel never needs a top-up while timed). Its literal path
 * outranks the demo's `/api/batch/:item`, whose origin route answers it.
 */
export function channelBenchRule(network: string, payTo: string) {
  return {
    id: "bench-batch",
    methods: ["GET"],
    path: BENCH_CHANNEL_PATH,
    price: "$0.001",
    accepts: [{ network, scheme: "batch-settlement", extra: { minDeposit: "5000000" } }],
    payTo,
    description: "batch-settlement benchmark route",
  };
}

export async function channelBenchCases(
  gateway: string,
  payer: PrivateKeyAccount,
  token: { network: string; address: string },
  vouchers: number,
): Promise<BenchCase[]> {
  const url = `${gateway}${BENCH_CHANNEL_PATH}`;
  const allowed = {
    allowedAssets: [{ network: token.network as `${string}:${string}`, asset: token.address, maxAmountPerPayment: "1000000" }],
  };
  const viaClient = wrapFetchWithPaymentFromConfig(fetch, {
    schemes: [{ network: "eip155:*", client: new BatchSettlementEvmScheme(payer) }],
    spendControls: allowed,
  });
  // A second channel (another salt) for the pre-signed vouchers, so the client's count and theirs never cross.
  const salt = `0x${"00".repeat(31)}01` as const;
  const opener = new BatchSettlementEvmScheme(payer, { salt });
  const opened = await wrapFetchWithPaymentFromConfig(fetch, {
    schemes: [{ network: "eip155:*", client: opener }],
    spendControls: allowed,
  })(url);
  if (opened.status !== 200) throw new Error(`channel deposit failed: ${opened.status}`);
  const offer = JSON.parse(Buffer.from((await fetch(url)).headers.get("PAYMENT-REQUIRED")!, "base64").toString()).accepts[0];
  const channelConfig = opener.buildChannelConfig(offer);
  const price = BigInt(offer.amount);
  const channelId = channelIdOf(opened);
  const headers: string[] = [];
  for (let i = 1; i <= vouchers; i++) {
    const voucher = await signVoucher(payer, channelId, (price * BigInt(i + 1)).toString(), offer.network);
    headers.push(encodeBase64Json({ x402Version: 2, accepted: offer, payload: { type: "voucher", channelConfig, voucher } }));
  }
  headers.reverse();
  return [
    { name: "gateway, batch-settlement call by the official client (402 + voucher)", once: () => viaClient(url), expectStatus: 200 },
    {
      name: "gateway, batch-settlement voucher request (signed beforehand)",
      once: () => fetch(url, { headers: { "PAYMENT-SIGNATURE": headers.pop()! } }),
      expectStatus: 200,
    },
  ];
}

function channelIdOf(response: Response): `0x${string}` {
  const settled = JSON.parse(Buffer.from(response.headers.get("PAYMENT-RESPONSE")!, "base64").toString()) as {
    extra: { channelState: { channelId: `0x${string}` } };
  };
  return settled.extra.channelState.channelId;
}

/**
 * 50 calls from a new channel with the official client (its deposit on the first), then the channel claimed at once
 * through the admin API (claim + settle) instead of at its scheduled time.
 */
export async function fiftyChannelCalls(
  info: { gateway: string; network: string; token: { address: string }; admin: { token: string; prefix: string } },
  payer: PrivateKeyAccount,
): Promise<{ calls: number; detail: string }> {
  const allowed = {
    allowedAssets: [{ network: info.network as `${string}:${string}`, asset: info.token.address, maxAmountPerPayment: "1000000" }],
  };
  const client = new BatchSettlementEvmScheme(payer, { salt: `0x${"00".repeat(31)}02` });
  const pay = wrapFetchWithPaymentFromConfig(fetch, { schemes: [{ network: "eip155:*", client }], spendControls: allowed });
  let channelId = "";
  for (let call = 1; call <= 50; call++) {
    const response = await pay(`${info.gateway}/api/batch/tx-count-${call}`);
    if (response.status !== 200) throw new Error(`channel call ${call} answered ${response.status}`);
    await response.arrayBuffer();
    channelId ||= channelIdOf(response);
  }
  const claimed = await fetch(`${info.gateway}${info.admin.prefix}/channels/${channelId}/claim`, {
    method: "POST",
    headers: { authorization: `Bearer ${info.admin.token}` },
  });
  const outcome = (await claimed.json()) as { claimed?: boolean; settleTransaction?: string | null };
  if (claimed.status !== 200 || !outcome.claimed) throw new Error(`channel claim failed: ${claimed.status}`);
  return { calls: 50, detail: `1 deposit, 1 claim${outcome.settleTransaction ? ", 1 settle to the seller" : ""}` };
}
