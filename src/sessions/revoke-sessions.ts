// Operator actions on a wallet's sessions, through its Durable Object (the admin API, docs/admin.md).
import type { WalletSession, Entitlement } from "./wallet-session.js";
import { walletKey } from "./wallet-key.js";

export interface WalletRef {
  /** Any CAIP-2 network of the wallet's family, e.g. `eip155:8453`. */
  network: string;
  address: string;
}

/** Ends the wallet's session for one scope, or all of them; tokens already issued stop working at once. */
export function revokeSessions(wallets: DurableObjectNamespace<WalletSession>, wallet: WalletRef, scope?: string): Promise<number> {
  return wallets.get(wallets.idFromName(walletKey(wallet.network, wallet.address))).revoke(scope);
}

export interface OperatorGrant {
  scope: string;
  /** The operator's id for this grant: the same reference twice grants once. */
  reference: string;
  requests: number;
  ttlMs: number;
}

/** A session given by the operator rather than bought: it adds to a running session as a payment's grant does. */
export function grantOperatorSession(
  wallets: DurableObjectNamespace<WalletSession>,
  wallet: WalletRef,
  grant: OperatorGrant,
  nowMs: number,
): Promise<Entitlement> {
  const request = { scope: grant.scope, paymentKey: `operator:${grant.reference}`, ttlMs: grant.ttlMs, requests: grant.requests };
  return wallets.get(wallets.idFromName(walletKey(wallet.network, wallet.address))).grant(request, nowMs);
}
