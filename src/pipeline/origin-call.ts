// A paid request's one call to the origin, and when it may start: once verify has said yes, or, for a request that
// changes nothing (GET, HEAD) from a payer in good standing, as soon as its payment is claimed, so the answer is
// ready when verify is. Nothing is settled and nothing is returned before verify says yes: what an early call can
// cost is an answer thrown away. Good standing is this isolate's memory that the payer's last payment passed
// verify; a refusal ends it, so each accepted payment buys at most one wasted origin call, and a replay (its
// claim is held) or a payer never seen never reaches the origin early.

/** Payers remembered per isolate; the oldest are forgotten first. */
const REMEMBERED_PAYERS = 10_000;
const inGoodStanding = new Set<string>();

/** One payer on one network, as the standing below remembers it. */
export function payerKey(network: string, payer: string): string {
  return `${network}|${payer.toLowerCase()}`;
}

export const payerStanding = {
  has: (key: string): boolean => inGoodStanding.has(key),
  /** The facilitator accepted one of this payer's payments. */
  accepted(key: string): void {
    inGoodStanding.delete(key);
    inGoodStanding.add(key);
    if (inGoodStanding.size > REMEMBERED_PAYERS) inGoodStanding.delete(inGoodStanding.values().next().value!);
  },
  /** Refused at verify or settle: the payer's next payment waits for verify before the origin is asked. */
  refused(key: string): void {
    inGoodStanding.delete(key);
  },
};

const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** Whether the origin may be asked while verify runs. */
export function mayAskDuringVerify(rule: { forwardDuringVerify: boolean; settlement: string }, method: string, payer: string): boolean {
  return rule.forwardDuringVerify && rule.settlement === "after-origin" && SAFE_METHODS.has(method) && payerStanding.has(payer);
}

export class OriginCall {
  #answer: Promise<Response> | undefined;
  #startedAtMs: number | undefined;
  #answeredAtMs: number | undefined;

  constructor(
    private readonly send: () => Promise<Response>,
    private readonly nowMs: () => number,
  ) {}

  /** Asks the origin now, if not yet asked. */
  start(): void {
    if (this.#answer) return;
    this.#startedAtMs = this.nowMs();
    this.#answer = this.send().then((response) => ((this.#answeredAtMs = this.nowMs()), response));
    // Looked at by answer() or discard(); a failure nobody waits for must not surface as unhandled.
    this.#answer.catch(() => {});
  }

  get startedEarly(): boolean {
    return this.#answer !== undefined;
  }

  /** The origin's answer, asking it now unless it was asked already. */
  answer(): Promise<Response> {
    this.start();
    return this.#answer!;
  }

  get startedAtMs(): number {
    return this.#startedAtMs ?? this.nowMs();
  }

  /** From asking to the answer's headers (or until now, if it has not answered). */
  latencyMs(): number {
    return (this.#answeredAtMs ?? this.nowMs()) - this.startedAtMs;
  }

  /** The payment was not accepted: an answer asked for early is dropped unread. */
  discard(): void {
    this.#answer?.then(
      (response) => response.body?.cancel(),
      () => {},
    );
  }
}
