// Claims a payment in its PaymentRecord before any facilitator call: of all requests carrying one payment,
// only the first reaches verify, the origin and settle.
import { GatewayFailure } from "../errors.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import type { ChainWatch } from "./chain-watch.js";
import { FORGET_AFTER_MAX_MS, forgetAtMs } from "./lock-lifetime.js";
import type { ClaimResult, LockState, PaymentRecord } from "./payment-record.js";

/** Settled payments this isolate knows of, each until its authorization expires: replays cost no object call. */
const SETTLED_REMEMBERED = 10_000;
const settledHere = new Map<string, number>();

export interface PaymentClaim {
  /** Nothing was settled: the same payment may be presented again. `keepRow` false: verify never accepted it. */
  release(keepRow?: boolean): Promise<void>;
  /** Settled, or settlement outcome unknown: the payment stays spent. `entry`: its ledger write, in the same call. */
  complete(state: "settled" | "unknown", entry?: LedgerEntry): Promise<void>;
  /** Puts a ledger write in the payment's durable outbox, from where it reaches D1. */
  record(entry: LedgerEntry): Promise<void>;
}

export type ClaimOutcome = { kind: "claimed"; claim: PaymentClaim } | { kind: "held"; state: LockState } | { kind: "busy" };

export interface ClaimOptions {
  locks: DurableObjectNamespace<PaymentRecord>;
  paymentKey: string;
  /** The object that holds the lock (CheckedPayment.lockGroup): the same for every request with this paymentKey. */
  lockGroup: string;
  /** How long the claim survives a Worker that dies before releasing it. */
  leaseMs: number;
  expiresAtSeconds: number;
  nowMs: number;
  /** The payment's `verified` ledger row, stored with the claim (payment-record.ts). */
  pending?: LedgerEntry;
  /** Takes the group's one exclusive slot (a metered stream): `busy` while another payment of the payer has it. */
  exclusive?: boolean;
  /** What the chain can be asked about the payment, for the object's reconciler (reconciler.ts). */
  watch?: ChainWatch | undefined;
}

export async function claimPayment(options: ClaimOptions): Promise<ClaimOutcome> {
  const { paymentKey } = options;
  // Settled stays settled (only "unknown" may still turn out unpaid), so a replay is answered here.
  if ((settledHere.get(paymentKey) ?? 0) > options.nowMs) return { kind: "held", state: "settled" };
  const stub = options.locks.get(options.locks.idFromName(options.lockGroup));
  const owner = crypto.randomUUID();
  const forgetAt = forgetAtMs(options.expiresAtSeconds, options.nowMs);
  let result: ClaimResult;
  try {
    result = await stub.claim(
      paymentKey,
      owner,
      options.leaseMs,
      options.nowMs,
      options.pending,
      options.exclusive ?? false,
      forgetAt,
      options.watch,
    );
  } catch (cause) {
    throw new GatewayFailure({ kind: "replay_lock_unavailable", detail: String(cause) }, { cause });
  }
  const rememberUntilMs = Math.min(options.expiresAtSeconds * 1000, options.nowMs + FORGET_AFTER_MAX_MS);
  if (result.kind === "held" && result.state === "settled") rememberSettled(paymentKey, rememberUntilMs);
  if (result.kind !== "claimed") return result;
  return {
    kind: "claimed",
    claim: {
      release: (keepRow) => stub.release(paymentKey, owner, keepRow),
      complete: async (state, entry) => {
        await stub.complete(paymentKey, owner, state, forgetAt, entry);
        if (state === "settled") rememberSettled(paymentKey, rememberUntilMs);
      },
      record: (entry) => stub.record(entry),
    },
  };
}

function rememberSettled(paymentKey: string, untilMs: number): void {
  settledHere.delete(paymentKey);
  settledHere.set(paymentKey, untilMs);
  // Insertion order: the first key is the oldest remembered.
  if (settledHere.size > SETTLED_REMEMBERED) settledHere.delete(settledHere.keys().next().value!);
}

/**
 * A delegated rail's settle may be idempotent on what it settles (a card token charged once answers success again),
 * so its payload's hash is not a payment's identity: the transaction the facilitator names is. Records it once;
 * false when another payment already settled as that same transaction (security review F10).
 */
export async function recordSettledTransaction(
  locks: DurableObjectNamespace<PaymentRecord>,
  network: string,
  transaction: string,
  nowMs: number,
): Promise<boolean> {
  const paymentKey = `${network}:settled:${transaction}`;
  const claimed = await claimPayment({
    locks,
    paymentKey,
    lockGroup: paymentKey,
    leaseMs: 60_000,
    expiresAtSeconds: Math.floor(nowMs / 1000) + FORGET_AFTER_MAX_MS / 1000,
    nowMs,
  });
  if (claimed.kind !== "claimed") return false;
  await claimed.claim.complete("settled");
  return true;
}
