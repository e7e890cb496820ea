// Idempotent retries for payments that carry a payment-identifier: the first request runs, a retry with the
// same id and payment gets the stored response, the same id with another payment is a 409.
import { GatewayFailure } from "../errors.js";
import { readBodyUpTo } from "../proxy/read-body.js";
import { PAYMENT_RESPONSE } from "../x402/headers.js";
import type { PaymentPayload } from "../x402/schemas.js";
import { extractPaymentIdentifier, fingerprintPayment } from "./payment-identifier.js";
import type { PaymentIdentifierRecord, StoredResponse } from "./payment-identifier-record.js";

/** Marks a response served from the idempotency store. */
const IDEMPOTENT_REPLAY_HEADER = "X402-Idempotent-Replay";

export interface IdentifiedPayment {
  /** The id's record, and the payment in it: what the reconciler tells what the chain showed (issue #34). */
  ref: IdentifierRef;
  /** The payment settled: keep `response` for retries (teed; the caller streams the returned copy). */
  keep(response: Response): Response;
  /**
   * The settle's outcome is unknown: keep `response` (consumed; its body up to the size limit), unserved until the
   * chain says it settled. Only for a payment the reconciler watches, or it would wait for nothing.
   */
  keepAwaiting(response: Response): void;
  /** Nothing was charged: forget the id so a retry runs again. */
  abandon(): void;
}

export interface BeginOptions {
  records: DurableObjectNamespace<PaymentIdentifierRecord>;
  payload: PaymentPayload;
  required: boolean;
  leaseMs: number;
  nowMs: number;
  ttlSeconds: number;
  maxBodyBytes: number;
  waitUntil(promise: Promise<unknown>): void;
  /** How long an answer awaiting its settle's outcome may wait: a little past the lock's reconciler's last look. */
  awaitOutcomeUntilMs: number;
  /** The answer for a retry whose response was too large to keep: a 402 carrying the stored receipt. */
  alreadyUsed(receipt: string | null): Response;
}

export interface IdentifierRef {
  id: string;
  fingerprint: string;
}

export type BeginOutcome = { kind: "respond"; response: Response } | { kind: "proceed"; identified: IdentifiedPayment | undefined };

export async function beginIdentifiedPayment(options: BeginOptions): Promise<BeginOutcome> {
  const extracted = extractPaymentIdentifier(options.payload);
  if (extracted.kind === "invalid") throw new GatewayFailure({ kind: "payment_malformed", reason: extracted.reason });
  if (extracted.kind === "none") {
    if (options.required) throw new GatewayFailure({ kind: "payment_identifier_required" });
    return { kind: "proceed", identified: undefined };
  }
  const fingerprint = await fingerprintPayment(options.payload);
  const stub = options.records.get(options.records.idFromName(extracted.id));
  const begun = await stub.begin(fingerprint, options.leaseMs, options.nowMs);
  switch (begun.kind) {
    case "conflict":
      throw new GatewayFailure({ kind: "payment_identifier_conflict" });
    case "in_flight":
      throw new GatewayFailure({ kind: "payment_in_progress" });
    case "stored":
      // SAFETY: RPC typing widens the [name, value] tuples to string[]; the object is the StoredResponse we stored.
      return { kind: "respond", response: replay(begun.response as StoredResponse, options) };
    case "new":
      break;
  }
  const log = (event: string) => (cause: unknown) => console.error(JSON.stringify({ event, id: extracted.id, cause: String(cause) }));
  const stored = (response: Response, body: ArrayBuffer | null): StoredResponse => {
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => {
      headers.push([name, value]);
    });
    return { status: response.status, statusText: response.statusText, headers, body };
  };
  return {
    kind: "proceed",
    identified: {
      ref: { id: extracted.id, fingerprint },
      keepAwaiting(response) {
        const kept = readBodyUpTo(response.body, options.maxBodyBytes).then((body) =>
          stub.keepAwaiting(
            fingerprint,
            stored(response, body && (body.buffer as ArrayBuffer)),
            options.ttlSeconds * 1000,
            options.awaitOutcomeUntilMs,
          ),
        );
        options.waitUntil(kept.catch(log("payment_identifier_store_failed")));
      },
      keep(response) {
        const [forClient, forStore] = response.body ? response.body.tee() : [null, null];
        const kept = readBodyUpTo(forStore, options.maxBodyBytes).then((body) =>
          stub.store(fingerprint, stored(response, body && (body.buffer as ArrayBuffer)), options.nowMs + options.ttlSeconds * 1000),
        );
        options.waitUntil(kept.catch(log("payment_identifier_store_failed")));
        return new Response(forClient, response);
      },
      abandon() {
        options.waitUntil(stub.abandon(fingerprint).catch(log("payment_identifier_abandon_failed")));
      },
    },
  };
}

function replay(stored: StoredResponse, options: BeginOptions): Response {
  const headers = new Headers(stored.headers);
  if (stored.body === null) return options.alreadyUsed(headers.get(PAYMENT_RESPONSE));
  headers.set(IDEMPOTENT_REPLAY_HEADER, "true");
  return new Response(stored.body, { status: stored.status, statusText: stored.statusText, headers });
}
