// The rules document's JSON Schema, generated from the zod schemas the Worker parses it with (one source):
// `npm run rules:schema` writes docs/price-rules.schema.json; test/e2e/rules-json-schema.test.ts keeps it in sync.
import * as z from "zod";
import { FacilitatorConfigSchema } from "../src/facilitator/facilitator-config.js";
import { PriceRuleSchema, PriceRulesDocumentSchema } from "../src/pricing/price-rule.js";

export const RULES_JSON_SCHEMA_FILE = "docs/price-rules.schema.json";

export function buildRulesJsonSchema(): string {
  // The Worker parses rules and facilitators one by one (so every problem is listed); editors want them inline.
  const document = PriceRulesDocumentSchema.extend({
    facilitators: z.array(FacilitatorConfigSchema).optional(),
    rules: z.array(PriceRuleSchema),
  });
  const schema = z.toJSONSchema(document, { io: "input", unrepresentable: "any", target: "draft-2020-12" });
  return `${JSON.stringify({ ...schema, title: "x402 gateway price rules", $id: "https://x402-gateway.local/price-rules.schema.json" }, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(RULES_JSON_SCHEMA_FILE, buildRulesJsonSchema());
  console.log(`wrote ${RULES_JSON_SCHEMA_FILE}`);
}
