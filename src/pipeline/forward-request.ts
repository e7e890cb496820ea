// A request on its way to the origin: where it goes (the rule's origin, else ORIGIN_URL, else pass-through) and how
// a body of unknown length is sized before any payment work.
import type { GatewayConfig } from "../gateway-config.js";
import { GatewayFailure } from "../errors.js";
import { forwardToOrigin } from "../proxy/forward-to-origin.js";
import { readBodyUpTo } from "../proxy/read-body.js";
import type { GatewayDeps } from "./gateway-deps.js";

/** A paid answer of known size up to this is read whole before it is settled or returned. */
const PAID_BODY_READ_WHOLE_BYTES = 256 * 1024;

export function forward(
  request: Request,
  config: GatewayConfig,
  ruleOrigin: string | undefined,
  deps: GatewayDeps,
  paid = false,
): Promise<Response> {
  return forwardToOrigin({
    inbound: request,
    originUrl: ruleOrigin ?? config.ORIGIN_URL,
    fetch: deps.fetch,
    timeoutMs: config.ORIGIN_TIMEOUT_MS,
    ...(paid ? { readWholeUpToBytes: PAID_BODY_READ_WHOLE_BYTES } : {}),
  });
}

/** The request with its body read whole (up to `maxBytes`, else `body_too_large`), so its length is known. */
export async function bufferBody(request: Request, maxBytes: number): Promise<Request> {
  const body = await readBodyUpTo(request.body, maxBytes);
  if (body === null) throw new GatewayFailure({ kind: "body_too_large", limitBytes: maxBytes });
  return new Request(request, { body });
}
