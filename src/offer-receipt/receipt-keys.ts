// The keys that sign offers and receipts (docs/offer-receipt.md): OFFER_RECEIPT_KEYS, a Worker secret holding a
// JSON array of private JWKs (EC P-256 or Ed25519), newest first. The newest signs; each key's id is a did:jwk of
// its public half, so any verifier (the official helpers included) gets the key from the signature's `kid` alone,
// and receipts signed before a rotation stay verifiable.
import { base64url, importJWK, type CryptoKey as JoseKey, type JWK } from "jose";
import * as z from "zod";

const PrivateJwkSchema = z.union([
  z.looseObject({ kty: z.literal("EC"), crv: z.literal("P-256"), x: z.string().min(1), y: z.string().min(1), d: z.string().min(1) }),
  z.looseObject({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().min(1), d: z.string().min(1) }),
]);

export const OfferReceiptKeysSchema = z
  .string()
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "expected a JSON array of private JWKs" });
      return z.NEVER;
    }
  })
  .pipe(z.array(PrivateJwkSchema, "expected a JSON array of private JWKs (EC P-256 or Ed25519, with d)").min(1).max(8));
export type OfferReceiptKeyConfig = z.infer<typeof OfferReceiptKeysSchema>;

export interface ReceiptSigner {
  kid: string;
  alg: "ES256" | "EdDSA";
  key: JoseKey | Uint8Array;
}

const signers = new WeakMap<OfferReceiptKeyConfig, Promise<ReceiptSigner>>();

/** The newest key, imported once per isolate. */
export function receiptSigner(keys: OfferReceiptKeyConfig): Promise<ReceiptSigner> {
  let signer = signers.get(keys);
  if (!signer) {
    const jwk = keys[0]!;
    const alg = jwk.kty === "EC" ? "ES256" : "EdDSA";
    signer = importJWK(jwk as JWK, alg).then((key) => ({ kid: didJwkOf(jwk), alg, key }));
    signers.set(keys, signer);
  }
  return signer;
}

/** `did:jwk:<base64url of the public JWK>#0`: the key's id, and the key itself for whoever verifies. */
function didJwkOf(jwk: OfferReceiptKeyConfig[number]): string {
  const pub = jwk.kty === "EC" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return `did:jwk:${base64url.encode(JSON.stringify(pub))}#0`;
}
