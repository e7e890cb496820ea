// Reverse proxy to the origin. Builds a fresh outbound request; never mutates the inbound one.
import { GatewayFailure } from "../errors.js";
import { PAYMENT_SIGNATURE, SIGN_IN_WITH_X, X402_SESSION, X_PAYMENT } from "../x402/headers.js";

// Hop-by-hop headers, RFC 9110 §7.6.1 (plus the obsolete Keep-Alive/Proxy-Connection still seen in the wild).
// They describe one connection, so a proxy drops them both ways, with any header named in `Connection`.
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/** Client headers that prove payment to us and mean nothing (or too much) to the origin. */
const PAYMENT_HEADERS = [PAYMENT_SIGNATURE, X_PAYMENT, SIGN_IN_WITH_X, X402_SESSION].map((h) => h.toLowerCase());

/** Forwarding headers are set by us only: a client-sent value would let it spoof its address to the origin. */
const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "true-client-ip"];

/**
 * Method overrides: frameworks (Rails' Rack::MethodOverride, Symfony, Express' method-override) route a POST that
 * carries one as the method it names, so a rule priced for GET would be read free by POST (security review F8).
 * The gateway prices the request line's method; the origin sees that method only.
 */
const METHOD_OVERRIDE_HEADERS = ["x-http-method-override", "x-http-method", "x-method-override"];

const DROPPED_FROM_REQUESTS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  ...PAYMENT_HEADERS,
  ...FORWARDING_HEADERS,
  ...METHOD_OVERRIDE_HEADERS,
  "host",
]);
const DROPPED_FROM_RESPONSES: ReadonlySet<string> = new Set(HOP_BY_HOP);

export interface ForwardOptions {
  inbound: Request;
  /** Origin base URL (its path is a prefix); undefined sends the request to its own URL (Worker on a route). */
  originUrl: string | undefined;
  fetch: typeof fetch;
  /** Until the origin's response headers arrive (and a body read whole, below); a streamed body has no deadline. */
  timeoutMs: number;
  /**
   * A successful answer that declares a body of at most this many bytes is read whole before it is returned
   * (paid requests: nothing is settled for a body that broke off, and the answer leaves in one piece). Larger,
   * undeclared (streams, SSE) and failed answers stream as they come.
   */
  readWholeUpToBytes?: number;
}

export async function forwardToOrigin(options: ForwardOptions): Promise<Response> {
  const { inbound } = options;
  const inboundUrl = new URL(inbound.url);
  const target = buildTargetUrl(inboundUrl, options.originUrl);
  const headers = filterHeaders(inbound.headers, DROPPED_FROM_REQUESTS);
  const clientIp = inbound.headers.get("cf-connecting-ip");
  if (clientIp) headers.set("X-Forwarded-For", clientIp);
  headers.set("X-Forwarded-Host", inboundUrl.host);
  headers.set("X-Forwarded-Proto", inboundUrl.protocol.slice(0, -1));

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  let response: Response;
  let body: ReadableStream<Uint8Array> | ArrayBuffer | null;
  try {
    response = await options.fetch(target, {
      method: inbound.method,
      headers,
      body: inbound.method === "GET" || inbound.method === "HEAD" ? null : inbound.body,
      redirect: "manual",
      signal: controller.signal,
    });
    body = readWhole(response, options.readWholeUpToBytes) ? await response.arrayBuffer() : response.body;
  } catch (cause) {
    if (controller.signal.aborted) throw new GatewayFailure({ kind: "origin_timeout" }, { cause });
    throw new GatewayFailure({ kind: "origin_unreachable", detail: String(cause) }, { cause });
  } finally {
    clearTimeout(timer);
  }

  const responseHeaders = filterHeaders(response.headers, DROPPED_FROM_RESPONSES);
  const location = response.headers.get("location");
  if (location) responseHeaders.set("Location", rewriteLocation(location, target, inboundUrl, options.originUrl));
  return new Response(body, { status: response.status, statusText: response.statusText, headers: responseHeaders });
}

function readWhole(response: Response, upToBytes: number | undefined): boolean {
  if (upToBytes === undefined || response.status >= 400 || !response.body) return false;
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  return Number.isSafeInteger(declared) && declared <= upToBytes;
}

function buildTargetUrl(inbound: URL, originUrl: string | undefined): URL {
  if (!originUrl) return new URL(inbound);
  const base = new URL(originUrl);
  const target = new URL(base);
  target.pathname = joinPaths(base.pathname, inbound.pathname);
  target.search = inbound.search;
  return target;
}

function joinPaths(basePath: string, path: string): string {
  return basePath.endsWith("/") ? basePath + path.slice(1) : basePath + path;
}

/**
 * A copy without `dropped` (lower-case names) and whatever `Connection` lists. Only the names present are
 * deleted: each Headers call crosses into the runtime, and a request carries a few of the ~20 names dropped.
 */
function filterHeaders(source: Headers, dropped: ReadonlySet<string>): Headers {
  const headers = new Headers(source);
  const connection = source.get("connection");
  const listed = connection === null ? undefined : new Set(connection.split(",").map((h) => h.trim().toLowerCase()));
  for (const name of source.keys()) if (dropped.has(name) || listed?.has(name)) headers.delete(name);
  return headers;
}

/** An absolute redirect to the origin's own host would send the client around the gateway; point it back at us. */
function rewriteLocation(location: string, target: URL, inbound: URL, originUrl: string | undefined): string {
  let url: URL;
  try {
    url = new URL(location, target);
  } catch {
    return location;
  }
  if (url.origin !== target.origin) return location;
  const basePath = originUrl ? new URL(originUrl).pathname.replace(/\/+$/, "") : "";
  let path = url.pathname;
  if (basePath && (path === basePath || path.startsWith(`${basePath}/`))) path = path.slice(basePath.length) || "/";
  return `${inbound.origin}${path}${url.search}${url.hash}`;
}
