// The facilitator side of CDP API-key auth, for the local stack and the tests: checks a bearer JWT the way
// Coinbase's API documents it (docs/facilitators.md "CDP JWT"), so a gateway that gets one claim wrong is refused.
// Node only (uses jose with Node key objects).
import { createPublicKey, type KeyObject } from "node:crypto";
import { decodeProtectedHeader, jwtVerify } from "jose";

export interface CdpJwtCheckerOptions {
  /** Public keys by key id (the JWT's `kid` and `sub`). */
  keys: Record<string, KeyObject | string>;
  /** Longest accepted `exp - nbf`; default 300 s. */
  maxLifetimeSeconds?: number;
  nowSeconds?: () => number;
}

export type CdpJwtVerdict = { ok: true; keyId: string } | { ok: false; reason: string };

export function createCdpJwtChecker(options: CdpJwtCheckerOptions) {
  const keys = new Map(Object.entries(options.keys).map(([kid, key]) => [kid, typeof key === "string" ? createPublicKey(key) : key]));
  const seenNonces = new Map<string, number>();
  const now = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const maxLifetime = options.maxLifetimeSeconds ?? 300;

  return async function check(authorization: string | undefined, method: string, host: string, path: string): Promise<CdpJwtVerdict> {
    const token = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? "")?.[1];
    if (!token) return { ok: false, reason: "no bearer JWT" };
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return { ok: false, reason: "malformed JWT header" };
    }
    const kid = typeof header.kid === "string" ? header.kid : "";
    const key = keys.get(kid);
    if (!key) return { ok: false, reason: `unknown kid "${kid}"` };
    const expectedAlg = key.asymmetricKeyType === "ed25519" ? "EdDSA" : "ES256";
    if (header.alg !== expectedAlg) return { ok: false, reason: `alg ${String(header.alg)} does not fit the key (${expectedAlg})` };
    if (header.typ !== "JWT") return { ok: false, reason: "typ is not JWT" };
    if (typeof header.nonce !== "string" || !/^[0-9a-f]{32}$/.test(header.nonce))
      return { ok: false, reason: "nonce is not 16 random bytes in hex" };
    let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [expectedAlg],
        issuer: "cdp",
        subject: kid,
        currentDate: new Date(now() * 1000),
        clockTolerance: 5,
        requiredClaims: ["nbf", "exp"],
      }));
    } catch (error) {
      return { ok: false, reason: `JWT refused: ${(error as Error).message}` };
    }
    if (payload.exp! - payload.nbf! > maxLifetime)
      return { ok: false, reason: `lifetime ${payload.exp! - payload.nbf!} s is longer than ${maxLifetime} s` };
    const uri = `${method} ${host}${path}`;
    const uris = (payload as { uris?: unknown }).uris;
    if (!Array.isArray(uris) || !uris.includes(uri))
      return { ok: false, reason: `uris ${JSON.stringify(uris)} do not name this call (${uri})` };
    for (const [nonce, expires] of seenNonces) if (expires < now()) seenNonces.delete(nonce);
    if (seenNonces.has(header.nonce)) return { ok: false, reason: "nonce already used (replayed JWT)" };
    seenNonces.set(header.nonce, payload.exp! + 5);
    return { ok: true, keyId: kid };
  };
}
