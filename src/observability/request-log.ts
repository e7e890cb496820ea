// One structured line per request (docs/observability.md): what the pipeline learned on the way, filled in as
// it goes and written once the answer is known. Only public facts: a payer's address and a transaction hash,
// never a signature, a payment header, a session token or a query string. Pure but for `console.log`.
import type { LedgerEntry } from "../ledger/ledger.js";

export type RequestOutcome =
  /** No rule: passed through to the origin. */
  | "free"
  /** The gateway's own paths (discovery, health, admin). */
  | "reserved"
  /** A 402 challenge (no payment, or one refused before or at verify). */
  | "payment_required"
  /** Served by a wallet session, no payment. */
  | "session"
  /** A payment-identifier retry answered from the kept response. */
  | "retry_replayed"
  /** A ledger status; `verified` when settlement waits for the end of a metered stream. */
  | LedgerEntry["status"]
  /** A GatewayError kind, or `internal_error`. */
  | string;

export interface RequestLog {
  readonly startedAtMs: number;
  ruleId?: string;
  outcome?: RequestOutcome;
  /** The 402's `error` reason. */
  reason?: string;
  /** The wallet a session request was served for. */
  sessionWallet?: string;
  /** The payment's ledger entry as last recorded. */
  payment?: LedgerEntry;
}

export function startRequestLog(nowMs: number): RequestLog {
  return { startedAtMs: nowMs };
}

export interface RequestLogLine {
  event: "request";
  method: string;
  path: string;
  rule: string | null;
  outcome: RequestOutcome;
  status: number;
  ms: { total: number; verify?: number; origin?: number; settle?: number };
  reason?: string;
  payer?: string;
  network?: string;
  scheme?: string;
  asset?: string;
  amount?: string;
  payTo?: string;
  facilitator?: string;
  transaction?: string;
}

/** `errorKind`: the GatewayError kind (or `internal_error`) when the request ended in an error answer. */
export function buildRequestLogLine(
  log: RequestLog,
  request: { method: string; url: string },
  status: number,
  nowMs: number,
  errorKind?: string,
): RequestLogLine {
  const payment = log.payment;
  // A payment still `verified` when the answer leaves is one settled at the end of its stream (docs/metering.md).
  const outcome: RequestOutcome = payment
    ? payment.status === "verified" && errorKind !== undefined
      ? errorKind
      : payment.status
    : (errorKind ?? log.outcome ?? (log.ruleId === undefined ? "free" : status === 402 ? "payment_required" : "free"));
  const line: RequestLogLine = {
    event: "request",
    method: request.method,
    path: new URL(request.url).pathname,
    rule: log.ruleId ?? null,
    outcome,
    status,
    ms: { total: nowMs - log.startedAtMs },
  };
  if (log.reason !== undefined && status === 402) line.reason = log.reason;
  if (log.sessionWallet) line.payer = log.sessionWallet;
  if (payment) {
    if (payment.verifyMs !== undefined) line.ms.verify = payment.verifyMs;
    if (payment.originMs !== undefined) line.ms.origin = payment.originMs;
    if (payment.settleMs !== undefined) line.ms.settle = payment.settleMs;
    Object.assign(line, {
      payer: payment.payer,
      network: payment.network,
      scheme: payment.scheme,
      asset: payment.asset,
      amount: payment.amount,
      payTo: payment.payTo,
      facilitator: payment.settledBy ?? payment.facilitatorId ?? payment.facilitator,
      ...(payment.transactionHash ? { transaction: payment.transactionHash } : {}),
      ...(payment.errorReason ? { reason: payment.errorReason } : {}),
    });
  }
  return line;
}
