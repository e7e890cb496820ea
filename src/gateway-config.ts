// The env-var half of the configuration (the rules document in KV is the other), parsed once per isolate. It reads
// env vars and secrets by name from whatever env object the Worker was given, and knows no binding: the Durable
// Objects parse their share of it too, so nothing here may import them (bindings.ts names them).
import * as z from "zod";
import { GatewayFailure } from "./errors.js";
import { SessionKeysSchema } from "./sessions/session-keys.js";
import { parseAdminJwk } from "./admin/admin-auth.js";
import { HEALTH_PATH } from "./gateway-paths.js";
import { OfferReceiptKeysSchema } from "./offer-receipt/receipt-keys.js";
import { privateKeyToAddress } from "viem/accounts";

/** A whole number of `unit` (the error names it), written in digits as every env var is, within `min`…`max`. */
const digits = ({ unit, min = 0, max }: { unit: string; min?: number; max?: number }) => {
  const whole = z.number().int().min(min);
  return z
    .string()
    .regex(/^\d+$/, `expected ${unit}`)
    .transform(Number)
    .pipe(max === undefined ? whole : whole.max(max));
};
const Millis = digits({ unit: "milliseconds", min: 1, max: 600_000 });
const SecondsUpTo = (max: number) => digits({ unit: "seconds", max });
const Seconds = SecondsUpTo(3600);
const HttpUrl = z.url({ protocol: /^https?$/ });

const EnvVarsSchema = z.object({
  /** Where paid and free requests go. Unset: pass-through `fetch(request)` (Worker on a route in front of the origin). */
  ORIGIN_URL: HttpUrl.optional(),
  /** Base URL of the x402 facilitator (`/verify`, `/settle`, `/supported` below it). Required for priced routes. */
  FACILITATOR_URL: HttpUrl.optional(),
  /** Secret. Sent as `Authorization: Bearer <token>` to the facilitator when set. */
  FACILITATOR_AUTH_TOKEN: z.string().min(1).optional(),
  /** Default 5000 ms. A verify slower than this answers 504 and the origin is not called. */
  FACILITATOR_VERIFY_TIMEOUT_MS: Millis.default(5000),
  /** Default 30000 ms. A chain settlement can take several blocks. */
  FACILITATOR_SETTLE_TIMEOUT_MS: Millis.default(30_000),
  /** Default 2000 ms. How long an isolate reuses facilitator health read from the FacilitatorState object; 0 reads every request. */
  FACILITATOR_STATE_CACHE_MS: digits({ unit: "milliseconds", max: 60_000 }).default(2000),
  /** Default 30000 ms, until the origin's response headers arrive (the body then streams untimed). */
  ORIGIN_TIMEOUT_MS: Millis.default(30_000),
  /** Default 10485760 (10 MiB). Larger request bodies to priced routes answer 413 before any payment work. */
  MAX_PAID_BODY_BYTES: digits({ unit: "bytes" }).default(10 * 1024 * 1024),
  /** Default 1048576 (1 MiB). Largest response body kept for payment-identifier retries. */
  PAYMENT_IDENTIFIER_MAX_BODY_BYTES: digits({ unit: "bytes", max: 1_900_000 }).default(1024 * 1024),
  /** Default 86400 (24 h). How long a settled response stays available to retries with the same identifier. */
  PAYMENT_IDENTIFIER_TTL_SECONDS: SecondsUpTo(30 * 86_400).default(86_400),
  /** KV key of the price-rules document. Default `price-rules`. */
  PRICE_RULES_KEY: z.string().min(1).max(512).default("price-rules"),
  /** Default 5 s. How long an isolate reuses the price rules before reading KV again; 0 reads every request. */
  PRICE_RULES_CACHE_TTL_SECONDS: Seconds.default(5),
  /** Secret, `kid:secret[,kid:secret…]` newest first: signs session tokens and SIWX nonces. Rules with `session` need it. */
  SESSION_KEYS: SessionKeysSchema.optional(),
  /** Default 300. Lifetime of a session token (never beyond its session's end). */
  SESSION_TOKEN_TTL_SECONDS: SecondsUpTo(86_400).default(300),
  /** The `aud` of session tokens. Default: the request's origin (scheme://host). */
  SESSION_TOKEN_AUDIENCE: z.string().min(1).max(512).optional(),
  /** Default 300. How long a SIWX challenge (its nonce) stays usable, and how old a proof's issuedAt may be. */
  SIWX_MAX_AGE_SECONDS: SecondsUpTo(3600).default(300),
  /** Default `on`: one JSON log line per request (docs/observability.md); `off` leaves only failures and Analytics Engine. */
  REQUEST_LOG: z.enum(["on", "off"]).default("on"),
  /** Secret, ≥ 32 chars: the admin API's bearer token (docs/admin.md). Unset with no ADMIN_JWT_KEY: the admin API is off. */
  ADMIN_TOKEN: z.string().min(32, "expected at least 32 characters").optional(),
  /** A JWK (JSON): the key admin JWTs are checked with (public key, or `oct` for HS256). Needs ADMIN_JWT_ISSUER and ADMIN_JWT_AUDIENCE. */
  ADMIN_JWT_KEY: z
    .string()
    .transform((value, ctx) => {
      const jwk = parseAdminJwk(value);
      if (jwk) return jwk;
      ctx.addIssue({ code: "custom", message: "expected a JWK as JSON (kty EC, OKP, RSA or oct)" });
      return z.NEVER;
    })
    .optional(),
  ADMIN_JWT_ISSUER: z.string().min(1).optional(),
  ADMIN_JWT_AUDIENCE: z.string().min(1).optional(),
  /** Default `/.well-known/x402/admin`: where the admin API is mounted, under the gateway's own paths. */
  ADMIN_PATH_PREFIX: z
    .string()
    .regex(/^\/\.well-known\/x402\/[a-z0-9][-a-z0-9]{0,62}$/, "expected /.well-known/x402/<name> (lower-case letters, digits, -)")
    .refine((prefix) => prefix !== HEALTH_PATH, "the health path is taken")
    .default("/.well-known/x402/admin"),
  /**
   * Secret, 0x + 64 hex: the batch-settlement receiverAuthorizer key. Its address goes into batch-settlement offers
   * and it signs the channels' claims (docs/batch-settlement.md). Unset: a facilitator's advertised key is used.
   */
  CHANNEL_AUTHORIZER_KEY: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, "expected 0x and 64 hex digits")
    .transform((privateKey) => ({ privateKey, address: privateKeyToAddress(privateKey as `0x${string}`) }))
    .optional(),
  /**
   * Default 300, at most 600: how soon after a channel's first unclaimed charge its vouchers are claimed on chain.
   * Kept under the escrow's shortest withdrawal delay (900 s), so a payer leaving cannot take charged money back.
   */
  CHANNEL_CLAIM_INTERVAL_SECONDS: digits({ unit: "seconds", min: 1, max: 600 }).default(300),
  /** Secret: JSON array of private JWKs (EC P-256 or Ed25519), newest first; signs offers and receipts (docs/offer-receipt.md). */
  OFFER_RECEIPT_KEYS: OfferReceiptKeysSchema.optional(),
  /**
   * JSON `{ "eip155:8453": "https://rpc…", "solana:5eykt4…": "https://…" }`: smart-wallet (EIP-1271/6492) sign-ins and
   * contract-or-not checks of payers on EVM chains; a Solana payment's blockhash life (docs/x402.md "Validity window").
   */
  RPC_URLS: z
    .string()
    .transform((value, ctx) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "expected JSON" });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(z.string().regex(/^(eip155:\d+|solana:[1-9A-HJ-NP-Za-km-z]{32})$/, "expected an eip155 or solana CAIP-2 network"), HttpUrl),
    )
    .optional(),
});

export type GatewayConfig = z.infer<typeof EnvVarsSchema>;

/** The env vars and secrets the gateway reads, as a Worker's env holds them (text; unset or empty: the default). */
export type GatewayEnvVars = { readonly [name in keyof typeof EnvVarsSchema.shape]?: string };

/** Every env var the gateway reads (a rules document may name none of them as a facilitator secret). */
export const GATEWAY_ENV_VARS: readonly string[] = Object.keys(EnvVarsSchema.shape);

const EnvSchema = EnvVarsSchema.superRefine((vars, ctx) => {
  if (vars.ADMIN_JWT_KEY && (!vars.ADMIN_JWT_ISSUER || !vars.ADMIN_JWT_AUDIENCE)) {
    ctx.addIssue({ code: "custom", path: ["ADMIN_JWT_KEY"], message: "needs ADMIN_JWT_ISSUER and ADMIN_JWT_AUDIENCE" });
  }
});

const parsed = new WeakMap<object, { config: GatewayConfig } | { error: string }>();

function emptyToUndefined(value: unknown): unknown {
  return value === "" ? undefined : value;
}

/**
 * One value of the Worker's env by a name only known at run time (a facilitator's `auth` names its secret in the
 * rules document). The one place env is read as a string-keyed record: what it holds is parsed by its reader.
 */
export function envValue(env: object, name: string): unknown {
  return Object.hasOwn(env, name) ? (env as Readonly<Record<string, unknown>>)[name] : undefined;
}

/** RPC_URLS alone, for a Durable Object's own chain reads (the reconciler): undefined when unset or invalid. */
export function parseRpcUrls(env: Pick<GatewayEnvVars, "RPC_URLS">): GatewayConfig["RPC_URLS"] {
  const result = EnvVarsSchema.shape.RPC_URLS.safeParse(emptyToUndefined(env.RPC_URLS));
  return result.success ? result.data : undefined;
}

/** Throws `config_invalid` listing every problem at once; memoised per env object. */
export function parseGatewayConfig(env: GatewayEnvVars): GatewayConfig {
  let entry = parsed.get(env);
  if (!entry) {
    const vars = Object.fromEntries(GATEWAY_ENV_VARS.map((k) => [k, emptyToUndefined(envValue(env, k))]));
    const result = EnvSchema.safeParse(vars);
    if (result.success) {
      entry = { config: result.data };
    } else {
      entry = { error: z.prettifyError(result.error) };
      console.error(JSON.stringify({ event: "env_config_invalid", problems: entry.error }));
    }
    parsed.set(env, entry);
  }
  if ("error" in entry) throw new GatewayFailure({ kind: "config_invalid", detail: entry.error });
  return entry.config;
}
