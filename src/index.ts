import { buildApp } from "./app.js";
import { buildDefaultSchemeRegistry } from "./schemes/default-schemes.js";

export { FacilitatorState } from "./facilitator/facilitator-state.js";
export { PaymentIdentifierRecord } from "./idempotency/payment-identifier-record.js";
export { PaymentRecord } from "./payment-record/payment-record.js";
export { PaymentChannel } from "./channels/payment-channel.js";
export { WalletSession } from "./sessions/wallet-session.js";

export default buildApp({
  schemes: buildDefaultSchemeRegistry(),
  fetch: (input, init) => fetch(input, init),
  nowMs: () => Date.now(),
});
