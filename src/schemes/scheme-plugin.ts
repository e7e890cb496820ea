// The contract a payment scheme × network family implements to plug into the gateway.
import type { AssetInfo } from "../pricing/assets.js";
import type { BlockhashStatus } from "./svm/solana-rpc.js";
import type { PaymentPayload, PaymentRequirements } from "../x402/schemas.js";

export type PluginResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The chain readers the gateway has (facilitator/payment-on-chain.ts): a plugin whose payments one of them can find
 * names it, with the payment's nonce; the payer, asset, payTo and amount come from the offer.
 */
export type ChainNonce = { method: "eip3009"; nonce: string } | { method: "permit2"; permit2Nonce: string };

/** What a scheme's local check learned from a payload that passed it. */
export interface CheckedPayment {
  payer: string;
  /** Identifies the payment itself (e.g. network + payer + EIP-3009 nonce): the ledger's and the replay lock's key. */
  paymentKey: string;
  /**
   * The PaymentRecord object that holds this payment's lock (default: `paymentKey`, an object of its own). Must be
   * a function of what `paymentKey` is made of, so one payment always lands in one object: e.g. network + payer.
   */
  lockGroup?: string;
  /**
   * Every part of the payment was checked here, its signature included (recovered: an EOA's), so the facilitator's
   * settle, which checks it again, has only the chain's state left to find (payment-modes/pay-per-call/payer-standing.ts).
   */
  signatureProven?: boolean;
  /** Unix seconds after which the payment can no longer settle (EIP-3009 `validBefore`). */
  expiresAtSeconds: number;
  /**
   * The payment may expire at any time and the scheme cannot tell when (a Solana blockhash whose age the RPC cannot
   * tell): it is settled before the origin is asked, never after.
   */
  settleBeforeOrigin?: boolean;
  /**
   * The last second a settle can land, when the payload does not say it but the chain did (a Solana blockhash's life,
   * read by RPC). One that ends inside the validity window, then or after a slow body, is settled before the origin.
   */
  settleBySeconds?: number;
  /**
   * The `exact` payment's single-use nonce on an EVM chain (an EIP-3009 authorization's, or a Permit2 permit's): the
   * chain says whether it was spent and by which transaction, so an unknown settle is asked of the chain, and
   * resubmitted elsewhere while unused (facilitator/resolve-settle.ts, facilitator/payment-on-chain.ts).
   */
  chainNonce?: ChainNonce;
  /**
   * The payment draws on a channel the gateway keeps rather than being one authorization: the channel mode serves it
   * (payment-modes/channel/), reading the scheme's own payload. `channelId`: the channel's PaymentChannel object.
   * The mode trusts what the check proved (the channel bound to the offer, the voucher's signature when
   * `signatureProven`): a plugin sets it only for a payload it checked as batch-settlement-evm.ts does.
   */
  channel?: { channelId: string };
}

/** What a local check may ask the outside world; answers are best effort (undefined: unknown). */
export interface CheckContext {
  nowSeconds: number;
  /**
   * The earliest expiry a payment may have: it must still settle after verify, the origin and settle have run
   * (pipeline/payment-window.ts). Schemes whose payments expire refuse any that expire sooner.
   */
  validUntilSeconds: number;
  /** Whether an address holds code on `network` (a contract wallet), when an RPC is configured for it. */
  isContract(network: string, address: string): Promise<boolean | undefined>;
  /** Whether a Solana blockhash is still valid, and until when if known, when an RPC is configured for `network`. */
  blockhashStatus(network: string, blockhash: string): Promise<BlockhashStatus | undefined>;
}

/** One entry of the facilitator's `GET /supported` `kinds`. */
export interface SupportedKind {
  x402Version: number;
  scheme: string;
  network: string;
  extra?: Record<string, unknown>;
}

/** What a plugin may ask the facilitator while building an offer; asked lazily, answered from a cache. */
export interface FacilitatorFacts {
  supportedKinds(): Promise<SupportedKind[]>;
  /** The gateway's own batch-settlement receiverAuthorizer (CHANNEL_AUTHORIZER_KEY's address), preferred over a facilitator's. */
  channelAuthorizer?: string | undefined;
}

export interface SchemePlugin {
  scheme: string;
  /** CAIP-2 namespace served, e.g. `eip155`. */
  namespace: string;
  /** No local checks: verify and settle are the facilitator's alone (schemes/delegated.ts). */
  delegated?: boolean;
  /**
   * How much of a verified payment is settled. `whole` (default): the offer's amount. `usage`: what the origin's
   * answer says was used, by the rule's `meter`, at most the amount signed (docs/metering.md); nothing used,
   * nothing settled. Only `usage` schemes may be metered, and a metered rule needs one.
   */
  settles?: "whole" | "usage";
  /** Validates and normalises a configured address (payTo or asset). */
  parseAddress(address: string): PluginResult<string>;
  /** The requirements' `extra` for this asset, from the registry and the rule's own `extra`. */
  buildExtra(
    asset: AssetInfo | undefined,
    configured: Record<string, unknown> | undefined,
  ): PluginResult<Record<string, unknown> | undefined>;
  /**
   * Completes one request's offer with what only the facilitator knows (e.g. Solana's `feePayer`). Omitted: the
   * offer is complete as built. A failure is a configuration fault (the facilitator cannot settle this offer).
   */
  completeOffer?(offer: PaymentRequirements, facilitator: FacilitatorFacts): Promise<PluginResult<PaymentRequirements>>;
  /**
   * Cheap checks before any facilitator round trip. `requirements` is the offer the payload was matched to.
   * A failure reason is an x402 error string the client sees in the 402.
   */
  checkPayload(
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    context: CheckContext,
  ): PluginResult<CheckedPayment> | Promise<PluginResult<CheckedPayment>>;
}

export class SchemeRegistry {
  readonly #plugins = new Map<string, SchemePlugin>();

  constructor(plugins: readonly SchemePlugin[] = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  register(plugin: SchemePlugin): this {
    this.#plugins.set(`${plugin.scheme}@${plugin.namespace}`, plugin);
    return this;
  }

  find(scheme: string, network: string): SchemePlugin | undefined {
    return this.#plugins.get(`${scheme}@${network.split(":")[0]}`);
  }
}
