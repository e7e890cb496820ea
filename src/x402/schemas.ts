// x402 V2 wire objects (specs/x402-specification-v2.md). Pure: schemas and inferred types only.
import * as z from "zod";

export const X402_VERSION = 2;

/** CAIP-2 chain id, e.g. `eip155:8453` or `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`. */
export const NetworkSchema = z.string().regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/, "expected a CAIP-2 network id");

/** Token amounts travel as decimal strings of atomic units. */
export const AtomicAmountSchema = z.string().regex(/^(0|[1-9]\d{0,77})$/, "expected an atomic amount (decimal digits)");

const PaymentRequirementsSchema = z.object({
  scheme: z.string().min(1).max(64),
  network: NetworkSchema,
  amount: AtomicAmountSchema,
  asset: z.string().min(1).max(128),
  payTo: z.string().min(1).max(128),
  maxTimeoutSeconds: z.number().int().positive(),
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type PaymentRequirements = z.infer<typeof PaymentRequirementsSchema>;

const ResourceInfoSchema = z.object({
  url: z.string(),
  description: z.string().optional(),
  mimeType: z.string().optional(),
  /** Bazaar service metadata (specs/extensions/bazaar.md "Service Metadata on resource"). */
  serviceName: z.string().optional(),
  tags: z.array(z.string()).optional(),
  iconUrl: z.string().optional(),
});
export type ResourceInfo = z.infer<typeof ResourceInfoSchema>;

const ExtensionsSchema = z.record(z.string(), z.unknown());

const PaymentRequiredSchema = z.object({
  x402Version: z.literal(X402_VERSION),
  error: z.string().optional(),
  resource: ResourceInfoSchema,
  accepts: z.array(PaymentRequirementsSchema),
  extensions: ExtensionsSchema.optional(),
});
export type PaymentRequired = z.infer<typeof PaymentRequiredSchema>;

// x402Version is checked after parsing so an old or future version gets `invalid_x402_version`
// (a 402 the client can act on) rather than a generic malformed-header 400.
export const PaymentPayloadSchema = z.object({
  x402Version: z.number().int(),
  resource: ResourceInfoSchema.optional(),
  accepted: PaymentRequirementsSchema,
  payload: z.record(z.string(), z.unknown()),
  extensions: ExtensionsSchema.optional(),
});
export type PaymentPayload = z.infer<typeof PaymentPayloadSchema>;

export const VerifyResponseSchema = z.object({
  isValid: z.boolean(),
  invalidReason: z.string().optional(),
  invalidMessage: z.string().optional(),
  payer: z.string().optional(),
  /** Scheme facts the verify learned (batch-settlement: the channel as the escrow holds it). */
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type VerifyResponse = z.infer<typeof VerifyResponseSchema>;

export const SettleResponseSchema = z.object({
  success: z.boolean(),
  errorReason: z.string().optional(),
  errorMessage: z.string().optional(),
  payer: z.string().optional(),
  transaction: z.string().default(""),
  network: z.string(),
  amount: z.string().optional(),
  /** Scheme facts of the settlement (batch-settlement: `chargedAmount`, `channelState`). */
  extra: z.record(z.string(), z.unknown()).optional(),
  extensions: ExtensionsSchema.optional(),
});
export type SettleResponse = z.infer<typeof SettleResponseSchema>;
