// The `discovery` block of a price rule (docs/discovery.md): what the bazaar extension and `/.well-known/x402`
// say about the endpoint. Schema only; the extension is built in bazaar-extension.ts.
import * as z from "zod";

/** A JSON Schema fragment, kept small: it travels in every 402 of the rule. */
const JsonSchemaFragment = z
  .record(z.string(), z.unknown())
  .refine((schema) => JSON.stringify(schema).length <= 8192, "a JSON Schema of at most 8 KiB");
const Printable32 = z.string().regex(/^[\x20-\x7e]{1,32}$/, "1-32 printable ASCII characters");

export const DiscoveryTermsSchema = z.strictObject({
  input: z
    .strictObject({
      /** Example query parameters, and their JSON Schema (`{ properties, required }`). */
      queryParams: z.record(z.string(), z.unknown()).optional(),
      queryParamsSchema: JsonSchemaFragment.optional(),
      /** Body methods: the body's encoding (default `json`), an example body, and its JSON Schema. */
      bodyType: z.enum(["json", "form-data", "text"]).optional(),
      body: z.record(z.string(), z.unknown()).optional(),
      bodySchema: JsonSchemaFragment.optional(),
      headers: z.record(z.string(), z.string().max(256)).optional(),
    })
    .optional(),
  output: z.strictObject({ example: z.unknown().optional(), schema: JsonSchemaFragment.optional() }).optional(),
  /** Default: the rule's path with `:name` parameters (none for `**` paths). */
  routeTemplate: z
    .string()
    .max(512)
    .regex(/^\/[A-Za-z0-9_:/.\-~%]*$/, "a path of [A-Za-z0-9_:/.-~%] starting with /")
    .refine((t) => !t.includes(".."), "must not contain ..")
    .optional(),
  /** Service metadata, as the bazaar puts it on `resource`. */
  service: z
    .strictObject({
      name: Printable32.optional(),
      tags: z.array(Printable32).max(5).optional(),
      iconUrl: z
        .url({ protocol: /^https$/ })
        .max(2048)
        .optional(),
      category: z.string().min(1).max(64).optional(),
    })
    .optional(),
});
export type DiscoveryTerms = z.infer<typeof DiscoveryTermsSchema>;

/** The bazaar extension's fields of a price rule, spread into PriceRuleSchema at their place. */
export const DiscoveryRuleFields = {
  /** What the bazaar extension and `/.well-known/x402` say about the endpoint (docs/discovery.md). */
  discovery: DiscoveryTermsSchema.optional(),
  /** Default true. false: no bazaar extension in the 402 and no entry in `/.well-known/x402`. */
  discoverable: z.boolean().default(true),
};
