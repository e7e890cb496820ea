// The bazaar discovery extension (specs/extensions/bazaar.md) of one priced endpoint: `info` describing the
// call and a JSON Schema that `info` validates against, as `validateDiscoveryExtension` checks it. Pure.
import type { PathPattern } from "../pricing/path-pattern.js";
import type { DiscoveryTerms } from "./discovery-terms.js";

export const BAZAAR = "bazaar";
const JSON_SCHEMA_2020 = "https://json-schema.org/draft/2020-12/schema";
const QUERY_METHODS = new Set(["GET", "HEAD", "DELETE"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

export interface BazaarExtension {
  info: { input: Record<string, unknown>; output?: Record<string, unknown> };
  schema: Record<string, unknown>;
  routeTemplate?: string;
}

/** Per compiled pattern: every 402 of a rule names the same template. */
const routeTemplates = new WeakMap<PathPattern, string | undefined>();

/** The rule's path as a bazaar route template (`/weather/:city`); none for a `**` tail, which has no such form. */
export function routeTemplateOf(pattern: PathPattern): string | undefined {
  if (routeTemplates.has(pattern)) return routeTemplates.get(pattern);
  const template = buildRouteTemplate(pattern);
  routeTemplates.set(pattern, template);
  return template;
}

function buildRouteTemplate(pattern: PathPattern): string | undefined {
  let unnamed = 0;
  const parts: string[] = [];
  for (const segment of pattern.segments) {
    if (segment.kind === "tail") return undefined;
    parts.push(
      segment.kind === "literal" ? encodeURIComponent(segment.value) : /^\d+$/.test(segment.name) ? `:var${++unnamed}` : `:${segment.name}`,
    );
  }
  return `/${parts.join("/")}`;
}

/**
 * `method` is the request's (a rule for several methods describes the one being paid for); `pathParams` the
 * request's path parameters, when there is a request. undefined for methods the bazaar has no form for.
 */
export function buildBazaarExtension(
  terms: DiscoveryTerms | undefined,
  pattern: PathPattern,
  method: string,
  pathParams?: Record<string, string>,
): BazaarExtension | undefined {
  const isBody = BODY_METHODS.has(method);
  if (!isBody && !QUERY_METHODS.has(method)) return undefined;
  const input: Record<string, unknown> = { type: "http", method };
  const inputSchema: Record<string, unknown> = {
    type: { type: "string", const: "http" },
    method: { type: "string", enum: [method] },
  };
  const required = ["type", "method"];
  const given = terms?.input;
  if (given?.queryParams || given?.queryParamsSchema) {
    if (given.queryParams) input.queryParams = given.queryParams;
    inputSchema.queryParams = { type: "object", ...given.queryParamsSchema };
  }
  if (isBody) {
    input.bodyType = given?.bodyType ?? "json";
    input.body = given?.body ?? {};
    inputSchema.bodyType = { type: "string", enum: ["json", "form-data", "text"] };
    inputSchema.body = { type: "object", ...given?.bodySchema };
    required.push("bodyType", "body");
  }
  if (pathParams && Object.keys(pathParams).length > 0) {
    input.pathParams = pathParams;
    inputSchema.pathParams = { type: "object" };
  }
  if (given?.headers) {
    input.headers = given.headers;
    inputSchema.headers = { type: "object", additionalProperties: { type: "string" } };
  }
  const properties: Record<string, unknown> = { input: { type: "object", properties: inputSchema, required, additionalProperties: false } };
  const info: BazaarExtension["info"] = { input };
  if (terms?.output && (terms.output.example !== undefined || terms.output.schema)) {
    info.output = { type: "json", ...(terms.output.example !== undefined ? { example: terms.output.example } : {}) };
    properties.output = {
      type: "object",
      properties: { type: { type: "string" }, example: { ...terms.output.schema } },
      required: ["type"],
    };
  }
  const routeTemplate = terms?.routeTemplate ?? routeTemplateOf(pattern);
  return {
    info,
    schema: { $schema: JSON_SCHEMA_2020, type: "object", properties, required: ["input"] },
    ...(routeTemplate ? { routeTemplate } : {}),
  };
}

/** The MCP kind of the extension: one tool of an MCP server (specs/extensions/bazaar.md, MCP). */
export function buildMcpBazaarExtension(
  toolName: string,
  tool: {
    description?: string | undefined;
    inputSchema?: Record<string, unknown> | undefined;
    example?: Record<string, unknown> | undefined;
  },
): BazaarExtension {
  const input: Record<string, unknown> = {
    type: "mcp",
    toolName,
    ...(tool.description ? { description: tool.description } : {}),
    transport: "streamable-http",
    inputSchema: tool.inputSchema ?? { type: "object" },
    ...(tool.example ? { example: tool.example } : {}),
  };
  const properties: Record<string, unknown> = {
    type: { type: "string", const: "mcp" },
    toolName: { type: "string" },
    ...(tool.description ? { description: { type: "string" } } : {}),
    transport: { type: "string", enum: ["streamable-http", "sse"] },
    inputSchema: { type: "object" },
    ...(tool.example ? { example: { type: "object" } } : {}),
  };
  return {
    info: { input },
    schema: {
      $schema: JSON_SCHEMA_2020,
      type: "object",
      properties: { input: { type: "object", properties, required: ["type", "toolName", "inputSchema"], additionalProperties: false } },
      required: ["input"],
    },
  };
}
