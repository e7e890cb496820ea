import { buildApp } from "./app.js";
import { buildDefaultSchemeRegistry } from "./schemes/default-schemes.js";

export { PaymentLock } from "./replay/payment-lock.js";

export default buildApp({
  schemes: buildDefaultSchemeRegistry(),
  fetch: (input, init) => fetch(input, init),
  nowMs: () => Date.now(),
});
