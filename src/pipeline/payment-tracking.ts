// Per-payment bookkeeping that runs off the response path: lock updates and ledger writes to the
// payment's PaymentRecord, and the timer behind the verify/origin/settle durations.
import type { LedgerEntry } from "../ledger/ledger.js";
import type { PaymentClaim } from "../payment-record/claim-payment.js";
import { afterThisTask } from "../after-this-task.js";
import { retryWithBackoff } from "../retry-with-backoff.js";

/** The part of the Workers ExecutionContext the pipeline uses. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** A lock update or ledger write to the payment's PaymentRecord (both idempotent): 4 tries, ~100, 200, 400 ms apart. */
const RECORD_BACKOFF = { attempts: 4, baseDelayMs: 100, jitter: "around" } as const;

/**
 * Ledger writes for one payment go to its PaymentRecord outbox, off the response path. Its `verified` row is
 * already there: it went with the claim, before verify was asked (claim-payment.ts), so a Worker that dies
 * mid-settle always leaves it behind and a settle never waits for a ledger write.
 */
export class LedgerWriter {
  constructor(
    private readonly lock: LockHandle,
    private readonly entry: LedgerEntry,
    private readonly nowMs: () => number,
    /** Sees each entry as it is recorded (the request's log line reports the last). */
    private readonly observe: (entry: LedgerEntry) => void = () => {},
  ) {}

  /**
   * Verify accepted: what it says goes into the entry. The row stored with the claim is rewritten only when it
   * named another payer or facilitator (a failover); every outcome row carries the whole entry anyway.
   */
  verified(update: Pick<LedgerEntry, "payer" | "facilitator" | "facilitatorId" | "verifyMs">): void {
    const changed = update.payer !== this.entry.payer || update.facilitatorId !== this.entry.facilitatorId;
    Object.assign(this.entry, update);
    this.observe(this.entry);
    if (changed) this.lock.record({ ...this.entry });
  }

  /** The hash of the signed receipt the payer got (offer-receipt extension). */
  receipt(hash: string): void {
    this.entry.receiptHash = hash;
  }

  /** The facilitator asked to settle (the last one asked, when settle failed over). */
  settledBy(facilitatorId: string): void {
    this.entry.settledBy = facilitatorId;
  }

  outcome(update: Partial<LedgerEntry> & Pick<LedgerEntry, "status">): void {
    this.lock.record(this.#entry(update));
  }

  /** The payment is spent (settled, or perhaps settled): the lock and its ledger row in one call. */
  completed(state: "settled" | "unknown", update: Partial<LedgerEntry> & Pick<LedgerEntry, "status">): void {
    this.lock.complete(state, this.#entry(update));
  }

  #entry(update: Partial<LedgerEntry> & Pick<LedgerEntry, "status">): LedgerEntry {
    const entry = { ...this.entry, ...update, at: new Date(this.nowMs()).toISOString() };
    this.observe(entry);
    return entry;
  }
}

/** Lock updates run off the response path; a failed update only shortens or lengthens the lock's life. */
export class LockHandle {
  constructor(
    private readonly claim: PaymentClaim,
    private readonly ctx: WaitUntil,
    private readonly paymentKey: string,
  ) {}

  /** Released after verify accepted: the `verified` row stored with the claim goes to D1 (the outcome follows). */
  release(): void {
    this.#run(() => this.claim.release());
  }

  /** Released before verify accepted (refused, or no facilitator answered): the claim's row goes with it. */
  releaseUnverified(): void {
    this.#run(() => this.claim.release(false));
  }

  /** With `entry`, retried as `record` is: it carries a ledger row. */
  complete(state: "settled" | "unknown", entry?: LedgerEntry): void {
    this.#run(() => (entry ? retryWithBackoff(() => this.claim.complete(state, entry), RECORD_BACKOFF) : this.claim.complete(state)));
  }

  /** Retried: this is the one step a ledger row depends on before it is durable. */
  record(entry: LedgerEntry): void {
    this.#run(() => retryWithBackoff(() => this.claim.record(entry), RECORD_BACKOFF));
  }

  /**
   * Started a task later: the object's storage work would otherwise run on this thread before the answer
   * is written out (measured: ~3 ms of a paid request's p50 under wrangler dev). A failure is logged.
   */
  #run(update: () => Promise<void>): void {
    const done = afterThisTask().then(update);
    this.ctx.waitUntil(
      done.catch((cause) =>
        console.error(JSON.stringify({ event: "payment_lock_update_failed", paymentKey: this.paymentKey, cause: String(cause) })),
      ),
    );
  }
}

export function startTimer(nowMs: () => number): { lap(): number } {
  let last = nowMs();
  return {
    lap() {
      const now = nowMs();
      const elapsed = now - last;
      last = now;
      return elapsed;
    },
  };
}
