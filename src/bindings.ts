// The bindings the gateway reads, under their default names (wrangler.toml; AGENTS.md "Conventions"), typed once
// here. The deployable Worker's own env is generated from wrangler.toml (`npm run types`, worker-configuration.d.ts)
// and index.ts checks it against this interface, so the two cannot drift. Exported for a host Worker that mounts
// the gateway (issue #36). Nothing below the pipeline takes the whole of it: the Durable Objects and the modules
// they use declare the few bindings they read, so no import circle runs through here.
import type { FacilitatorState } from "./facilitator/facilitator-state.js";
import type { GatewayEnvVars } from "./gateway-config.js";
import type { PaymentIdentifierRecord } from "./idempotency/payment-identifier-record.js";
import type { PaymentChannel } from "./channels/payment-channel.js";
import type { PaymentRecord } from "./payment-record/payment-record.js";
import type { WalletSession } from "./sessions/wallet-session.js";

export interface GatewayBindings extends GatewayEnvVars {
  /** The price-rules document (and its history) under PRICE_RULES_KEY. */
  PRICE_RULES: KVNamespace;
  /** The money ledger (migrations/; docs/storage-schema.md). */
  LEDGER: D1Database;
  PAYMENT_RECORDS: DurableObjectNamespace<PaymentRecord>;
  PAYMENT_IDENTIFIERS: DurableObjectNamespace<PaymentIdentifierRecord>;
  WALLET_SESSIONS: DurableObjectNamespace<WalletSession>;
  FACILITATOR_STATE: DurableObjectNamespace<FacilitatorState>;
  PAYMENT_CHANNELS: DurableObjectNamespace<PaymentChannel>;
  /** Optional: each request's log line as a data point (docs/observability.md). */
  ANALYTICS?: AnalyticsEngineDataset;
  /** Rate-limit tiers (wrangler.toml `[[ratelimits]]`); a rule's `rateLimit` names one (pipeline/rate-limit.ts). */
  RATE_LIMIT_STRICT?: RateLimit;
  RATE_LIMIT_STANDARD?: RateLimit;
  RATE_LIMIT_GENEROUS?: RateLimit;
}
