// Builds the V2 PaymentRequired challenge. Pure.
import { X402_VERSION, type PaymentRequired, type PaymentRequirements } from "./schemas.js";

export interface ChallengeOptions {
  resourceUrl: string;
  description: string;
  mimeType: string;
  accepts: PaymentRequirements[];
  error: string;
  extensions?: Record<string, unknown>;
  /** Bazaar service metadata for `resource`. */
  service?: { serviceName?: string; tags?: string[]; iconUrl?: string };
}

export function buildPaymentRequired(options: ChallengeOptions): PaymentRequired {
  return {
    x402Version: X402_VERSION,
    error: options.error,
    resource: { url: options.resourceUrl, description: options.description, mimeType: options.mimeType, ...options.service },
    accepts: options.accepts,
    extensions: options.extensions ?? {},
  };
}
