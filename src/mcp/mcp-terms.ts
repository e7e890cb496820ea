// The `mcp` block of a price rule (docs/mcp.md): an MCP server (streamable HTTP, JSON-RPC) whose `tools/call`
// is priced per tool, while every other method stays free. Schema only.
import * as z from "zod";
import { UsdPriceSchema } from "../pricing/usd.js";

const JsonSchemaFragment = z
  .record(z.string(), z.unknown())
  .refine((schema) => JSON.stringify(schema).length <= 8192, "a JSON Schema of at most 8 KiB");

const McpToolSchema = z.strictObject({
  price: UsdPriceSchema,
  /** Shown in discovery. */
  description: z.string().max(1024).optional(),
  /** The tool's input JSON Schema, for discovery (the MCP server's own `tools/list` stays the authority). */
  inputSchema: JsonSchemaFragment.optional(),
  example: z.record(z.string(), z.unknown()).optional(),
});

export const McpTermsSchema = z.strictObject({
  /** Tool name → its price per call. */
  tools: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, "an MCP tool name"), McpToolSchema)
    .refine((tools) => Object.keys(tools).length > 0, "at least one tool"),
  /**
   * A `tools/call` for a tool not listed here: `deny` (default: 403, so a tool the server adds later is never
   * free by accident) or `free`.
   */
  unlistedTools: z.enum(["deny", "free"]).default("deny"),
});
export type McpTerms = z.infer<typeof McpTermsSchema>;
export type McpTool = z.infer<typeof McpToolSchema>;
