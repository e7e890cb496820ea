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

export function createHttpFacilitatorClient(options: HttpFacilitatorClientOptions): FacilitatorClient {
  // A trailing slash would make `…//verify`, which some servers answer with a redirect loop.
  const url = options.url.replace(/\/+$/, "");
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
  if (options.authToken) headers.Authorization = `Bearer ${options.authToken}`;

  async function post<S extends z.ZodType>(
    operation: "verify" | "settle",
    body: FacilitatorRequest,
    schema: S,
    timeoutMs: number,
    isRefusal: (reply: z.infer<S>) => boolean,
  ): Promise<z.infer<S>> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await options.fetch(`${url}/${operation}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
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
    const parsed = schema.safeParse(json);
    if (parsed.success && (response.ok || (response.status < 500 && isRefusal(parsed.data)))) return parsed.data;
    if (response.status >= 500) {
      throw new GatewayFailure({ kind: "facilitator_unavailable", detail: `${operation}: HTTP ${response.status}` });
    }
    throw new GatewayFailure({ kind: "facilitator_bad_response", detail: `${operation}: HTTP ${response.status}, unexpected body shape` });
  }

  return {
    url,
    verify: (request) => post("verify", request, VerifyResponseSchema, options.verifyTimeoutMs, (reply) => !reply.isValid),
    settle: (request) => post("settle", request, SettleResponseSchema, options.settleTimeoutMs, (reply) => !reply.success),
  };
}
