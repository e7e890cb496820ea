// The `sign-in-with-x` extension of a 402 for a session rule: what the wallet signs to use its session. Pure.
import { SIGN_IN_WITH_X_EXTENSION } from "../siwx/siwx-proof.js";

export interface SiwxChallengeOptions {
  requestUrl: string;
  nonce: string;
  nowMs: number;
  lifetimeSeconds: number;
  statement: string;
  /** The rule's payment networks: named first, so clients that match on the payment network find theirs. */
  networks: readonly string[];
}

interface SupportedChain {
  chainId: string;
  type: "eip191" | "ed25519";
}

export function buildSiwxExtension(options: SiwxChallengeOptions): Record<string, unknown> {
  const url = new URL(options.requestUrl);
  const chains: SupportedChain[] = [];
  for (const chainId of [...options.networks, "eip155:*", "solana:*"]) {
    const namespace = chainId.split(":")[0];
    const type = namespace === "eip155" ? "eip191" : namespace === "solana" ? "ed25519" : undefined;
    if (type && !chains.some((chain) => chain.chainId === chainId)) chains.push({ chainId, type });
  }
  return {
    [SIGN_IN_WITH_X_EXTENSION]: {
      info: {
        domain: url.host,
        uri: options.requestUrl,
        version: "1",
        nonce: options.nonce,
        issuedAt: new Date(options.nowMs).toISOString(),
        expirationTime: new Date(options.nowMs + options.lifetimeSeconds * 1000).toISOString(),
        statement: options.statement,
        resources: [options.requestUrl],
      },
      supportedChains: chains,
      schema: PROOF_SCHEMA,
    },
  };
}

const text = { type: "string" };
const dateTime = { type: "string", format: "date-time" };

/** JSON Schema of the proof the client returns in SIGN-IN-WITH-X. */
const PROOF_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: {
    domain: text,
    address: text,
    statement: text,
    uri: { type: "string", format: "uri" },
    version: text,
    chainId: text,
    type: text,
    nonce: text,
    issuedAt: dateTime,
    expirationTime: dateTime,
    notBefore: dateTime,
    requestId: text,
    resources: { type: "array", items: { type: "string", format: "uri" } },
    signatureScheme: text,
    signature: text,
  },
  required: ["domain", "address", "uri", "version", "chainId", "type", "nonce", "issuedAt", "signature"],
} as const;
