// The facilitators a rules document names (docs/facilitators.md), and the one-facilitator shorthand from env
// vars. Secrets never live in KV: `auth` names the Worker secret (env var) that holds them.
import * as z from "zod";
import { NetworkSchema } from "../x402/schemas.js";

/**
 * The gateway's own settings and secrets, never a facilitator's credential: whoever may write rules would otherwise
 * send `SESSION_KEYS` or `CHANNEL_AUTHORIZER_KEY` to a URL of their choosing (security review F11). Every env var the
 * gateway reads (gateway-config.ts) is here but the facilitator shorthand's own token (test/unit/facilitator-config.test.ts).
 */
export const GATEWAY_OWN_VARS: ReadonlySet<string> = new Set([
  "ORIGIN_URL",
  "FACILITATOR_URL",
  "FACILITATOR_VERIFY_TIMEOUT_MS",
  "FACILITATOR_SETTLE_TIMEOUT_MS",
  "FACILITATOR_STATE_CACHE_MS",
  "ORIGIN_TIMEOUT_MS",
  "MAX_PAID_BODY_BYTES",
  "PAYMENT_IDENTIFIER_MAX_BODY_BYTES",
  "PAYMENT_IDENTIFIER_TTL_SECONDS",
  "PRICE_RULES_KEY",
  "PRICE_RULES_CACHE_TTL_SECONDS",
  "SESSION_KEYS",
  "SESSION_TOKEN_TTL_SECONDS",
  "SESSION_TOKEN_AUDIENCE",
  "SIWX_MAX_AGE_SECONDS",
  "REQUEST_LOG",
  "ADMIN_TOKEN",
  "ADMIN_JWT_KEY",
  "ADMIN_JWT_ISSUER",
  "ADMIN_JWT_AUDIENCE",
  "ADMIN_PATH_PREFIX",
  "CHANNEL_AUTHORIZER_KEY",
  "CHANNEL_CLAIM_INTERVAL_SECONDS",
  "OFFER_RECEIPT_KEYS",
  "RPC_URLS",
  // Bindings.
  "PRICE_RULES",
  "LEDGER",
  "PAYMENT_RECORDS",
  "PAYMENT_IDENTIFIERS",
  "WALLET_SESSIONS",
  "FACILITATOR_STATE",
  "PAYMENT_CHANNELS",
  "ANALYTICS",
  "RATE_LIMIT_STRICT",
  "RATE_LIMIT_STANDARD",
  "RATE_LIMIT_GENEROUS",
]);

const SecretName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,127}$/, "expected the name of a Worker secret (A-Z, 0-9, _)")
  .refine(
    (name) => !GATEWAY_OWN_VARS.has(name),
    "names one of the gateway's own settings or secrets: give the facilitator a secret of its own",
  );

const FacilitatorAuthSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("none") }),
  /** `Authorization: Bearer <value of the secret>`. */
  z.strictObject({ kind: z.literal("bearer"), tokenSecret: SecretName }),
  /**
   * Coinbase CDP API key: a fresh JWT per call (facilitator/cdp-jwt.ts). `keyIdSecret` holds the key id (UUID
   * or `organizations/…/apiKeys/…`), `keySecret` the private key (base64 Ed25519, or PEM EC P-256).
   */
  z.strictObject({
    kind: z.literal("cdp-jwt"),
    keyIdSecret: SecretName,
    keySecret: SecretName,
    /** `aud` claim; omitted by default, as the CDP SDK does. */
    audience: z.array(z.string().min(1)).min(1).optional(),
    /** Default 120 s (the CDP SDK's). */
    expiresInSeconds: z.number().int().min(10).max(600).default(120),
  }),
]);
export type FacilitatorAuth = z.infer<typeof FacilitatorAuthSchema>;

const NetworkPattern = z.union([NetworkSchema, z.string().regex(/^[-a-z0-9]{3,8}:\*$/, "expected a CAIP-2 id or `namespace:*`")]);

export const FacilitatorConfigSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, "expected 1-32 of [A-Za-z0-9._-]"),
  url: z.url({ protocol: /^https?$/ }),
  auth: FacilitatorAuthSchema.default({ kind: "none" }),
  /** Only these networks (CAIP-2 ids or `eip155:*`) go to this facilitator; default: whatever it supports. */
  networks: z.array(NetworkPattern).min(1).optional(),
  /** Only these schemes; default: whatever it supports. */
  schemes: z.array(z.string().min(1)).min(1).optional(),
  /** Default FACILITATOR_VERIFY_TIMEOUT_MS. Also bounds `/supported`. */
  verifyTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  /** Default FACILITATOR_SETTLE_TIMEOUT_MS. */
  settleTimeoutMs: z.number().int().min(1).max(600_000).optional(),
  /** Lower is tried first; default 100. Ties keep document order. `preferFacilitators` wins over it. */
  priority: z.number().int().min(0).max(1_000_000).default(100),
});
export type FacilitatorConfig = z.infer<typeof FacilitatorConfigSchema>;

export const CircuitPolicySchema = z.strictObject({
  /** Consecutive failures that open a facilitator's circuit. Default 3. */
  failureThreshold: z.number().int().min(1).max(100).default(3),
  /** How long an open circuit stays open before one probe request may try it. Default 30 s. */
  openSeconds: z.number().int().min(1).max(3600).default(30),
});
export type CircuitPolicy = z.infer<typeof CircuitPolicySchema>;

/** A facilitator as the pipeline uses it: config with timeouts resolved and the URL normalised. */
export interface ResolvedFacilitator {
  id: string;
  /** No trailing slash: `…//verify` makes some servers loop on redirects. */
  url: string;
  auth: FacilitatorAuth;
  networks: readonly string[] | undefined;
  schemes: readonly string[] | undefined;
  verifyTimeoutMs: number;
  settleTimeoutMs: number;
  priority: number;
  /** Position in the list: the last tie-break. */
  index: number;
}

export interface FacilitatorDefaults {
  FACILITATOR_URL?: string | undefined;
  FACILITATOR_AUTH_TOKEN?: string | undefined;
  FACILITATOR_VERIFY_TIMEOUT_MS: number;
  FACILITATOR_SETTLE_TIMEOUT_MS: number;
}

/** The env var the shorthand's bearer token is read from (it is a secret already). */
export const SHORTHAND_TOKEN_SECRET = "FACILITATOR_AUTH_TOKEN";
export const SHORTHAND_FACILITATOR_ID = "default";

/** The document's list when it has one; otherwise `FACILITATOR_URL` as a one-entry list (or none). */
export function resolveFacilitators(
  configured: readonly FacilitatorConfig[] | undefined,
  defaults: FacilitatorDefaults,
): ResolvedFacilitator[] {
  const list: FacilitatorConfig[] =
    configured && configured.length > 0
      ? [...configured]
      : defaults.FACILITATOR_URL
        ? [
            {
              id: SHORTHAND_FACILITATOR_ID,
              url: defaults.FACILITATOR_URL,
              auth: defaults.FACILITATOR_AUTH_TOKEN ? { kind: "bearer", tokenSecret: SHORTHAND_TOKEN_SECRET } : { kind: "none" },
              priority: 100,
            },
          ]
        : [];
  return list.map((f, index) => ({
    id: f.id,
    url: f.url.replace(/\/+$/, ""),
    auth: f.auth,
    networks: f.networks,
    schemes: f.schemes,
    verifyTimeoutMs: f.verifyTimeoutMs ?? defaults.FACILITATOR_VERIFY_TIMEOUT_MS,
    settleTimeoutMs: f.settleTimeoutMs ?? defaults.FACILITATOR_SETTLE_TIMEOUT_MS,
    priority: f.priority,
    index,
  }));
}

/** Whether the facilitator's allow-lists let it handle this scheme on this network. */
export function isAllowed(facilitator: Pick<ResolvedFacilitator, "networks" | "schemes">, scheme: string, network: string): boolean {
  if (facilitator.schemes && !facilitator.schemes.includes(scheme)) return false;
  if (!facilitator.networks) return true;
  const namespace = network.split(":")[0];
  return facilitator.networks.some((pattern) => pattern === network || pattern === `${namespace}:*`);
}
