// A facilitator's `GET /supported`: which (x402Version, scheme, network) kinds it settles, with per-kind facts
// such as Solana's feePayer, and its signers. Schema-checked once here, at the boundary.
import * as z from "zod";
import { callFacilitator, type FacilitatorEndpoint } from "./facilitator-client.js";
import type { SupportedAnswer } from "./facilitator-state.js";

const SupportedResponseSchema = z.object({
  kinds: z.array(
    z.object({
      x402Version: z.number().int(),
      scheme: z.string().min(1),
      network: z.string().min(1),
      extra: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  signers: z.record(z.string(), z.array(z.string())).optional(),
});

/** A fresh answer is used as is; an older one is still used while a refresh runs (stale-while-revalidate). */
export const SUPPORTED_FRESH_MS = 5 * 60_000;

export async function fetchSupported(endpoint: FacilitatorEndpoint, timeoutMs: number, nowMs: number): Promise<SupportedAnswer> {
  const reply = await callFacilitator(endpoint, { operation: "supported", schema: SupportedResponseSchema, timeoutMs });
  return { kinds: reply.kinds, signers: reply.signers ?? {}, fetchedAtMs: nowMs };
}
