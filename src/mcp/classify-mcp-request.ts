// Tells a priced MCP `tools/call` from the free traffic of an MCP session (initialize, tools/list,
// notifications, pings, server streams) by reading the JSON-RPC body. Pure.
import type { McpTerms, McpTool } from "./mcp-terms.js";

export type McpClassification =
  | { kind: "free" }
  | { kind: "priced"; toolName: string; tool: McpTool }
  /** Refused before the origin: a reason for the client. */
  | { kind: "refused"; status: 400 | 403; reason: string };

interface JsonRpcRequest {
  jsonrpc: "2.0";
  method: string;
  params?: unknown;
}

function isJsonRpcRequest(value: unknown): value is JsonRpcRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const message = value as Record<string, unknown>;
  return message.jsonrpc === "2.0" && typeof message.method === "string";
}

/**
 * `body` is the parsed JSON of a POST. A batch (JSON array) carrying a priced call is refused: one payment buys
 * one tool call, and a batch must not smuggle a priced call past the price (docs/mcp.md).
 */
export function classifyMcpRequest(body: unknown, terms: McpTerms): McpClassification {
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0) return { kind: "refused", status: 400, reason: "an empty JSON-RPC batch" };
  let priced: McpClassification | undefined;
  for (const message of messages) {
    // Responses and notifications from the client carry no `method` to price, or one that is free.
    if (typeof message === "object" && message !== null && !Array.isArray(message) && !("method" in message)) continue;
    if (!isJsonRpcRequest(message)) return { kind: "refused", status: 400, reason: "not a JSON-RPC 2.0 message" };
    if (message.method !== "tools/call") continue;
    const name = (message.params as { name?: unknown } | undefined)?.name;
    if (typeof name !== "string") return { kind: "refused", status: 400, reason: "tools/call without a tool name" };
    const tool = Object.hasOwn(terms.tools, name) ? terms.tools[name] : undefined;
    if (!tool) {
      if (terms.unlistedTools === "free") continue;
      return { kind: "refused", status: 403, reason: `tool "${name.slice(0, 128)}" is not offered` };
    }
    if (Array.isArray(body))
      return { kind: "refused", status: 400, reason: "a JSON-RPC batch with a priced tools/call: send the priced call on its own" };
    priced = { kind: "priced", toolName: name, tool };
  }
  return priced ?? { kind: "free" };
}
