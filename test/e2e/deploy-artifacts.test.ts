// What docs/deploy.md relies on, checked offline: the bundle `wrangler deploy` would upload builds (its size
// reported), the D1 migrations give a fresh database exactly the tables schema.sql gives, and the rules
// document's JSON Schema is the one generated from the zod schemas.
import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { buildRulesJsonSchema, RULES_JSON_SCHEMA_FILE } from "../../scripts/rules-json-schema.js";
import { WRANGLER_OFFLINE_ENV } from "../../stack/gateway.js";
import { tempDir } from "../fixtures/temp-dir.js";

function wrangler(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "node_modules/.bin/wrangler",
      args,
      { encoding: "utf8", env: { ...process.env, ...WRANGLER_OFFLINE_ENV }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`wrangler ${args.join(" ")} failed:\n${stdout}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

async function tableShape(persistDir: string): Promise<unknown> {
  const query = (sql: string) =>
    wrangler(["d1", "execute", "LEDGER", "--local", "--persist-to", persistDir, "--json", "--command", sql]).then(
      (out) => (JSON.parse(out) as { results: unknown[] }[])[0]!.results,
    );
  return {
    columns: await query(`SELECT name, type, "notnull" AS required, pk FROM pragma_table_info('payments') ORDER BY name`),
    indexes: await query(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'payments' AND sql IS NOT NULL ORDER BY name`,
    ),
  };
}

describe("deploy artifacts", () => {
  it("wrangler deploy --dry-run builds the Worker bundle", async () => {
    const outdir = tempDir("dry-run-", onTestFinished);
    const output = await wrangler(["deploy", "--dry-run", "--outdir", outdir]);
    const size = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(output);
    expect(size, output).not.toBeNull();
    const bytes = statSync(join(outdir, "index.js")).size;
    console.log(`deploy bundle: ${size![1]} (gzip ${size![2]}), index.js ${bytes} bytes`);
    // The Workers Free plan's limit is 3 MiB gzipped; stay far from it.
    expect(Number.parseFloat(size![2]!)).toBeLessThan(1024);
  }, 60_000);

  it("the migrations give a fresh D1 the same tables and indexes as schema.sql", async () => {
    const migrated = tempDir("d1-migrated-", onTestFinished);
    const fromSchema = tempDir("d1-schema-", onTestFinished);
    const applied = await wrangler(["d1", "migrations", "apply", "LEDGER", "--local", "--persist-to", migrated]);
    expect(applied).toMatch(/0001_payments\.sql/);
    await wrangler(["d1", "execute", "LEDGER", "--local", "--persist-to", fromSchema, "--file", "schema.sql"]);
    const [a, b] = await Promise.all([tableShape(migrated), tableShape(fromSchema)]);
    expect(a).toEqual(b);
    expect((a as { columns: { name: string }[] }).columns.map((c) => c.name)).toContain("refund_transaction");
    // Applying again is a no-op: wrangler records what it applied.
    expect(await wrangler(["d1", "migrations", "apply", "LEDGER", "--local", "--persist-to", migrated])).toMatch(/No migrations to apply/);
  }, 60_000);

  it("docs/price-rules.schema.json is generated from the zod schemas (npm run rules:schema)", () => {
    expect(readFileSync(RULES_JSON_SCHEMA_FILE, "utf8"), "run npm run rules:schema").toBe(buildRulesJsonSchema());
    const schema = JSON.parse(buildRulesJsonSchema()) as {
      properties: {
        rules: { items: { properties: Record<string, unknown>; required: string[] } };
        facilitators: { items: { properties: Record<string, unknown> } };
      };
    };
    expect(Object.keys(schema.properties.rules.items.properties)).toEqual(
      expect.arrayContaining(["id", "path", "price", "accepts", "payTo", "session", "settlement"]),
    );
    expect(schema.properties.rules.items.required).toEqual(expect.arrayContaining(["id", "path", "accepts"]));
    expect(Object.keys(schema.properties.facilitators.items.properties)).toEqual(expect.arrayContaining(["id", "url", "auth"]));
  });
});
