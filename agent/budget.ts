// The agent's budget: a total and a per-call cap, in micro-dollars. Every payment reserves its most possible cost
// before it is signed (synchronously, so concurrent calls can never reserve past the total), then commits what the
// settlement says was charged (an `upto` payment: the metered amount) or releases it when nothing was charged.
import { formatUsd } from "./money.js";

export class BudgetRefusal extends Error {
  override readonly name = "BudgetRefusal";
  constructor(
    readonly reason: "over_per_call_cap" | "over_remaining_budget",
    message: string,
  ) {
    super(message);
  }
}

export interface Reservation {
  readonly micros: bigint;
  /** What was actually charged (at most the reservation); the rest goes back to the budget. */
  commit(chargedMicros: bigint): void;
  /** Nothing was charged. */
  release(): void;
}

export class Budget {
  #spent = 0n;
  #reserved = 0n;

  /**
   * @param totalMicros the most the agent may spend, all calls together
   * @param perCallMicros the most one call may cost; a session counts as the calls it buys
   */
  constructor(
    readonly totalMicros: bigint,
    readonly perCallMicros: bigint,
  ) {}

  get spentMicros(): bigint {
    return this.#spent;
  }

  /** What is neither spent nor held by a payment in flight. */
  get remainingMicros(): bigint {
    return this.totalMicros - this.#spent - this.#reserved;
  }

  /** Throws a BudgetRefusal, reserving nothing, when the payment is over a cap. */
  reserve(micros: bigint, callsBought = 1): Reservation {
    if (micros > this.perCallMicros * BigInt(callsBought)) {
      const per = callsBought > 1 ? ` (${callsBought} calls at most ${formatUsd(this.perCallMicros)} each)` : "";
      throw new BudgetRefusal(
        "over_per_call_cap",
        `${formatUsd(micros)} is over the per-call cap of ${formatUsd(this.perCallMicros * BigInt(callsBought))}${per}`,
      );
    }
    if (micros > this.remainingMicros) {
      throw new BudgetRefusal(
        "over_remaining_budget",
        `${formatUsd(micros)} is over the remaining budget of ${formatUsd(this.remainingMicros)} (spent ${formatUsd(this.#spent)} of ${formatUsd(this.totalMicros)})`,
      );
    }
    this.#reserved += micros;
    let open = true;
    const close = () => {
      if (!open) return false;
      open = false;
      this.#reserved -= micros;
      return true;
    };
    return {
      micros,
      commit: (chargedMicros) => {
        if (close()) this.#spent += chargedMicros < micros ? chargedMicros : micros;
      },
      release: () => void close(),
    };
  }
}
