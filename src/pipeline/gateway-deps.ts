// What the gateway is built with (index.ts): the scheme plugins, and the outside world's fetch and clock, injected so
// tests and benches can replace them.
import type { SchemeRegistry } from "../schemes/scheme-plugin.js";

export interface GatewayDeps {
  schemes: SchemeRegistry;
  /** Outbound fetch for the origin and the facilitator. */
  fetch: typeof fetch;
  nowMs: () => number;
}
