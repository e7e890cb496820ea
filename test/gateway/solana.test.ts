// Solana `exact` through the real Worker: the offer's feePayer from the facilitator's /supported, and the
// official SVM client (@x402/svm + @x402/fetch, unmodified) paying it. The fake facilitator stands in for
// settlement only; no Solana chain is involved in what the gateway checks.
import { x402Client, wrapFetchWithPayment } from "@x402/fetch";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { PaymentRequired } from "../../src/x402/schemas.js";
import { FAKE_SOLANA_FEE_PAYER, SOLANA_DEVNET, type FacilitatorMode } from "../fixtures/fake-facilitator.js";
import { FAKE_SOLANA_RPC_PATH, type BlockhashMode } from "../fixtures/fake-solana-rpc.js";
import {
  BASE_SEPOLIA,
  buildHarness,
  buildRule,
  decodeHeader,
  encodePayment,
  fetchThrough,
  newTestId,
  type GatewayHarness,
} from "../fixtures/builders.js";
import { buildSvmPayment, DEVNET_USDC, newSolanaWallet, randomBlockhash } from "../fixtures/solana.js";

const SOL_PAY_TO = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";

function solanaHarness(facilitator: FacilitatorMode = "ok", extra?: Record<string, unknown>) {
  return buildHarness({
    facilitator,
    rules: [
      buildRule({ accepts: [{ network: BASE_SEPOLIA }, { network: SOLANA_DEVNET, payTo: SOL_PAY_TO, ...(extra ? { extra } : {}) }] }),
    ],
  });
}

/** The official client, sending through the Worker under test. */
async function officialSvmClient(harness: GatewayHarness) {
  const signer = await newSolanaWallet();
  const client = new x402Client().register(
    SOLANA_DEVNET,
    new ExactSvmScheme(signer, { rpcUrl: `${env.TEST_ORIGIN_URL}${FAKE_SOLANA_RPC_PATH}` }),
  );
  return { signer, pay: wrapFetchWithPayment(fetchThrough(harness), client) };
}

async function solanaOffer(harness: GatewayHarness) {
  const response = await harness.fetch("/weather/paris");
  expect(response.status).toBe(402);
  return decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).accepts.find((offer) => offer.network === SOLANA_DEVNET)!;
}

describe("exact on Solana", () => {
  it("offers USDC on Solana devnet with the facilitator's feePayer beside the EVM offer", async () => {
    const harness = await solanaHarness();
    expect(await solanaOffer(harness)).toEqual({
      scheme: "exact",
      network: SOLANA_DEVNET,
      amount: "10000",
      asset: DEVNET_USDC,
      payTo: SOL_PAY_TO,
      maxTimeoutSeconds: 60,
      extra: { feePayer: FAKE_SOLANA_FEE_PAYER },
    });
    // Asked once, then cached: the 402 and the payment after it see one feePayer.
    await harness.fetch("/weather/lyon");
    expect((await harness.facilitatorCalls({ supported: true })).map((c) => c.path)).toEqual(["/supported"]);
  });

  it("is paid by the official SVM client: verify, origin once, settle, one ledger row naming the payer", async () => {
    const harness = await solanaHarness();
    const { signer, pay } = await officialSvmClient(harness);
    const response = await pay("https://gateway.example/weather/paris");

    expect(response.status).toBe(200);
    expect(await harness.originCalls()).toHaveLength(1);
    const calls = await harness.facilitatorCalls({ supported: true });
    expect(calls.map((c) => c.path)).toEqual(["/supported", "/verify", "/settle"]);
    const sent = JSON.parse(calls[1]!.body) as {
      paymentPayload: { payload: { transaction: string } };
      paymentRequirements: { extra: unknown };
    };
    expect(sent.paymentRequirements.extra).toEqual({ feePayer: FAKE_SOLANA_FEE_PAYER });
    expect(sent.paymentPayload.payload.transaction).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(await harness.ledgerRows()).toEqual([
      expect.objectContaining({ status: "settled", network: SOLANA_DEVNET, payer: signer.address, pay_to: SOL_PAY_TO, amount: "10000" }),
    ]);
  });

  it("refuses a second use of one transaction", async () => {
    const harness = await solanaHarness();
    const offer = await solanaOffer(harness);
    const transaction = await buildSvmPayment({
      payer: await newSolanaWallet(),
      feePayer: FAKE_SOLANA_FEE_PAYER,
      payTo: SOL_PAY_TO,
      amount: 10_000n,
    });
    const header = encodePayment({ x402Version: 2, accepted: offer, payload: { transaction } });
    expect((await harness.fetch("/weather/paris", { headers: { "PAYMENT-SIGNATURE": header } })).status).toBe(200);
    const replay = await harness.fetch("/weather/lyon", { headers: { "PAYMENT-SIGNATURE": header } });
    expect(replay.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(replay.headers.get("PAYMENT-REQUIRED")).error).toBe("payment_already_used");
    expect(await harness.originCalls()).toHaveLength(1);
  });

  it.each([
    [
      "pays the wrong account",
      { destinationOwner: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v" },
      "invalid_exact_svm_payload_recipient_mismatch",
    ],
    ["pays too little", { amount: 9_999n }, "invalid_exact_svm_payload_amount_mismatch"],
    ["names another fee payer", { feePayer: SOL_PAY_TO }, "invalid_exact_svm_fee_payer_mismatch"],
  ])("refuses a transaction that %s before any verify", async (_name, overrides, reason) => {
    const harness = await solanaHarness();
    const offer = await solanaOffer(harness);
    const transaction = await buildSvmPayment({
      payer: await newSolanaWallet(),
      feePayer: FAKE_SOLANA_FEE_PAYER,
      payTo: SOL_PAY_TO,
      amount: 10_000n,
      ...overrides,
    });
    const response = await harness.fetch("/weather/paris", {
      headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted: offer, payload: { transaction } }) },
    });
    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe(reason);
    expect((await harness.facilitatorCalls({ supported: true })).map((c) => c.path)).toEqual(["/supported"]);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("offers a configured feePayer rather than the facilitator's", async () => {
    const harness = await solanaHarness("ok", { feePayer: SOL_PAY_TO });
    expect((await solanaOffer(harness)).extra).toEqual({ feePayer: SOL_PAY_TO });
  });

  it("leaves Solana out of the 402 when the facilitator does not settle it, and keeps the EVM offer", async () => {
    const harness = await solanaHarness("evm-only");
    const challenge = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED"));
    expect(challenge.accepts.map((offer) => offer.network)).toEqual([BASE_SEPOLIA]);
  });

  it.each<FacilitatorMode>(["supported-500", "supported-garbage", "slow-supported", "no-kinds"])(
    "fails closed with 503 when /supported is %s (no option can be settled)",
    async (mode) => {
      const harness = await solanaHarness(mode);
      const response = await harness.fetch("/weather/paris");
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ error: "no_settleable_offer" });
      expect(await harness.originCalls()).toEqual([]);
    },
  );
});

describe("exact on Solana with an RPC: the blockhash's life against the validity window", () => {
  // The harness's window is 9 s (1 s timeouts + the facilitator's 6 s); `latest` leaves 150 blocks (52 s), `ending` 10.
  async function paidThrough(mode: BlockhashMode | "dead", path = "/weather/paris", init: RequestInit = {}) {
    const rpc = mode === "dead" ? env.TEST_DEAD_URL : `${env.TEST_ORIGIN_URL}/t/${newTestId()}/solana-rpc/${mode}`;
    const harness = await buildHarness({
      rules: [
        buildRule({ id: "weather", path: "/weather/:city", accepts: [{ network: SOLANA_DEVNET, payTo: SOL_PAY_TO }] }),
        buildRule({
          id: "status",
          methods: ["GET", "POST"],
          path: "/status/:code",
          accepts: [{ network: SOLANA_DEVNET, payTo: SOL_PAY_TO }],
        }),
      ],
      vars: { RPC_URLS: JSON.stringify({ [SOLANA_DEVNET]: rpc }) },
    });
    const offer = await solanaOffer(harness);
    const transaction = await buildSvmPayment({
      payer: await newSolanaWallet(),
      feePayer: FAKE_SOLANA_FEE_PAYER,
      payTo: SOL_PAY_TO,
      amount: 10_000n,
      blockhash: await randomBlockhash(),
    });
    const response = await harness.fetch(path, {
      ...init,
      headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted: offer, payload: { transaction } }) },
    });
    const calls = (await harness.facilitatorCalls()).map((c) => c.path);
    return { harness, response, calls };
  }

  it("refuses an expired blockhash before verify or the origin", async () => {
    const { harness, response, calls } = await paidThrough("expired");
    expect(response.status).toBe(402);
    expect(decodeHeader<PaymentRequired>(response.headers.get("PAYMENT-REQUIRED")).error).toBe(
      "invalid_exact_svm_payload_blockhash_expired",
    );
    expect(calls).toEqual([]);
    expect(await harness.originCalls()).toEqual([]);
  });

  it("asks the origin before settling when the blockhash is known to outlive the window", async () => {
    const { harness, response, calls } = await paidThrough("latest", "/status/500");
    // After the origin, as the rule says: its failure is not charged.
    expect(response.status).toBe(500);
    expect(calls).toEqual(["/verify"]);
    expect(await harness.originCalls()).toHaveLength(1);
    expect(await harness.ledgerRows()).toEqual([expect.objectContaining({ status: "origin_failed" })]);
  });

  it.each<BlockhashMode>(["ending", "unknown"])(
    "settles before the origin when the blockhash is %s (it may not outlive the origin's run)",
    async (mode) => {
      const failed = await paidThrough(mode, "/status/500");
      expect(failed.calls).toEqual(["/verify", "/settle"]);
      expect(failed.response.headers.get("PAYMENT-RESPONSE")).not.toBeNull();
      expect(await failed.harness.ledgerRows()).toEqual([expect.objectContaining({ status: "owed_refund", origin_status: 500 })]);

      const served = await paidThrough(mode);
      expect(served.response.status).toBe(200);
      expect(served.calls).toEqual(["/verify", "/settle"]);
      expect(await served.harness.ledgerRows()).toEqual([expect.objectContaining({ status: "settled" })]);
    },
  );

  // The attacker review: a blockhash that outlived the window when checked may not once a slow body has arrived.
  it("asks again after a body trickled in: 11 s of life, 3 s of body, a 9 s window → settled before the origin", async () => {
    const trickled = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 3000));
        controller.enqueue(new TextEncoder().encode("x"));
        controller.close();
      },
    });
    const slow = await paidThrough("short", "/status/500", { method: "POST", body: trickled });
    expect(slow.calls).toEqual(["/verify", "/settle"]);
    expect(await slow.harness.ledgerRows()).toEqual([expect.objectContaining({ status: "owed_refund", origin_status: 500 })]);
    // The same life with the body at once: the rule's order, the origin's failure not charged.
    const fast = await paidThrough("short", "/status/500", { method: "POST", body: "x" });
    expect(fast.calls).toEqual(["/verify"]);
  });

  // The attacker review: an RPC an attacker can flood to failure must not turn the check off.
  it("settles before the origin when the RPC is down: the blockhash's life is unknown", async () => {
    const { harness, calls } = await paidThrough("dead", "/status/500");
    expect(calls).toEqual(["/verify", "/settle"]);
    expect(await harness.ledgerRows()).toEqual([expect.objectContaining({ status: "owed_refund", origin_status: 500 })]);
  });

  it("without an RPC for the network, the rule's order holds (the bound of docs/security.md)", async () => {
    const harness = await buildHarness({
      rules: [buildRule({ id: "s", path: "/status/:code", accepts: [{ network: SOLANA_DEVNET, payTo: SOL_PAY_TO }] })],
    });
    const offer = decodeHeader<PaymentRequired>((await harness.fetch("/status/500")).headers.get("PAYMENT-REQUIRED")).accepts[0]!;
    const transaction = await buildSvmPayment({
      payer: await newSolanaWallet(),
      feePayer: FAKE_SOLANA_FEE_PAYER,
      payTo: SOL_PAY_TO,
      amount: 10_000n,
    });
    const response = await harness.fetch("/status/500", {
      headers: { "PAYMENT-SIGNATURE": encodePayment({ x402Version: 2, accepted: offer, payload: { transaction } }) },
    });
    expect(response.status).toBe(500);
    expect((await harness.facilitatorCalls()).map((c) => c.path)).toEqual(["/verify"]);
  });
});
