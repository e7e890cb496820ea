// A session rule applied to one request that falls in its scope (docs/sessions.md): what the session mode checks a
// credential against, what a 402 declares (the sign-in-with-x challenge) and what a settled payment grants.
import type { GatewayConfig } from "../gateway-config.js";
import type { GatewayBindings } from "../bindings.js";
import { GatewayFailure } from "../errors.js";
import type { PriceRule } from "../pricing/price-rule.js";
import { sessionScopeFor, type ScopedRequest, type SessionTerms } from "./session-terms.js";
import type { SessionKeys } from "./session-keys.js";
import { buildSiwxExtension } from "./siwx-challenge.js";
import { mintNonce } from "./siwx-nonce.js";
import type { WalletSession } from "./wallet-session.js";

/** A session rule, applied to one request that falls in its scope. */
export interface SessionOffer {
  terms: SessionTerms;
  scope: string;
  keys: SessionKeys;
  audience: string;
  requestUrl: string;
  networks: readonly string[];
  wallets: DurableObjectNamespace<WalletSession>;
  config: GatewayConfig;
}

/** undefined: the rule has no session terms, or this request lies outside their scope (pay per call). */
export function openSession(
  rule: PriceRule,
  request: ScopedRequest,
  requestUrl: URL,
  env: GatewayBindings,
  config: GatewayConfig,
): SessionOffer | undefined {
  if (!rule.session) return undefined;
  if (!config.SESSION_KEYS)
    throw new GatewayFailure({ kind: "config_invalid", detail: `rule ${rule.id} has session terms but SESSION_KEYS is not set` });
  const scope = sessionScopeFor(rule.session, request);
  if (scope === null) return undefined;
  return {
    terms: rule.session,
    scope,
    keys: config.SESSION_KEYS,
    audience: config.SESSION_TOKEN_AUDIENCE ?? requestUrl.origin,
    requestUrl: requestUrl.href,
    networks: rule.offers.map((offer) => offer.network),
    wallets: env.WALLET_SESSIONS,
    config,
  };
}

export function siwxChallengeExtension(offer: SessionOffer, nowMs: number): Record<string, unknown> {
  return buildSiwxExtension({
    requestUrl: offer.requestUrl,
    nonce: mintNonce(offer.keys, Math.floor(nowMs / 1000)),
    nowMs,
    lifetimeSeconds: offer.config.SIWX_MAX_AGE_SECONDS,
    statement: offer.terms.statement,
    networks: offer.networks,
  });
}
