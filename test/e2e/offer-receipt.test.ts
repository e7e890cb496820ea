// Signed offers and receipts (offer-receipt extension) on the local stack, checked with the official helpers of
// @x402/extensions/offer-receipt: the 402's offers verify from their kid alone (did:jwk) and match the accepts;
// the receipt a paying official client gets verifies, matches the offer and the payer, and its hash is in the ledger.
import { createHash } from "node:crypto";
import {
  decodeSignedOffers,
  extractOffersFromPaymentRequired,
  extractReceiptFromResponse,
  findAcceptsObjectFromSignedOffer,
  verifyOfferSignatureJWS,
  verifyReceiptMatchesOffer,
  verifyReceiptSignatureJWS,
  type JWSSignedOffer,
  type JWSSignedReceipt,
} from "@x402/extensions/offer-receipt";
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER, SELLER } from "../../stack/accounts.js";
import { NETWORK } from "../../stack/chain.js";
import { readSettlement } from "../../stack/pay.js";
import { eventually, startStackFixture, type StackFixture } from "./stack-fixture.js";

let stack: StackFixture;

beforeAll(async () => {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  stack = await startStackFixture({
    gatewayVars: { OFFER_RECEIPT_KEYS: JSON.stringify([await exportJWK(privateKey)]) },
    extraRules: [
      {
        id: "signed",
        methods: ["GET"],
        path: "/api/weather/signed",
        price: "$0.01",
        accepts: [{ network: NETWORK }],
        payTo: SELLER.address,
        offerReceipt: { includeTxHash: true },
      },
    ],
  });
});
afterAll(async () => {
  await stack?.dispose();
});

describe("offer-receipt", () => {
  it("the 402 carries one signed offer per accepted option, verifiable from its kid alone", async () => {
    const response = await fetch(`${stack.info.gateway}/api/weather/signed`);
    expect(response.status).toBe(402);
    const paymentRequired = JSON.parse(Buffer.from(response.headers.get("PAYMENT-REQUIRED")!, "base64").toString());
    const offers = extractOffersFromPaymentRequired(paymentRequired);
    expect(offers).toHaveLength(1);
    const payload = await verifyOfferSignatureJWS(offers[0] as JWSSignedOffer);
    const accept = paymentRequired.accepts[0];
    expect(payload).toMatchObject({
      version: 1,
      resourceUrl: paymentRequired.resource.url,
      scheme: "exact",
      network: NETWORK,
      asset: accept.asset,
      payTo: accept.payTo,
      amount: "10000",
    });
    expect(payload.validUntil).toBeGreaterThan(Date.now() / 1000);
    expect(findAcceptsObjectFromSignedOffer(decodeSignedOffers(offers)[0]!, paymentRequired.accepts)).toEqual(accept);
    // Rules without offerReceipt are not signed.
    const plain = await fetch(`${stack.info.gateway}/api/weather/paris`);
    expect(
      JSON.parse(Buffer.from(plain.headers.get("PAYMENT-REQUIRED")!, "base64").toString()).extensions["offer-receipt"],
    ).toBeUndefined();
  });

  it("a paid answer carries a signed receipt that matches the offer and the payer; the ledger keeps its hash", async () => {
    const challenge = JSON.parse(
      Buffer.from((await fetch(`${stack.info.gateway}/api/weather/signed`)).headers.get("PAYMENT-REQUIRED")!, "base64").toString(),
    );
    const [offer] = decodeSignedOffers(extractOffersFromPaymentRequired(challenge));
    const response = await stack.payingFetch()(`${stack.info.gateway}/api/weather/signed`);
    expect(response.status).toBe(200);
    const settlement = readSettlement(response)!;
    const receipt = extractReceiptFromResponse(response) as JWSSignedReceipt;
    expect(receipt.format).toBe("jws");
    const payload = await verifyReceiptSignatureJWS(receipt);
    expect(payload).toMatchObject({
      version: 1,
      network: NETWORK,
      resourceUrl: challenge.resource.url,
      payer: PAYER.address,
      transaction: settlement.transaction,
    });
    expect(verifyReceiptMatchesOffer(receipt, offer!, [PAYER.address])).toBe(true);
    expect(verifyReceiptMatchesOffer(receipt, offer!, [SELLER.address])).toBe(false);
    const rows = await eventually(
      () => stack.ledgerRows("transaction_hash = ? AND status = 'settled'", settlement.transaction),
      (r) => r.length === 1,
    );
    expect(rows[0]!.receipt_hash).toBe(createHash("sha256").update(receipt.signature).digest("hex"));
  });
});
