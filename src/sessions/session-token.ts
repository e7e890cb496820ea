// Session tokens: short-lived HS256 JWTs bound to a wallet, a session scope and the gateway's audience, so a
// high-frequency client can skip signing in. A token proves identity only: every use still goes through the
// wallet's Durable Object, which stays the authority for quota, expiry and revocation.
import { errors, jwtVerify, SignJWT, type JWTHeaderParameters } from "jose";
import type { SessionKey, SessionKeys } from "./session-keys.js";

const SESSION_TOKEN_ISSUER = "x402-gateway";
/** Longest token accepted, in characters; ours are ~400. */
const MAX_SESSION_TOKEN_CHARS = 4096;

export interface SessionClaims {
  /** Wallet key (sessions/wallet-key.ts). */
  wallet: string;
  scope: string;
}

export interface IssueOptions extends SessionClaims {
  keys: SessionKeys;
  audience: string;
  nowSeconds: number;
  expiresAtSeconds: number;
}

export async function issueSessionToken(options: IssueOptions): Promise<string> {
  return new SignJWT({ scope: options.scope })
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: options.keys.signing.kid })
    .setIssuer(SESSION_TOKEN_ISSUER)
    .setSubject(options.wallet)
    .setAudience(options.audience)
    .setIssuedAt(options.nowSeconds)
    .setExpirationTime(options.expiresAtSeconds)
    .sign(await hmacKeyOf(options.keys.signing));
}

export interface VerifyOptions {
  keys: SessionKeys;
  audience: string;
  /** The scope this request falls in: a token for another scope is refused. */
  scope: string;
  nowSeconds: number;
}

export type TokenCheck = { ok: true; claims: SessionClaims } | { ok: false; reason: string };

export async function verifySessionToken(token: string, options: VerifyOptions): Promise<TokenCheck> {
  if (token.length > MAX_SESSION_TOKEN_CHARS) return { ok: false, reason: "invalid_session_token" };
  try {
    const { payload } = await jwtVerify(token, (header: JWTHeaderParameters) => keyFor(header, options.keys), {
      // Only HS256: `alg: none` and algorithm-confusion tokens fail here.
      algorithms: ["HS256"],
      issuer: SESSION_TOKEN_ISSUER,
      audience: options.audience,
      currentDate: new Date(options.nowSeconds * 1000),
      clockTolerance: 0,
      requiredClaims: ["sub", "exp", "iat"],
    });
    if (typeof payload.scope !== "string" || payload.scope !== options.scope) return { ok: false, reason: "session_token_wrong_scope" };
    return { ok: true, claims: { wallet: payload.sub!, scope: payload.scope } };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "session_token_expired" };
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === "aud")
      return { ok: false, reason: "session_token_wrong_audience" };
    if (error instanceof errors.JOSEError) return { ok: false, reason: "invalid_session_token" };
    throw error;
  }
}

function keyFor(header: JWTHeaderParameters, keys: SessionKeys): Promise<CryptoKey> {
  const key = header.kid === undefined ? undefined : keys.byKid.get(header.kid);
  if (!key) throw new errors.JWKSNoMatchingKey();
  return hmacKeyOf(key);
}

// Keys are parsed once per isolate (gateway-config.ts), so each secret is imported into WebCrypto once, not per token.
const hmacKeys = new WeakMap<SessionKey, Promise<CryptoKey>>();

function hmacKeyOf(key: SessionKey): Promise<CryptoKey> {
  let imported = hmacKeys.get(key);
  if (!imported) {
    imported = crypto.subtle.importKey("raw", key.secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    hmacKeys.set(key, imported);
  }
  return imported;
}
