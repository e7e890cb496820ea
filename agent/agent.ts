// An agent buyer with a budget (docs/agent.md): finds what is for sale, picks the cheapest offer that fits, pays
// with the official client (@x402/fetch, the @x402/evm exact and upto schemes, the sign-in-with-x extension), and
// rides on sessions it holds. The budget is enforced in the official client's before-payment hook, before anything
// is signed; a 402 that asks another price than the listing said is re-decided there, within the caps.
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { UptoEvmScheme } from "@x402/evm/upto/client";
import { createSIWxClientExtension } from "@x402/extensions/sign-in-with-x";
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from "@x402/fetch";
import type { PrivateKeyAccount } from "viem";
import { Budget, BudgetRefusal, type Reservation } from "./budget.js";
import { discover, type Listing } from "./catalog.js";
import { effectiveAt, rankChoices, type Choice, type KnownAsset } from "./choose-offer.js";
import { matchListings, type Task } from "./match-task.js";
import { atomicToUsd, formatUsd } from "./money.js";
import { SESSION_HEADER, SessionBook } from "./session-book.js";
import { SpendLog } from "./spend-log.js";

export interface AgentOptions {
  /** The wallet that pays and signs in. */
  account: PrivateKeyAccount;
  /** Gateways whose /.well-known/x402 is read. */
  gateways?: string[];
  /** Facilitators whose catalog (/discovery/resources) is read. */
  facilitators?: string[];
  /** Stablecoins the agent pays with. The official client refuses any other token, so a local test token must be listed here. */
  assets: KnownAsset[];
  budget: { totalMicros: bigint; perCallMicros: bigint };
  /** Networks to pay on (default: the assets'); calls planned (a session's price is spread over them); sessions first on a tie. */
  preferences?: { networks?: string[]; plannedCalls?: number; preferSessions?: boolean };
  /** Append the spend log (JSON lines) to this file as well. */
  spendLogPath?: string;
  fetch?: typeof fetch;
}

const UNCAPPED = (10n ** 30n).toString();

export type AgentRefusalReason = "no_offer" | "price_drift" | BudgetRefusal["reason"];

/** Nothing was paid: no offer fits, a price moved past the alternatives, or a cap would be exceeded. */
export class AgentRefusal extends Error {
  override readonly name = "AgentRefusal";
  constructor(
    readonly reason: AgentRefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export interface CallResult {
  response: Response;
  choice: Choice;
  /** How the call was served: a payment, a session token, or a sign-in to a session the wallet paid for earlier. */
  via: "payment" | "session" | "sign-in";
  /** What the payment charged (atomic units of the offer's asset), and its transaction. */
  charged?: { atomic: bigint; micros: bigint; transaction?: string | undefined };
}

export class Agent {
  readonly budget: Budget;
  readonly spendLog: SpendLog;
  readonly sessions = new SessionBook();
  readonly #fetch: typeof fetch;
  #listings?: Promise<Listing[]>;

  constructor(private readonly options: AgentOptions) {
    this.budget = new Budget(options.budget.totalMicros, options.budget.perCallMicros);
    this.spendLog = new SpendLog(options.spendLogPath);
    this.#fetch = options.fetch ?? fetch;
  }

  /** Every listing of every source (read once; `refresh` reads again). */
  async discover(refresh = false): Promise<Listing[]> {
    if (refresh || !this.#listings) {
      this.#listings = discover({ gateways: this.options.gateways ?? [], facilitators: this.options.facilitators ?? [] }, this.#fetch).then(
        (d) => d.listings,
      );
      this.#listings.catch(() => (this.#listings = undefined));
    }
    return this.#listings;
  }

  /**
   * The offers that fit `task`, cheapest effective price per call first. `plannedCalls` (default: the preference):
   * how many calls are still to come, which a new session's price is spread over.
   */
  async plan(task: Task, plannedCalls = this.options.preferences?.plannedCalls ?? 1): Promise<Choice[]> {
    const matches = matchListings(await this.discover(), task);
    return rankChoices(
      matches,
      this.options.assets,
      { ...this.options.preferences, plannedCalls, maxPerCallMicros: this.budget.perCallMicros },
      (listing, url) => this.sessions.holds(this.sessions.keyOf(listing, url)),
    );
  }

  /**
   * Calls the best offer for `task`, the next best when a price drifted past it or a cap refuses it.
   * `plannedCalls`: the calls still to come, this one included (default: the preference).
   */
  async call(task: Task, init: RequestInit = {}, plannedCalls = this.options.preferences?.plannedCalls ?? 1): Promise<CallResult> {
    const choices = await this.plan(task, plannedCalls);
    if (choices.length === 0) {
      const refusal = new AgentRefusal(
        "no_offer",
        `no listed offer fits "${task.text ?? task.tool ?? task.route ?? ""}" in a known asset, on a preferred network, within the per-call cap of ${formatUsd(this.budget.perCallMicros)}`,
      );
      this.spendLog.write({ event: "refused", resource: "", url: "", reason: refusal.message });
      throw refusal;
    }
    let first: AgentRefusal | undefined;
    for (const [i, choice] of choices.entries()) {
      try {
        return await this.#callWith(choice, choices[i + 1], init, plannedCalls);
      } catch (error) {
        if (!(error instanceof AgentRefusal)) throw error;
        first ??= error;
      }
    }
    // Every offer was refused: the reason given is the cheapest one's, the offer the agent would have paid.
    this.spendLog.write({ event: "refused", resource: choices[0]!.listing.resource, url: choices[0]!.url, reason: first!.message });
    throw first!;
  }

  async #callWith(choice: Choice, next: Choice | undefined, init: RequestInit, planned: number): Promise<CallResult> {
    if (!choice.listing.session) return this.#pay(choice, next, init, planned);
    const key = this.sessions.keyOf(choice.listing, choice.url);
    const viaToken = await this.#useSession(choice, key, init);
    if (viaToken) return viaToken;
    // One call at a time opens (signs into or buys) a session; the others then use it.
    return this.sessions.exclusive(
      key,
      async () => (await this.#useSession(choice, key, init)) ?? this.#pay(choice, next, init, planned, key),
    );
  }

  async #useSession(choice: Choice, key: string, init: RequestInit): Promise<CallResult | undefined> {
    const token = this.sessions.take(key);
    if (!token) return undefined;
    const headers = new Headers(init.headers);
    headers.set(SESSION_HEADER, token);
    const response = await this.#fetch(choice.url, { ...init, headers });
    if (response.status === 402) {
      // Ended (time or quota) or revoked: pay again.
      await response.body?.cancel();
      this.sessions.forget(key);
      return undefined;
    }
    const held = this.sessions.update(key, response.headers);
    this.spendLog.write({
      event: "session_use",
      resource: choice.listing.resource,
      url: choice.url,
      session: { remaining: held?.remaining },
    });
    return { response, choice, via: "session" };
  }

  async #pay(choice: Choice, next: Choice | undefined, init: RequestInit, planned: number, sessionKey?: string): Promise<CallResult> {
    const { account } = this.options;
    const offer = choice.offer;
    const entry = { resource: choice.listing.resource, url: choice.url };
    let reservation: Reservation | undefined;
    let asked: { amount: string; payTo: string } | undefined;
    let refusal: AgentRefusal | undefined;

    const client = x402Client.fromConfig({
      schemes: [
        { network: "eip155:*", client: new ExactEvmScheme(account) },
        { network: "eip155:*", client: new UptoEvmScheme(account) },
      ],
      // The asset must be named for the official client to pay with it at all. Its own per-payment cap is set out of
      // the way: the agent's caps are enforced in the hook below, which sees the asked price and says why it refuses.
      spendControls: {
        allowedAssets: [{ network: offer.network as `${string}:${string}`, asset: choice.asset.address, maxAmountPerPayment: UNCAPPED }],
      },
    });
    client.registerPolicy((_version, requirements) =>
      requirements.filter(
        (r) =>
          r.scheme === offer.scheme &&
          r.network === offer.network &&
          r.asset.toLowerCase() === offer.asset.toLowerCase() &&
          (!offer.payTo || r.payTo.toLowerCase() === offer.payTo.toLowerCase()),
      ),
    );
    if (choice.listing.session) client.registerExtension(createSIWxClientExtension({ signers: [account] }));
    client.onBeforePaymentCreation(async ({ selectedRequirements }) => {
      const askedAtomic = BigInt(selectedRequirements.amount);
      if (askedAtomic !== choice.payAtomic) {
        this.spendLog.write({
          event: "price_drift",
          ...entry,
          listedAmount: choice.payAtomic.toString(),
          askedAmount: askedAtomic.toString(),
        });
        // Re-decided at the asked price: a better alternative now wins.
        if (next && effectiveAt(choice, askedAtomic, planned) > next.effectiveMicros) {
          refusal = new AgentRefusal(
            "price_drift",
            `${choice.url} asks ${askedAtomic} instead of the listed ${choice.payAtomic}; another offer is now cheaper`,
          );
          return { abort: true, reason: refusal.reason };
        }
      }
      try {
        reservation = this.budget.reserve(atomicToUsd(askedAtomic, choice.asset.decimals), choice.callsBought);
      } catch (error) {
        if (!(error instanceof BudgetRefusal)) throw error;
        refusal = new AgentRefusal(error.reason, `${choice.url}: ${error.message}`);
        return { abort: true, reason: error.reason };
      }
      asked = { amount: selectedRequirements.amount, payTo: selectedRequirements.payTo };
    });

    let response: Response;
    try {
      response = await wrapFetchWithPayment(this.#fetch, client)(choice.url, init);
    } catch (error) {
      // Signing failed or was aborted by the hook: nothing was sent with a payment.
      reservation?.release();
      if (refusal) throw refusal;
      this.spendLog.write({ event: "failed", ...entry, reason: error instanceof Error ? error.message : String(error) });
      throw error;
    }
    const listedOffer = {
      scheme: offer.scheme,
      network: offer.network,
      asset: offer.asset,
      amount: asked?.amount ?? offer.amount ?? "",
      payTo: asked?.payTo ?? offer.payTo,
    };
    const held = sessionKey ? this.sessions.update(sessionKey, response.headers, true) : undefined;
    if (!reservation) {
      // Served without paying: signed into a session this wallet paid for before.
      if (held) this.spendLog.write({ event: "session_use", ...entry, session: { remaining: held.remaining, signedIn: true } });
      return { response, choice, via: held ? "sign-in" : "payment" };
    }
    const header = response.headers.get("PAYMENT-RESPONSE");
    const settlement = header ? decodePaymentResponseHeader(header) : undefined;
    if (settlement?.success && response.status < 400) {
      // upto: the settlement says what was metered; exact: what was asked.
      const atomic = /^\d+$/.test(settlement.amount ?? "") ? BigInt(settlement.amount!) : BigInt(asked!.amount);
      const micros = atomicToUsd(atomic, choice.asset.decimals);
      reservation.commit(micros);
      this.spendLog.write({
        event: "payment",
        ...entry,
        offer: listedOffer,
        amount: atomic.toString(),
        usdMicros: micros.toString(),
        tx: settlement.transaction,
        ...(held ? { session: { remaining: held.remaining } } : {}),
      });
      return { response, choice, via: "payment", charged: { atomic, micros, transaction: settlement.transaction } };
    }
    if (response.status === 502 || response.status === 504) {
      // The gateway could not tell whether the settlement landed: it stays counted.
      reservation.commit(reservation.micros);
      this.spendLog.write({
        event: "payment_unknown",
        ...entry,
        offer: listedOffer,
        amount: asked!.amount,
        reason: `HTTP ${response.status}`,
      });
      return { response, choice, via: "payment" };
    }
    reservation.release();
    this.spendLog.write({
      event: "failed",
      ...entry,
      offer: listedOffer,
      reason: `HTTP ${response.status}${settlement?.errorReason ? ` ${settlement.errorReason}` : ""}`,
    });
    return { response, choice, via: "payment" };
  }
}

export function createAgent(options: AgentOptions): Agent {
  return new Agent(options);
}
