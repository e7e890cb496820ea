// The Solana `exact` plugin against real transactions built and signed with @solana/kit.
import { getTransferSolInstruction } from "@solana-program/system";
import { address, generateKeyPair, getAddressFromPublicKey } from "@solana/kit";
import { describe, expect, it } from "vitest";
import { decodeBase58 } from "../../src/encoding/base58.js";
import { isOnEd25519Curve } from "../../src/encoding/ed25519.js";
import { exactSvmScheme } from "../../src/schemes/exact-svm.js";
import { decodeSolanaTransaction } from "../../src/schemes/svm/solana-transaction.js";
import { associatedTokenAddress, TOKEN_PROGRAM } from "../../src/schemes/svm/token-account.js";
import type { PaymentRequirements } from "../../src/x402/schemas.js";
import { ataOf, buildSvmPayment, DEVNET_USDC, newSolanaWallet, TOKEN_2022, type SvmPaymentOptions } from "../fixtures/solana.js";

const DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const FEE_PAYER = "FaKeFeePayer1111111111111111111111111111111";
const PAY_TO = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
const context = {
  nowSeconds: 1_800_000_000,
  validUntilSeconds: 1_800_000_071,
  isContract: async () => undefined,
  blockhashStatus: async () => undefined,
};

function requirements(overrides: Partial<PaymentRequirements> = {}): PaymentRequirements {
  return {
    scheme: "exact",
    network: DEVNET,
    amount: "10000",
    asset: DEVNET_USDC,
    payTo: PAY_TO,
    maxTimeoutSeconds: 60,
    extra: { feePayer: FEE_PAYER },
    ...overrides,
  };
}

async function check(transaction: string, offer = requirements()) {
  return exactSvmScheme.checkPayload({ x402Version: 2, accepted: offer, payload: { transaction } }, offer, context);
}

async function payment(overrides: Partial<SvmPaymentOptions> = {}) {
  const payer = overrides.payer ?? (await newSolanaWallet());
  return { payer, transaction: await buildSvmPayment({ payer, feePayer: FEE_PAYER, payTo: PAY_TO, amount: 10_000n, ...overrides }) };
}

describe("associated token accounts", () => {
  it("derives the same ATA as @solana-program/token for random owners, both token programs", async () => {
    for (let i = 0; i < 20; i++) {
      const owner = await getAddressFromPublicKey((await generateKeyPair()).publicKey);
      for (const program of [TOKEN_PROGRAM, TOKEN_2022]) {
        expect(await associatedTokenAddress(owner, DEVNET_USDC, program)).toBe(await ataOf(owner, DEVNET_USDC, program));
      }
    }
  });

  it("tells curve points (wallet keys) from program addresses", async () => {
    for (let i = 0; i < 20; i++) {
      const owner = await getAddressFromPublicKey((await generateKeyPair()).publicKey);
      expect(isOnEd25519Curve(decodeBase58(owner)!)).toBe(true);
      expect(isOnEd25519Curve(decodeBase58(await ataOf(owner, DEVNET_USDC))!)).toBe(false);
    }
  });
});

describe("exact on Solana", () => {
  it("accepts the client's partially signed transfer and names the payer and a key for the message", async () => {
    const { payer, transaction } = await payment();
    const result = await check(transaction);
    expect(result).toEqual({
      ok: true,
      value: {
        payer: payer.address,
        paymentKey: expect.stringMatching(/^solana:EtWT[^:]+:[1-9A-HJ-NP-Za-km-z]{43,44}$/),
        lockGroup: `${requirements().network}:${payer.address}`,
        expiresAtSeconds: context.nowSeconds + 300,
      },
    });

    const decoded = decodeSolanaTransaction(Uint8Array.from(atob(transaction), (c) => c.charCodeAt(0)))!;
    expect(decoded).toMatchObject({ version: 0, numRequiredSignatures: 2, lookupCount: 0 });
    expect(decoded.signatures[0]).toEqual(new Uint8Array(64));
  });

  it("keys a payment on its message: the same transaction twice is one payment, another is not", async () => {
    const { payer, transaction } = await payment();
    const first = await check(transaction);
    const again = await check(transaction);
    const other = await check((await payment({ payer })).transaction);
    expect(first.ok && again.ok && other.ok).toBe(true);
    if (first.ok && again.ok && other.ok) {
      expect(again.value.paymentKey).toBe(first.value.paymentKey);
      expect(other.value.paymentKey).not.toBe(first.value.paymentKey);
    }
  });

  it("accepts Token-2022 transfers to the Token-2022 ATA", async () => {
    const { transaction } = await payment({ tokenProgram: TOKEN_2022 });
    expect((await check(transaction)).ok).toBe(true);
  });

  it.each<[string, Partial<SvmPaymentOptions>, string]>([
    ["another fee payer", { feePayer: PAY_TO }, "invalid_exact_svm_fee_payer_mismatch"],
    ["too little", { amount: 9_999n }, "invalid_exact_svm_payload_amount_mismatch"],
    ["too much", { amount: 10_001n }, "invalid_exact_svm_payload_amount_mismatch"],
    ["another mint", { mint: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v" }, "invalid_exact_svm_payload_mint_mismatch"],
    ["someone else's account", { destinationOwner: FEE_PAYER.replace("FaKe", "Fake") }, "invalid_exact_svm_payload_recipient_mismatch"],
    ["the fee payer's own tokens", { feePayerIsAuthority: true }, "invalid_exact_svm_payload_transaction_fee_payer_transferring_funds"],
    [
      "a priority fee above the cap",
      { computeUnitPrice: 5_000_001n },
      "invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high",
    ],
    ["no compute limit", { omitComputeLimit: true }, "invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction"],
  ])("refuses a transfer with %s", async (_name, overrides, reason) => {
    const { transaction } = await payment(overrides);
    expect(await check(transaction)).toEqual({ ok: false, reason });
  });

  it("refuses an instruction the scheme does not allow after the transfer", async () => {
    const payer = await newSolanaWallet();
    const drain = getTransferSolInstruction({ source: payer, destination: address(PAY_TO), amount: 1_000_000n });
    const { transaction } = await payment({ payer, extraInstructions: [drain] });
    expect(await check(transaction)).toEqual({ ok: false, reason: "invalid_exact_svm_payload_unknown_fifth_instruction" });
  });

  it("requires the seller's memo when the offer sets one", async () => {
    const offer = requirements({ extra: { feePayer: FEE_PAYER, memo: "order-42" } });
    expect((await check((await payment({ memo: "order-42" })).transaction, offer)).ok).toBe(true);
    expect(await check((await payment({ memo: "order-43" })).transaction, offer)).toEqual({
      ok: false,
      reason: "invalid_exact_svm_payload_memo_mismatch",
    });
    expect(await check((await payment({ memo: null })).transaction, offer)).toEqual({
      ok: false,
      reason: "invalid_exact_svm_payload_memo_count",
    });
  });

  it("refuses a tampered or unsigned transaction", async () => {
    const { transaction } = await payment();
    const bytes = Uint8Array.from(atob(transaction), (c) => c.charCodeAt(0));
    const tampered = Uint8Array.from(bytes);
    tampered[tampered.length - 2]! ^= 0x01; // the memo's last byte (before v0's lookup count): well formed, not what was signed
    expect(await check(btoa(String.fromCharCode(...tampered)))).toEqual({
      ok: false,
      reason: "invalid_exact_svm_payload_signature_invalid",
    });
    const unsigned = Uint8Array.from(bytes);
    unsigned.fill(0, 1 + 64, 1 + 128); // the client's signature slot
    expect(await check(btoa(String.fromCharCode(...unsigned)))).toEqual({
      ok: false,
      reason: "invalid_exact_svm_payload_signature_invalid",
    });
  });

  it("refuses what is not a transaction", async () => {
    const { transaction } = await payment();
    const bytes = Uint8Array.from(atob(transaction), (c) => c.charCodeAt(0));
    for (const text of [
      "",
      "not base64!",
      btoa("short"),
      btoa(String.fromCharCode(...bytes.subarray(0, bytes.length - 1))),
      btoa(String.fromCharCode(...bytes, 0)),
    ]) {
      const result = await exactSvmScheme.checkPayload(
        { x402Version: 2, accepted: requirements(), payload: { transaction: text } },
        requirements(),
        context,
      );
      expect(result.ok).toBe(false);
    }
    expect(
      (
        await exactSvmScheme.checkPayload(
          { x402Version: 2, accepted: requirements(), payload: { tx: transaction } },
          requirements(),
          context,
        )
      ).ok,
    ).toBe(false);
    expect(await check(transaction, requirements({ extra: {} }))).toEqual({
      ok: false,
      reason: "invalid_exact_svm_payload_missing_fee_payer",
    });
  });
});

describe("building Solana offers", () => {
  it("takes the feePayer from the facilitator's /supported unless configured", async () => {
    const offer = requirements({ extra: undefined });
    const kinds = [
      { x402Version: 1, scheme: "exact", network: "solana-devnet", extra: { feePayer: PAY_TO } },
      { x402Version: 2, scheme: "exact", network: DEVNET, extra: { feePayer: FEE_PAYER } },
    ];
    let asked = 0;
    const facts = { supportedKinds: async () => (asked++, kinds) };
    expect(await exactSvmScheme.completeOffer!(offer, facts)).toEqual({ ok: true, value: { ...offer, extra: { feePayer: FEE_PAYER } } });
    expect(await exactSvmScheme.completeOffer!(requirements({ extra: { feePayer: PAY_TO } }), facts)).toMatchObject({
      ok: true,
      value: { extra: { feePayer: PAY_TO } },
    });
    expect(asked).toBe(1);
    expect(await exactSvmScheme.completeOffer!(offer, { supportedKinds: async () => kinds.slice(0, 1) })).toMatchObject({ ok: false });
  });

  it("validates configured addresses and extra", () => {
    expect(exactSvmScheme.parseAddress(PAY_TO)).toEqual({ ok: true, value: PAY_TO });
    for (const bad of ["0x90F79bf6EB2c4f870365E785982E1f101E93b906", "1" + PAY_TO, "short", "O0Il"])
      expect(exactSvmScheme.parseAddress(bad).ok).toBe(false);
    expect(exactSvmScheme.buildExtra(undefined, { feePayer: "nope" }).ok).toBe(false);
    expect(exactSvmScheme.buildExtra(undefined, { memo: "x".repeat(257) }).ok).toBe(false);
    expect(exactSvmScheme.buildExtra(undefined, { memo: "invoice 7" })).toEqual({ ok: true, value: { memo: "invoice 7" } });
  });
});
