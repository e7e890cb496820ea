// Talks to one remote x402 facilitator over HTTP. Every reply is schema-checked; every failure is a
// GatewayFailure that says whether the call provably submitted nothing (docs/facilitators.md "Settle rule").
import type * as z from "zod";
import { GatewayFailure } from "../errors.js";
import { SettleResponseSchema, VerifyResponseSchema, type SettleResponse, type VerifyResponse } from "../x402/schemas.js";
import type { FacilitatorRequest } from "../x402/facilitator-request.js";
import type { Authorize } from "./facilitator-auth.js";

export interface FacilitatorClient {
  /** The facilitator's id in the config (the ledger's `facilitator_id`). */
  readonly id: string;
  /** Identifies the facilitator in the ledger. */
  readonly url: string;
  /** `timeoutMs`: at most the configured timeout, when the phase's budget has less left (facilitator-pool.ts). */
  verify(request: FacilitatorRequest, timeoutMs?: number): Promise<VerifyResponse>;
  settle(request: FacilitatorRequest, timeoutMs?: number): Promise<SettleResponse>;
}

export interface FacilitatorEndpoint {
  /** No trailing slash. */
  url: string;
  fetch: typeof fetch;
  authorize: Authorize;
}

export interface HttpFacilitatorClientOptions extends FacilitatorEndpoint {
  id: string;
  verifyTimeoutMs: number;
  settleTimeoutMs: number;
}

export interface FacilitatorCall<S extends z.ZodType> {
  operation: "verify" | "settle" | "supported";
  /** POSTed as JSON; without it the call is a GET. */
  body?: FacilitatorRequest;
  schema: S;
  timeoutMs: number;
  /** A non-2xx answer (< 500) that is still a verdict (a refused payment); default none. */
  isRefusal?: (reply: z.infer<S>) => boolean;
}

/**
 * Answers that turn a request away at the door (auth, routing, rate limit): the facilitator did not act on it,
 * so a settle refused this way submitted nothing and another facilitator may try.
 */
const REFUSED_AT_THE_DOOR = new Set([401, 403, 404, 405, 429]);

/** One call to the facilitator: its reply schema-checked, every failure a GatewayFailure. */
export async function callFacilitator<S extends z.ZodType>(endpoint: FacilitatorEndpoint, call: FacilitatorCall<S>): Promise<z.infer<S>> {
  const { operation } = call;
  const url = `${endpoint.url}/${operation}`;
  const method = call.body ? "POST" : "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (call.body) headers["Content-Type"] = "application/json";
  // Before any byte is sent: a missing secret is `config_invalid`, and nothing was submitted.
  const authorization = await endpoint.authorize(method, url);
  if (authorization) headers.Authorization = authorization;
  // The runtime's own timer: cheaper than a setTimeout and an AbortController per call.
  const signal = AbortSignal.timeout(call.timeoutMs);
  let response: Response;
  let text: string;
  try {
    const init: RequestInit = call.body ? { method, headers, body: JSON.stringify(call.body) } : { method, headers };
    response = await endpoint.fetch(url, { ...init, signal });
    text = await response.text();
  } catch (cause) {
    if (signal.aborted) throw new GatewayFailure({ kind: "facilitator_timeout", operation }, { cause });
    // workerd reports "connection refused" and "connection lost mid-request" alike: not provably unsent.
    throw new GatewayFailure({ kind: "facilitator_unavailable", detail: `${operation}: ${String(cause)}` }, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  // Facilitators answer a refused payment with 200 or with 4xx and the same body; both are a verdict.
  const parsed = json === undefined ? undefined : call.schema.safeParse(json);
  if (parsed?.success && (response.ok || (response.status < 500 && (call.isRefusal?.(parsed.data) ?? false)))) return parsed.data;
  if (REFUSED_AT_THE_DOOR.has(response.status)) {
    const rateLimited = response.status === 429 ? { rateLimited: true } : {};
    throw new GatewayFailure({
      kind: "facilitator_unavailable",
      detail: `${operation}: HTTP ${response.status} (refused before acting)`,
      notSubmitted: true,
      ...rateLimited,
    });
  }
  if (response.status >= 500) {
    throw new GatewayFailure({ kind: "facilitator_unavailable", detail: `${operation}: HTTP ${response.status}` });
  }
  const shape = json === undefined ? "body is not JSON" : "unexpected body shape";
  throw new GatewayFailure({ kind: "facilitator_bad_response", detail: `${operation}: HTTP ${response.status}, ${shape}` });
}

export function createHttpFacilitatorClient(options: HttpFacilitatorClientOptions): FacilitatorClient {
  const endpoint: FacilitatorEndpoint = { url: options.url, fetch: options.fetch, authorize: options.authorize };
  return {
    id: options.id,
    url: options.url,
    verify: (body, timeoutMs) =>
      callFacilitator(endpoint, {
        operation: "verify",
        body,
        schema: VerifyResponseSchema,
        timeoutMs: Math.min(options.verifyTimeoutMs, timeoutMs ?? Infinity),
        isRefusal: (reply) => !reply.isValid,
      }),
    settle: (body, timeoutMs) =>
      callFacilitator(endpoint, {
        operation: "settle",
        body,
        schema: SettleResponseSchema,
        timeoutMs: Math.min(options.settleTimeoutMs, timeoutMs ?? Infinity),
        isRefusal: (reply) => !reply.success,
      }),
  };
}
