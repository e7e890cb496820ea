// Talks to a remote x402 facilitator over HTTP. Every reply is schema-checked; every failure is a GatewayFailure.
import type { z } from "zod";
import { GatewayFailure } from "../errors.js";
import {
  SettleResponseSchema,
  VerifyResponseSchema,
  type FacilitatorRequest,
  type SettleResponse,
  type VerifyResponse,
} from "../x402/schemas.js";

export interface FacilitatorClient {
  /** Identifies the facilitator in the ledger. */
  readonly url: string;
  verify(request: FacilitatorRequest): Promise<VerifyResponse>;
  settle(request: FacilitatorRequest): Promise<SettleResponse>;
}

export interface HttpFacilitatorClientOptions {
  url: string;
  fetch: typeof fetch;
  verifyTimeoutMs: number;
  settleTimeoutMs: number;
  /** Sent as `Authorization: Bearer …` when set. */
  authToken?: string;
}

export interface FacilitatorEndpoint {
  url: string;
  fetch: typeof fetch;
  authToken?: string;
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

/** One call to the facilitator: its reply schema-checked, every failure a GatewayFailure. */
export async function callFacilitator<S extends z.ZodType>(endpoint: FacilitatorEndpoint, call: FacilitatorCall<S>): Promise<z.infer<S>> {
  const { operation } = call;
  // A trailing slash would make `…//verify`, which some servers answer with a redirect loop.
  const url = `${endpoint.url.replace(/\/+$/, "")}/${operation}`;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (call.body) headers["Content-Type"] = "application/json";
  if (endpoint.authToken) headers.Authorization = `Bearer ${endpoint.authToken}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), call.timeoutMs);
  let response: Response;
  let text: string;
  try {
    const init: RequestInit = call.body ? { method: "POST", headers, body: JSON.stringify(call.body) } : { method: "GET", headers };
    response = await endpoint.fetch(url, { ...init, signal: controller.signal });
    text = await response.text();
  } catch (cause) {
    if (controller.signal.aborted) throw new GatewayFailure({ kind: "facilitator_timeout", operation }, { cause });
    throw new GatewayFailure({ kind: "facilitator_unavailable", detail: `${operation}: ${String(cause)}` }, { cause });
  } finally {
    clearTimeout(timer);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new GatewayFailure({ kind: "facilitator_bad_response", detail: `${operation}: HTTP ${response.status}, body is not JSON` });
  }
  // Facilitators answer a refused payment with 200 or with 4xx and the same body; both are a verdict.
  const parsed = call.schema.safeParse(json);
  if (parsed.success && (response.ok || (response.status < 500 && (call.isRefusal?.(parsed.data) ?? false)))) return parsed.data;
  if (response.status >= 500) {
    throw new GatewayFailure({ kind: "facilitator_unavailable", detail: `${operation}: HTTP ${response.status}` });
  }
  throw new GatewayFailure({ kind: "facilitator_bad_response", detail: `${operation}: HTTP ${response.status}, unexpected body shape` });
}

export function createHttpFacilitatorClient(options: HttpFacilitatorClientOptions): FacilitatorClient {
  const endpoint: FacilitatorEndpoint = { url: options.url, fetch: options.fetch, authToken: options.authToken };
  return {
    url: options.url.replace(/\/+$/, ""),
    verify: (body) => callFacilitator(endpoint, { operation: "verify", body, schema: VerifyResponseSchema, timeoutMs: options.verifyTimeoutMs, isRefusal: (reply) => !reply.isValid }),
    settle: (body) => callFacilitator(endpoint, { operation: "settle", body, schema: SettleResponseSchema, timeoutMs: options.settleTimeoutMs, isRefusal: (reply) => !reply.success }),
  };
}
