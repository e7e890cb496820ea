// Session mode (docs/sessions.md): a request whose wallet's paid session covers it is served with no payment. Tried
// before pricing, so such a request needs no price (nor a quote round trip). Its steps, in the skeleton's words:
//   check: a session token (no signature to check), else a SIWX proof (fields, nonce, signature);
//   claim: one request of the session's quota, taken in the wallet's WalletSession object;
//   forward, then answer with the session's headers; a failed origin answer gives its request back (no settle).
// A payment, when the request carries one, is what the client chose: sessions are only looked at without one. A
// settled pay-per-call payment on a session rule opens the session (grantSession).
import { GatewayFailure } from "../../errors.js";
import { retryIdempotent } from "../../sessions/retry-idempotent.js";
import { openSession, type SessionOffer } from "../../sessions/session-offer.js";
import type { ScopedRequest } from "../../sessions/session-terms.js";
import { issueSessionToken, verifySessionToken } from "../../sessions/session-token.js";
import { checkNonce } from "../../sessions/siwx-nonce.js";
import { walletKey } from "../../sessions/wallet-key.js";
import type { ConsumeRequest, ConsumeResult, Entitlement } from "../../sessions/wallet-session.js";
import { checkSiwxFields, verifySiwxSignature } from "../../siwx/check-siwx-proof.js";
import { decodeSiwxHeader } from "../../siwx/siwx-proof.js";
import {
  PAYMENT_SIGNATURE,
  SIGN_IN_WITH_X,
  X402_SESSION,
  X402_SESSION_EXPIRES,
  X402_SESSION_REMAINING,
  X_PAYMENT,
} from "../../x402/headers.js";
import { bufferBody, forward } from "../../pipeline/forward-request.js";
import type { PricedCall } from "../payment-mode.js";

/** Tolerated clock difference between the wallet and the gateway. */
const CLOCK_SKEW_SECONDS = 60;
const RPC_TIMEOUT_MS = 5000;

/** What the session mode made of a request: served (`response`), or left to pay, perhaps with why its credential was refused. */
export interface SessionAttempt {
  /** The rule's session terms for this request; undefined: none, or the request lies outside their scope. */
  offer: SessionOffer | undefined;
  refusal?: string;
  response?: Response;
}

export async function trySession(call: PricedCall, request: Request, scoped: ScopedRequest): Promise<SessionAttempt> {
  const { rule, config, deps, log } = call;
  const offer = openSession(rule, scoped, new URL(call.resourceUrl), call.env, config);
  if (!offer || request.headers.has(PAYMENT_SIGNATURE) || request.headers.has(X_PAYMENT)) return { offer };
  const auth = await authenticateSession(request, offer, deps.nowMs());
  if (auth.kind === "refused") return { offer, refusal: auth.reason };
  if (auth.kind !== "granted") return { offer };
  const inbound = request.body && !request.headers.has("content-length") ? await bufferBody(request, config.MAX_PAID_BODY_BYTES) : request;
  log.outcome = "session";
  log.sessionWallet = auth.wallet;
  const response = await serveSession({
    offer,
    auth,
    forward: () => forward(inbound, config, rule.origin, deps),
    waitUntil: (p) => call.ctx.waitUntil(p),
    nowMs: deps.nowMs(),
  });
  return { offer, response };
}

export type SessionAuth =
  | { kind: "absent" }
  | { kind: "refused"; reason: string }
  | { kind: "granted"; wallet: string; entitlement: Entitlement; signedIn: boolean };

/** A session token is tried first (no signature to check); a SIWX proof next. Neither: pay. */
async function authenticateSession(request: Request, offer: SessionOffer, nowMs: number): Promise<SessionAuth> {
  const token = request.headers.get(X402_SESSION);
  const proofHeader = request.headers.get(SIGN_IN_WITH_X);
  let refused: SessionAuth | undefined;
  if (token !== null) {
    const checked = await verifySessionToken(token, {
      keys: offer.keys,
      audience: offer.audience,
      scope: offer.scope,
      nowSeconds: Math.floor(nowMs / 1000),
    });
    if (checked.ok) return consume(offer, checked.claims.wallet, { scope: offer.scope }, nowMs, false);
    refused = { kind: "refused", reason: checked.reason };
  }
  if (proofHeader !== null) return signIn(proofHeader, offer, nowMs);
  return refused ?? { kind: "absent" };
}

async function signIn(header: string, offer: SessionOffer, nowMs: number): Promise<SessionAuth> {
  const decoded = decodeSiwxHeader(header);
  if (!decoded.ok) throw new GatewayFailure({ kind: "siwx_malformed", reason: decoded.reason });
  const proof = decoded.value;
  const url = new URL(offer.requestUrl);
  const fields = checkSiwxFields(proof, {
    host: url.host,
    resourceOrigin: url.origin,
    nowMs,
    maxAgeSeconds: offer.config.SIWX_MAX_AGE_SECONDS,
    clockSkewSeconds: CLOCK_SKEW_SECONDS,
  });
  if (!fields.ok) return { kind: "refused", reason: fields.reason };
  const nonce = checkNonce(proof.nonce, offer.keys, {
    nowSeconds: Math.floor(nowMs / 1000),
    lifetimeSeconds: offer.config.SIWX_MAX_AGE_SECONDS,
    clockSkewSeconds: CLOCK_SKEW_SECONDS,
  });
  if (!nonce.ok) return { kind: "refused", reason: "invalid_siwx_nonce" };
  const signature = await verifySiwxSignature(proof, {
    rpcUrls: offer.config.RPC_URLS,
    rpcTimeoutMs: RPC_TIMEOUT_MS,
    contractChains: offer.networks,
  });
  if (!signature.ok) return { kind: "refused", reason: signature.reason };
  const nonceUse = { value: proof.nonce, expiresAtMs: (nonce.expiresAtSeconds + CLOCK_SKEW_SECONDS) * 1000 };
  return consume(offer, walletKey(proof.chainId, proof.address), { scope: offer.scope, nonce: nonceUse }, nowMs, true);
}

async function consume(
  offer: SessionOffer,
  wallet: string,
  request: ConsumeRequest,
  nowMs: number,
  signedIn: boolean,
): Promise<SessionAuth> {
  let result: ConsumeResult;
  try {
    result = await offer.wallets.get(offer.wallets.idFromName(wallet)).consume(request, nowMs);
  } catch (cause) {
    throw new GatewayFailure({ kind: "session_store_unavailable", detail: String(cause) }, { cause });
  }
  switch (result.kind) {
    case "granted":
      return { kind: "granted", wallet, entitlement: result.entitlement, signedIn };
    case "nonce_reused":
      return { kind: "refused", reason: "invalid_siwx_nonce" };
    default:
      return { kind: "refused", reason: result.kind };
  }
}

interface ServeOptions {
  offer: SessionOffer;
  auth: Extract<SessionAuth, { kind: "granted" }>;
  forward(): Promise<Response>;
  waitUntil(promise: Promise<unknown>): void;
  nowMs: number;
}

/** Forwards a session request; a failed origin answer gives its request back to the quota. */
async function serveSession(options: ServeOptions): Promise<Response> {
  const { offer, auth } = options;
  const restore = () => options.waitUntil(offer.wallets.get(offer.wallets.idFromName(auth.wallet)).restore(offer.scope, options.nowMs));
  let origin: Response;
  try {
    origin = await options.forward();
  } catch (error) {
    restore();
    throw error;
  }
  if (origin.status >= 400) restore();
  const headers = new Headers(origin.headers);
  for (const [name, value] of Object.entries(await sessionHeaders(offer, auth.wallet, auth.entitlement, options.nowMs, auth.signedIn)))
    headers.set(name, value);
  headers.set("Cache-Control", "no-store");
  return new Response(origin.body, { status: origin.status, statusText: origin.statusText, headers });
}

/**
 * Opens (or extends) the payer's session after a settled payment; returns the headers that tell the client.
 * A grant that still fails after retries is logged, not thrown: the payment's own answer must still reach the payer.
 */
export async function grantSession(
  offer: SessionOffer,
  payer: { network: string; address: string },
  paymentKey: string,
  nowMs: number,
): Promise<Record<string, string>> {
  const wallet = walletKey(payer.network, payer.address);
  try {
    // The paid request is the session's first. A grant is idempotent per payment, so a transient failure is retried
    // (on a fresh stub: a broken one stays broken).
    const grant = { scope: offer.scope, paymentKey, ttlMs: offer.terms.ttlSeconds * 1000, requests: offer.terms.maxRequests - 1 };
    const entitlement = await retryIdempotent(() => offer.wallets.get(offer.wallets.idFromName(wallet)).grant(grant, nowMs), {
      attempts: 3,
      baseDelayMs: 50,
    });
    return await sessionHeaders(offer, wallet, entitlement, nowMs, true);
  } catch (error) {
    console.error(JSON.stringify({ event: "session_grant_failed", wallet, scope: offer.scope, paymentKey, message: String(error) }));
    return {};
  }
}

async function sessionHeaders(
  offer: SessionOffer,
  wallet: string,
  entitlement: Entitlement,
  nowMs: number,
  withToken: boolean,
): Promise<Record<string, string>> {
  const expiresAtSeconds = Math.floor(entitlement.expiresAtMs / 1000);
  const headers: Record<string, string> = {
    [X402_SESSION_REMAINING]: String(entitlement.remaining),
    [X402_SESSION_EXPIRES]: String(expiresAtSeconds),
  };
  const nowSeconds = Math.floor(nowMs / 1000);
  if (withToken && entitlement.remaining > 0) {
    headers[X402_SESSION] = await issueSessionToken({
      keys: offer.keys,
      wallet,
      scope: offer.scope,
      audience: offer.audience,
      nowSeconds,
      expiresAtSeconds: Math.min(expiresAtSeconds, nowSeconds + offer.config.SESSION_TOKEN_TTL_SECONDS),
    });
  }
  return headers;
}
