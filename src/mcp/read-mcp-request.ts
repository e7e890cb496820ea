// Reads the JSON-RPC body of an MCP POST once, and rebuilds the request from what was parsed: the origin then
// receives exactly the message that was priced, so no parser difference (duplicate keys, a BOM) can make it
// run another call than the one paid for.
import { GatewayFailure } from "../errors.js";
import { readBodyUpTo } from "../proxy/read-body.js";
import { classifyMcpRequest, type McpClassification } from "./classify-mcp-request.js";
import type { McpTerms } from "./mcp-terms.js";

export async function readMcpRequest(
  request: Request,
  terms: McpTerms,
  maxBytes: number,
): Promise<{ request: Request; classification: McpClassification }> {
  const bytes = await readBodyUpTo(request.body, maxBytes);
  if (bytes === null) throw new GatewayFailure({ kind: "body_too_large", limitBytes: maxBytes });
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new GatewayFailure({ kind: "mcp_refused", status: 400, reason: "the body is not JSON" });
  }
  const classification = classifyMcpRequest(body, terms);
  if (classification.kind === "refused")
    throw new GatewayFailure({ kind: "mcp_refused", status: classification.status, reason: classification.reason });
  const headers = new Headers(request.headers);
  headers.delete("content-length");
  return { request: new Request(request.url, { method: request.method, headers, body: JSON.stringify(body) }), classification };
}
