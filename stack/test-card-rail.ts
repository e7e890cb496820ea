// A test card rail: scheme `card` on network `card:test`, settled against an in-memory ledger of prepaid
// test cards, for showing that the gateway serves any rail a facilitator settles (docs/facilitators.md
// "Any rail"). Facilitator side: a SchemeNetworkFacilitator registered into the official @x402/core
// x402Facilitator. Client side: a SchemeNetworkClient for the official x402Client. Test money only.
import { createHash, randomBytes } from "node:crypto";
import type {
  PaymentPayload,
  PaymentRequirements,
  SchemeNetworkClient,
  SchemeNetworkFacilitator,
  SettleResponse,
  VerifyResponse,
} from "@x402/core/types";

export const CARD_SCHEME = "card";
export const CARD_NETWORK = "card:test";
/** Amounts are US cents. */
export const CARD_ASSET = "USD";

interface CardPayload {
  card: string;
  holder: string;
  nonce: string;
}

interface CardAccount {
  holder: string;
  balance: bigint;
}

/** The rail's books: prepaid cards (by card number), merchants' balances (by payTo), spent payment nonces. */
export class TestCardLedger {
  readonly cards = new Map<string, CardAccount>();
  readonly merchants = new Map<string, bigint>();
  readonly settled = new Map<string, string>();

  /** Issues a prepaid test card; its number is the card holder's secret (like a real card's). */
  issue(holder: string, balanceCents: bigint): string {
    const card = `tc_${randomBytes(16).toString("hex")}`;
    this.cards.set(card, { holder, balance: balanceCents });
    return card;
  }
}

function parsePayload(payload: PaymentPayload): CardPayload | undefined {
  const { card, holder, nonce } = payload.payload as Partial<CardPayload>;
  if (typeof card !== "string" || typeof holder !== "string" || typeof nonce !== "string" || !/^[0-9a-f]{32}$/.test(nonce))
    return undefined;
  return { card, holder, nonce };
}

export class TestCardRailFacilitator implements SchemeNetworkFacilitator {
  readonly scheme = CARD_SCHEME;
  readonly caipFamily = "card:*";

  constructor(private readonly ledger: TestCardLedger) {}

  getExtra(): undefined {
    return undefined;
  }

  getSigners(): string[] {
    return [];
  }

  async verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse> {
    const reason = this.#refusal(payload, requirements);
    const holder = parsePayload(payload)?.holder;
    return reason ? { isValid: false, invalidReason: reason, ...(holder ? { payer: holder } : {}) } : { isValid: true, payer: holder! };
  }

  async settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    const reason = this.#refusal(payload, requirements);
    const parsed = parsePayload(payload);
    if (reason || !parsed)
      return {
        success: false,
        errorReason: reason ?? "invalid_payload",
        transaction: "",
        network: requirements.network as `${string}:${string}`,
      };
    const amount = BigInt(requirements.amount);
    const account = this.ledger.cards.get(parsed.card)!;
    account.balance -= amount;
    this.ledger.merchants.set(requirements.payTo, (this.ledger.merchants.get(requirements.payTo) ?? 0n) + amount);
    const transaction = `card_tx_${createHash("sha256").update(parsed.nonce).digest("hex").slice(0, 24)}`;
    this.ledger.settled.set(parsed.nonce, transaction);
    return {
      success: true,
      transaction,
      network: requirements.network as `${string}:${string}`,
      payer: parsed.holder,
      amount: requirements.amount,
    };
  }

  #refusal(payload: PaymentPayload, requirements: PaymentRequirements): string | undefined {
    if (requirements.scheme !== CARD_SCHEME || requirements.network !== CARD_NETWORK) return "unsupported_scheme";
    if (requirements.asset !== CARD_ASSET) return "invalid_payment_requirements";
    const parsed = parsePayload(payload);
    if (!parsed) return "invalid_payload";
    const account = this.ledger.cards.get(parsed.card);
    if (!account || account.holder !== parsed.holder) return "invalid_card";
    if (this.ledger.settled.has(parsed.nonce)) return "invalid_transaction_state";
    if (account.balance < BigInt(requirements.amount)) return "insufficient_funds";
    return undefined;
  }
}

/** The card holder's side: pays any `card:test` offer from one card, with a fresh nonce per payment. */
export class TestCardClient implements SchemeNetworkClient {
  readonly scheme = CARD_SCHEME;

  constructor(private readonly card: { number: string; holder: string }) {}

  async createPaymentPayload(x402Version: number): Promise<Pick<PaymentPayload, "x402Version" | "payload">> {
    return { x402Version, payload: { card: this.card.number, holder: this.card.holder, nonce: randomBytes(16).toString("hex") } };
  }
}
