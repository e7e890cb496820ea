// The `sign-in-with-x` proof (CAIP-122) a client sends in the SIGN-IN-WITH-X header. Pure.
import * as z from "zod";
import { decodeBase64Json, type DecodeResult } from "../x402/headers.js";

export const SIGN_IN_WITH_X_EXTENSION = "sign-in-with-x";
/** A proof is a few hundred bytes; anything near this is not one. */
const MAX_SIWX_HEADER_CHARS = 8 * 1024;

const Text = (max: number) => z.string().min(1).max(max);

const SiwxProofSchema = z.object({
  domain: Text(255),
  address: Text(128),
  statement: z.string().max(1024).optional(),
  uri: Text(2048),
  version: z.literal("1"),
  chainId: z.string().regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/, "expected a CAIP-2 chain id"),
  type: z.enum(["eip191", "ed25519"]),
  nonce: z.string().regex(/^[A-Za-z0-9]{8,64}$/, "expected an alphanumeric nonce"),
  issuedAt: Text(64),
  expirationTime: Text(64).optional(),
  notBefore: Text(64).optional(),
  requestId: z.string().max(256).optional(),
  resources: z.array(Text(2048)).max(32).optional(),
  signatureScheme: z.enum(["eip191", "eip1271", "eip6492", "siws"]).optional(),
  signature: Text(16 * 1024),
});
export type SiwxProof = z.infer<typeof SiwxProofSchema>;

export function decodeSiwxHeader(header: string): DecodeResult<SiwxProof> {
  if (header.length > MAX_SIWX_HEADER_CHARS) return { ok: false, reason: "header is too large" };
  return decodeBase64Json(header, SiwxProofSchema);
}
