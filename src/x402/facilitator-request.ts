// What the gateway sends a facilitator's `POST /verify` and `POST /settle`: V2 shapes, or V1 ones for V1 clients. Apart
// from schemas.ts so the V2 schemas need not know V1 (v1.ts builds on them).
import type { PaymentPayload, PaymentRequirements } from "./schemas.js";
import type { PaymentPayloadV1, PaymentRequirementsV1 } from "./v1.js";

export type FacilitatorRequest =
  | { x402Version: 2; paymentPayload: PaymentPayload; paymentRequirements: PaymentRequirements }
  | { x402Version: 1; paymentPayload: PaymentPayloadV1; paymentRequirements: PaymentRequirementsV1 };
