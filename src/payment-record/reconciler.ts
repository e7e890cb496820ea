// The PaymentRecord's reconciler (issue #34): a lock whose payment's outcome is unknown is asked of the chain by the
// object's alarm until the chain says settled or "nothing can move any more", at the latest a look shortly after the
// authorization's `validBefore`. Two kinds of lock are watched, both of payments whose lock carries a ChainWatch (an
// `exact` payment on EVM, EIP-3009 or Permit2, with an RPC for its network):
// - completed "unknown" (a settle that timed out, or whose answer was lost): looked at from FIRST_LOOK_MS on;
// - "in_flight" whose lease ran out (its request died, perhaps mid-settle): held as "unknown" rather than let go or
//   taken over, and looked at at once; if still unspent, once more at `validBefore` (or DEAD_CLAIM_WATCH_MS after it
//   was held, whichever is first), and then let go. Its request may have died before verify: a payment that never
//   pays costs two looks, not a watch until it expires.
// Settled → the lock stays spent and the ledger row says so, with the transaction; not settled → the lock is deleted
// (the payment may be presented again: an expired one is refused on chain) and the ledger row says why.
import type { IdentifierRef } from "../idempotency/identified-payment.js";
import type { ResolveResult } from "../idempotency/payment-identifier-record.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { rpcFor } from "../schemes/chain-rpc.js";
import { encodePaymentResponseHeader } from "../x402/headers.js";
// A lock held after its request died is remembered as a completed one is: its authorization's end plus a margin.
import { forgetAtMs } from "./lock-lifetime.js";
import { lookAtChain, lookMaxCalls, nextFromBlock, resolvedEntry, type ChainWatch, type SpendRange, type Verdict } from "./chain-watch.js";

/** The first look after a settle's outcome was left unknown: its request already asked the chain for its budget. */
const FIRST_LOOK_MS = 5_000;
/** Looks while the authorization is valid: 15 s, doubling, at most this apart. */
const LOOK_INTERVAL_BASE_MS = 15_000;
const LOOK_INTERVAL_MAX_MS = 5 * 60_000;
/** After `validBefore`: the next block (and its timestamp) is seconds away. */
const AFTER_EXPIRY_MS = 3_000;
/**
 * A look without a verdict (the RPC failed, or the nonce is spent by a transaction not found yet) is taken again this
 * much later, doubling with each look, at most RETRY_MAX_MS apart: a lock held its longest (30 days) costs at most
 * 750 looks (test/unit/reconciler-schedule.test.ts).
 */
const RPC_RETRY_MS = 30_000;
const RETRY_MAX_MS = 60 * 60_000;
/** Locks looked at per alarm run, in parallel, so that one run stays within seconds... */
const LOOKS_PER_RUN = 10;
/** ...and its RPC calls, counted at each look's most, within the Workers Free plan's 50 subrequests per run. */
const RPC_CALLS_PER_RUN = 45;
/** How long a dead request's unspent payment is held before it is let go (its settle would have landed by then). */
const DEAD_CLAIM_WATCH_MS = 10 * 60_000;

interface WatchedRow {
  payment_key: string;
  watch: string;
  watch_entry: string | null;
  from_block: string | null;
  spent_block: string | null;
  looks: number;
  misses: number;
  look_at_ms: number;
  held_at_ms: number | null;
  forget_at_ms: number | null;
  [key: string]: SqlStorageValue;
}

export class Reconciler {
  constructor(
    private readonly sql: SqlStorage,
    private readonly rpcUrls: () => Readonly<Record<string, string>> | undefined,
    /** Puts a ledger write in the object's outbox. */
    private readonly enqueue: (entry: LedgerEntry) => void,
    /** Tells the payment's payment-identifier record the verdict (its PAYMENT-RESPONSE, or null: nothing moved). */
    private readonly resolveAnswer: (ref: IdentifierRef, paymentResponse: string | null) => Promise<ResolveResult["kind"]>,
  ) {}

  /** A lock just completed "unknown": watched when it can be. `entry`: its ledger row, the base of the resolved one. */
  watchUnknown(paymentKey: string, entry: LedgerEntry | undefined, nowMs: number): void {
    const row = this.sql.exec<{ watch: string | null }>("SELECT watch FROM payment_locks WHERE payment_key = ?", paymentKey).toArray()[0];
    if (!row?.watch || !this.#rpc(row.watch)) return;
    this.sql.exec(
      "UPDATE payment_locks SET look_at_ms = ?, held_at_ms = NULL, watch_entry = COALESCE(?, watch_entry) WHERE payment_key = ?",
      nowMs + FIRST_LOOK_MS,
      entry ? JSON.stringify(entry) : null,
      paymentKey,
    );
  }

  /**
   * Claims whose lease ran out, with a watch: their request may have asked a settle that lands yet, so they are held
   * ("unknown", never taken over) and looked at now. Run before their `verified` rows leave with the lease's end.
   * `paymentKey`: only that claim (one a new request would take over). Returns how many were held.
   */
  holdDeadClaims(nowMs: number, paymentKey?: string): number {
    const dead = this.sql
      .exec<{ payment_key: string; watch: string }>(
        `SELECT payment_key, watch FROM payment_locks WHERE state = 'in_flight' AND lease_until_ms < ? AND watch IS NOT NULL${paymentKey ? " AND payment_key = ?" : ""}`,
        nowMs,
        ...(paymentKey ? [paymentKey] : []),
      )
      .toArray();
    let held = 0;
    for (const { payment_key, watch } of dead) {
      if (!this.#rpc(watch)) continue;
      const { validBeforeSeconds } = JSON.parse(watch) as ChainWatch;
      this.sql.exec(
        "UPDATE payment_locks SET state = 'unknown', watch_entry = COALESCE(watch_entry, pending_entry), look_at_ms = ?, held_at_ms = ?, forget_at_ms = ? WHERE payment_key = ?",
        nowMs,
        nowMs,
        forgetAtMs(validBeforeSeconds, nowMs),
        payment_key,
      );
      held++;
    }
    return held;
  }

  /** Looks at the chain for the watched locks that are due; each resolved one's ledger row goes to the outbox. */
  async lookAtDue(nowMs: number): Promise<void> {
    const due = this.sql
      .exec<WatchedRow>(
        "SELECT payment_key, watch, watch_entry, from_block, spent_block, looks, misses, look_at_ms, held_at_ms, forget_at_ms FROM payment_locks WHERE state = 'unknown' AND look_at_ms <= ? ORDER BY look_at_ms LIMIT ?",
        nowMs,
        LOOKS_PER_RUN,
      )
      .toArray();
    // The rest are due still: the alarm set after this run is due at once.
    const now = due.slice(0, looksWithinBudget(due.map((row) => JSON.parse(row.watch) as ChainWatch)));
    await Promise.all(now.map((row) => this.#lookAt(row, nowMs)));
  }

  async #lookAt(row: WatchedRow, nowMs: number): Promise<void> {
    const watch = JSON.parse(row.watch) as ChainWatch;
    const rpc = this.#rpc(row.watch);
    // RPC_URLS lost the network, or the lock outlived what it may hold: forgotten, its row left for an operator.
    if (!rpc || (row.forget_at_ms !== null && nowMs > row.forget_at_ms)) return this.#stopLooking(row.payment_key);
    // Each update below applies only to the lock as read: a `complete` that came in while the chain was asked wins.
    const unchanged = "payment_key = ? AND state = 'unknown' AND look_at_ms = ?";
    const same = [row.payment_key, row.look_at_ms];
    let verdict: Verdict;
    try {
      verdict = await lookAtChain(rpc, watch, {
        fromBlock: row.from_block === null ? undefined : BigInt(row.from_block),
        spentBlock: row.spent_block === null ? undefined : BigInt(row.spent_block),
        misses: row.misses,
        firstLook: row.misses === 0 && row.looks === 0 && row.held_at_ms === null,
      });
    } catch (error) {
      console.warn(
        JSON.stringify({
          event: "reconcile_rpc_failed",
          paymentKey: row.payment_key,
          network: watch.network,
          message: String(error).slice(0, 200),
        }),
      );
      this.sql.exec(
        `UPDATE payment_locks SET misses = misses + 1, look_at_ms = ? WHERE ${unchanged}`,
        nowMs + retryInMs(row.misses),
        ...same,
      );
      return;
    }
    if (verdict.kind === "unfound") {
      // Spent, its transaction not found yet: the same blocks are searched again later (the next page of them).
      console.warn(
        JSON.stringify({
          event: "reconcile_spent_unfound",
          paymentKey: row.payment_key,
          network: watch.network,
          spentBlock: verdict.range.spentBlock.toString(),
          reason: verdict.reason,
        }),
      );
      this.#missed(row, verdict.range, nowMs + retryInMs(row.misses));
      return;
    }
    if (
      verdict.kind === "open" &&
      row.held_at_ms !== null &&
      nowMs >= Math.min(row.held_at_ms + DEAD_CLAIM_WATCH_MS, watch.validBeforeSeconds * 1000)
    ) {
      // A dead request's payment still unspent on its second look: whatever it asked would have landed. Let go, as
      // before the reconciler; its `verified` row stays for an operator.
      if (this.sql.exec(`DELETE FROM payment_locks WHERE ${unchanged}`, ...same).rowsWritten > 0) {
        console.log(JSON.stringify({ event: "dead_claim_released", paymentKey: row.payment_key, reason: "unspent" }));
      }
      return;
    }
    if (verdict.kind === "open") {
      const next =
        row.held_at_ms === null
          ? nextLookMs(nowMs, watch.validBeforeSeconds, row.looks)
          : Math.min(row.held_at_ms + DEAD_CLAIM_WATCH_MS, watch.validBeforeSeconds * 1000 + AFTER_EXPIRY_MS);
      // Unspent again after a spend was seen: a reorganisation undid it, and the blocks kept say nothing any more.
      this.sql.exec(
        `UPDATE payment_locks SET from_block = ?, spent_block = NULL, looks = looks + 1, look_at_ms = ? WHERE ${unchanged}`,
        nextFromBlock(verdict.searchedToBlock).toString(),
        next,
        ...same,
      );
      return;
    }
    let answer: ResolveResult["kind"] = "not_kept";
    try {
      if (watch.identifier)
        answer = await this.resolveAnswer(
          watch.identifier,
          verdict.kind === "settled" ? paymentResponse(watch, verdict.transaction) : null,
        );
    } catch (error) {
      console.warn(JSON.stringify({ event: "reconcile_answer_failed", paymentKey: row.payment_key, message: String(error).slice(0, 200) }));
      answer = "pending";
    }
    if (answer === "pending") {
      // The withheld answer must learn the verdict with the lock (it may still be on its way there): both wait. The
      // blocks searched are kept, so the look then searches them again rather than a lookback that has moved on.
      this.#missed(row, verdict.range, nowMs + RPC_RETRY_MS);
      return;
    }
    const answerKept = answer === "kept";
    const update =
      verdict.kind === "settled"
        ? this.sql.exec(
            `UPDATE payment_locks SET state = 'settled', look_at_ms = NULL, held_at_ms = NULL, watch_entry = NULL WHERE ${unchanged}`,
            ...same,
          )
        : this.sql.exec(`DELETE FROM payment_locks WHERE ${unchanged}`, ...same);
    if (update.rowsWritten === 0) return;
    console.log(
      JSON.stringify({
        event: "payment_reconciled",
        paymentKey: row.payment_key,
        verdict: verdict.kind,
        ...(verdict.kind === "settled" ? { transaction: verdict.transaction } : { resolution: verdict.resolution }),
      }),
    );
    if (row.watch_entry) this.enqueue(resolvedEntry(JSON.parse(row.watch_entry) as LedgerEntry, verdict, nowMs, answerKept));
  }

  /** A look with no outcome: the spend's blocks (if it found them) kept, counted as a miss, looked at again at `atMs`. */
  #missed(row: WatchedRow, range: SpendRange | undefined, atMs: number): void {
    this.sql.exec(
      "UPDATE payment_locks SET spent_block = COALESCE(spent_block, ?), from_block = COALESCE(from_block, ?), misses = misses + 1, look_at_ms = ? WHERE payment_key = ? AND state = 'unknown' AND look_at_ms = ?",
      range ? range.spentBlock.toString() : null,
      range?.fromBlock === undefined ? null : range.fromBlock.toString(),
      atMs,
      row.payment_key,
      row.look_at_ms,
    );
  }

  #stopLooking(paymentKey: string): void {
    this.sql.exec("UPDATE payment_locks SET look_at_ms = NULL WHERE payment_key = ?", paymentKey);
  }

  #rpc(watch: string) {
    return rpcFor(this.rpcUrls(), (JSON.parse(watch) as ChainWatch).network);
  }
}

/** What a retry's answer carries once the chain showed the payment settled, as a settle's reply would have said. */
function paymentResponse(watch: ChainWatch, transaction: string): string {
  return encodePaymentResponseHeader({ success: true, transaction, network: watch.network, payer: watch.payer });
}

/** How many of the due looks, in order, one alarm run takes: at least one, within RPC_CALLS_PER_RUN at their most. */
export function looksWithinBudget(due: readonly ChainWatch[]): number {
  let calls = 0;
  let taken = 0;
  for (const watch of due.slice(0, LOOKS_PER_RUN)) {
    calls += lookMaxCalls(watch);
    if (calls > RPC_CALLS_PER_RUN && taken > 0) break;
    taken++;
  }
  return taken;
}

/** When a look without a verdict is taken again, after `misses` such looks. */
export function retryInMs(misses: number): number {
  return Math.min(RPC_RETRY_MS * 2 ** Math.min(misses, 7), RETRY_MAX_MS);
}

/** The next look at a payment the chain shows unused: backing off while it is valid, just after it expires. */
export function nextLookMs(nowMs: number, validBeforeSeconds: number, looks: number): number {
  const expiryLookMs = validBeforeSeconds * 1000 + AFTER_EXPIRY_MS;
  if (nowMs >= expiryLookMs) return nowMs + AFTER_EXPIRY_MS;
  return Math.min(nowMs + Math.min(LOOK_INTERVAL_BASE_MS * 2 ** Math.min(looks, 10), LOOK_INTERVAL_MAX_MS), expiryLookMs);
}
