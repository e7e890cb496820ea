import { base64url, compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { PaymentRequired, SettleResponse } from "../../src/x402/schemas.js";
import { buildHarness, buildRule, decodeHeader, payFor } from "../fixtures/builders.js";

let keyA: JWK;
let keyB: JWK;
beforeAll(async () => {
  keyA = await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey);
  keyB = await exportJWK((await generateKeyPair("Ed25519", { extractable: true })).privateKey);
});

const signedRule = (terms: Record<string, unknown> = {}) => buildRule({ offerReceipt: terms });

/** Verifies a JWS with the key its did:jwk kid carries, as any verifier would; returns the kid and payload. */
async function verifyByKid(jws: string): Promise<{ kid: string; payload: Record<string, unknown> }> {
  const { kid, alg } = decodeProtectedHeader(jws);
  const jwk = JSON.parse(new TextDecoder().decode(base64url.decode(kid!.replace(/^did:jwk:/, "").replace(/#0$/, "")))) as JWK;
  expect(jwk.d).toBeUndefined();
  const { payload } = await compactVerify(jws, await importJWK(jwk, alg));
  return { kid: kid!, payload: JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown> };
}

async function offerJws(harness: Awaited<ReturnType<typeof buildHarness>>): Promise<string> {
  const challenge = decodeHeader<PaymentRequired>((await harness.fetch("/weather/paris")).headers.get("PAYMENT-REQUIRED"));
  return (challenge.extensions!["offer-receipt"] as { info: { offers: { signature: string }[] } }).info.offers[0]!.signature;
}

describe("offer-receipt in the Worker", () => {
  it("a rule that signs without OFFER_RECEIPT_KEYS, or with keys that are not private JWKs, is invalid config (503)", async () => {
    expect((await (await buildHarness({ rules: [signedRule()] })).fetch("/weather/paris")).status).toBe(503);
    const publicOnly = { ...keyA, d: undefined };
    for (const keys of ["not json", "[]", JSON.stringify([publicOnly]), JSON.stringify([{ kty: "oct", k: "c2VjcmV0" }])]) {
      expect(
        (await (await buildHarness({ rules: [signedRule()], vars: { OFFER_RECEIPT_KEYS: keys } })).fetch("/weather/paris")).status,
        keys,
      ).toBe(503);
    }
  });

  it("signs with the newest key; after a rotation, offers signed by the older key still verify from their kid", async () => {
    const before = await offerJws(await buildHarness({ rules: [signedRule()], vars: { OFFER_RECEIPT_KEYS: JSON.stringify([keyA]) } }));
    const after = await offerJws(await buildHarness({ rules: [signedRule()], vars: { OFFER_RECEIPT_KEYS: JSON.stringify([keyB, keyA]) } }));
    const [a, b] = await Promise.all([verifyByKid(before), verifyByKid(after)]);
    expect(a.kid).not.toBe(b.kid);
    expect(decodeProtectedHeader(after).alg).toBe("EdDSA");
    expect(a.payload).toMatchObject({ version: 1, scheme: "exact", amount: "10000", resourceUrl: "https://gateway.example/weather/paris" });
  });

  it("the receipt leaves out the transaction unless includeTxHash; the ledger keeps the receipt's hash", async () => {
    const harness = await buildHarness({ rules: [signedRule()], vars: { OFFER_RECEIPT_KEYS: JSON.stringify([keyA]) } });
    const { response } = await payFor(harness, "/weather/paris");
    expect(response.status).toBe(200);
    const settled = decodeHeader<SettleResponse>(response.headers.get("PAYMENT-RESPONSE"));
    const jws = (settled.extensions!["offer-receipt"] as { info: { receipt: { format: string; signature: string } } }).info.receipt
      .signature;
    const { payload } = await verifyByKid(jws);
    expect(payload).toEqual({
      version: 1,
      network: "eip155:84532",
      resourceUrl: "https://gateway.example/weather/paris",
      payer: expect.stringMatching(/^0x/),
      issuedAt: expect.any(Number),
    });
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(jws)))]
      .map((x) => x.toString(16).padStart(2, "0"))
      .join("");
    expect((await harness.ledgerRows())[0]).toMatchObject({ status: "settled", receipt_hash: digest });
  });
});
