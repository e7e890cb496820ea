// The gateway's one error type and its one mapping to HTTP (AGENTS.md "Conventions": errors).
// Wire bodies carry a stable code and a safe message; internal detail goes to the log only.
import {
  encodeBase64Text,
  encodePaymentResponseHeader,
  EXPOSED_PAYMENT_HEADERS,
  PAYMENT_REQUIRED,
  PAYMENT_RESPONSE,
} from "./x402/headers.js";
import type { PaymentRequired, SettleResponse } from "./x402/schemas.js";
import { toV1PaymentRequired } from "./x402/v1.js";

export type GatewayError =
  /** Env vars or the KV price rules are invalid; priced routes fail closed. */
  | { kind: "config_invalid"; detail: string }
  | { kind: "path_malformed"; detail: string }
  /** An MCP request the gateway will not forward: malformed JSON-RPC (400) or a tool that is not offered (403). */
  | { kind: "mcp_refused"; status: 400 | 403; reason: string }
  /** A path the gateway serves itself, asked with a method it does not serve. */
  | { kind: "method_not_allowed"; allow: string }
  | { kind: "header_too_large"; header: string }
  | { kind: "body_too_large"; limitBytes: number }
  | { kind: "payment_malformed"; reason: string }
  /** The rule requires a payment-identifier and the payload has none. */
  | { kind: "payment_identifier_required" }
  /** The payment-identifier was used with a different payment. */
  | { kind: "payment_identifier_conflict" }
  /** A request with this payment-identifier is still running. */
  | { kind: "payment_in_progress" }
  /** A 402 with a fresh challenge: missing, mismatched or refused payment. */
  | { kind: "payment_required"; paymentRequired: PaymentRequired }
  /** Settlement refused after the origin answered; the origin body is withheld. */
  | { kind: "settle_failed"; paymentRequired: PaymentRequired; settleResponse: SettleResponse }
  /** `notSubmitted`: the facilitator provably did not act on the call (refused at the door, or never called). */
  /** `rateLimited`: a 429, the facilitator's quota (perhaps spent by someone else's traffic), not its failure. */
  | { kind: "facilitator_unavailable"; detail: string; notSubmitted?: boolean; rateLimited?: boolean }
  /** No facilitator that is up can settle any of the route's payment options (`missing` names the kinds). */
  | { kind: "unsettleable"; ruleId: string; missing: string[] }
  | { kind: "facilitator_timeout"; operation: "verify" | "settle" | "supported" }
  | { kind: "facilitator_bad_response"; detail: string }
  | { kind: "origin_unreachable"; detail: string }
  | { kind: "origin_timeout" }
  /** The rule's quote callback failed or answered garbage: no price, so no 402 (fail closed). */
  | { kind: "quote_failed"; detail: string }
  | { kind: "quote_timeout" }
  /** The request lacks, or malforms, the input its dynamic price is computed from. */
  | { kind: "pricing_input_invalid"; reason: string }
  /** The request names a tenant that has no payee in the routing table. */
  | { kind: "unknown_tenant"; tenant: string }
  /** A smart-wallet sign-in could not be checked: the chain's RPC failed. */
  | { kind: "siwx_verifier_unavailable"; detail: string }
  /** The SIGN-IN-WITH-X header is not a well-formed proof. */
  | { kind: "siwx_malformed"; reason: string }
  /** A wallet's session state could not be reached: refuse rather than serve unpaid. */
  | { kind: "session_store_unavailable"; detail: string }
  /** Too many payments from this payer or client in the rule's rate-limit window: refused before any facilitator call. */
  | { kind: "rate_limited"; by: "payer" | "client"; retryAfterSeconds: number }
  /** The replay lock could not be reached: refuse rather than risk serving one payment twice. */
  | { kind: "replay_lock_unavailable"; detail: string };

export class GatewayFailure extends Error {
  constructor(
    readonly error: GatewayError,
    options?: { cause?: unknown },
  ) {
    super(`gateway error: ${error.kind}`, options);
    this.name = "GatewayFailure";
  }
}

const NO_STORE = { "Cache-Control": "no-store", "Access-Control-Expose-Headers": EXPOSED_PAYMENT_HEADERS };

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...NO_STORE, ...headers },
  });
}

function problem(status: number, error: string, message: string): Response {
  return jsonResponse(status, { error, message });
}

/**
 * V2 clients read the header; V1 clients read the body. So the body is the V1 form whenever an offer is on a
 * network V1 names, and a copy of the header otherwise (docs/x402.md "V1 clients").
 */
export function paymentRequiredResponse(paymentRequired: PaymentRequired, extraHeaders: Record<string, string> = {}): Response {
  const json = JSON.stringify(paymentRequired);
  const v1 = toV1PaymentRequired(paymentRequired);
  // Without a V1 form, the body is the header's JSON: serialized once for both.
  return new Response(v1 ? JSON.stringify(v1) : json, {
    status: 402,
    headers: { "Content-Type": "application/json", ...NO_STORE, [PAYMENT_REQUIRED]: encodeBase64Text(json), ...extraHeaders },
  });
}

export function toHttpResponse(error: GatewayError): Response {
  switch (error.kind) {
    case "config_invalid":
      return problem(503, "config_invalid", "The gateway's configuration for this route is invalid; the route is unavailable.");
    case "path_malformed":
      return problem(400, "path_malformed", `The request path is malformed: ${error.detail}.`);
    case "mcp_refused":
      return error.status === 400
        ? problem(400, "mcp_request_malformed", `The MCP request cannot be priced: ${error.reason}.`)
        : problem(403, "mcp_tool_not_offered", `The MCP ${error.reason}.`);
    case "method_not_allowed":
      return new Response(JSON.stringify({ error: "method_not_allowed", message: `This path answers ${error.allow} only.` }), {
        status: 405,
        headers: { "Content-Type": "application/json", ...NO_STORE, Allow: error.allow },
      });
    case "header_too_large":
      return problem(431, "header_too_large", `The ${error.header} header is too large.`);
    case "body_too_large":
      return problem(413, "body_too_large", `The request body is larger than the ${error.limitBytes} bytes this route accepts.`);
    case "payment_malformed":
      return problem(400, "invalid_payload", `The payment header is malformed: ${error.reason}.`);
    case "payment_identifier_required":
      return problem(400, "payment_identifier_required", "This route requires a payment-identifier id in the payment's extensions.");
    case "payment_identifier_conflict":
      return problem(409, "payment_identifier_conflict", "This payment-identifier was already used with a different payment.");
    case "payment_in_progress":
      return problem(409, "payment_in_progress", "A request with this payment-identifier is still being processed; retry shortly.");
    case "payment_required":
      return paymentRequiredResponse(error.paymentRequired);
    case "settle_failed":
      return paymentRequiredResponse(error.paymentRequired, {
        [PAYMENT_RESPONSE]: encodePaymentResponseHeader(error.settleResponse),
      });
    case "facilitator_unavailable":
      return problem(502, "facilitator_unavailable", "The payment facilitator could not be reached.");
    case "unsettleable":
      return problem(
        503,
        "no_settleable_offer",
        "No payment facilitator can settle this route's payment options right now; try again later.",
      );
    case "facilitator_timeout":
      return problem(504, "facilitator_timeout", `The payment facilitator did not answer ${error.operation} in time.`);
    case "facilitator_bad_response":
      return problem(502, "facilitator_bad_response", "The payment facilitator sent an invalid response.");
    case "origin_unreachable":
      return problem(502, "origin_unreachable", "The origin server could not be reached.");
    case "origin_timeout":
      return problem(504, "origin_timeout", "The origin server did not answer in time.");
    case "quote_failed":
      return problem(502, "quote_failed", "The price for this request could not be obtained.");
    case "quote_timeout":
      return problem(504, "quote_timeout", "The price for this request was not obtained in time.");
    case "pricing_input_invalid":
      return problem(400, "pricing_input_invalid", `The request cannot be priced: ${error.reason}.`);
    case "unknown_tenant":
      return problem(404, "unknown_tenant", "No payee is configured for this tenant.");
    case "siwx_verifier_unavailable":
      return problem(502, "siwx_verifier_unavailable", "The wallet's sign-in signature could not be checked on chain.");
    case "siwx_malformed":
      return problem(400, "invalid_siwx_payload", `The SIGN-IN-WITH-X header is malformed: ${error.reason}.`);
    case "session_store_unavailable":
      return problem(503, "session_store_unavailable", "The session could not be checked; try again.");
    case "replay_lock_unavailable":
      return problem(503, "replay_lock_unavailable", "The payment could not be checked for reuse; try again.");
    case "rate_limited":
      // RFC 6585 §4: 429 with Retry-After. Nothing was charged and no facilitator was asked.
      return jsonResponse(
        429,
        { error: "rate_limited", message: `Too many payments from this ${error.by}; retry later. Nothing was charged.` },
        { "Retry-After": String(error.retryAfterSeconds) },
      );
  }
}

/** Anything that is not a GatewayFailure is a bug: a plain 500, never reclassified, never a stack. */
export function unexpectedErrorResponse(): Response {
  return problem(500, "internal_error", "The gateway failed unexpectedly.");
}
