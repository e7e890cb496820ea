// Sessions end to end: the official client (@x402/fetch + the official sign-in-with-x client extension) pays
// once on the local chain, then signs in for further answers with no transaction and no facilitator call.
import { decodePaymentRequiredHeader } from "@x402/core/http";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { createSIWxClientExtension, wrapFetchWithSIWx } from "@x402/extensions/sign-in-with-x";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { createPublicClient, encodeFunctionData, http, serializeErc6492Signature, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER } from "../../stack/accounts.js";
import { deploySmartWallet, deploySmartWalletFactory, localChain, NETWORK } from "../../stack/chain.js";
import { createSessionFetch, readSettlement } from "../../stack/pay.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;
let blockNumber: () => Promise<bigint>;

beforeAll(async () => {
  stack = await startStackFixture({
    extraRules: [
      {
        id: "forecast-rome-short",
        methods: ["GET"],
        path: "/api/forecast/rome",
        price: "$0.02",
        accepts: [{ network: NETWORK }],
        payTo: SELLER.address,
        session: { ttlSeconds: 3, maxRequests: 100 },
      },
    ],
  });
  const chain = createPublicClient({ chain: localChain(stack.info.rpcUrl), transport: http(stack.info.rpcUrl) });
  blockNumber = () => chain.getBlockNumber({ cacheTime: 0 });
});
afterAll(async () => {
  await stack?.dispose();
});

/** Records which proof each request to the gateway carried. */
function recordingFetch(log: ("payment" | "sign-in" | "none")[]): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    log.push(request.headers.has("PAYMENT-SIGNATURE") ? "payment" : request.headers.has("SIGN-IN-WITH-X") ? "sign-in" : "none");
    return fetch(request);
  };
}

async function reasonOf(response: Response): Promise<string | undefined> {
  expect(response.status).toBe(402);
  return decodePaymentRequiredHeader(response.headers.get("PAYMENT-REQUIRED")!).error;
}

describe("a session bought with one on-chain payment", () => {
  it("pays once, then serves 20 sign-ins with zero transactions and zero facilitator calls; the 21st is refused", async () => {
    const url = `${stack.info.gateway}/api/forecast/paris`;
    const log: ("payment" | "sign-in" | "none")[] = [];
    const sessionFetch = createSessionFetch(PAYER, { network: stack.info.network, address: stack.info.token.address }, recordingFetch(log));
    const [payerBefore, sellerBefore, blockBefore] = await Promise.all([
      stack.balance(PAYER.address),
      stack.balance(SELLER.address),
      blockNumber(),
    ]);

    const paid = await sessionFetch(url);
    expect(paid.status).toBe(200);
    expect(readSettlement(paid)).toMatchObject({ success: true, payer: PAYER.address });
    expect(paid.headers.get("X402-SESSION-REMAINING")).toBe("20");
    expect(paid.headers.get("X402-SESSION")).toMatch(/^ey/);
    // The client first tried to sign in (no session yet), then paid.
    expect(log).toEqual(["none", "sign-in", "payment"]);
    expect(await blockNumber()).toBe(blockBefore + 1n);
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 100_000n);
    expect(await stack.balance(SELLER.address)).toBe(sellerBefore + 100_000n);

    const [statsAfterPayment, blockAfterPayment, originAfterPayment] = await Promise.all([
      stack.facilitatorStats(),
      blockNumber(),
      stack.originCalls("/api/forecast/paris"),
    ]);
    log.length = 0;
    for (let i = 1; i <= 20; i++) {
      const response = await sessionFetch(url);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ city: "paris" });
      expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
      expect(response.headers.get("X402-SESSION-REMAINING")).toBe(String(20 - i));
    }
    expect(log.filter((kind) => kind === "payment")).toHaveLength(0);
    expect(log.filter((kind) => kind === "sign-in")).toHaveLength(20);
    const statsAfter = await stack.facilitatorStats();
    expect({ verify: statsAfter.verify, settle: statsAfter.settle }).toEqual({
      verify: statsAfterPayment.verify,
      settle: statsAfterPayment.settle,
    });
    expect(await blockNumber()).toBe(blockAfterPayment);
    expect(await stack.balance(PAYER.address)).toBe(payerBefore - 100_000n);
    expect(await stack.originCalls("/api/forecast/paris")).toBe(originAfterPayment + 20);
    const rows = await eventually(
      () => stack.ledgerRows("rule_id = ?", "forecast-pass"),
      (r) => r.some((row) => row.status === "settled"),
    );
    expect(rows).toMatchObject([{ status: "settled", payer: PAYER.address, amount: "100000" }]);

    // Quota spent: a sign-in alone (the official SIWX-only wrapper) now gets the normal 402.
    const refused = await wrapFetchWithSIWx(fetch, PAYER)(url);
    expect(await reasonOf(refused)).toBe("session_exhausted");
    expect(await stack.originCalls("/api/forecast/paris")).toBe(originAfterPayment + 20);
  });

  it("serves the session token without a signature, and ends the session at its TTL", async () => {
    const url = `${stack.info.gateway}/api/forecast/rome`;
    const sessionFetch = createSessionFetch(PAYER, { network: stack.info.network, address: stack.info.token.address });
    const paid = await sessionFetch(url);
    expect(paid.status).toBe(200);
    const token = paid.headers.get("X402-SESSION")!;
    const stats = await stack.facilitatorStats();

    const withToken = await fetch(url, { headers: { "X402-SESSION": token } });
    expect(withToken.status).toBe(200);
    expect(withToken.headers.get("X402-SESSION-REMAINING")).toBe("98");
    expect((await stack.facilitatorStats()).verify).toBe(stats.verify);

    await new Promise((resolve) => setTimeout(resolve, 3200));
    expect(await reasonOf(await fetch(url, { headers: { "X402-SESSION": token } }))).toMatch(/^session_(token_)?expired$/);
    expect(await reasonOf(await wrapFetchWithSIWx(fetch, PAYER)(url))).toMatch(/^session_(expired|not_found)$/);
  });
});

describe("smart-wallet (EIP-1271 / EIP-6492) sessions", () => {
  it("pays from a contract wallet and signs in with a signature checked on chain through RPC_URLS", async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const wallet: Address = await deploySmartWallet(stack.info.rpcUrl, stack.info.token.address, owner.address, 1_000_000n);
    // The wallet's signatures are its owner key's; the address is the contract's.
    const signer = {
      address: wallet,
      signTypedData: (args: Parameters<typeof owner.signTypedData>[0]) => owner.signTypedData(args),
      signMessage: (args: { message: string }) => owner.signMessage(args),
    };
    const client = x402Client.fromConfig({
      schemes: [{ network: "eip155:*", client: new ExactEvmScheme(signer as unknown as ConstructorParameters<typeof ExactEvmScheme>[0]) }],
      spendControls: {
        allowedAssets: [{ network: NETWORK as `${string}:${string}`, asset: stack.info.token.address, maxAmountPerPayment: "1000000" }],
      },
    });
    client.registerExtension(createSIWxClientExtension({ signers: [signer as unknown as Parameters<typeof wrapFetchWithSIWx>[1]] }));
    const sessionFetch = wrapFetchWithPayment(fetch, client);
    const url = `${stack.info.gateway}/api/forecast/lima`;

    const paid = await sessionFetch(url);
    expect(paid.status).toBe(200);
    expect(readSettlement(paid)).toMatchObject({ success: true });
    expect(await stack.balance(wallet)).toBe(900_000n);
    const stats = await stack.facilitatorStats();

    const signedIn = await sessionFetch(url);
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get("X402-SESSION-REMAINING")).toBe("19");
    expect((await stack.facilitatorStats()).verify).toBe(stats.verify);

    // Another key signing for the wallet is refused on chain.
    const impostor = privateKeyToAccount(generatePrivateKey());
    const forged = { address: wallet, signMessage: (args: { message: string }) => impostor.signMessage(args) };
    const refused = await wrapFetchWithSIWx(fetch, forged as unknown as Parameters<typeof wrapFetchWithSIWx>[1])(url);
    expect(await reasonOf(refused)).toBe("invalid_siwx_signature");
  });

  it("accepts a sign-in from a wallet not deployed yet (EIP-6492), simulated on chain and never deployed by it", async () => {
    const chain = createPublicClient({ chain: localChain(stack.info.rpcUrl), transport: http(stack.info.rpcUrl) });
    const owner = privateKeyToAccount(generatePrivateKey());
    const { factory, abi } = await deploySmartWalletFactory(stack.info.rpcUrl);
    const salt = `0x${"00".repeat(31)}07` as const;
    const predicted = (await chain.readContract({
      address: factory,
      abi,
      functionName: "predict",
      args: [owner.address, salt],
    })) as Address;
    const deployCall = encodeFunctionData({ abi, functionName: "deploy", args: [owner.address, salt] });
    const counterfactual = (key: typeof owner) => ({
      address: predicted,
      signMessage: async (args: { message: string }) =>
        serializeErc6492Signature({ address: factory, data: deployCall, signature: await key.signMessage(args) }),
    });
    const url = `${stack.info.gateway}/api/forecast/oslo`;

    // The signature is good (the wallet simply never paid), so the refusal is about the session, not the proof.
    const genuine = await wrapFetchWithSIWx(fetch, counterfactual(owner) as unknown as Parameters<typeof wrapFetchWithSIWx>[1])(url);
    expect(await reasonOf(genuine)).toBe("session_not_found");
    const forged = await wrapFetchWithSIWx(
      fetch,
      counterfactual(privateKeyToAccount(generatePrivateKey())) as unknown as Parameters<typeof wrapFetchWithSIWx>[1],
    )(url);
    expect(await reasonOf(forged)).toBe("invalid_siwx_signature");
    expect(await chain.getCode({ address: predicted })).toBeUndefined();
  });
});
