// Applies the top-level schema.sql to the test D1 database, the same file `npm run db:init` applies.
import { env } from "cloudflare:workers";

const statements = (env.SCHEMA_SQL as string)
  .replace(/--.*$/gm, "")
  .split(";")
  .map((s) => s.trim())
  .filter(Boolean);
await env.LEDGER.batch(statements.map((s) => env.LEDGER.prepare(s)));
