// A paid request's one call to the origin: asked once verify has said yes, or earlier when the payer's standing
// allows it (payer-standing.ts). Nothing is settled and nothing is returned before the payment is accepted: what
// an early call can cost is an answer thrown away (discard).

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
    this.#answer = this.send().then((response) => {
      this.#answeredAtMs = this.nowMs();
      return response;
    });
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
