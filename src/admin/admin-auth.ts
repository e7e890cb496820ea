// Who may call the admin API (docs/admin.md): a bearer secret (`ADMIN_TOKEN`, compared in constant time) or a
// JWT checked with jose against `ADMIN_JWT_KEY` (a JWK: public key, or `oct` for HS256) with the configured
// issuer and audience. Each refusal says why, so an operator can fix their token; none says what would pass.
import { errors, importJWK, jwtVerify, type JWK } from "jose";
import * as z from "zod";

export interface AdminAuthConfig {
  token: string | undefined;
  jwt: { key: JWK; issuer: string; audience: string } | undefined;
}

export type AdminCaller = { ok: true; subject: string; via: "token" | "jwt" } | { ok: false; reason: string };

/** The admin settings of the parsed env: gateway-config.ts parses them (with `parseAdminJwk`), so this file cannot name its type. */
interface AdminSettings {
  ADMIN_TOKEN?: string | undefined;
  ADMIN_JWT_KEY?: JWK | undefined;
  ADMIN_JWT_ISSUER?: string | undefined;
  ADMIN_JWT_AUDIENCE?: string | undefined;
}

/** The admin API's credentials from the parsed env (gateway-config.ts checks that a JWT key comes with its issuer and audience). */
export function adminAuthFromConfig(config: AdminSettings): AdminAuthConfig {
  const { ADMIN_JWT_KEY: key, ADMIN_JWT_ISSUER: issuer, ADMIN_JWT_AUDIENCE: audience } = config;
  return { token: config.ADMIN_TOKEN, jwt: key && issuer && audience ? { key, issuer, audience } : undefined };
}

const JwkSchema = z.looseObject({ kty: z.enum(["EC", "OKP", "RSA", "oct"]) });

/** Parses `ADMIN_JWT_KEY` (JSON JWK); undefined when the value is not one. */
export function parseAdminJwk(value: string): JWK | undefined {
  try {
    const parsed = JwkSchema.safeParse(JSON.parse(value));
    return parsed.success ? (parsed.data as JWK) : undefined;
  } catch {
    return undefined;
  }
}

const keys = new Map<string, Promise<CryptoKey | Uint8Array>>();
/** The longest an admin JWT may still be valid when it is used. */
const ADMIN_JWT_MAX_LIFETIME_MS = 24 * 60 * 60 * 1000;

export async function authenticateAdmin(authorization: string | null, config: AdminAuthConfig, nowMs: number): Promise<AdminCaller> {
  const match = authorization === null ? null : /^Bearer ([^\s]+)$/i.exec(authorization.trim());
  if (!match) return { ok: false, reason: "missing bearer credential (Authorization: Bearer <token>)" };
  const credential = match[1]!;
  const looksLikeJwt = /^[\w-]+\.[\w-]+\.[\w-]*$/.test(credential);
  if (looksLikeJwt && config.jwt) return verifyAdminJwt(credential, config.jwt, nowMs);
  if (config.token) {
    return (await constantTimeEqual(credential, config.token))
      ? { ok: true, subject: "admin-token", via: "token" }
      : { ok: false, reason: "wrong credential" };
  }
  return { ok: false, reason: looksLikeJwt ? "wrong credential" : "this gateway accepts JWTs only" };
}

async function verifyAdminJwt(jwt: string, config: NonNullable<AdminAuthConfig["jwt"]>, nowMs: number): Promise<AdminCaller> {
  const cacheKey = JSON.stringify(config.key);
  let key = keys.get(cacheKey);
  if (!key) {
    key = importJWK(config.key, config.key.alg ?? defaultAlg(config.key)) as Promise<CryptoKey | Uint8Array>;
    keys.set(cacheKey, key);
  }
  try {
    const { payload } = await jwtVerify(jwt, await key, {
      issuer: config.issuer,
      audience: config.audience,
      currentDate: new Date(nowMs),
      clockTolerance: 30,
      // `exp` is required: an admin token must not be valid forever.
      requiredClaims: ["exp"],
    });
    // Nor for a day: a token that leaks is then a short-lived one (security review F22).
    if (payload.exp! * 1000 - nowMs > ADMIN_JWT_MAX_LIFETIME_MS) return { ok: false, reason: "token valid for more than 24 hours" };
    return { ok: true, subject: typeof payload.sub === "string" ? payload.sub : "jwt", via: "jwt" };
  } catch (error) {
    return { ok: false, reason: describeJwtError(error) };
  }
}

function describeJwtError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return "wrong audience";
    if (error.claim === "iss") return "wrong issuer";
    if (error.claim === "exp") return "token has no expiry (exp)";
    if (error.claim === "nbf" || error.claim === "iat") return "token not yet valid";
    return `claim ${error.claim} rejected`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "signature does not match the configured key (wrong key)";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
    return "token algorithm does not match the configured key";
  return "malformed token";
}

function defaultAlg(key: JWK): string {
  if (key.kty === "oct") return "HS256";
  if (key.kty === "OKP") return "EdDSA";
  if (key.kty === "RSA") return "RS256";
  return key.crv === "P-384" ? "ES384" : "ES256";
}

/** Compares SHA-256 digests, so neither the length nor a common prefix of the secret leaks through timing. */
async function constantTimeEqual(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
