// The Permit2 variant of EVM `exact` through the real Worker: offers that say `assetTransferMethod: "permit2"`,
// real EIP-712 Permit2 witness signatures (viem), every local refusal before the facilitator, the replay key.
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { x402Client, wrapFetchWithPayment } from "@x402/fetch";
import { env } from "cloudflare:test";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { PERMIT2_ADDRESS, PERMIT2_WITNESS_TYPES, X402_EXACT_PERMIT2_PROXY } from "../../src/schemes/evm/permit2.js";
import type { PaymentRequired, PaymentRequirements } from "../../src/x402/schemas.js";
import {
  BASE_SEPOLIA,
  BASE_SEPOLIA_USDC,
  buildHarness,
  buildRule,
  decodeHeader,
  encodePayment,
  fetchThrough,
  newTestId,
  PAY_TO,
  PAYER,
  type GatewayHarness,
} from "../fixtures/builders.js";

const OTHER = privateKeyToAccount("0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba");

interface Permit2Overrides {
  signer?: PrivateKeyAccount;
  from?: `0x${string}`;
  spender?: `0x${string}`;
  to?: `0x${string}`;
  token?: `0x${string}`;
  amount?: bigint;
  deadline?: bigint;
  validAfter?: bigint;
  nonce?: bigint;
}

async function permit2Payment(offer: PaymentRequirements, overrides: Permit2Overrides = {}) {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const signer = overrides.signer ?? PAYER;
  const message = {
    permitted: { token: overrides.token ?? (offer.asset as `0x${string}`), amount: overrides.amount ?? BigInt(offer.amount) },
    spender: overrides.spender ?? X402_EXACT_PERMIT2_PROXY,
    nonce:
      overrides.nonce ??
      BigInt(`0x${[...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("")}`),
    deadline: overrides.deadline ?? now + 60n,
    witness: { to: overrides.to ?? (offer.payTo as `0x${string}`), validAfter: overrides.validAfter ?? 0n },
  };
  const signature = await signer.signTypedData({
    domain: { name: "Permit2", chainId: 84532, verifyingContract: PERMIT2_ADDRESS },
    types: PERMIT2_WITNESS_TYPES,
    primaryType: "PermitWitnessTransferFrom",
    message,
  });
  const permit2Authorization = {
    from: overrides.from ?? signer.address,
    permitted: { token: message.permitted.token, amount: String(message.permitted.amount) },
    spender: message.spender,
    nonce: String(message.nonce),
    deadline: String(message.deadline),
    witness: { to: message.witness.to, validAfter: String(message.witness.validAfter) },
  };
  return encodePayment({ x402Version: 2, accepted: offer, payload: { signature, permit2Authorization } });
}

async function permit2Harness(vars: Record<string, string> = {}) {
  return buildHarness({ rules: [buildRule({ accepts: [{ network: BASE_SEPOLIA, extra: { assetTransferMethod: "permit2" } }] })], vars });
}

async function offerOf(harness: GatewayHarness): Promise<PaymentRequirements> {
  return decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED")).accepts[0]!;
}

const pay = (harness: GatewayHarness, header: string, path = "/weather/paris") =>
  harness.fetch(path, { headers: { "PAYMENT-SIGNATURE": header } });

describe("exact on EVM with Permit2", () => {
  it("offers Permit2 with the token's EIP-712 facts and takes a valid permit to the facilitator", async () => {
    const harness = await permit2Harness();
    const offer = await offerOf(harness);
    expect(offer).toMatchObject({
      asset: BASE_SEPOLIA_USDC,
      payTo: PAY_TO,
      amount: "10000",
      extra: { assetTransferMethod: "permit2", name: "USDC", version: "2" },
    });

    const response = await pay(harness, await permit2Payment(offer, { nonce: 7n }));
    expect(response.status).toBe(200);
    const calls = await harness.facilitatorCalls();
    expect(calls.map((c) => c.path)).toEqual(["/verify", "/settle"]);
    expect(JSON.parse(calls[0]!.body)).toMatchObject({
      paymentPayload: { payload: { permit2Authorization: { nonce: "7", spender: X402_EXACT_PERMIT2_PROXY } } },
    });
    const rows = await harness.ledgerRows();
    expect(rows).toEqual([
      expect.objectContaining({
        status: "settled",
        payer: PAYER.address,
        payment_key: `${BASE_SEPOLIA}:permit2:${PAYER.address.toLowerCase()}:7`,
      }),
    ]);
  });

  it("accepts what the official EVM client signs for a Permit2 offer", async () => {
    const harness = await permit2Harness();
    const client = new x402Client().register(BASE_SEPOLIA, new ExactEvmScheme(PAYER));
    const response = await wrapFetchWithPayment(fetchThrough(harness), client)("https://gateway.example/weather/paris");
    expect(response.status).toBe(200);
    const verify = JSON.parse((await harness.facilitatorCalls())[0]!.body) as { paymentPayload: { payload: Record<string, unknown> } };
    expect(Object.keys(verify.paymentPayload.payload).sort()).toEqual(["permit2Authorization", "signature"]);
  });

  it("spends a Permit2 nonce once, whatever the resource", async () => {
    const harness = await permit2Harness();
    const offer = await offerOf(harness);
    const header = await permit2Payment(offer);
    expect((await pay(harness, header)).status).toBe(200);
    const replay = await pay(harness, header, "/weather/lyon");
    expect(replay.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(replay.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it("keys a nonce by its number: the same permit with its nonce written with leading zeros is a replay", async () => {
    const harness = await permit2Harness();
    const offer = await offerOf(harness);
    const nonce = BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000));
    const header = await permit2Payment(offer, { nonce });
    expect((await pay(harness, header)).status).toBe(200);
    const payment = JSON.parse(atob(header)) as { payload: { permit2Authorization: { nonce: string } } };
    payment.payload.permit2Authorization.nonce = `00${nonce}`;
    const alias = await pay(harness, btoa(JSON.stringify(payment)), "/weather/lyon");
    expect(alias.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(alias.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it("refuses a nonce above uint256 as malformed", async () => {
    const harness = await permit2Harness();
    const payment = JSON.parse(atob(await permit2Payment(await offerOf(harness), { nonce: 7n }))) as {
      payload: { permit2Authorization: { nonce: string } };
    };
    payment.payload.permit2Authorization.nonce = (2n ** 256n + 7n).toString();
    const response = await pay(harness, btoa(JSON.stringify(payment)));
    expect(response.status).toBe(402);
    expect(await harness.facilitatorCalls()).toEqual([]);
  });

  it.each<[string, Permit2Overrides, string]>([
    ["names another spender", { spender: "0x000000000000000000000000000000000000dEaD" }, "invalid_permit2_spender"],
    ["pays someone else", { to: "0x000000000000000000000000000000000000dEaD" }, "invalid_permit2_recipient_mismatch"],
    ["has expired", { deadline: 1n }, "permit2_deadline_expired"],
    // Security review F4: window = verify 1 s + origin 1 s + settle 1 s + 6 s = 9 s in these tests.
    ["could expire before its settle", { deadline: BigInt(Math.floor(Date.now() / 1000) + 8) }, "permit2_deadline_expired"],
    ["is not valid yet", { validAfter: 4_000_000_000n }, "permit2_not_yet_valid"],
    ["pays too little", { amount: 9_999n }, "permit2_amount_mismatch"],
    ["moves another token", { token: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913" }, "permit2_token_mismatch"],
  ])("refuses a permit that %s before any facilitator call", async (_name, overrides, reason) => {
    const harness = await permit2Harness();
    const response = await pay(harness, await permit2Payment(await offerOf(harness), overrides));
    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe(reason);
    expect(await harness.facilitatorCalls()).toEqual([]);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("refuses a permit signed by another key when the chain says the payer is a plain account", async () => {
    const rpc = (kind: string) => ({ RPC_URLS: JSON.stringify({ [BASE_SEPOLIA]: `${env.TEST_ORIGIN_URL}/t/${newTestId()}/rpc/${kind}` }) });
    const forged = async (harness: GatewayHarness) =>
      pay(harness, await permit2Payment(await offerOf(harness), { signer: OTHER, from: PAYER.address }));

    const eoa = await permit2Harness(rpc("eoa"));
    const refused = await forged(eoa);
    expect(refused.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(refused.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_permit2_signature");
    expect(await eoa.facilitatorCalls()).toEqual([]);

    // A contract wallet's owner signs for it: the facilitator (EIP-1271) decides.
    const contract = await permit2Harness(rpc("contract"));
    expect((await forged(contract)).status).toBe(200);
    expect((await contract.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify", "/settle"]);
  });

  it("refuses a malformed permit as invalid_payload", async () => {
    const harness = await permit2Harness();
    const offer = await offerOf(harness);
    const header = encodePayment({
      x402Version: 2,
      accepted: offer,
      payload: { signature: "0x12", permit2Authorization: { from: PAYER.address } },
    });
    const response = await pay(harness, header);
    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe("invalid_payload");
  });
});
