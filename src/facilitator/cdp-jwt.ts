// CDP API-key JWTs: one per facilitator call, bound to that call's method, host and path. Claims and header as
// Coinbase's CDP SDK builds them (docs/facilitators.md "CDP JWT", with the source): header { alg, kid, typ,
// nonce }, claims { iss: "cdp", sub, aud?, uris: ["POST host/path"], iat, nbf, exp }.
import { importJWK, importPKCS8, SignJWT, type CryptoKey as JoseKey } from "jose";
import { decodeBase64, encodeBase64 } from "../encoding/base64.js";
import { concatBytes, encodeHex } from "../encoding/bytes.js";

export interface CdpSigningKey {
  alg: "EdDSA" | "ES256";
  key: JoseKey;
}

export interface CdpJwtRequest {
  keyId: string;
  method: string;
  url: string;
  nowSeconds: number;
  expiresInSeconds: number;
  audience?: readonly string[] | undefined;
}

// Per isolate, keyed by the secret itself: importing is the costly part and the secret never changes under it.
// Holds resolved keys only (no promises): workerd forbids one request awaiting another request's I/O.
const imported = new Map<string, CdpSigningKey>();

/** Imports a CDP key secret once per isolate: base64 Ed25519 (seed ‖ public key), or PEM EC P-256 (SEC1 or PKCS#8). */
export async function importCdpKey(secret: string): Promise<CdpSigningKey> {
  const cached = imported.get(secret);
  if (cached) return cached;
  const key = await parseCdpKey(secret.trim());
  imported.set(secret, key);
  return key;
}

async function parseCdpKey(secret: string): Promise<CdpSigningKey> {
  if (secret.includes("-----BEGIN EC PRIVATE KEY-----")) {
    const pkcs8 = sec1ToPkcs8(pemBody(secret, "EC PRIVATE KEY"));
    return { alg: "ES256", key: await importPKCS8(toPem(pkcs8, "PRIVATE KEY"), "ES256") };
  }
  if (secret.includes("-----BEGIN PRIVATE KEY-----")) return { alg: "ES256", key: await importPKCS8(secret, "ES256") };
  const raw = decodeBase64(secret.replace(/\s+/g, ""));
  if (raw?.length !== 64) throw new Error("CDP key secret is neither a PEM EC key nor a base64 Ed25519 key of 64 bytes");
  const jwk = { kty: "OKP", crv: "Ed25519", d: toBase64Url(raw.subarray(0, 32)), x: toBase64Url(raw.subarray(32)) };
  return { alg: "EdDSA", key: (await importJWK(jwk, "EdDSA")) as JoseKey };
}

export async function buildCdpJwt(signing: CdpSigningKey, request: CdpJwtRequest): Promise<string> {
  const url = new URL(request.url);
  const claims: Record<string, unknown> = { sub: request.keyId, iss: "cdp", uris: [`${request.method} ${url.host}${url.pathname}`] };
  if (request.audience) claims.aud = [...request.audience];
  const nonce = encodeHex(crypto.getRandomValues(new Uint8Array(16)));
  return new SignJWT(claims)
    .setProtectedHeader({ alg: signing.alg, kid: request.keyId, typ: "JWT", nonce })
    .setIssuedAt(request.nowSeconds)
    .setNotBefore(request.nowSeconds)
    .setExpirationTime(request.nowSeconds + request.expiresInSeconds)
    .sign(signing.key);
}

function pemBody(pem: string, label: string): Uint8Array {
  const body = pem.split(`-----BEGIN ${label}-----`)[1]?.split(`-----END ${label}-----`)[0] ?? "";
  const der = decodeBase64(body.replace(/\s+/g, ""));
  if (!der) throw new Error(`${label} PEM body is not base64`);
  return der;
}

function toPem(der: Uint8Array, label: string): string {
  return `-----BEGIN ${label}-----\n${encodeBase64(der)}\n-----END ${label}-----`;
}

// PKCS#8 PrivateKeyInfo { version 0, AlgorithmIdentifier { id-ecPublicKey, prime256v1 }, OCTET STRING { SEC1 } }
// (RFC 5208, RFC 5915 §3): WebCrypto imports only PKCS#8, while CDP hands out EC keys in SEC1 form.
const EC_P256_ALGORITHM = Uint8Array.from([
  0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
]);

function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  return derTlv(0x30, concatBytes([Uint8Array.from([0x02, 0x01, 0x00]), EC_P256_ALGORITHM, derTlv(0x04, sec1)]));
}

function derTlv(tag: number, value: Uint8Array): Uint8Array {
  const length = value.length;
  const lengthBytes = length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : [0x82, length >> 8, length & 0xff];
  return concatBytes([Uint8Array.from([tag, ...lengthBytes]), value]);
}

function toBase64Url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
